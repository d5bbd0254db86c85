"""Graph nodes before training: inspect the data, refuse what no setting can fix, plan, launch.

Nodes are plain functions over the state that return a partial update; every tool runs through the
registry. Launching is idempotent under ``--resume``: it reattaches to a live trainer.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from openlora.agent.context import Context
from openlora.agent.evidence import Facts
from openlora.agent.facts import facts_for
from openlora.agent.planner import Plan, plan_first_config
from openlora.agent.preflight import correct
from openlora.agent.records import Diagnosis, Finding, GoalStatus
from openlora.agent.state import AgentState
from openlora.tools import registry
from openlora.tools.inspect_dataset import DatasetReport


def inspect_dataset_report(ctx: Context, dataset_id: str) -> DatasetReport:
    """``inspect_dataset`` on one of the run's datasets, as the report the state keeps."""
    report = registry.invoke("inspect_dataset", ctx.tools, {"dataset_id": dataset_id})
    ctx.recorder.action("inspect_dataset", attempt=0)
    return DatasetReport.model_validate(report)


def inspect_data(state: AgentState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Every file the goal names: the training file, and the validation file and how it relates to it
    (its problems join the training file's, prefixed, so one gate judges both)."""
    ctx = runtime.context
    report = inspect_dataset_report(ctx, "train")
    validation = inspect_dataset_report(ctx, "eval") if state["goal"].eval_dataset else None
    lines = [f"{report.rows} rows, " + ("; ".join(report.problems) or "no problems found")]
    if validation is not None:
        report = report.model_copy(
            update={
                "problems": report.problems + [f"validation file: {p}" for p in validation.problems],
                "blocking": report.blocking + [f"validation file: {p}" for p in validation.blocking],
            }
        )
        lines.append(
            f"validation file: {validation.rows} rows, "
            + ("; ".join(validation.problems) or "no problems found")
        )
    timeline = [ctx.recorder.say("inspect", line) for line in lines]
    return {"dataset": report, "validation": validation, "timeline": timeline}


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
    planned = preflight_plan(plan_first_config(goal, state["dataset"].rows, ctx.memory), state)
    remembered = "memory is off" if ctx.memory is None else f"{ctx.memory.count()} incidents in memory"
    lines = [ctx.recorder.say("plan", note) for note in [remembered, *planned.notes]]
    return {
        "plan": planned,
        "config": planned.config,
        "attempt": 1,
        "pending_incident": None,
        "timeline": lines,
    }


def preflight_plan(planned: Plan, state: AgentState) -> Plan:
    """The plan after the pre-flight check: out-of-range settings corrected unless the goal pinned them
    (or a remembered fix set them); every check kept in the plan, every correction and warning noted."""
    goal, dataset, validation = state["goal"], state["dataset"], state.get("validation")

    def facts_of(config: dict[str, Any]) -> Facts:
        return facts_for(config, goal, planned, dataset, validation)

    config, checks, notes = correct(planned.config, facts_of, planned.holders(goal.training))
    return planned.model_copy(update={"config": config, "preflight": checks, "notes": planned.notes + notes})


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
