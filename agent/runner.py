"""Running a goal: build the context, compile the graph with a SQLite checkpointer, stream the timeline.

The graph's state is checkpointed after every step with synchronous durability in
``RUN_ROOT/agent.sqlite``, so ``--resume`` continues exactly where a killed run stood.
With ``approval: ask`` the graph pauses at each proposal (a LangGraph interrupt); ``approve`` is
called with the proposal and returns the person's verdict, which is checked before the graph resumes
(an out-of-bounds edit is sent back with the error). A run paused for approval resumes the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openlora.llm.advisor import Advisor
from openlora.agent.context import Context
from openlora.agent.events import record
from openlora.agent.goal import Goal, load_goal
from openlora.agent.graph import build_graph
from openlora.tools.context import ToolContext
from openlora.trainer.rundir import unique_run_dir

THREAD = {"configurable": {"thread_id": "goal"}}


class RunError(RuntimeError):
    """The run cannot start or resume; the message says why."""


def latest_run_root(runs: Path, goal: Goal) -> Path:
    candidates = sorted(p for p in runs.glob(f"{goal.name}-*") if (p / "agent.sqlite").is_file())
    if not candidates:
        raise RunError(f"--resume: no earlier run of goal {goal.name!r} under {runs}")
    return candidates[-1]


def run_goal(
    goal_path: Path,
    runs: Path = Path("runs"),
    resume: bool = False,
    run_root: Path | None = None,
    echo: Callable[[str], None] = print,
    poll_s: float = 0.5,
    approve: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    advisor: Advisor | None = None,
) -> dict[str, Any]:
    from langgraph.checkpoint.sqlite import SqliteSaver
    from langgraph.types import Command

    from openlora.memory.incidents import IncidentMemory
    from openlora.memory.registry import RunRegistry

    goal = load_goal(goal_path)
    if goal.approval == "ask" and approve is None:
        raise RunError(
            f"{goal_path}: approval is 'ask' but nobody can answer here; use `openlora-agent tui`, "
            "run in an interactive terminal, or set approval: auto"
        )
    if resume:
        root = run_root or latest_run_root(runs, goal)
    else:
        root = run_root or unique_run_dir(runs, goal.name)
        if root.exists() and any(root.iterdir()):
            raise RunError(f"{root} already exists; use --resume to continue it")
    root.mkdir(parents=True, exist_ok=True)
    memory = IncidentMemory() if goal.memory else None
    advisor = advisor or Advisor(
        goal.advisor.model, goal.advisor.n_ctx, goal.advisor.temperature, goal.advisor.max_tokens
    )
    datasets = {"train": Path(goal.dataset)}
    if goal.eval_dataset:
        datasets["eval"] = Path(goal.eval_dataset)
    context = Context(
        advisor=advisor,
        tools=ToolContext(root, datasets),
        memory=memory,
        registry=RunRegistry(),
        poll_s=poll_s,
        echo=echo,
        cancelled=cancelled,
    )
    context.registry.upsert_run(
        root.name, goal.name, "running", goal=goal.task, base_model=goal.base_model, dataset_path=goal.dataset
    )
    limit = 40 + 10 * goal.budget.max_attempts
    with SqliteSaver.from_conn_string(str(root / "agent.sqlite")) as saver:
        graph = build_graph().compile(checkpointer=saver)
        config = {**THREAD, "recursion_limit": limit}
        snapshot = graph.get_state(config)
        if resume and not snapshot.values:
            raise RunError(f"{root}: nothing to resume (no checkpointed state)")
        if resume and not snapshot.next:
            echo(f"[resume] {root} already finished")
            return dict(snapshot.values)
        inputs = (
            None
            if resume
            else {"goal": goal.model_dump(), "run_root": str(root), "started_at": time.time(), "timeline": []}
        )
        echo(f"[run] {'resuming' if resume else 'starting'} {goal.name} in {root}")
        record(root, "state", status="running")
        graph.invoke(inputs, config, context=context, durability="sync")
        while (paused := graph.get_state(config)).interrupts:
            asked = paused.interrupts[0].value
            verdict = _checked_verdict(approve, asked, paused.values)
            graph.invoke(Command(resume=verdict), config, context=context, durability="sync")
        final = dict(graph.get_state(config).values)
    context.registry.upsert_run(
        root.name,
        goal.name,
        final.get("outcome", "unknown"),
        goal=goal.task,
        base_model=goal.base_model,
        model_family=final.get("model_family"),
        dataset_path=goal.dataset,
        config=final.get("config") or {},
        final_metrics=(final.get("attempts") or [{}])[-1].get("final_metrics", {}),
    )
    for attempt in final.get("attempts", []):
        context.registry.record_attempt(
            root.name,
            attempt["number"],
            attempt["run_dir"],
            attempt["config"],
            attempt["status"],
            attempt["message"],
            final["started_at"],
            time.time(),
            attempt.get("final_metrics", {}),
        )
    return final


def _checked_verdict(
    approve: Callable[[dict[str, Any]], dict[str, Any]] | None, asked: dict[str, Any], values: dict[str, Any]
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
            apply_verdict(values["decision"], verdict, values["config"], values["prior_lr"])
            return verdict.model_dump()
        except ApprovalError as exc:
            question = {**asked, "error": str(exc)}
