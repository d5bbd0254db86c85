"""Graph nodes that end a goal: export the successful attempt, and write the report.

``export`` runs the ``export_model`` tool for the goal's formats beyond the adapter (the trainer always
writes the adapter); a failed export ends the goal ``export_failed`` with the adapter kept.
``report`` writes ``report.md``, ``report.json`` and ``loss.png`` (see ``report``).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.context import Context
from openlora.agent.records import GoalStatus
from openlora.agent.report import write_report
from openlora.agent.state import AgentState, GoalRun
from openlora.tools import registry


def export(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt = runtime.context, state["attempt"]
    extra = [f for f in state["goal"].outputs if f != "adapter"]
    if not extra:
        ctx.recorder.state(GoalStatus.SUCCESS)
        return {
            "outcome": GoalStatus.SUCCESS,
            "exports": {"adapter": "exports/adapter"},
            "timeline": [ctx.recorder.say("export", "adapter written by the trainer")],
        }
    try:
        exported = registry.invoke("export_model", ctx.tools, {"formats": extra}, {"attempt": attempt})
    except Exception as exc:
        ctx.recorder.action("export_model", attempt=attempt, outcome="error")
        ctx.recorder.state(GoalStatus.EXPORT_FAILED)
        return {
            "outcome": GoalStatus.EXPORT_FAILED,
            "exports": {"error": str(exc)},
            "timeline": [ctx.recorder.say("export", f"export failed: {exc}")],
        }
    ctx.recorder.action("export_model", attempt=attempt)
    ctx.recorder.state(GoalStatus.SUCCESS)
    return {
        "outcome": GoalStatus.SUCCESS,
        "exports": exported,
        "timeline": [ctx.recorder.say("export", f"exported {', '.join(exported)}")],
    }


def report(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    paths = write_report(GoalRun.from_state(state))
    return {"timeline": [runtime.context.recorder.say("report", paths["md"])]}
