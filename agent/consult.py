"""Asking the advisor: one constrained tool call among the detectors' candidates, then validated.

:func:`consult` recalls what fixed similar incidents (the ``recall_incidents`` tool), renders the
``decide`` prompt (dataset text only as quoted ``DATA "…"`` samples), binds the allowed calls
(``decision.allowed_calls``) to the advisor's chat model so its answer is decoded against their
schemas, validates the answer (``decision.validate_choice``) and records the decision. What it
returns is always executable: the advisor's call when it passes every check, else the rules' best.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from openlora.advisor.client import AdvisorChatModel
from openlora.agent.context import Context
from openlora.agent.decision import allowed_calls, describe_candidates, validate_choice
from openlora.agent.detectors import losses
from openlora.agent.goal import Goal
from openlora.agent.records import Decision, Finding
from openlora.agent.state import AgentState
from openlora.memory.signature import KEY_SETTINGS, Symptom, describe_curve
from openlora.prompts import render
from openlora.tools import registry

SYSTEM = "You are the training supervisor. Reply with one tool call."
MEMORY_FIXES_SHOWN = 4


@dataclass(frozen=True)
class Situation:
    """What the advisor is told about the attempt being decided."""

    goal: Goal
    attempt: int
    config: dict[str, Any]
    prior_lr: float
    model_family: str
    samples: list[str]


def situation(state: AgentState) -> Situation:
    """What the advisor is told about the state's current attempt."""
    plan = state["plan"]
    return Situation(
        state["goal"],
        state["attempt"],
        state["config"],
        plan.prior_lr,
        plan.model_family,
        state["dataset"].samples,
    )


def _remembered_fixes(
    ctx: Context, situation: Situation, finding: Finding, events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if ctx.memory is None:
        return []
    symptom = Symptom(
        finding.diagnosis.value, situation.model_family, losses(events), config=situation.config
    )
    found = registry.invoke(
        "recall_incidents",
        ctx.tools,
        {"query": symptom.signature()[:500], "k": 5, "model_family": situation.model_family},
    )
    ctx.recorder.event("memory", hits=len(found["incidents"]), attempt=situation.attempt)
    return found["fixes"][:MEMORY_FIXES_SHOWN]


def _prompt(
    situation: Situation, finding: Finding, events: list[dict[str, Any]], fixes: list[dict[str, Any]]
) -> str:
    memory_text = "\n".join(
        f"- {f['fix']['action']} {f['fix']['changes']}: worked {f['worked']}, failed {f['failed']}"
        for f in fixes
    )
    return render(
        "decide",
        task=situation.goal.task[:300],
        model_family=situation.model_family,
        attempt=situation.attempt,
        max_attempts=situation.goal.budget.max_attempts,
        settings={k: situation.config.get(k) for k in KEY_SETTINGS},
        finding=finding.summary(),
        curve=describe_curve(losses(events)) or "no steps",
        candidates=describe_candidates(finding),
        memory=memory_text or "- nothing similar remembered",
        samples="\n".join(situation.samples),
    )


def consult(ctx: Context, situation: Situation, finding: Finding, events: list[dict[str, Any]]) -> Decision:
    """The decision on ``finding``: the advisor's validated call, or the rules' best candidate."""
    fixes = _remembered_fixes(ctx, situation, finding, events)
    model = AdvisorChatModel(advisor=ctx.advisor).bind(tools=allowed_calls(finding))
    message = model.invoke([SystemMessage(SYSTEM), HumanMessage(_prompt(situation, finding, events, fixes))])
    raw: Any = message.tool_calls[0] if message.tool_calls else str(message.content)
    decision = validate_choice(raw, finding, situation.config, situation.prior_lr)
    decision = decision.model_copy(update={"memory": fixes})
    latency = ctx.advisor.latencies[-1] if ctx.advisor.latencies else None
    ctx.recorder.decision(decision, situation.attempt, latency)
    return decision
