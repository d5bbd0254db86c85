"""After an out-of-memory attempt: what fits, measured, instead of halving one attempt at a time.

When an attempt ran out of memory at a batch above 1, the memory probe (``probe_batch_size``: one
forward/backward/optimizer step per size over the longest training sequence, under the same
``memory_limit_gb``) tries 1, 2, 4, … up to half the failed batch on the failed config. The
reduce-batch candidate then takes the size below the largest that fitted: a run that already ran out
of memory gets one size of headroom for what one probe step does not show (measured on the tiny llama
at ``memory_limit_gb: 0.01``: training at the largest size that fitted the probe still ran out of
memory). Accumulation is raised to keep the effective batch, and the trials are the candidate's
evidence.

When the detectors also propose a shorter ``max_seq_len`` that still holds every example whole (the
configured one is far above the longest example, so the extra length is only padding and packing),
the batch is measured at that length instead (1, 2, 4, … up to the failed batch), and the one fix is
both: the shorter length and the measured batch (the largest that fitted when every size tried fitted,
else the one-size headroom above), the accumulation keeping the effective batch.

When not even one sequence fits (or the attempt already ran at batch 1), the same probe measures one
sequence with gradient checkpointing at halving lengths (the longest training sequence cut to
``max_seq_len``, ½, ¼, … down to :data:`SHORTEST` tokens, shortest first). If the whole length fits
with checkpointing and checkpointing was off, the fix is checkpointing at batch 1; otherwise the fix
is the length below the longest that fitted (the same one step of headroom), with checkpointing, at
batch 1, the accumulation keeping the effective batch — one attempt instead of one per halving. The
estimated share of examples longer than that length (which the trainer then leaves out) is said in
the candidate's reason. When nothing fits even at the shortest length, the shrinking candidates are
removed, so the goal stops with the measurement as its reason. A probe that cannot run leaves the
detectors' candidates as they were.
"""

from __future__ import annotations

from typing import Any

from openlora.agent.batch_probe import describe_trials, same_effective_batch
from openlora.agent.candidates import relaunch, stop
from openlora.agent.context import Context
from openlora.agent.evidence import DataFacts
from openlora.agent.records import Action, Candidate, Diagnosis, Finding
from openlora.tools import registry
from openlora.tools.context import ToolError

MAX_SIZES = 8
SHORTEST = 32  # tokens: below this a sequence holds no useful example
SHRINKING = (Action.REDUCE_BATCH, Action.GRADIENT_CHECKPOINTING, Action.SHORTEN_SEQUENCES)


