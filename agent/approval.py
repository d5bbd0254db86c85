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

from openlora.agent.decision import check_changes, lr_bounds

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


def proposal(
    decision: dict[str, Any], config: dict[str, Any], attempt: int, prior_lr: float
) -> dict[str, Any]:
    """The interrupt payload: what the supervisor wants to do, and the bounds an edit must keep."""
    return {
        "kind": "relaunch",
        "attempt": attempt,
        "diagnosis": decision["diagnosis"],
        "action": decision["action"],
        "changes": decision["changes"],
        "reason": decision["reason"],
        "source": decision["source"],
        "current": {k: config.get(k) for k in EDITABLE},
        "bounds": {"learning_rate": list(lr_bounds(float(config["learning_rate"]), prior_lr))},
    }


def parse_verdict(raw: Any) -> Verdict:
    try:
        return Verdict.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "verdict"
        raise ApprovalError(f"{where}: {first['msg']} (got {first.get('input')!r})") from None


def apply_verdict(
    decision: dict[str, Any], verdict: Verdict, config: dict[str, Any], prior_lr: float
) -> dict[str, Any]:
    """The decision after the person's verdict; an edit is checked against the advisor's bounds."""
    note = verdict.note.strip()
    if verdict.choice == "approve":
        return {**decision, "approved": "person"}
    if verdict.choice == "veto":
        reason = "vetoed by the person" + (f": {note}" if note else "")
        return {**decision, "action": "stop", "changes": {}, "reason": reason, "source": "person"}
    unknown = sorted(set(verdict.changes) - set(EDITABLE))
    if unknown:
        raise ApprovalError(f"{unknown} cannot be edited here; editable: {', '.join(EDITABLE)}")
    if not verdict.changes:
        raise ApprovalError("an edit needs at least one changed setting")
    try:
        check_changes(config, verdict.changes, prior_lr)
    except ValueError as exc:
        raise ApprovalError(str(exc)) from None
    reason = "edited by the person" + (f": {note}" if note else f" (proposed {decision['changes']})")
    return {
        **decision,
        "changes": dict(verdict.changes),
        "reason": reason,
        "source": "person",
        "approved": "person",
    }
