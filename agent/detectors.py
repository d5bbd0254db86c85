"""Deterministic detectors over ``metrics.jsonl`` and ``result.json``, each with candidate tool calls.

Thresholds (in the spirit of SageMaker Debugger's built-in rules):
- nan / diverged / oom / data_error / error: the trainer's own status (it stops on a non-finite
  loss or gradient, on loss > ``diverge_factor`` × its running minimum for ``diverge_patience``
  steps, and on allocation failure). For oom the batch is halved first, accumulation doubled,
  while it is above 1 (``agent.oom_probe`` then replaces the halving by a measured size); then
  gradient checkpointing and shorter sequences are proposed. When
  ``max_seq_len`` is at least twice what the longest example needs (its bytes + 128, rounded up to
  a power of two), shortening to that comes first: it costs nothing, no example is cut.
- loss_spike (live): a step loss above 3 × the median of the previous 10 steps that also gave back
  over a quarter of the drop from the first loss to that median (near zero a ratio alone is noise).
- plateau: over the last 40 % of steps (at least 8), the loss fell by less than 1 %.
- overfit: validation loss rose ≥ 10 % above its minimum over ≥ 2 evaluations while the
  training loss kept falling; or it stalled (the later half of ≥ 3 evaluations gained < 1 %) while
  the training loss fell on to under half of it: the model memorises the rows rather than learning
  what generalises, and more steps cannot close that gap.
- underfit: the run completed but missed the goal's target while its loss was still falling.
Each candidate is one call of a registered tool (see ``candidates``) with bounded arguments; where
the advisor may move a learning rate, its range stays inside the caps of ``decision.check_changes``.
The evaluation's findings (hallucination, format failures) are in ``quality``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from openlora.agent.candidates import patch, relaunch, stop
from openlora.agent.causes import explain
from openlora.agent.evidence import Check, power_of_two_at_least
from openlora.agent.goal import Success
from openlora.agent.records import Action, Diagnosis, Finding
from openlora.tools.inspect_dataset import GARBLED
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import run_start

LIVE_CLIP = 0.5  # the gradient norm a live clip patch sets
SPIKE_FACTOR = 3.0
# ... and a rise of more than this share of what the run had learned (its first loss to that median):
# near a loss of zero a ratio alone is noise (0.007 → 0.1 is 14× and nothing went wrong).
SPIKE_RISE = 0.25
PLATEAU_SHARE, PLATEAU_MIN_STEPS, PLATEAU_GAIN = 0.4, 8, 0.01
OVERFIT_RISE = 0.10
GAP_SHARE = 0.5  # a training loss under this share of a stalled validation loss: memorising, not learning
TEMPLATE_TOKENS = 128  # room for a chat template's own tokens around an example
FAR_FROM_PRIOR = 10.0  # an lr more than 10x above or below the size prior is suspect on a flat curve
RAISE_RANGE = (1.25, 2.0)  # how far the advisor may raise the lr on a flat or slow curve (× the lr)


def losses(events: list[dict[str, Any]]) -> list[float]:
    steps: dict[int, float] = {}
    for event in events:
        if event.get("event") == "step":
            value = event.get("loss")
            steps[int(event["step"])] = float(value) if value is not None else math.nan
    return [steps[k] for k in sorted(steps)]


def evaluations(events: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(step, val loss) of each evaluation by step, one per step as :func:`losses` keeps them: a step
    evaluated twice (a trainer before 2026-12 evaluated the last step again when it finished, a
    resumed run repeats steps) counts once, with its latest value, so repeats do not flatten a tail."""
    by_step: dict[int, float] = {}
    for event in events:
        if event.get("event") == "eval" and event.get("val_loss") is not None:
            by_step[int(event["step"])] = float(event["val_loss"])
    return sorted(by_step.items())


def val_losses(events: list[dict[str, Any]]) -> list[float]:
    """The validation losses of :func:`evaluations`."""
    return [loss for _, loss in evaluations(events)]


def targets_met(metrics: dict[str, Any], success: Success) -> bool:
    checks = []
    if success.val_loss_below is not None:
        checks.append(finite_metric(metrics, "val_loss") < success.val_loss_below)
    if success.train_loss_below is not None:
        checks.append(finite_metric(metrics, "train_loss") < success.train_loss_below)
    return bool(checks) and all(checks)


