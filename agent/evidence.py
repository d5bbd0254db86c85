"""Derived evidence: what a training setting implies for this data and model, against a healthy range.

A :class:`Check` is one derived quantity (the learning rate as a multiple of the size prior, the share
of examples longer than ``max_seq_len``, the evaluations the run will make, ...), the config keys it
judges, its healthy range, a verdict, the figure in plain words, and the settings that would bring it
back into range. :class:`Facts` holds what the quantities are computed from before training (the
config, the dataset figures, the model size). The quantities themselves are in ``preflight`` (before
training) and ``live_evidence`` (from ``metrics.jsonl``); ``causes`` maps a diagnosis to the checks
that explain it. Every quantity, its range and its source are listed in ``agent/EVIDENCE.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openlora.tools.inspect_dataset import DatasetReport
from openlora.trainer.config import TrainConfig

# Bytes of UTF-8 text per token for BPE tokenizers: the central estimate (measured with SmolLM2's
# tokenizer: 2.4 on examples/quickstart/logs.jsonl, 2.1 on examples/siem/pairs.jsonl; English prose
# is nearer 4), and a floor used where too few tokens would cut examples.
BYTES_PER_TOKEN = 2.5
BYTES_PER_TOKEN_FLOOR = 1.5
TEMPLATE_TOKENS = 16  # a chat template's own tokens around one example (SmolLM2's: 12)


class Verdict(StrEnum):
    OK = "ok"
    LOW = "low"
    HIGH = "high"


class Check(BaseModel):
    """One derived quantity, judged against its healthy range."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=True)

    quantity: str = Field(..., description="Name of the derived quantity (see agent/EVIDENCE.md).")
    keys: list[str] = Field(..., description="The config keys it judges; a fix changes these.")
    value: float
    low: float | None = None
    high: float | None = None
    verdict: Verdict
    meaning: str = Field(..., description="The figure in plain words.")
    fix: dict[str, Any] = Field(default_factory=dict, description="Settings that bring it into range.")
    stage: Literal["preflight", "live"] = "preflight"
    share: bool = Field(False, description="The value is a share: shown as a percentage.")
    times: bool = Field(False, description="The value is a multiple of something: shown with ×.")

    @property
    def out_of_range(self) -> bool:
        return self.verdict != Verdict.OK

    def figure(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{value:.0%}" if self.share else f"{value:.3g}×" if self.times else f"{value:.5g}"

    def healthy(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.figure(self.low)}–{self.figure(self.high)}"
        return f"≥ {self.figure(self.low)}" if self.low is not None else f"≤ {self.figure(self.high)}"

    def text(self) -> str:
        """The figure, its healthy range and, when out of range, the change that fixes it."""
        change = ", ".join(f"{k} {_shown(v)}" for k, v in self.fix.items())
        suffix = f"; {change} brings it into range" if self.out_of_range and change else ""
        return f"{self.meaning} (healthy {self.healthy()}){suffix}"


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def judge(
    quantity: str,
    keys: list[str],
    value: float,
    meaning: str,
    low: float | None = None,
    high: float | None = None,
    fix_low: dict[str, Any] | None = None,
    fix_high: dict[str, Any] | None = None,
    stage: Literal["preflight", "live"] = "preflight",
    share: bool = False,
    times: bool = False,
) -> Check:
    """A :class:`Check` whose verdict compares ``value`` with ``[low, high]``; the fix is the one for
    the side it is out on."""
    verdict = Verdict.OK
    if low is not None and value < low:
        verdict = Verdict.LOW
    elif high is not None and value > high:
        verdict = Verdict.HIGH
    fix = fix_low if verdict == Verdict.LOW else fix_high if verdict == Verdict.HIGH else None
    return Check(
        quantity=quantity,
        keys=keys,
        value=value,
        low=low,
        high=high,
        verdict=verdict,
        meaning=meaning,
        fix=fix or {},
        stage=stage,
        share=share,
        times=times,
    )


def power_of_two_at_least(tokens: float, cap: int = 32768) -> int:
    return min(cap, max(64, 1 << math.ceil(math.log2(max(tokens, 1.0)))))


@dataclass(frozen=True)
class DataFacts:
    """The dataset figures the quantities use (from ``inspect_dataset`` on every file of the goal)."""

    rows: int  # training rows before a validation share is held out
    mean_bytes: float
    length_deciles: tuple[int, ...]  # bytes per example at 0 %, 10 %, …, 100 %
    val_file_rows: int | None = None  # rows of the goal's validation file, when it has one
    val_overlap: int = 0  # rows of that file also in the training file
    # The rows the trainer keeps whole or drops when longer than max_seq_len (pairs, chats; plain text
    # is chunked instead) and their deciles; None: every row is such a row, with ``length_deciles``.
    whole_rows: int | None = None
    whole_deciles: tuple[int, ...] = ()

    @classmethod
    def from_reports(cls, train: DatasetReport, validation: DatasetReport | None) -> DataFacts:
        return cls(
            rows=train.rows,
            mean_bytes=train.mean_bytes or train.mean_chars,
            length_deciles=tuple(train.length_deciles) or ((train.max_bytes or 0),),
            val_file_rows=validation.rows if validation else None,
            val_overlap=validation.train_overlap if validation else 0,
            whole_rows=train.whole_rows,
            whole_deciles=tuple(train.whole_length_deciles),
        )

    @property
    def longest_bytes(self) -> int:
        return self.length_deciles[-1] if self.length_deciles else 0

    @property
    def longest_tokens(self) -> float:
        """The longest example's tokens, counted at the floor of bytes per token (so not too few)."""
        return self.longest_bytes / BYTES_PER_TOKEN_FLOOR

    @property
    def whole_example_seq_len(self) -> int:
        """The shortest max_seq_len (a power of two) that still holds the longest example."""
        return power_of_two_at_least(self.longest_tokens + TEMPLATE_TOKENS)

    def share_longer_than(self, tokens: int) -> float:
        """Estimated share of the examples that are longer than ``tokens`` and kept whole, so dropped by
        the trainer (interpolated over the deciles; plain text rows are chunked, never dropped)."""
        limit = tokens * BYTES_PER_TOKEN
        deciles = self.length_deciles if self.whole_rows is None else self.whole_deciles
        if not deciles or deciles[-1] <= limit:
            return 0.0
        below = sum(1 for d in deciles if d <= limit)
        share = max(0.0, min(1.0, 1.0 - (below - 0.5) / (len(deciles) - 1))) if below else 1.0
        return share if self.whole_rows is None else share * self.whole_rows / max(1, self.rows)

    def dropped_at(self, max_seq_len: int) -> float:
        """Estimated share of the examples the trainer drops at ``max_seq_len`` (each one's template
        tokens counted)."""
        return self.share_longer_than(max_seq_len - TEMPLATE_TOKENS)


@dataclass(frozen=True)
class Facts:
    """Everything a pre-flight quantity is computed from."""

    config: TrainConfig
    data: DataFacts
    params: float
    prior_lr: float
    needs_validation: bool  # the goal's target is a validation loss
    cores: int

    @property
    def tokens_per_example(self) -> float:
        return self.data.mean_bytes / BYTES_PER_TOKEN + TEMPLATE_TOKENS

    @property
    def val_rows(self) -> int:
        if self.config.val_dataset:
            return self.data.val_file_rows or 0
        if self.config.val_fraction <= 0 or self.data.rows < 2:
            return 0
        return min(self.data.rows - 1, max(1, round(self.data.rows * self.config.val_fraction)))

    @property
    def train_rows(self) -> int:
        return self.data.rows if self.config.val_dataset else self.data.rows - self.val_rows

    def sequences(self, rows: int) -> int:
        """Packed sequences ``rows`` examples make (one each without packing)."""
        if not self.config.packing:
            return rows
        per_sequence = max(1.0, self.config.max_seq_len / self.tokens_per_example)
        return max(1, math.ceil(rows / per_sequence)) if rows else 0

    @property
    def batches_per_epoch(self) -> int:
        """Global batches an epoch holds (under torchrun each of the processes takes batch_size)."""
        world = self.config.launcher.processes() if self.config.launcher.kind == "torchrun" else 1
        return math.ceil(self.sequences(self.train_rows) / (self.config.batch_size * world))

    @property
    def steps(self) -> int:
        """Optimizer steps the run will make (the trainer's ``total_steps`` on estimated sequences)."""
        if self.config.max_steps:
            return self.config.max_steps
        micro = math.ceil(self.config.epochs * self.batches_per_epoch)
        return max(1, math.ceil(micro / self.config.grad_accum))

    @property
    def passes(self) -> float:
        """Passes over the training data the run will make (a micro-batch never holds more than all
        the sequences)."""
        return self.steps * self.config.grad_accum / max(1, self.batches_per_epoch)

    def steps_for_passes(self, passes: float) -> int:
        return max(1, round(passes * self.batches_per_epoch / self.config.grad_accum))
