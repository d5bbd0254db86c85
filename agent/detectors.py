"""Deterministic detectors over ``metrics.jsonl`` and ``result.json``, each with candidate fixes.

Thresholds (in the spirit of SageMaker Debugger's built-in rules):
- nan / diverged / oom / data_error / error: the trainer's own status (it stops on a non-finite
  loss or gradient, on loss > ``diverge_factor`` × its running minimum for ``diverge_patience``
  steps, and on allocation failure). For oom the batch is halved first, accumulation doubled,
  while it is above 1; then gradient checkpointing and shorter sequences are proposed. When
  ``max_seq_len`` is at least twice what the longest example needs (its bytes + 128, rounded up to
  a power of two), shortening to that comes first: it costs nothing, no example is cut.
- loss_spike (live): a step loss above 3 × the median of the previous 10 steps.
- plateau: over the last 40 % of steps (at least 8), the loss fell by less than 1 %.
- overfit: validation loss rose ≥ 10 % above its minimum over ≥ 2 evaluations while the
  training loss kept falling.
- throughput_collapse: tokens/s in the last 10 steps below 50 % of the first 10 steps' median.
- underfit: the run completed but missed the goal's target while its loss was still falling.
Candidate fixes only ever propose bounded changes; the advisor chooses among them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openlora.memory.records import Diagnosis
from openlora.tools.inspect_dataset import GARBLED

SPIKE_FACTOR = 3.0
PLATEAU_SHARE, PLATEAU_MIN_STEPS, PLATEAU_GAIN = 0.4, 8, 0.01
OVERFIT_RISE = 0.10
TEMPLATE_TOKENS = 128  # room for a chat template's own tokens around an example
FAR_FROM_PRIOR = 10.0  # an lr more than 10x above or below the size prior is suspect on a flat curve
THROUGHPUT_DROP = 0.5


@dataclass
class Candidate:
    """A fix the detectors propose: an action and the training settings it changes."""

    action: str
    changes: dict[str, Any]
    why: str
    live: bool = False  # applied to the running trainer through control.json


@dataclass
class Finding:
    """A diagnosis with its evidence and candidate fixes (best first by the rules)."""

    diagnosis: Diagnosis
    evidence: dict[str, Any]
    candidates: list[Candidate] = field(default_factory=list)

    def summary(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.evidence.items())
        return f"{self.diagnosis.value}: {shown}"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)[:80]


def losses(events: list[dict[str, Any]]) -> list[float]:
    steps: dict[int, float] = {}
    for event in events:
        if event.get("event") == "step":
            value = event.get("loss")
            steps[int(event["step"])] = float(value) if value is not None else math.nan
    return [steps[k] for k in sorted(steps)]


def val_losses(events: list[dict[str, Any]]) -> list[float]:
    return [
        float(e["val_loss"]) for e in events if e.get("event") == "eval" and e.get("val_loss") is not None
    ]


def targets_met(metrics: dict[str, Any], success: dict[str, Any]) -> bool:
    checks = []
    if success.get("val_loss_below") is not None:
        checks.append(metrics.get("val_loss", math.inf) < success["val_loss_below"])
    if success.get("train_loss_below") is not None:
        checks.append(metrics.get("train_loss", math.inf) < success["train_loss_below"])
    return bool(checks) and all(checks)


def live_findings(events: list[dict[str, Any]], config: dict[str, Any], prior_lr: float) -> list[Finding]:
    """Findings that justify acting on a running trainer (loss spikes)."""
    curve = [v for v in losses(events) if math.isfinite(v)]
    if len(curve) < 11:
        return []
    window = statistics.median(curve[-11:-1])
    if curve[-1] > SPIKE_FACTOR * window:
        lr = float(config["learning_rate"])
        return [
            Finding(
                Diagnosis.LOSS_SPIKE,
                {"loss": curve[-1], "median_before": window, "step": len(curve)},
                [
                    Candidate(
                        "lower_lr", {"learning_rate": lr * 0.5}, "halve the lr while it runs", live=True
                    ),
                    Candidate(
                        "clip_gradients", {"max_grad_norm": 0.5}, "clip harder while it runs", live=True
                    ),
                ],
            )
        ]
    return []


def detect(
    result: dict[str, Any],
    events: list[dict[str, Any]],
    config: dict[str, Any],
    success: dict[str, Any],
    prior_lr: float,
    data_problems: Sequence[str] = (),
    longest_example_bytes: int | None = None,
) -> Finding:
    """The one finding that explains how an attempt ended (``healthy`` when the goal is met).

    ``data_problems`` are ``inspect_dataset``'s findings: when the responses look garbled, no
    hyper-parameter change can help, so a failed attempt gets only "stop" (repair the data first).
    ``longest_example_bytes`` (also from ``inspect_dataset``) lets an out-of-memory finding propose
    sequences that just fit the longest example, when ``max_seq_len`` is far above it.
    """
    finding = _detect(result, events, config, success, prior_lr, longest_example_bytes)
    garbled = next((p for p in data_problems if p.startswith(GARBLED)), None)
    if garbled and finding.diagnosis not in (Diagnosis.HEALTHY, Diagnosis.OOM, Diagnosis.DATA_ERROR):
        return Finding(
            finding.diagnosis,
            finding.evidence | {"data": garbled},
            [Candidate("stop", {}, "the responses look garbled: repair the data before tuning")],
        )
    return finding


def fitting_seq_len(longest_example_bytes: int) -> int:
    """The smallest power of two that holds the longest example whole: byte-level tokenizers make at
    most one token per byte, plus room for the prompt template's own tokens."""
    return max(64, 1 << math.ceil(math.log2(longest_example_bytes + TEMPLATE_TOKENS)))


