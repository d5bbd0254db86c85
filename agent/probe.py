"""Graph node between plan and launch: a micro-batch measured to fit (``agent.batch_probe``), then a
measured learning rate instead of the size prior alone.

When the goal leaves ``learning_rate`` to the supervisor (not pinned, not set by a remembered fix)
and ``lr_probe: auto``, a learning-rate range test (the ``probe_learning_rate`` tool) trains the
planned config for a few steps while the rate rises from 1/30 to 30× the size prior. Its length is
at most :data:`BUDGET_SHARE` of the goal's step budget (attempts × the planned steps) and at most
:data:`MAX_STEPS`; below :data:`MIN_STEPS` no probe runs. The suggested rate is kept inside the
healthy range of ``lr_vs_prior`` (÷10 to ×10 the prior); the curve goes into the plan and the report.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.batch_probe import fit_batch
from openlora.agent.context import Context
from openlora.agent.facts import facts_for
from openlora.agent.preflight import LR_RANGE
from openlora.agent.state import AgentState
from openlora.tools import registry
from openlora.tools.context import ToolError

BUDGET_SHARE = 0.10
MIN_STEPS, MAX_STEPS = 6, 16
SPAN = 30.0  # the range test runs from prior / SPAN to prior × SPAN


def probe_steps(state: AgentState) -> int:
    """Steps the probe may take: a share of the goal's budget of steps, capped."""
    goal, planned = state["goal"], state["plan"]
    steps = facts_for(planned.config, goal, planned, state["dataset"], state.get("validation")).steps
    return min(MAX_STEPS, int(BUDGET_SHARE * goal.budget.max_attempts * steps))


def _skip_reason(state: AgentState, steps: int) -> str | None:
    goal = state["goal"]
    if goal.lr_probe == "off":
        return "lr_probe: off"
    held = state["plan"].held_reason("learning_rate", goal.training)
    if held is not None:
        return held
    if steps < MIN_STEPS:
        return f"{BUDGET_SHARE:.0%} of the budget is {steps} steps (fewer than {MIN_STEPS})"
    return None


def probe(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The memory probe, then the learning-rate probe on the config it leaves."""
    ctx = runtime.context
    config, batch, text = fit_batch(state, ctx)
    first = [ctx.recorder.say("probe", text)]
    plan = state["plan"].model_copy(
        update={"config": config, "memory_probe": batch, "notes": [*state["plan"].notes, text]}
    )
    update = _learning_rate(state | {"config": config, "plan": plan}, ctx)
    return {"plan": plan, "config": config, **update, "timeline": first + update.get("timeline", [])}


def _learning_rate(state: AgentState, ctx: Context) -> dict[str, Any]:
    planned = state["plan"]
    steps = probe_steps(state)
    skipped = _skip_reason(state, steps)
    if skipped is not None:
        return {"timeline": [ctx.recorder.say("probe", f"no learning-rate probe: {skipped}")]}
    prior = planned.prior_lr
    arguments = {"low": prior / SPAN, "high": min(100.0, prior * SPAN), "steps": steps}
    try:
        found = registry.invoke(
            "probe_learning_rate", ctx.tools, arguments, {"training_config": state["config"]}
        )
    except ToolError as exc:
        return {
            "timeline": [ctx.recorder.say("probe", f"learning-rate probe failed ({exc}); keeping the prior")]
        }
    ctx.recorder.action("probe_learning_rate", attempt=0)
    config, suggested = dict(state["config"]), found["suggested_lr"]
    low, high = arguments["low"], arguments["high"]
    ran = f"{len(found['curve'])} steps from {low:.3g} to {high:.3g} in {found['seconds']:g} s"
    if suggested is None:
        text = f"learning-rate probe: {ran}; the loss never fell, keeping the prior {prior:g}"
    else:
        chosen = min(max(suggested, prior * LR_RANGE[0]), prior * LR_RANGE[1])
        config["learning_rate"] = chosen
        kept = "" if chosen == suggested else f" (kept within {LR_RANGE[0]:g}–{LR_RANGE[1]:g}× the prior)"
        text = (
            f"learning-rate probe: {ran}; the loss fell fastest at {suggested:.3g}: "
            f"learning_rate {chosen:.3g}{kept}"
        )
    line = ctx.recorder.say("probe", text)
    plan = planned.model_copy(update={"config": config, "lr_probe": found, "notes": [*planned.notes, text]})
    return {"plan": plan, "config": config, "timeline": [line]}
