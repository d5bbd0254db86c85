"""Graph nodes that end a goal: export the successful attempt, write the report, publish to the Hub.

``export`` runs the ``export_model`` tool for the goal's formats beyond the adapter (the trainer always
writes the adapter); a failed export ends the goal ``export_failed`` with the adapter kept.
``report`` writes ``report.md``, ``report.json`` and ``loss.png`` (see ``report``).
``publish`` (only after success, when the goal has ``publish:``) uploads the exports with a model card
written from the report (``trainer.export.hub_upload``), then writes the report again with the result.
A failed publish is recorded in the timeline, the events and the report; the goal stays a success:
the training result does not depend on the upload, and ``openlora-agent publish`` can retry it.
It is not a tool: the advisor never decides to publish, and never sees the token.
"""

from __future__ import annotations

from pathlib import Path
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


def publish(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Upload the goal's exports with a model card; a failure is reported, never fatal to the goal."""
    from openlora.trainer.export.hub_upload import PublishError, publish_run

    ctx, goal, attempt = runtime.context, state["goal"], state["attempt"]
    settings = goal.publish
    if settings is None:  # the router sends only goals that publish
        return {}
    try:
        result = publish_run(
            Path(state["run_root"]),
            settings.repo,
            goal.publish_formats(),
            settings.private,
            repo_argument="publish.repo",
        )
    except Exception as exc:  # a bug here must not turn a trained goal into a failure either
        reason = str(exc) if isinstance(exc, PublishError) else f"{type(exc).__name__}: {exc}"
        ctx.recorder.action("publish_model", attempt=attempt, outcome="error")
        published, text = (
            {"repo": settings.repo, "error": reason},
            f"publish to {settings.repo} failed: {reason}",
        )
    else:
        ctx.recorder.action("publish_model", attempt=attempt)
        published = result.to_json()
        unchanged = "" if result.changed else "; unchanged, no new commit"
        text = f"published to {result.url} (commit {result.commit[:12]}{unchanged})"
    entry = ctx.recorder.say("publish", text)
    timeline = [*state.get("timeline", []), entry]
    write_report(GoalRun.from_state({**state, "published": published, "timeline": timeline}))
    return {"published": published, "timeline": [entry]}
