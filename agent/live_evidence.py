"""Evidence an attempt recorded about itself: figures from ``metrics.jsonl`` and ``result.json``.

Each function returns a :class:`~openlora.agent.evidence.Check` (stage ``live``) or ``None`` when
the attempt did not record what it needs: the share of examples the trainer dropped as too long
(its ``run_start`` dataset figures), examples that cannot fit at all (a data error's figures), the
learning rate the schedule actually reached, and how the gradient norm grew. Ranges and sources:
``agent/EVIDENCE.md``.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from openlora.agent.evidence import (
    TEMPLATE_TOKENS,
    Check,
    DataFacts,
    judge,
    power_of_two_at_least,
)
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import run_start

MAX_DROPPED_SHARE = 0.05
MIN_LR_REACHED = 0.5
MAX_GRAD_NORM_RISE = 10.0
MIN_STEPS_FOR_TRENDS = 8


def _longer_sequences(seq_len: int, longest_tokens: float) -> int:
    """A max_seq_len that holds ``longest_tokens``, at least double the current one."""
    return power_of_two_at_least(max(2 * seq_len, longest_tokens + TEMPLATE_TOKENS))


def dropped_examples(events: list[dict[str, Any]], config: dict[str, Any], data: DataFacts) -> Check | None:
    stats = run_start(events).get("dataset") or {}
    if "dropped_too_long" not in stats:
        return None
    dropped = int(stats["dropped_too_long"])
    total = dropped + int(stats.get("train_examples", 0)) + int(stats.get("val_examples", 0))
    share = dropped / max(1, total)
    seq = int(config["max_seq_len"])
    longest = data.longest_tokens if data.length_deciles else 2 * seq
    return judge(
        "dropped_examples",
        ["max_seq_len"],
        share,
        f"the trainer dropped {dropped} of {total} examples as longer than max_seq_len {seq}",
        high=MAX_DROPPED_SHARE,
        fix_high={"max_seq_len": _longer_sequences(seq, longest)},
        stage="live",
        share=True,
    )


def unfittable_examples(result: RunResult) -> Check | None:
    """A data error whose figures say no example fits in max_seq_len (the trainer names the setting)."""
    evidence = result.evidence
    if "shortest_example_tokens" not in evidence or "max_seq_len" not in evidence:
        return None
    seq, shortest = int(evidence["max_seq_len"]), int(evidence["shortest_example_tokens"])
    longest = int(evidence.get("longest_example_tokens", shortest))
    return judge(
        "unfittable_examples",
        ["max_seq_len"],
        shortest / seq,
        f"every example is longer than max_seq_len {seq}: the shortest has {shortest} tokens, the "
        f"longest {longest}",
        high=1.0,
        fix_high={"max_seq_len": _longer_sequences(seq, longest)},
        stage="live",
    )


def _steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "step"]


def lr_reached(events: list[dict[str, Any]], config: dict[str, Any]) -> Check | None:
    """The schedule's highest learning rate as a share of the configured peak (warmup can hide it).
    Not judged on a run resumed from a checkpoint: its schedule peaked before the steps it logged (an
    attempt continued at step 12 of 24 on a cosine schedule logs at most half the peak, warmup or not)."""
    if any(e.get("event") == "resumed" and int(e.get("step") or 0) > 0 for e in events):
        return None
    rates = [float(e["lr"]) for e in _steps(events) if isinstance(e.get("lr"), int | float)]
    if len(rates) < MIN_STEPS_FOR_TRENDS:
        return None
    peak = float(config["learning_rate"])
    share = max(rates) / peak
    steps = int(run_start(events).get("total_steps") or config.get("max_steps") or len(rates))
    return judge(
        "lr_reached",
        ["warmup_steps"],
        share,
        f"over {len(rates)} logged steps the learning rate reached {max(rates):.3g}, {share:.0%} of its peak "
        f"{peak:g} (warmup_steps {config['warmup_steps']})",
        low=MIN_LR_REACHED,
        fix_low={"warmup_steps": round(0.05 * steps)},
        stage="live",
        share=True,
    )


def grad_norm_rise(events: list[dict[str, Any]], config: dict[str, Any]) -> Check | None:
    """How much the gradient norm grew from the first quarter of the run to the last."""
    norms = [
        float(e["grad_norm"])
        for e in _steps(events)
        if isinstance(e.get("grad_norm"), int | float) and math.isfinite(e["grad_norm"])
    ]
    if len(norms) < MIN_STEPS_FOR_TRENDS:
        return None
    quarter = max(2, len(norms) // 4)
    first, last = statistics.median(norms[:quarter]), statistics.median(norms[-quarter:])
    rise = last / max(first, 1e-12)
    lr = float(config["learning_rate"])
    return judge(
        "grad_norm_rise",
        ["learning_rate"],
        rise,
        f"the gradient norm grew {rise:.3g}× from the first quarter of the run (median {first:.3g}) to "
        f"the last ({last:.3g}) at learning_rate {lr:g}",
        high=MAX_GRAD_NORM_RISE,
        fix_high={"learning_rate": lr * 0.3},
        stage="live",
        times=True,
    )


def live_checks(
    events: list[dict[str, Any]], result: RunResult, config: dict[str, Any], data: DataFacts
) -> list[Check]:
    """Every live quantity the attempt recorded enough for."""
    found = [
        dropped_examples(events, config, data),
        unfittable_examples(result),
        lr_reached(events, config),
        grad_norm_rise(events, config),
    ]
    return [check for check in found if check is not None]