def finite_metric(metrics: dict[str, Any], key: str) -> float:
    """A final metric as a number: missing, unparsable or non-finite (a NaN is stored as "nan") is inf."""
    value = metrics.get(key)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf


def live_config(config: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The running attempt's settings now: its launch config with every applied live patch on top."""
    live = dict(config)
    for event in events:
        if event.get("event") == "patch_applied" and isinstance(event.get("changes"), dict):
            live |= event["changes"]
    return live


def live_findings(events: list[dict[str, Any]], config: dict[str, Any]) -> list[Finding]:
    """Findings that justify acting on a running trainer (loss spikes). ``config`` is the attempt's
    launch config; the candidates start from its settings as patched so far (:func:`live_config`), so a
    second spike halves the lr it trains at now, and a clip already as tight is not proposed again."""
    curve = [v for v in losses(events) if math.isfinite(v)]
    if len(curve) < 11:
        return []
    window = statistics.median(curve[-11:-1])
    if curve[-1] <= SPIKE_FACTOR * window or curve[-1] - window <= SPIKE_RISE * (curve[0] - window):
        return []
    now = live_config(config, events)
    lr, clip = float(now["learning_rate"]), float(now.get("max_grad_norm") or 0.0)
    evidence = {"loss": curve[-1], "median_before": window, "step": len(curve), "learning_rate": lr}
    candidates = [
        patch(
            Action.LOWER_LR,
            f"loss {curve[-1]:.4g} is over {SPIKE_FACTOR:g}× the median {window:.4g} of the 10 steps "
            f"before: halve the lr ({lr:.3g}) while it runs",
            {"learning_rate": (lr * 0.1, lr * 0.5)},
            learning_rate=lr * 0.5,
        )
    ]
    if clip == 0.0 or clip > LIVE_CLIP:  # 0: clipping is off
        now_words = "off now" if clip == 0.0 else f"{clip:g} now"
        why = f"the loss spiked: clip gradients at {LIVE_CLIP:g} while it runs ({now_words})"
        candidates.append(patch(Action.CLIP_GRADIENTS, why, max_grad_norm=LIVE_CLIP))
    return [Finding(diagnosis=Diagnosis.LOSS_SPIKE, evidence=evidence, candidates=candidates)]


def detect(
    result: RunResult,
    events: list[dict[str, Any]],
    config: dict[str, Any],
    success: Success,
    prior_lr: float,
    data_problems: Sequence[str] = (),
    longest_example_bytes: int | None = None,
    checks: Sequence[Check] = (),
) -> Finding:
    """The one finding that explains how an attempt ended (``healthy`` when the goal is met).

    ``checks`` are the attempt's derived evidence (``preflight`` on its config, ``live_evidence`` from
    what it recorded): when one explains the symptom, the finding names it and proposes its fix
    (``causes.explain``).

    ``data_problems`` are ``inspect_dataset``'s findings: when the responses look garbled, no
    hyper-parameter change can help, so a failed attempt gets only "stop" (repair the data first).
    ``longest_example_bytes`` (also from ``inspect_dataset``) lets an out-of-memory finding propose
    sequences that just fit the longest example, when ``max_seq_len`` is far above it.
    """
    finding = _by_status(result, events, config, success, prior_lr, longest_example_bytes)
    finding = explain(finding, list(checks), config)
    garbled = next((p for p in data_problems if p.startswith(GARBLED)), None)
    if garbled and finding.diagnosis not in (Diagnosis.HEALTHY, Diagnosis.OOM, Diagnosis.DATA_ERROR):
        return Finding(
            diagnosis=finding.diagnosis,
            evidence=finding.evidence | {"data": garbled},
            candidates=[stop("the responses look garbled: repair the data before tuning")],
        )
    return finding


def _by_status(
    result: RunResult,
    events: list[dict[str, Any]],
    config: dict[str, Any],
    success: Success,
    prior_lr: float,
    longest_example_bytes: int | None,
) -> Finding:
    evidence = dict(result.evidence) | {"step": result.evidence.get("step", result.step)}
    if result.status == RunStatus.NAN:
        return _nan_finding(evidence, config, prior_lr)
    if result.status == RunStatus.DIVERGED:
        return _diverged_finding(evidence, config, prior_lr)
    if result.status == RunStatus.OOM:
        return _oom_finding(evidence, config, longest_example_bytes, events)
    if result.status == RunStatus.DATA_ERROR:
        return _data_error_finding(evidence, config, result.message)
    if result.status in (RunStatus.ERROR, RunStatus.KILLED):
        return _error_finding(evidence, config, result)
    if targets_met(result.final_metrics, success):
        metrics = result.final_metrics
        return Finding(
            diagnosis=Diagnosis.HEALTHY,
            evidence={k: metrics[k] for k in ("train_loss", "val_loss") if k in metrics},
        )
    return _far_from_prior(_completed_but_short(events, config, result.final_metrics), config, prior_lr)


def _warmup_steps(config: dict[str, Any]) -> int:
    return max(5, int(config.get("max_steps") or 50) // 10)


def _nan_finding(evidence: dict[str, Any], config: dict[str, Any], prior_lr: float) -> Finding:
    lr = float(config["learning_rate"])
    safe = min(lr * 0.1, prior_lr)
    why = (
        f"the loss turned non-finite at lr {lr:g}: lr {safe:g}, at least 10× lower and no higher than "
        "the prior"
    )
    return Finding(
        diagnosis=Diagnosis.NAN,
        evidence=evidence,
        candidates=[
            relaunch(Action.LOWER_LR, why, learning_rate=safe),
            relaunch(
                Action.ADD_WARMUP,
                why + ", with warmup",
                learning_rate=safe,
                warmup_steps=_warmup_steps(config),
            ),
            relaunch(Action.CLIP_GRADIENTS, why + ", clipping at 0.5", learning_rate=safe, max_grad_norm=0.5),
        ],
    )


def _diverged_finding(evidence: dict[str, Any], config: dict[str, Any], prior_lr: float) -> Finding:
    lr = float(config["learning_rate"])
    lower = min(lr * 0.3, max(prior_lr, lr * 0.1))
    ranges = {"learning_rate": (lr * 0.1, lower)} if lower > lr * 0.1 else {}
    return Finding(
        diagnosis=Diagnosis.DIVERGED,
        evidence=evidence,
        candidates=[
            relaunch(
                Action.LOWER_LR,
                f"the loss diverged at lr {lr:g}: lower it to {lower:g}",
                ranges,
                learning_rate=lower,
            ),
            relaunch(
                Action.ADD_WARMUP, "the loss diverged: warm up first", warmup_steps=_warmup_steps(config)
            ),
        ],
    )


def fitting_seq_len(longest_example_bytes: int) -> int:
    """The smallest power of two that holds the longest example whole: byte-level tokenizers make at
    most one token per byte, plus room for the prompt template's own tokens."""
    return max(64, 1 << math.ceil(math.log2(longest_example_bytes + TEMPLATE_TOKENS)))


def measured_fit(events: list[dict[str, Any]]) -> tuple[int, int] | None:
    """(the longest example the trainer tokenized, the power of two of at least 64 that holds it), from
    the attempt's ``run_start`` figures (template tokens included, nothing guessed); None without them."""
    figures = run_start(events).get("dataset") or {}
    longest = figures.get("max_example_tokens")
    if not isinstance(longest, int) or longest < 1 or figures.get("dropped_too_long"):
        return None  # examples were left out as too long: the longest kept is not the longest there is
    return longest, power_of_two_at_least(longest)


def _oom_finding(
    evidence: dict[str, Any],
    config: dict[str, Any],
    longest_example_bytes: int | None,
    events: list[dict[str, Any]],
) -> Finding:
    """Sequences far longer than any example are shortened first (nothing is cut); then the batch,
    keeping the effective batch; only at batch 1 sequence length or compute is traded. The longest
    example is the trainer's own count when the attempt recorded it, else an upper bound from bytes."""
    batch, accum, seq_len = int(config["batch_size"]), int(config["grad_accum"]), int(config["max_seq_len"])
    candidates = []
    measured = measured_fit(events)
    if measured is not None:
        longest, fit = f"{measured[0]} tokens", measured[1]
        evidence = evidence | {"longest_example_tokens": measured[0]}
    elif longest_example_bytes:
        longest, fit = f"{longest_example_bytes} bytes", fitting_seq_len(longest_example_bytes)
        evidence = evidence | {"longest_example_bytes": longest_example_bytes}
    else:
        longest, fit = "", seq_len
    if fit <= seq_len // 2:
        why = (
            f"max_seq_len {seq_len} is far above the longest example ({longest}): {fit} holds each one whole"
        )
        candidates.append(relaunch(Action.SHORTEN_SEQUENCES, why, max_seq_len=fit))
    if batch > 1:
        smaller = max(1, batch // 2)
        why = (
            f"out of memory at batch {batch}: batch {smaller} × accumulation {accum * batch // smaller}, "
            "same effective batch"
        )
        candidates.append(
            relaunch(Action.REDUCE_BATCH, why, batch_size=smaller, grad_accum=accum * batch // smaller)
        )
        return Finding(diagnosis=Diagnosis.OOM, evidence=evidence, candidates=candidates)
    if not config.get("gradient_checkpointing"):
        why = "out of memory at batch 1: recompute activations instead of storing them"
        candidates.append(relaunch(Action.GRADIENT_CHECKPOINTING, why, gradient_checkpointing=True))
    if fit > seq_len // 2 and seq_len >= 128:  # no fitting length proposed above: halve instead
        why = f"out of memory at batch 1: halve the sequence length to {seq_len // 2}"
        candidates.append(relaunch(Action.SHORTEN_SEQUENCES, why, max_seq_len=seq_len // 2))
    return Finding(
        diagnosis=Diagnosis.OOM,
        evidence=evidence,
        candidates=candidates or [stop("out of memory with nothing left to shrink")],
    )


def _data_error_finding(evidence: dict[str, Any], config: dict[str, Any], message: str) -> Finding:
    candidates = [stop("the data must be repaired first")]
    mapped = any(config.get(k) for k in ("prompt_column", "response_column", "text_column"))
    if mapped and "missing column" in message:  # a tiny advisor may not give up on a run one setting repairs
        why = "the configured columns are not in the file: let the reader detect them"
        candidates = [relaunch(Action.FIX_COLUMNS, why, clear_column_mapping=True)]
    return Finding(
        diagnosis=Diagnosis.DATA_ERROR, evidence=evidence | {"error": message[:300]}, candidates=candidates
    )


def _error_finding(evidence: dict[str, Any], config: dict[str, Any], result: RunResult) -> Finding:
    candidates = [stop("not a training-dynamics problem")]
    if (
        result.status == RunStatus.ERROR
        and config.get("target_modules")
        and "target_modules" in result.message
    ):
        why = "the named LoRA target modules do not exist: use the family's defaults"
        candidates = [relaunch(Action.DEFAULT_TARGETS, why, default_target_modules=True)]
    return Finding(
        diagnosis=Diagnosis.ERROR, evidence=evidence | {"error": result.message[:300]}, candidates=candidates
    )


def _far_from_prior(finding: Finding, config: dict[str, Any], prior_lr: float) -> Finding:
    """An lr far from the size prior explains a flat or slow curve better than the step count does, and
    then it is the only candidate: more steps or a 2x nudge cannot close a 10x gap."""
    if finding.diagnosis not in (Diagnosis.PLATEAU, Diagnosis.UNDERFIT):
        return finding
    lr = float(config["learning_rate"])
    if lr > FAR_FROM_PRIOR * prior_lr:
        why = (
            f"lr {lr:g} is over {FAR_FROM_PRIOR:g}× the prior {prior_lr:g}: steps saturate; back to the prior"
        )
        return finding.model_copy(
            update={"candidates": [relaunch(Action.LOWER_LR, why, learning_rate=prior_lr)]}
        )
    if lr * FAR_FROM_PRIOR < prior_lr:
        why = f"lr {lr:g} is under 1/{FAR_FROM_PRIOR:g} of the prior {prior_lr:g}: back to the prior"
        return finding.model_copy(
            update={"candidates": [relaunch(Action.RAISE_LR, why, learning_rate=prior_lr)]}
        )
    return finding


def relative_gain(values: list[float]) -> float:
    """How far ``values`` fell below their first value at best, as a share of it (a plateau's measure)."""
    return (values[0] - min(values)) / max(abs(values[0]), 1e-9)


def first_near_best(vals: list[float]) -> int:
    """The first evaluation within :data:`PLATEAU_GAIN` of the best one (where improving stopped)."""
    best = min(vals)
    return next(i for i, v in enumerate(vals) if v <= best * (1 + PLATEAU_GAIN))


def _stalled_validation(vals: list[float], curve: list[float]) -> int | None:
    """How many evaluations the validation loss stalled over while the training loss fell on to under
    :data:`GAP_SHARE` of it, or None when it did not (fewer than 3 evaluations, or still improving)."""
    if len(vals) < 3 or not curve or not all(math.isfinite(v) for v in vals):
        return None
    span = max(2, len(vals) // 2)
    still_falling = curve[-1] < curve[len(curve) // 2]
    if relative_gain(vals[-span:]) < PLATEAU_GAIN and curve[-1] < GAP_SHARE * vals[-1] and still_falling:
        return span
    return None


def _overfit_finding(
    points: list[tuple[int, float]], curve: list[float], evidence: dict[str, Any]
) -> Finding | None:
    """An overfit: the validation loss rose again, or stalled, while the training loss fell; its fix
    stops the run at the step of the evaluation where validation stopped improving."""
    steps = len(curve)
    vals = [loss for _, loss in points]
    rose = len(vals) >= 3 and vals[-1] > (1 + OVERFIT_RISE) * min(vals)
    if rose and curve and curve[-1] < curve[steps // 2]:
        at, extra = vals.index(min(vals)), {}
        why = (
            f"val loss rose from {min(vals):.4g} to {vals[-1]:.4g} while the train loss fell: "
            "stop at the best"
        )
    else:
        stall = _stalled_validation(vals, curve)
        if stall is None:
            return None
        at, extra = first_near_best(vals), {"stalled_evaluations": stall}
        why = (
            f"val loss stalled at {vals[-1]:.4g} over the last {stall} evaluations while the train loss fell "
            f"to {curve[-1]:.4g}: more steps memorise the rows; stop where val stopped improving"
        )
    return Finding(
        diagnosis=Diagnosis.OVERFIT,
        evidence=evidence | {"val_min": min(vals), "val_last": vals[-1]} | extra,
        candidates=[relaunch(Action.EARLY_STOP, why, max_steps=max(1, points[at][0]))],
    )


def _completed_but_short(
    events: list[dict[str, Any]], config: dict[str, Any], metrics: dict[str, Any]
) -> Finding:
    curve = [v for v in losses(events) if math.isfinite(v)]
    steps = len(curve)
    evidence = {k: metrics[k] for k in ("train_loss", "val_loss") if k in metrics} | {"steps": steps}
    overfit = _overfit_finding(evaluations(events), curve, evidence)
    if overfit is not None:
        return overfit
    lr = float(config["learning_rate"])
    # A relaunch from a checkpoint logs only its own steps: double the planned total, not this count.
    more = min(10_000_000, max(steps, int(config.get("max_steps") or 0), 1) * 2)
    raise_range = {"learning_rate": (lr * RAISE_RANGE[0], lr * RAISE_RANGE[1])}
    window = max(PLATEAU_MIN_STEPS, int(steps * PLATEAU_SHARE))
    if steps >= 2 * PLATEAU_MIN_STEPS:
        tail = curve[-window:]
        gain = relative_gain(tail)
        if gain < PLATEAU_GAIN:
            flat = f"the loss fell {gain:.1%} over the last {window} steps"
            return Finding(
                diagnosis=Diagnosis.PLATEAU,
                evidence=evidence | {"window": window, "gain": gain},
                candidates=[
                    relaunch(Action.RAISE_LR, f"{flat}: a larger step", raise_range, learning_rate=lr * 2),
                    relaunch(Action.MORE_STEPS, f"{flat}: train longer", max_steps=more),
                ],
            )
    return Finding(
        diagnosis=Diagnosis.UNDERFIT,
        evidence=evidence,
        candidates=[
            relaunch(
                Action.MORE_STEPS,
                "the target was missed while the loss still fell: train longer",
                max_steps=more,
            ),
            relaunch(
                Action.RAISE_LR,
                "the target was missed while the loss still fell: learn faster",
                raise_range,
                learning_rate=lr * 1.5,
            ),
        ],
    )
