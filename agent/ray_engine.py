"""Many supervised goals (or benchmark strategies) at once on a Ray cluster: one Ray task each.

What it is for: ``openlora-agent run GOAL.yaml … --ray local|ADDRESS`` and BrokenLoRA's ``--engine ray``.
:func:`ray_cluster` starts a local cluster for the call (no dashboard, the machine's cores) or joins
one; :func:`goal_resources` declares what a goal's supervisor reserves (its ``resources:`` block, else
its training settings: threads, device, torchrun processes, memory limit); :func:`plan_goals` picks
every run folder in the driver, before anything starts; :func:`supervise_goals` runs
:func:`openlora.agent.runner.run_goal` once per goal as a Ray task and returns each outcome. A task
whose worker dies is retried by Ray (``max_retries``); the retry finds the folder's checkpointed graph
(``agent.sqlite``) and resumes it, so its monitor reattaches to the trainer still running (the trainer
is a detached process; ``launch_run`` is idempotent through ``trainer.pid``) and the goal ends once.
Ctrl-C cancels the tasks; each cancelled supervisor stops its trainer (``stop_run``: it checkpoints
and ends ``killed``) before the cluster goes. :func:`run_tasks` is the same engine for any function.

What it is not for: a scheduler, queue or GPU packer of our own (Ray places tasks by their declared
resources), the supervision itself (``runner``), or moving files: the runs folder and OPENLORA_HOME
must be on storage every node sees. Ray is imported only inside these functions.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.agent.goal import Goal, load_goal
from openlora.trainer.rundir import GoalDir, attempt_numbers

LOCAL = "local"
MAX_RETRIES = 3  # times Ray reruns a task whose worker died (an exception in the task is not retried)
STOP_GRACE_S = 150.0  # a cancelled supervisor's stop_run waits up to 120 s for its trainer's checkpoint
PASSED_ENV = ("OPENLORA_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")  # the driver's settings, for workers


@dataclass(frozen=True)
class TaskResources:
    """What one Ray task reserves."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_gb: float | None = None

    def options(self) -> dict[str, Any]:
        memory = {"memory": int(self.memory_gb * 2**30)} if self.memory_gb else {}
        return {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, **memory}


@dataclass(frozen=True)
class GoalTask:
    """One goal as the driver planned it: its file, name, run folder and reservation."""

    goal_path: Path
    name: str
    run_root: Path
    resources: TaskResources


@dataclass(frozen=True)
class GoalResult:
    """How one goal ended: ``outcome`` is the goal's (success, failed, …) or ``error`` with ``error``."""

    task: GoalTask
    outcome: str
    attempts: int = 0
    resumed: bool = False
    error: str | None = None

    @property
    def report(self) -> Path:
        return GoalDir(self.task.run_root).report_md


@contextmanager
def ray_cluster(address: str = LOCAL) -> Iterator[Any]:
    """Ray, started for this call (``local``: every core here, no dashboard) or joined at ``address``
    (``auto``, ``HOST:PORT``, ``ray://HOST:10001``); shut down at the end. A driver already connected
    (a test's cluster, a notebook) is used as it is and left connected."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    quiet = {"logging_level": logging.WARNING, "configure_logging": True}
    if address == LOCAL:
        ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)
    try:
        yield ray
    finally:
        ray.shutdown()


def goal_resources(goal: Goal, cluster_gpus: float = 0.0) -> TaskResources:
    """What the goal's supervisor reserves: its ``resources:`` block, else from ``training``: CPUs are
    ``num_threads`` (1 when unset) per trainer process, GPUs one per process when the device is cuda (or
    auto on a cluster with GPUs), memory ``memory_limit_gb``. The advisor is not counted: it decides
    between steps, while the monitor holds a trainer that shares its cores."""
    training, pinned = goal.training, goal.resources
    launcher = training.get("launcher") if isinstance(training.get("launcher"), dict) else {}
    nproc = launcher.get("nproc_per_node")  # auto: the one GPU (or CPU process) a task is given
    processes = nproc if launcher.get("kind") == "torchrun" and isinstance(nproc, int) else 1
    device = training.get("device", "auto")
    on_gpu = device == "cuda" or bool(training.get("load_in_4bit")) or (device == "auto" and cluster_gpus > 0)
    threads = training.get("num_threads") or 1
    return TaskResources(
        num_cpus=pinned.num_cpus if pinned.num_cpus is not None else float(threads * processes),
        num_gpus=pinned.num_gpus if pinned.num_gpus is not None else float(processes if on_gpu else 0),
        memory_gb=pinned.memory_gb if pinned.memory_gb is not None else training.get("memory_limit_gb"),
    )


def plan_goals(
    goal_paths: Sequence[Path],
    runs: Path,
    cluster: dict[str, float],
    offline: bool = False,
    resume: bool = False,
    run_dir: Path | None = None,
) -> list[GoalTask]:
    """Each goal validated and given its run folder here, before any task starts (a new folder is
    created now, so two goals of one name get two); ``cluster`` is ``ray.cluster_resources()``."""
    from openlora.agent.runner import choose_run_root

    tasks = []
    for path in goal_paths:
        goal = load_goal(path, offline)
        root = choose_run_root(goal, runs.resolve(), resume, run_dir.resolve() if run_dir else None)
        root.mkdir(parents=True, exist_ok=True)
        resources = goal_resources(goal, cluster.get("GPU", 0.0))
        tasks.append(GoalTask(path.resolve(), goal.name, root, resources))
    return tasks


def too_big(tasks: Sequence[GoalTask], cluster: dict[str, float]) -> list[str]:
    """Why each task could never be placed on a cluster of ``cluster``'s size (empty: all fit)."""
    problems = []
    for task in tasks:
        r = task.resources
        for label, wanted, key in (("CPUs", r.num_cpus, "CPU"), ("GPUs", r.num_gpus, "GPU")):
            if wanted > cluster.get(key, 0.0):
                have = cluster.get(key, 0.0)
                problems.append(f"{task.name}: reserves {wanted:g} {label}, the cluster has {have:g}")
    return problems


