"""Typed records of the memory: diagnoses, fix actions, outcomes, fixes, incidents, search hits, ranked fixes.

The memory owns the diagnosis, action and outcome vocabularies; the supervisor and the Prometheus
exporter import them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Diagnosis(StrEnum):
    """What went wrong with a run (the detectors' vocabulary)."""

    NAN = "nan"
    DIVERGED = "diverged"
    LOSS_SPIKE = "loss_spike"
    PLATEAU = "plateau"
    OVERFIT = "overfit"
    OOM = "oom"
    DATA_ERROR = "data_error"
    UNDERFIT = "underfit"
    ERROR = "error"
    HALLUCINATION = "hallucination"
    FORMAT_FAILURE = "format_failure"
    HEALTHY = "healthy"


class Action(StrEnum):
    """The fixes the supervisor can make (each one call of a registered tool)."""

    LOWER_LR = "lower_lr"
    RAISE_LR = "raise_lr"
    ADD_WARMUP = "add_warmup"
    CLIP_GRADIENTS = "clip_gradients"
    REDUCE_BATCH = "reduce_batch"
    SHORTEN_SEQUENCES = "shorten_sequences"
    GRADIENT_CHECKPOINTING = "gradient_checkpointing"
    MORE_STEPS = "more_steps"
    EARLY_STOP = "early_stop"
    FIX_SETTING = "fix_setting"  # set a setting the evidence names back into its healthy range
    FIX_COLUMNS = "fix_columns"
    DEFAULT_TARGETS = "default_targets"
    FILTER_DATA = "filter_data"
    SYNTHESIZE_DATA = "synthesize_data"  # more training pairs written from the training pairs
    STOP = "stop"


class Outcome(StrEnum):
    """What the fix did once the retry ended."""

    PENDING = "pending"
    FIXED = "fixed"
    NOT_FIXED = "not_fixed"
    MADE_WORSE = "made_worse"


OUTCOME_WEIGHT = {Outcome.FIXED: 1.0, Outcome.NOT_FIXED: -0.5, Outcome.MADE_WORSE: -1.0, Outcome.PENDING: 0.0}


@dataclass(frozen=True)
class Fix:
    """A structured patch: an action name and the settings it changes."""

    action: str
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Groups equivalent fixes: the action and which settings moved (not their exact values)."""
        return f"{self.action}({','.join(sorted(self.changes))})"

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "changes": self.changes}


@dataclass
class Incident:
    """A failure as remembered: the symptom, the config at failure, the fix tried, its outcome."""

    id: str
    diagnosis: Diagnosis
    model_family: str
    signature: str
    created_at: float
    run_id: str | None = None
    attempt: int | None = None
    error_tail: str = ""
    dataset_stats: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None
    outcome: Outcome = Outcome.PENDING
    outcome_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> Incident:
        fix = json.loads(row["fix"]) if row["fix"] else None
        return cls(
            id=row["id"],
            diagnosis=Diagnosis(row["diagnosis"]),
            model_family=row["model_family"],
            signature=row["signature"],
            created_at=row["created_at"],
            run_id=row["run_id"],
            attempt=row["attempt"],
            error_tail=row["error_tail"] or "",
            dataset_stats=json.loads(row["dataset_stats"] or "{}"),
            config=json.loads(row["config"] or "{}"),
            fix=Fix(fix["action"], fix.get("changes", {})) if fix else None,
            outcome=Outcome(row["outcome"]),
            outcome_at=row["outcome_at"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "diagnosis": self.diagnosis.value,
            "model_family": self.model_family,
            "signature": self.signature,
            "created_at": self.created_at,
            "run_id": self.run_id,
            "attempt": self.attempt,
            "error_tail": self.error_tail,
            "dataset_stats": self.dataset_stats,
            "config": self.config,
            "fix": self.fix.to_json() if self.fix else None,
            "outcome": self.outcome.value,
            "outcome_at": self.outcome_at,
        }


@dataclass(frozen=True)
class IncidentHit:
    """A retrieved incident and its cosine similarity to the query (1 = identical)."""

    incident: Incident
    similarity: float


@dataclass(frozen=True)
class RankedFix:
    """A fix seen on similar incidents, scored by similarity-weighted outcomes."""

    fix: Fix
    score: float
    worked: int
    failed: int
    tried: int
    best_similarity: float

    @property
    def success_rate(self) -> float:
        known = self.worked + self.failed
        return self.worked / known if known else 0.0