def _oom_finding(
    evidence: dict[str, Any], config: dict[str, Any], longest_example_bytes: int | None
) -> Finding:
    """Sequences far longer than any example are shortened first (nothing is cut); then the batch,
    keeping the effective batch; only at batch 1 sequence length or compute is traded."""
    batch, accum, seq_len = int(config["batch_size"]), int(config["grad_accum"]), int(config["max_seq_len"])
    candidates = []
    fit = fitting_seq_len(longest_example_bytes) if longest_example_bytes else seq_len
    if fit <= seq_len // 2:
        evidence = evidence | {"longest_example_bytes": longest_example_bytes}
        candidates.append(
            Candidate(
                "shorten_sequences",
                {"max_seq_len": fit},
                f"max_seq_len {seq_len} is far above the longest example ({longest_example_bytes} "
                f"bytes): {fit} holds every example whole",
            )
        )
    if batch > 1:
        smaller = max(1, batch // 2)
        candidates.append(
            Candidate(
                "reduce_batch",
                {"batch_size": smaller, "grad_accum": accum * batch // smaller},
                "halve the batch, raise accumulation: same effective batch",
            )
        )
        return Finding(Diagnosis.OOM, evidence, candidates)
    if not config.get("gradient_checkpointing"):
        candidates.append(
            Candidate("gradient_checkpointing", {"gradient_checkpointing": True}, "recompute activations")
        )
    if fit > seq_len // 2 and seq_len >= 128:  # no fitting length proposed above: halve instead
        candidates.append(
            Candidate("shorten_sequences", {"max_seq_len": seq_len // 2}, "halve the sequence length")
        )
    return Finding(Diagnosis.OOM, evidence, candidates or [Candidate("stop", {}, "nothing left to shrink")])


def _detect(
    result: dict[str, Any],
    events: list[dict[str, Any]],
    config: dict[str, Any],
    success: dict[str, Any],
    prior_lr: float,
    longest_example_bytes: int | None = None,
) -> Finding:
    status = result.get("status")
    evidence = dict(result.get("evidence") or {})
    evidence.setdefault("step", result.get("step"))
    lr = float(config["learning_rate"])
    safe_lr = min(lr * 0.1, prior_lr)
    if status == "nan":
        return Finding(
            Diagnosis.NAN,
            evidence,
            [
                Candidate(
                    "lower_lr",
                    {"learning_rate": safe_lr},
                    "lr at least 10x lower, no higher than the safe prior",
                ),
                Candidate(
                    "add_warmup",
                    {
                        "learning_rate": safe_lr,
                        "warmup_steps": max(5, int(config.get("max_steps") or 50) // 10),
                    },
                    "lower lr with warmup",
                ),
                Candidate(
                    "clip_gradients",
                    {"learning_rate": safe_lr, "max_grad_norm": 0.5},
                    "lower lr, clip harder",
                ),
            ],
        )
    if status == "diverged":
        return Finding(
            Diagnosis.DIVERGED,
            evidence,
            [
                Candidate(
                    "lower_lr", {"learning_rate": min(lr * 0.3, max(prior_lr, lr * 0.1))}, "lower the lr"
                ),
                Candidate(
                    "add_warmup",
                    {"warmup_steps": max(5, int(config.get("max_steps") or 50) // 10)},
                    "warm up",
                ),
            ],
        )
    if status == "oom":
        return _oom_finding(evidence, config, longest_example_bytes)
    message = str(result.get("message", ""))
    if status == "data_error":
        candidates = [Candidate("stop", {}, "the data must be repaired first")]
        mapped = any(config.get(k) for k in ("prompt_column", "response_column", "text_column"))
        if mapped and "missing column" in message:
            candidates = [  # a tiny advisor may not give up on a run one setting repairs
                Candidate(
                    "fix_columns",
                    {"prompt_column": None, "response_column": None, "text_column": None},
                    "the configured columns are not in the file: let the reader detect them",
                )
            ]
        return Finding(Diagnosis.DATA_ERROR, evidence | {"error": message[:300]}, candidates)
    if status in ("error", "killed"):
        candidates = [Candidate("stop", {}, "not a training-dynamics problem")]
        if status == "error" and config.get("target_modules") and "target_modules" in message:
            candidates = [
                Candidate(
                    "default_targets",
                    {"target_modules": None},
                    "the named LoRA target modules do not exist: use the family's defaults",
                )
            ]
        return Finding(Diagnosis.ERROR, evidence | {"error": message[:300]}, candidates)
    metrics = result.get("final_metrics") or {}
    if targets_met(metrics, success):
        return Finding(Diagnosis.HEALTHY, {k: metrics[k] for k in ("train_loss", "val_loss") if k in metrics})
    finding = _completed_but_short(events, config, metrics, lr)
    if finding.diagnosis in (Diagnosis.PLATEAU, Diagnosis.UNDERFIT):
        # An lr far from the size prior explains a flat or slow curve better than the step count does,
        # and then it is the only candidate: more steps or a 2x nudge cannot close a 10x gap.
        if lr > FAR_FROM_PRIOR * prior_lr:
            why = "the lr is far above the prior: steps saturate"
            finding.candidates[:] = [Candidate("lower_lr", {"learning_rate": prior_lr}, why)]
        elif lr * FAR_FROM_PRIOR < prior_lr:
            why = "the lr is far below the prior: back to it"
            finding.candidates[:] = [Candidate("raise_lr", {"learning_rate": prior_lr}, why)]
    return finding


def _completed_but_short(
    events: list[dict[str, Any]], config: dict[str, Any], metrics: dict[str, Any], lr: float
) -> Finding:
    curve = [v for v in losses(events) if math.isfinite(v)]
    vals = val_losses(events)
    steps = len(curve)
    # A relaunch from a checkpoint logs only its own steps: double the planned total, not this count.
    planned = max(steps, int(config.get("max_steps") or 0), 1)
    more = {"max_steps": min(10_000_000, planned * 2)}
    evidence = {k: metrics[k] for k in ("train_loss", "val_loss") if k in metrics} | {"steps": steps}
    if (
        len(vals) >= 3
        and vals[-1] > (1 + OVERFIT_RISE) * min(vals)
        and curve
        and curve[-1] < curve[len(curve) // 2]
    ):
        best = vals.index(min(vals))
        return Finding(
            Diagnosis.OVERFIT,
            evidence | {"val_min": min(vals), "val_last": vals[-1]},
            [
                Candidate(
                    "early_stop",
                    {"max_steps": max(1, steps * (best + 1) // len(vals))},
                    "stop at the best val loss",
                ),
            ],
        )
    window = max(PLATEAU_MIN_STEPS, int(steps * PLATEAU_SHARE))
    if steps >= 2 * PLATEAU_MIN_STEPS:
        tail = curve[-window:]
        gain = (tail[0] - min(tail)) / max(abs(tail[0]), 1e-9)
        if gain < PLATEAU_GAIN:
            return Finding(
                Diagnosis.PLATEAU,
                evidence | {"window": window, "gain": gain},
                [
                    Candidate("raise_lr", {"learning_rate": lr * 2}, "the loss is flat: a larger step"),
                    Candidate("more_steps", more, "train longer"),
                ],
            )
    return Finding(
        Diagnosis.UNDERFIT,
        evidence,
        [
            Candidate("more_steps", more, "the loss is still falling: train longer"),
            Candidate("raise_lr", {"learning_rate": lr * 1.5}, "learn faster"),
        ],
    )


def quality_finding(
    summary: dict[str, dict[str, float]], settings: dict[str, Any], dataset: str
) -> Finding | None:
    """A data problem from the evaluation: more hallucination than the base, or failed format checks.

    The fix is a data action, not another hyper-parameter change: filter the training rows whose
    responses carry facts their prompts do not support, or restructure the data.
    """
    adapter, base = summary.get("adapter", {}), summary.get("base", {})
    rise = adapter.get("hallucination_rate", 0.0) - base.get("hallucination_rate", 0.0)
    candidates = [
        Candidate("filter_data", {"dataset": dataset}, "drop training rows whose answers invent facts")
    ]
    if rise > settings["max_hallucination_increase"]:
        return Finding(
            Diagnosis.HALLUCINATION,
            {"adapter_rate": adapter.get("hallucination_rate"), "base_rate": base.get("hallucination_rate")},
            candidates,
        )
    if (settings["json"] or settings["labels"]) and adapter.get("format_pass_rate", 1.0) < settings[
        "min_format_pass_rate"
    ]:
        return Finding(
            Diagnosis.FORMAT_FAILURE, {"format_pass_rate": adapter.get("format_pass_rate")}, candidates
        )
    return None


def throughput_collapsed(events: list[dict[str, Any]]) -> bool:
    rates = [e["tokens_per_s"] for e in events if e.get("event") == "step" and e.get("tokens_per_s")]
    return len(rates) >= 20 and statistics.median(rates[-10:]) < THROUGHPUT_DROP * statistics.median(
        rates[:10]
    )
