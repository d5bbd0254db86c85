"""Running a goal: build the context, compile the graph with a SQLite checkpointer, return the outcome.

The graph's state is checkpointed after every step with synchronous durability in
``RUN_ROOT/agent.sqlite``, so ``--resume`` continues exactly where a killed run stood; the
checkpoint restores only the record types the state declares (``state.CHECKPOINTED_TYPES``).
With ``approval: ask`` the graph pauses at each proposal (a LangGraph interrupt); ``approve`` is
called with the proposal and returns the person's verdict, which is checked before the graph resumes
(an out-of-bounds edit is sent back with the error). A run paused for approval resumes the same way.
``approvals`` instead makes the approver for the run folder: ``approval_desk.FolderApprovals`` lets any
front answer through the folder (``openlora-agent run`` uses it).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openlora.advisor.client import Advisor
from openlora.agent.context import Context
from openlora.agent.goal import Goal, load_goal
from openlora.agent.graph import build_graph
from openlora.agent.recorder import Recorder
from openlora.agent.records import GoalStatus
from openlora.agent.state import CHECKPOINTED_TYPES, GoalRun
from openlora.tools.context import ToolContext
from openlora.trainer import spawner
from openlora.trainer.rundir import GoalDir, unique_run_dir

THREAD = {"configurable": {"thread_id": "goal"}}
Approve = Callable[[dict[str, Any]], dict[str, Any]]


class RunError(RuntimeError):
    """The run cannot start or resume; the message says why."""


def latest_run_root(runs: Path, goal: Goal) -> Path:
    candidates = sorted(p for p in runs.glob(f"{goal.name}-*") if GoalDir(p).agent_state.is_file())
    if not candidates:
        raise RunError(f"--resume: no earlier run of goal {goal.name!r} under {runs}")
    return candidates[-1]


def choose_run_root(goal: Goal, runs: Path, resume: bool, run_root: Path | None) -> Path:
    """The run folder of a run (or resume): the given one, the latest of the goal, or a new one."""
    if resume:
        return run_root or latest_run_root(runs, goal)
    root = run_root or unique_run_dir(runs, goal.name)
    desk = GoalDir(root)
    started_by_a_front = {desk.supervisor_log, desk.supervisor_pid}  # ui_core.start_supervised_run
    if root.exists() and any(path not in started_by_a_front for path in root.iterdir()):
        raise RunError(f"{root} already exists; use --resume to continue it")
    return root


def _context(goal: Goal, root: Path, advisor: Advisor | None, **options: Any) -> Context:
    from openlora.memory.incidents import IncidentMemory
    from openlora.memory.registry import RunRegistry

    memory = IncidentMemory() if goal.memory else None
    advisor = advisor or Advisor(
        goal.advisor.model, goal.advisor.n_ctx, goal.advisor.temperature, goal.advisor.max_tokens
    )
    datasets = {"train": Path(goal.dataset)} | (
        {"eval": Path(goal.eval_dataset)} if goal.eval_dataset else {}
    )
    recorder = Recorder(root, RunRegistry(), options.pop("echo"))
    return Context(advisor, ToolContext(root, datasets, memory, advisor), memory, recorder, **options)


@contextmanager
def checkpointer(root: Path) -> Iterator[Any]:
    """The SQLite checkpointer of a goal run, restoring only the state's own record types."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(str(GoalDir(root).agent_state), check_same_thread=False)
    try:
        yield SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=list(CHECKPOINTED_TYPES)))
    finally:
        conn.close()