def has_checkpoint(run_root: Path) -> bool:
    """Whether the run folder holds a checkpointed supervisor graph (a retry resumes it)."""
    path = GoalDir(run_root).agent_state
    if not path.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False


def _start_over(run_root: Path) -> None:
    """A retry whose predecessor died before the graph's first checkpoint: nothing ran, so the files
    that predecessor began (the empty checkpoint database, its one state event) are cleared."""
    folder = GoalDir(run_root)
    for path in (folder.agent_state, folder.agent_events):
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)


def stop_trainers(run_root: Path) -> list[int]:
    """Stop every attempt's trainer still running (``stop_run``); the attempts stopped."""
    from openlora.tools import registry
    from openlora.tools.context import ToolContext

    context, stopped = ToolContext(run_root), []
    for number in attempt_numbers(run_root):
        with suppress(Exception):  # stopping the rest matters more than one attempt's error
            if registry.invoke("stop_run", context, {}, {"attempt": number}).get("stopped"):
                stopped.append(number)
    return stopped


def _echo_to(run_root: Path, name: str) -> Callable[[str], None]:
    """The supervisor's lines: on stderr (Ray forwards them to the driver) and in ``supervisor.log``."""
    log = GoalDir(run_root).supervisor_log

    def echo(line: str) -> None:
        print(f"[{name}] {line}", file=sys.stderr, flush=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    return echo


def supervise_one(task: GoalTask, offline: bool, env: dict[str, str]) -> dict[str, Any]:
    """One goal's supervisor, inside a Ray worker: resume the folder's graph if it has one (this is a
    retry, or ``--resume``), else start it; on any exit but a killed worker, stop its trainers."""
    os.environ.update(env)
    from openlora.agent.approval_desk import FolderApprovals
    from openlora.agent.runner import run_goal

    root = task.run_root
    resume = has_checkpoint(root)
    if not resume:
        _start_over(root)
    try:
        final = run_goal(
            task.goal_path,
            root.parent,
            resume=resume,
            run_root=root,
            echo=_echo_to(root, task.name),
            approvals=FolderApprovals,  # approval: ask waits in the folder for the TUI or the web page
            offline=offline,
        )
    except BaseException:  # cancelled (KeyboardInterrupt) or failed: no trainer is left unwatched
        stop_trainers(root)
        raise
    return {"outcome": str(final.outcome or "unknown"), "attempts": len(final.attempts), "resumed": resume}


def passed_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV)}


def supervise_goals(
    tasks: Sequence[GoalTask], offline: bool = False, on_result: Callable[[GoalResult], None] | None = None
) -> list[GoalResult]:
    """Run every planned goal as a Ray task (Ray must be initialized); results in the tasks' order,
    ``on_result`` called as each ends. Ctrl-C cancels them all and waits for their trainers to stop."""
    env = passed_env()
    outcomes = run_tasks(
        supervise_one,
        [(task, offline, env) for task in tasks],
        [task.resources for task in tasks],
        names=[f"supervise {task.name}" for task in tasks],
        on_done=lambda i, value: on_result(_goal_result(tasks[i], value)) if on_result else None,
    )
    return [_goal_result(task, value) for task, value in zip(tasks, outcomes, strict=True)]


def _goal_result(task: GoalTask, value: Any) -> GoalResult:
    if isinstance(value, BaseException):
        return GoalResult(task, "error", error=f"{type(value).__name__}: {value}"[:2000])
    return GoalResult(task, value["outcome"], value["attempts"], value["resumed"])


def run_tasks(
    function: Callable[..., Any],
    arguments: Sequence[tuple[Any, ...]],
    resources: Sequence[TaskResources],
    names: Sequence[str] | None = None,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """``function(*arguments[i])`` as one Ray task each (a fresh worker per task, ``resources[i]``
    reserved, retried on worker death): the values in order, an exception for a task that raised or
    could not run. Ctrl-C cancels the unfinished tasks, waits for them to stop, and re-raises."""
    import ray

    remote = ray.remote(max_calls=1, max_retries=MAX_RETRIES, retry_exceptions=False)(function)
    refs = [
        remote.options(**res.options(), name=names[i] if names else function.__name__).remote(*args)
        for i, (args, res) in enumerate(zip(arguments, resources, strict=True))
    ]
    values: dict[int, Any] = {}
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)  # Ctrl-C is seen each second
            for ref in done:
                index = refs.index(ref)
                values[index] = _value(ray, ref)
                if on_done is not None:
                    on_done(index, values[index])
    except KeyboardInterrupt:
        cancel(ray, pending)
        raise
    return [values[i] for i in range(len(refs))]


def _value(ray: Any, ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        return exc.cause if isinstance(exc.cause, BaseException) else exc
    except ray.exceptions.RayError as exc:  # the worker died past its retries, cancelled, …
        return exc


def cancel(ray: Any, pending: Sequence[Any], grace_s: float = STOP_GRACE_S) -> None:
    """Cancel the tasks (each gets a KeyboardInterrupt and stops its trainer) and wait up to ``grace_s``
    for them; a second Ctrl-C, or the grace running out, kills their workers."""
    for ref in pending:
        ray.cancel(ref)
    with suppress(KeyboardInterrupt):
        ray.wait(list(pending), num_returns=len(pending), timeout=grace_s)
    for ref in pending:
        with suppress(Exception):
            ray.cancel(ref, force=True)
