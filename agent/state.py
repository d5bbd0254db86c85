"""The supervisor's state: typed records that LangGraph checkpoints in SQLite after every step.

Nodes return partial updates and never edit the state in place. ``attempts`` has a reducer that
upserts by attempt number (a node returns the one record it changed), ``timeline`` accumulates
(each node appends what it did and why). :data:`CHECKPOINTED_TYPES` lists every class the
checkpoint may hold, so the serializer restores them and nothing else.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from pydantic import BaseModel, ConfigDict

from openlora.agent.evidence import Check, Verdict
from openlora.agent.goal import AdvisorSettings, Budget, EvaluationSettings, Goal, PublishSettings, Success
from openlora.agent.planner import Plan
from openlora.agent.records import (
    Action,
    AttemptRecord,
    Candidate,
    Decision,
    DecisionSource,
    Diagnosis,
    Finding,
    GoalStatus,
    ToolCall,
)
from openlora.tools.inspect_dataset import DatasetReport
from openlora.trainer.result import RunStatus


class TimelineEntry(BaseModel):
    """One line of what the supervisor did: when, in which step, and what (composed from evidence)."""

    model_config = ConfigDict(extra="forbid")

    t: float
    node: str
    text: str


def upsert_attempts(current: list[AttemptRecord], update: list[AttemptRecord]) -> list[AttemptRecord]:
    """Reducer: records in ``update`` replace those with the same number; the list stays ordered."""
    merged = {record.number: record for record in current or []}
    merged.update({record.number: record for record in update or []})
    return [merged[number] for number in sorted(merged)]


class AgentState(TypedDict, total=False):
    goal: Goal
    run_root: str
    started_at: float
    dataset: DatasetReport  # the training file's report (the validation file's problems included)
    validation: DatasetReport | None  # the goal's validation file, when it names one
    plan: Plan
    attempt: int  # the attempt being trained or judged (0 when the data was refused)
    config: dict[str, Any]  # that attempt's training config (TrainConfig.model_dump())
    attempts: Annotated[list[AttemptRecord], upsert_attempts]
    finding: Finding | None  # how the current attempt ended (or what its evaluation found)
    decision: Decision | None  # what the supervisor does about it
    pending_incident: str | None  # the incident whose fix the current attempt tests
    outcome: GoalStatus
    exports: dict[str, Any]
    published: dict[str, Any]  # the Hub publish after success: repo, commit, files; or the error
    timeline: Annotated[list[TimelineEntry], operator.add]


class GoalRun(BaseModel):
    """The final state of a goal run, as its clients (CLI, TUI, benchmarks, report) read it."""

    model_config = ConfigDict(extra="forbid")

    goal: Goal
    run_root: str
    started_at: float
    outcome: GoalStatus | None = None
    dataset: DatasetReport | None = None
    validation: DatasetReport | None = None
    plan: Plan | None = None
    attempts: list[AttemptRecord] = []
    finding: Finding | None = None  # the last finding (the refusal's, when the data was refused)
    exports: dict[str, Any] = {}
    published: dict[str, Any] = {}
    timeline: list[TimelineEntry] = []

    @classmethod
    def from_state(cls, state: AgentState | dict[str, Any]) -> GoalRun:
        return cls(**{k: state[k] for k in cls.model_fields if k in state})

    @property
    def prior_lr(self) -> float | None:
        return self.plan.prior_lr if self.plan else None


CHECKPOINTED_TYPES: tuple[type, ...] = (
    Goal,
    Success,
    Budget,
    EvaluationSettings,
    AdvisorSettings,
    PublishSettings,
    DatasetReport,
    Plan,
    Check,
    Verdict,
    AttemptRecord,
    Finding,
    Candidate,
    ToolCall,
    Decision,
    TimelineEntry,
    GoalRun,
    Action,
    Diagnosis,
    DecisionSource,
    GoalStatus,
    RunStatus,
)