def run_goal(
    goal_path: Path,
    runs: Path = Path("runs"),
    resume: bool = False,
    run_root: Path | None = None,
    echo: Callable[[str], None] = print,
    poll_s: float = 0.5,
    approve: Approve | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    advisor: Advisor | None = None,
    offline: bool = False,
    approvals: Callable[[Path], Approve] | None = None,
) -> GoalRun:
    """Pursue the goal in ``goal_path`` to its end. With ``approval: ask`` the person answers through
    ``approve``, or through the approver ``approvals`` makes for the run folder (the folder desk)."""
    goal = load_goal(goal_path, offline)  # offline: every attempt's config says so (no hub download)
    if goal.approval == "ask" and approve is None and approvals is None:
        raise RunError(
            f"{goal_path}: approval is 'ask' but nobody can answer here; use `openlora-agent tui`, "
            "run in an interactive terminal, or set approval: auto"
        )
    root = choose_run_root(goal, runs, resume, run_root)
    root.mkdir(parents=True, exist_ok=True)
    GoalDir(root).supervisor_pid.write_text(f"{os.getpid()}\n", encoding="utf-8")  # fronts check it lives
    if approve is None and approvals is not None and goal.approval == "ask":
        approve = approvals(root)
    spawner.prewarm()  # the trainer's imports run while the data is inspected and the advisor loads
    context = _context(goal, root, advisor, echo=echo, poll_s=poll_s, cancelled=cancelled)
    context.recorder.goal(
        goal.name, GoalStatus.RUNNING, goal=goal.task, base_model=goal.base_model, dataset_path=goal.dataset
    )
    with checkpointer(root) as saver:
        final = _drive(build_graph().compile(checkpointer=saver), goal, root, resume, context, approve)
    _record_final(context, final)
    return final


def _drive(
    graph: Any, goal: Goal, root: Path, resume: bool, context: Context, approve: Approve | None
) -> GoalRun:
    """Run (or resume) the graph to its end, answering each approval interrupt."""
    from langgraph.types import Command

    config = {**THREAD, "recursion_limit": 40 + 10 * goal.budget.max_attempts}
    snapshot = graph.get_state(config)
    if resume and not snapshot.values:
        raise RunError(f"{root}: nothing to resume (no checkpointed state)")
    if resume and not snapshot.next:
        context.recorder.echo(f"[resume] {root} already finished")
        return GoalRun.from_state(snapshot.values)
    inputs = (
        None if resume else {"goal": goal, "run_root": str(root), "started_at": time.time(), "timeline": []}
    )
    context.recorder.echo(f"[run] {'resuming' if resume else 'starting'} {goal.name} in {root}")
    context.recorder.state(GoalStatus.RUNNING)
    graph.invoke(inputs, config, context=context, durability="sync")
    while (paused := graph.get_state(config)).interrupts:
        verdict = _checked_verdict(approve, paused.interrupts[0].value, paused.values)
        graph.invoke(Command(resume=verdict), config, context=context, durability="sync")
    return GoalRun.from_state(graph.get_state(config).values)


def _record_final(context: Context, final: GoalRun) -> None:
    """The goal's row in the registry (each attempt was recorded when it ended, by the monitor)."""
    goal, last = final.goal, (final.attempts[-1] if final.attempts else None)
    context.recorder.goal(
        goal.name,
        final.outcome or "unknown",
        goal=goal.task,
        base_model=goal.base_model,
        model_family=final.plan.model_family if final.plan else None,
        dataset_path=goal.dataset,
        config=last.config if last else {},
        final_metrics=last.final_metrics if last else {},
    )


def _checked_verdict(
    approve: Approve | None, asked: dict[str, Any], values: dict[str, Any]
) -> dict[str, Any]:
    """Ask until the verdict is valid (an out-of-bounds edit goes back with the error)."""
    from openlora.agent.approval import ApprovalError, apply_verdict, parse_verdict

    if approve is None:
        raise RunError("the run is waiting for an approval and nobody can answer here")
    question = dict(asked)
    while True:
        raw = approve(question)
        try:
            verdict = parse_verdict(raw)
            apply_verdict(values["decision"], verdict, values["config"], values["plan"].prior_lr)
            return verdict.model_dump()
        except ApprovalError as exc:
            question = {**asked, "error": str(exc)}
