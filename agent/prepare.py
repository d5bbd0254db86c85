"""Graph nodes before training: inspect the data, refuse what no setting can fix, plan, launch.

Nodes are plain functions over the state that return a partial update; every tool runs through the
registry. Launching is idempotent under ``--resume``: it reattaches to a live trainer.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.context import Context
from openlora.agent.planner import plan_first_config
from openlora.agent.records import Diagnosis, Finding, GoalStatus
from openlora.agent.state import AgentState
from openlora.tools import registry
from openlora.tools.inspect_dataset import DatasetReport


def inspect_data(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx = runtime.context
    report = DatasetReport.model_validate(
        registry.invoke("inspect_dataset", ctx.tools, {"dataset_id": "train"})
    )
    ctx.recorder.action("inspect_dataset", attempt=0)
    problems = "; ".join(report.problems) or "no problems found"
    return {"dataset": report, "timeline": [ctx.recorder.say("inspect", f"{report.rows} rows, {problems}")]}


def refuse(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Stop before the first attempt: the data has a problem no training setting can fix."""
    recorder, blocking = runtime.context.recorder, state["dataset"].blocking
    recorder.event("diagnosis", diagnosis=Diagnosis.DATA_ERROR.value, attempt=0)
    recorder.state(GoalStatus.FAILED)
    text = (
        "not training: " + "; ".join(blocking) + " — repair the data (or set `bad_data: warn` in the "
        "goal to train anyway)"
    )
    return {
        "finding": Finding(diagnosis=Diagnosis.DATA_ERROR, evidence={"blocking": blocking}),
        "attempt": 0,
        "config": {},
        "outcome": GoalStatus.FAILED,
        "timeline": [recorder.say("refuse", text)],
    }


def plan(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The first config: priors from the model and data size, then what memory says worked before."""
    ctx, goal = runtime.context, state["goal"]
    planned = plan_first_config(goal, state["dataset"].rows, ctx.memory)
    remembered = "memory is off" if ctx.memory is None else f"{ctx.memory.count()} incidents in memory"
    lines = [ctx.recorder.say("plan", note) for note in [remembered, *planned.notes]]
    return {
        "plan": planned,
        "config": planned.config,
        "attempt": 1,
        "pending_incident": None,
        "timeline": lines,
    }


def launch(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    ctx, attempt, cfg = runtime.context, state["attempt"], state["config"]
    launched = registry.invoke("launch_run", ctx.tools, {}, {"attempt": attempt, "training_config": cfg})
    ctx.recorder.action("launch_run", attempt=attempt)
    verb = "reattached to" if launched["reattached"] else "started"
    text = (
        f"attempt {attempt}: {verb} the trainer (lr {cfg['learning_rate']:g}, "
        f"batch {cfg['batch_size']}×{cfg['grad_accum']}, seq {cfg['max_seq_len']})"
    )
    return {"timeline": [ctx.recorder.say("launch", text)]}
