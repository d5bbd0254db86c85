"""Approvals: with ``approval: ask`` each fix the supervisor proposes waits for a person.

The graph's ``review`` node pauses with a LangGraph interrupt whose value is a :func:`proposal`
(plain JSON); the person answers with a :class:`Verdict`: approve it, edit the proposed settings
(within the same bounds the advisor is held to: the lr within ×0.1–×2 of the current one, and a
valid training config), or veto it, which stops the run. :func:`apply_verdict` turns the verdict
into the decision the graph acts on and raises :class:`ApprovalError` for an edit out of bounds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openlora.agent.candidates import RELAUNCH_TOOL, stop
from openlora.agent.decision import check_changes, lr_bounds
from openlora.agent.records import Action, Decision, DecisionSource, ToolCall

EDITABLE = (
    "learning_rate",
    "warmup_steps",
    "max_grad_norm",
    "batch_size",
    "grad_accum",
    "max_seq_len",
    "max_steps",
)


class ApprovalError(ValueError):
    """A verdict that cannot be applied; the message names the setting and the bound."""


class Verdict(BaseModel):
    """What the person decided about one proposal."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    choice: Literal["approve", "edit", "veto"]
    changes: dict[str, float | int] = Field(default_factory=dict, description="Edited settings (edit only).")
    note: str = Field("", max_length=300, description="Why, in the person's words.")


def proposal(decision: Decision, config: dict[str, Any], attempt: int, prior_lr: float) -> dict[str, Any]:
    """The interrupt payload: what the supervisor wants to do, and the bounds an edit must keep."""
    return {
        "kind": "relaunch",
        "attempt": attempt,
        "diagnosis": decision.diagnosis.value,
        "action": decision.action.value,
        "tool": decision.call.tool,
        "changes": decision.changes,
        "reason": decision.reason,
        "source": decision.source.value,
        "current": {k: config.get(k) for k in EDITABLE},
        "bounds": {"learning_rate": list(lr_bounds(float(config["learning_rate"]), prior_lr))},
    }


def parse_verdict(raw: Any) -> Verdict:
    try:
        return Verdict.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "verdict"
        raise ApprovalError(f"{where}: {first['msg']} (got {str(first.get('input'))[:80]!r})") from None


def apply_verdict(decision: Decision, verdict: Verdict, config: dict[str, Any], prior_lr: float) -> Decision:
    """The decision after the person's verdict; an edit is checked against the advisor's bounds."""
    note = verdict.note.strip()
    if verdict.choice == "approve":
        return decision.model_copy(update={"approved": "person"})
    if verdict.choice == "veto":
        reason = "vetoed by the person" + (f": {note}" if note else "")
        return decision.model_copy(
            update={
                "action": Action.STOP,
                "call": stop(reason).call,
                "reason": reason,
                "source": DecisionSource.PERSON,
            }
        )
    if decision.call.tool != RELAUNCH_TOOL:
        raise ApprovalError(
            f"this fix ({decision.action.value}) takes no settings to edit; approve or veto it"
        )
    unknown = sorted(set(verdict.changes) - set(EDITABLE))
    if unknown:
        raise ApprovalError(f"{unknown} cannot be edited here; editable: {', '.join(EDITABLE)}")
    if not verdict.changes:
        raise ApprovalError("an edit needs at least one changed setting")
    try:
        check_changes(config, verdict.changes, prior_lr)
    except ValueError as exc:
        raise ApprovalError(str(exc)) from None
    reason = "edited by the person" + (f": {note}" if note else f" (proposed {decision.changes})")
    call = ToolCall(tool=RELAUNCH_TOOL, args={"fix": decision.action.value, **verdict.changes})
    return decision.model_copy(
        update={"call": call, "reason": reason, "source": DecisionSource.PERSON, "approved": "person"}
    )
