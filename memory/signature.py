"""The text signature of a symptom: what gets embedded and compared across runs.

It describes the loss curve's shape in words (start, minimum, end, trend per third, spikes,
non-finite values), the error's last lines, the model family, the dataset figures and the
settings that matter for the diagnosis. Dataset *text* never enters a signature, only numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

KEY_SETTINGS = (
    "learning_rate",
    "batch_size",
    "grad_accum",
    "max_seq_len",
    "warmup_steps",
    "max_grad_norm",
    "lora_r",
    "epochs",
    "max_steps",
)


@dataclass
class Symptom:
    """A failure to remember or to look up."""

    diagnosis: str
    model_family: str
    losses: Sequence[float | None] = ()
    error_tail: str = ""
    dataset_stats: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def signature(self) -> str:
        parts = [f"diagnosis {self.diagnosis}", f"model family {self.model_family}"]
        curve = describe_curve(self.losses)
        if curve:
            parts.append(f"loss curve: {curve}")
        if self.note:
            parts.append(self.note)
        settings = ", ".join(f"{k} {self.config[k]}" for k in KEY_SETTINGS if self.config.get(k) is not None)
        if settings:
            parts.append(f"settings: {settings}")
        stats = ", ".join(
            f"{k} {v}" for k, v in sorted(self.dataset_stats.items()) if isinstance(v, (int, float))
        )
        if stats:
            parts.append(f"dataset: {stats}")
        if self.error_tail:
            parts.append(f"error: {' '.join(self.error_tail.split())[-300:]}")
        return ". ".join(parts)


def _trend(start: float, end: float) -> str:
    if start <= 0 or not math.isfinite(start) or not math.isfinite(end):
        return "undefined"
    ratio = end / start
    if ratio < 0.9:
        return "falling"
    if ratio > 1.1:
        return "rising"
    return "flat"


def describe_curve(losses: Sequence[float | None]) -> str:
    """Words for the loss curve's shape, e.g. 'falls from 2.3 to 1.1, then rising; non-finite at step 41'."""
    values = list(losses)
    if not values:
        return ""
    finite = [(i, v) for i, v in enumerate(values, start=1) if v is not None and math.isfinite(v)]
    words = []
    if finite:
        first, last = finite[0][1], finite[-1][1]
        low_step, low = min(finite, key=lambda item: item[1])
        words.append(f"starts {first:.3g}, minimum {low:.3g} at step {low_step}, last finite {last:.3g}")
        thirds = [finite[i * len(finite) // 3 : (i + 1) * len(finite) // 3 or None] for i in range(3)]
        trends = [_trend(chunk[0][1], chunk[-1][1]) for chunk in thirds if len(chunk) >= 2]
        if trends:
            words.append("trend by thirds " + " then ".join(trends))
        diffs = [b[1] - a[1] for a, b in pairwise(finite)]
        if diffs:
            typical = sorted(abs(d) for d in diffs)[len(diffs) // 2] or 1e-9
            spikes = [finite[i + 1][0] for i, d in enumerate(diffs) if d > 5 * typical and d > 0.1 * abs(low)]
            if spikes:
                words.append(f"spikes at steps {', '.join(map(str, spikes[:5]))}")
    bad = [i for i, v in enumerate(values, start=1) if v is None or not math.isfinite(v)]
    if bad:
        words.append(f"loss became nan or inf at step {bad[0]}")
    words.append(f"{len(values)} steps")
    return "; ".join(words)
