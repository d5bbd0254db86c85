"""After an out-of-memory attempt: the batch that fits, measured instead of halved one attempt at a time.

When an attempt ran out of memory and the detectors' fix is a smaller batch, the memory probe
(``probe_batch_size``: one forward/backward/optimizer step per size over the longest training
sequence, under the same ``memory_limit_gb``) tries 1, 2, 4, … up to half the failed batch on the
failed config. The reduce-batch candidate then takes the size below the largest that fitted: a run
that already ran out of memory gets one size of headroom for what one probe step does not show
(measured on the tiny llama at ``memory_limit_gb: 0.01``: training at the largest size that fitted
the probe still ran out of memory). Accumulation is raised to keep the effective batch, and the
trials are the candidate's evidence. When not even one sequence fits, it is replaced by recomputing
activations (gradient checkpointing at batch 1) or, with that already on, by halving the sequence
length. A probe that cannot run leaves the detectors' candidate as it was.
"""

from __future__ import annotations

from typing import Any

from openlora.agent.batch_probe import describe_trials, same_effective_batch
from openlora.agent.candidates import relaunch
from openlora.agent.context import Context
from openlora.agent.records import Action, Candidate, Diagnosis, Finding
from openlora.tools import registry
from openlora.tools.context import ToolError

MAX_SIZES = 8


def sizes_below(batch: int) -> list[int]:
    """1, 2, 4, … up to half of ``batch`` (at most :data:`MAX_SIZES` sizes)."""
    return [2**i for i in range(MAX_SIZES) if 2**i <= batch // 2]


def _replacement(config: dict[str, Any], found: dict[str, Any]) -> Candidate | None:
    batch, accum = int(config["batch_size"]), int(config["grad_accum"])
    tried = describe_trials(found["trials"])
    fitting = sorted(t["batch_size"] for t in found["trials"] if t["fits"])
    largest = fitting[-2] if len(fitting) >= 2 else (fitting[0] if fitting else None)
    if largest:
        smaller = same_effective_batch(config, largest)
        why = (
            f"out of memory at batch {batch}; measured: {tried}: batch {largest} (one size of headroom) "
            f"× accumulation {smaller['grad_accum']}"
        )
        return relaunch(Action.REDUCE_BATCH, why, **smaller)
    if not config.get("gradient_checkpointing"):
        why = f"out of memory at batch {batch}; measured: {tried}: recompute activations, do not store them"
        return relaunch(
            Action.GRADIENT_CHECKPOINTING,
            why,
            gradient_checkpointing=True,
            batch_size=1,
            grad_accum=accum * batch,
        )
    seq_len = int(config["max_seq_len"])
    if seq_len >= 32:
        why = f"out of memory at batch {batch} even with checkpointing; measured: {tried}: halve max_seq_len"
        return relaunch(Action.SHORTEN_SEQUENCES, why, max_seq_len=seq_len // 2)
    return None


def measured_oom_finding(finding: Finding, config: dict[str, Any], ctx: Context, attempt: int) -> Finding:
    """``finding`` with its reduce-batch candidate replaced by the measured one (OOM findings only)."""
    reduce = [c for c in finding.candidates if c.action == Action.REDUCE_BATCH]
    sizes = sizes_below(int(config["batch_size"]))
    if finding.diagnosis != Diagnosis.OOM or not reduce or not sizes:
        return finding
    try:
        found = registry.invoke(
            "probe_batch_size",
            ctx.tools,
            {"sizes": sizes},
            {"training_config": config, "after_attempt": attempt},
        )
    except ToolError:
        return finding
    ctx.recorder.action("probe_batch_size", attempt=attempt)
    if found["status"] != "completed":
        return finding
    better = _replacement(config, found)
    if better is not None:
        candidates = [better if c is reduce[0] else c for c in finding.candidates]
    else:  # not even one sequence fits and nothing is left to shrink: a smaller batch cannot help
        candidates = [c for c in finding.candidates if c is not reduce[0]] or finding.candidates
    evidence = finding.evidence | {
        "memory_probe": found["trials"],
        "largest_fitting": found["largest_fitting"],
    }
    return finding.model_copy(update={"candidates": candidates, "evidence": evidence})