def sizes_below(batch: int) -> list[int]:
    """1, 2, 4, … up to half of ``batch`` (at most :data:`MAX_SIZES` sizes)."""
    return [2**i for i in range(MAX_SIZES) if 2**i <= batch // 2]


def sizes_up_to(batch: int) -> list[int]:
    """1, 2, 4, … up to ``batch`` (at most :data:`MAX_SIZES` sizes)."""
    return [2**i for i in range(MAX_SIZES) if 2**i <= batch]


def lengths_up_to(seq_len: int) -> list[int]:
    """``seq_len``, ½, ¼, … while at least :data:`SHORTEST` (at most :data:`MAX_SIZES`), shortest first."""
    lengths = [seq_len >> i for i in range(MAX_SIZES) if seq_len >> i >= SHORTEST]
    return sorted(lengths) or [seq_len]


def _one_below(fitting: list[int]) -> int:
    """The value below the largest that fitted (one step of headroom for what one probe step does not
    show), or the only one; ``fitting`` is sorted."""
    return fitting[-2] if len(fitting) >= 2 else fitting[0]


def _probe(
    ctx: Context, attempt: int, config: dict[str, Any], sizes: list[int], lengths: list[int] | None = None
) -> dict[str, Any] | None:
    """Run ``probe_batch_size`` on ``config``; its findings, or None when it could not run or finish."""
    supervised = {"training_config": config, "after_attempt": attempt} | (
        {"lengths": lengths} if lengths else {}
    )
    try:
        found = registry.invoke("probe_batch_size", ctx.tools, {"sizes": sizes}, supervised)
    except ToolError:
        return None
    ctx.recorder.action("probe_batch_size", attempt=attempt)
    return found if found["status"] == "completed" else None


def _batch_fix(config: dict[str, Any], found: dict[str, Any]) -> Candidate | None:
    """The measured smaller batch (one size of headroom), or None when not even batch 1 fitted."""
    fitting = sorted(t["batch_size"] for t in found["trials"] if t["fits"])
    if not fitting:
        return None
    largest = _one_below(fitting)
    smaller = same_effective_batch(config, largest)
    why = (
        f"out of memory at batch {config['batch_size']}; measured: {describe_trials(found['trials'])}: "
        f"batch {largest} (one size of headroom) × accumulation {smaller['grad_accum']}"
    )
    return relaunch(Action.REDUCE_BATCH, why, **smaller)


def _lossless_shortening(finding: Finding, data: DataFacts | None) -> Candidate | None:
    """The detectors' shorter-sequence candidate when it leaves every example whole (only a length):
    at least the longest example the trainer counted, or, without that count, no example estimated
    longer from the dataset's byte lengths."""
    counted = finding.evidence.get("longest_example_tokens")
    for candidate in finding.candidates:
        args = candidate.call.args
        if candidate.action != Action.SHORTEN_SEQUENCES or set(args) != {"fix", "max_seq_len"}:
            continue
        length = int(args["max_seq_len"])
        if isinstance(counted, int):
            if length >= counted:
                return candidate
        elif data is not None and data.dropped_at(length) == 0.0:
            return candidate
    return None


def _shorter_batch_fix(config: dict[str, Any], found: dict[str, Any], length: int) -> Candidate | None:
    """The shorter length with the batch measured there, or None when not even batch 1 fitted."""
    fitting = sorted(t["batch_size"] for t in found["trials"] if t["fits"])
    if not fitting:
        return None
    every_size_fits = len(fitting) == len(found["trials"])
    chosen = fitting[-1] if every_size_fits else _one_below(fitting)
    settings = same_effective_batch(config, chosen)
    why = (
        f"out of memory at batch {config['batch_size']} of {config['max_seq_len']} tokens; max_seq_len "
        f"{length} still holds every example whole, measured there: {describe_trials(found['trials'])}: "
        f"batch {chosen}{'' if every_size_fits else ' (one size of headroom)'} × accumulation "
        f"{settings['grad_accum']}"
    )
    return relaunch(Action.SHORTEN_SEQUENCES, why, max_seq_len=length, **settings)


def _length_fix(
    config: dict[str, Any], found: dict[str, Any], data: DataFacts | None
) -> tuple[Candidate, bool]:
    """The measured fix at batch 1 with checkpointing, and whether it is a real fix (False: a stop)."""
    seq_len, batch = int(config["max_seq_len"]), int(config["batch_size"])
    tried = describe_trials(found["trials"], by_length=True)
    fitting = sorted(t["tokens"] for t in found["trials"] if t["fits"])
    where = f"out of memory at batch {batch} of {seq_len} tokens; at batch 1 with checkpointing: {tried}"
    if not fitting:
        shortest = found["trials"][0]["tokens"]
        return stop(f"{where}: not even {shortest} tokens fit; the run needs more memory"), False
    accum = int(config["grad_accum"]) * batch
    settings = {"gradient_checkpointing": True, "batch_size": 1, "grad_accum": accum}
    whole = fitting[-1] >= min(seq_len, max(t["tokens"] for t in found["trials"]))
    if whole and not config.get("gradient_checkpointing"):
        why = f"{where}: the whole sequence fits when activations are recomputed, not stored"
        return relaunch(Action.GRADIENT_CHECKPOINTING, why, **settings), True
    length = _one_below(fitting)
    left_out = data.dropped_at(length) if data is not None else 0.0
    dropped = f"; about {left_out:.0%} of the examples are longer and left out" if left_out >= 0.005 else ""
    why = f"{where}: max_seq_len {length} (one length of headroom){dropped}"
    return relaunch(Action.SHORTEN_SEQUENCES, why, max_seq_len=length, **settings), True


def measured_oom_finding(
    finding: Finding, config: dict[str, Any], ctx: Context, attempt: int, data: DataFacts | None = None
) -> Finding:
    """``finding`` with its shrinking candidates replaced by the measured one (OOM findings only)."""
    if finding.diagnosis != Diagnosis.OOM:
        return finding
    shrinking = [c for c in finding.candidates if c.action in SHRINKING]
    reduce = [c for c in shrinking if c.action == Action.REDUCE_BATCH]
    if not shrinking:
        return finding
    evidence = dict(finding.evidence)
    sizes = sizes_below(int(config["batch_size"]))
    lossless = _lossless_shortening(finding, data)
    if reduce and lossless is not None:
        length = int(lossless.call.args["max_seq_len"])
        shorter = config | {"max_seq_len": length}
        found = _probe(ctx, attempt, shorter, sizes=sizes_up_to(int(config["batch_size"])))
        if found is None:
            return finding
        evidence |= {"memory_probe": found["trials"], "largest_fitting": found["largest_fitting"]}
        evidence |= {"probed_max_seq_len": length}
        better = _shorter_batch_fix(config, found, length)
        if better is not None:  # one fix for both: the shorter length and the batch that fits there
            rest = [c for c in finding.candidates if c is not lossless and c is not reduce[0]]
            return finding.model_copy(update={"candidates": [better, *rest], "evidence": evidence})
    elif reduce and sizes:
        found = _probe(ctx, attempt, config, sizes=sizes)
        if found is None:
            return finding
        evidence |= {"memory_probe": found["trials"], "largest_fitting": found["largest_fitting"]}
        better = _batch_fix(config, found)
        if better is not None:  # only the reduce-batch candidate changes
            candidates = [better if c is reduce[0] else c for c in finding.candidates]
            return finding.model_copy(update={"candidates": candidates, "evidence": evidence})
    batch, accum = int(config["batch_size"]), int(config["grad_accum"])
    recomputing = config | {"gradient_checkpointing": True, "batch_size": 1, "grad_accum": accum * batch}
    found = _probe(ctx, attempt, recomputing, sizes=[1], lengths=lengths_up_to(int(config["max_seq_len"])))
    if found is None:
        return finding.model_copy(update={"evidence": evidence})
    better, fixes = _length_fix(config, found, data)
    kept = [c for c in finding.candidates if c not in shrinking and (fixes or c.action == Action.STOP)]
    evidence |= {"length_probe": found["trials"], "longest_fitting_tokens": found["longest_fitting_tokens"]}
    return finding.model_copy(update={"candidates": [better, *kept], "evidence": evidence})
