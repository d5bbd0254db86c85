"""The supervisor's typed records: tool calls, candidates, findings, decisions and attempts.

Every record is a pydantic model with ``extra="forbid"``, so it round-trips through JSON
(``model_dump(mode="json")`` / ``model_validate``) into ``report.json``, the LangGraph checkpoint and
back without losing its types. The vocabularies are enums owned elsewhere and imported here:
diagnoses and outcomes by the memory (``memory.records``), run statuses by the trainer
(``trainer.result``); fix actions and goal statuses are owned here.

This module holds data only: detectors fill :class:`Finding`, the decision code turns the advisor's
answer into a :class:`Decision`, the graph records each :class:`AttemptRecord`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openlora.memory.records import Action, Diagnosis
from openlora.tools.relaunch_from_checkpoint import settings_changes
from openlora.trainer.result import RunResult, RunStatus

__all__ = [
    "Action",
    "AttemptRecord",
    "Candidate",
    "Decision",
    "DecisionSource",
    "Diagnosis",
    "Finding",
    "GoalStatus",
    "ToolCall",
]


class GoalStatus(StrEnum):
    """Where a supervised goal stands (``agent_events.jsonl`` ``state`` events, the registry)."""

    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    EXPORT_FAILED = "export_failed"


class DecisionSource(StrEnum):
    """Who chose a decision: the advisor, the rules (the advisor's answer was refused), or a person."""

    ADVISOR = "advisor"
    RULES = "rules"
    PERSON = "person"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ToolCall(_Record):
    """One call of a registered tool: its name and the arguments the chooser gave it."""

    tool: str = Field(..., max_length=64, description="Name of a tool in the registry.")
    args: dict[str, Any] = Field(default_factory=dict, description="Arguments the chooser set.")

    def text(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.args.items())
        return f"{self.tool}({shown})"


class Candidate(_Record):
    """A call the detectors allow: a tool, the rules' arguments, and how far the advisor may move them.

    ``args`` are the rules' choice; each entry of ``ranges`` lets the advisor set that (numeric)
    argument anywhere in ``[low, high]`` instead. Every other argument is fixed to its value.
    """

    action: Action = Field(..., description="The fix this call makes (memory and reports group by it).")
    call: ToolCall
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    why: str = Field(..., description="The rule behind the candidate, composed from the evidence.")

    @property
    def tool(self) -> str:
        return self.call.tool

    @property
    def changes(self) -> dict[str, Any]:
        """The training settings this call changes (see :func:`changes_of`)."""
        return changes_of(self.call)


def changes_of(call: ToolCall) -> dict[str, Any]:
    """The training settings a relaunch or patch call changes, resets spelled out as ``None``."""
    return settings_changes(call.args)


class Finding(_Record):
    """A diagnosis with its evidence and the calls that could fix it (the rules' best first)."""

    diagnosis: Diagnosis
    evidence: dict[str, Any] = Field(default_factory=dict)
    candidates: list[Candidate] = Field(default_factory=list)

    def summary(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.evidence.items() if k != "cause")
        causes = [
            f"{c['quantity']} of {'/'.join(c['keys'])} is {c.get('figure', _short(c['value']))} "
            f"(healthy {c['healthy']})"
            for c in self.evidence.get("cause", [])
        ]
        cause = f"; cause: {'; '.join(causes)}" if causes else ""
        return f"{self.diagnosis.value}: {shown}{cause}"


class Decision(_Record):
    """The validated call the supervisor executes, who chose it, and why."""

    diagnosis: Diagnosis
    action: Action
    call: ToolCall
    reason: str = Field(..., description="Composed from the evidence and the rule; never model prose.")
    source: DecisionSource
    rejected: str | None = Field(None, description="Why the advisor's own call was refused, if it was.")
    schema_valid: bool = Field(True, description="The advisor's raw answer had the call's schema shape.")
    memory: list[dict[str, Any]] = Field(default_factory=list, description="Ranked fixes memory offered.")
    approved: str | None = Field(None, description="'person' when a person approved it.")

    @property
    def changes(self) -> dict[str, Any]:
        return changes_of(self.call)

    def explanation(self) -> str:
        """What a person reads: the diagnosis, the rule's reason, and the settings the call changes."""
        changes = ", ".join(f"{key} {_short(value)}" for key, value in self.changes.items())
        return f"{self.diagnosis.value}: {self.reason}" + (f" (changes {changes})" if changes else "")

    @property
    def live(self) -> bool:
        return self.call.tool == "patch_hyperparams"

    @property
    def stops(self) -> bool:
        return self.action == Action.STOP


class AttemptRecord(_Record):
    """One training attempt of a goal: its config, how it ended, and what the supervisor made of it."""

    number: int = Field(..., ge=1)
    config: dict[str, Any]
    run_dir: str
    status: RunStatus
    message: str = ""
    final_metrics: dict[str, Any] = Field(default_factory=dict)
    started_at: float
    ended_at: float
    patches: list[dict[str, Any]] = Field(default_factory=list)
    finding: Finding | None = None
    decision: Decision | None = None
    evaluation: dict[str, Any] | None = None

    @classmethod
    def ended(
        cls,
        number: int,
        config: dict[str, Any],
        run_dir: str,
        result: RunResult,
        started_at: float,
        patches: list[dict[str, Any]],
    ) -> AttemptRecord:
        return cls(
            number=number,
            config=config,
            run_dir=run_dir,
            status=result.status,
            message=result.message,
            final_metrics=dict(result.final_metrics),
            started_at=started_at,
            ended_at=result.ended_at,
            patches=patches,
        )


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)[:80]
