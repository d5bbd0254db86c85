"""``run GOAL.yaml … --ray local|ADDRESS``: several goals at once, one supervisor per Ray task.

What it is for: joining (or starting) the cluster, planning every goal's run folder and reservation
(``openlora.agent.ray_engine``), printing each goal's outcome and report as it ends, and the exit
status (1 when any goal did not succeed; 130 on Ctrl-C, after the supervisors stopped their trainers);
``RayAddress`` is ``run``'s ``--ray`` option.
What it is not for: the engine itself (``agent.ray_engine``) or the one-goal run without Ray
(``supervise_commands``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from openlora.cli.common import fail

if TYPE_CHECKING:
    from openlora.agent.ray_engine import GoalResult, TaskResources

RayAddress = Annotated[
    str | None,
    typer.Option(
        "--ray",
        metavar="local|ADDRESS",
        help=(
            "Supervise each goal as a Ray task: 'local' starts a cluster of this machine's cores for "
            "the call; an address (auto, HOST:PORT, ray://HOST:10001) joins a running one."
        ),
    ),
]


def check_goal_count(goal_paths: list[Path], address: str | None, run_dir: Path | None) -> None:
    """Several goals run only on Ray (one after the other is not offered), and never into one folder."""
    if address is None and len(goal_paths) > 1:
        fail("several goals run at once on Ray: add --ray local (or --ray ADDRESS of a cluster)")
    if run_dir is not None and len(goal_paths) > 1:
        fail("--run-dir names one run folder; give one goal with it")


def run_on_ray(
    goal_paths: list[Path],
    runs_root: Path,
    address: str,
    resume: bool = False,
    run_dir: Path | None = None,
    offline: bool = False,
) -> int:
    """Supervise the goals on Ray; the exit status (0: every goal succeeded)."""
    from openlora.agent import ray_engine
    from openlora.agent.goal import GoalError
    from openlora.agent.runner import RunError

    with ray_engine.ray_cluster(address) as ray:
        cluster = {k: float(v) for k, v in ray.cluster_resources().items()}
        try:
            tasks = ray_engine.plan_goals(goal_paths, runs_root, cluster, offline, resume, run_dir)
        except (GoalError, RunError) as exc:
            fail(str(exc))
        too_big = ray_engine.too_big(tasks, cluster)
        if too_big and address == ray_engine.LOCAL:  # a local cluster never grows
            fail("; ".join(too_big) + " (set the goal's resources: block)")
        for problem in too_big:
            typer.echo(f"[ray] {problem}: it waits until the cluster grows", err=True)
        for task in tasks:
            typer.echo(f"[ray] {task.name} in {task.run_root} ({_reserved(task.resources)})", err=True)
        try:
            results = ray_engine.supervise_goals(tasks, offline, on_result=_show)
        except KeyboardInterrupt:
            typer.echo("[ray] stopped: every supervisor was cancelled and stopped its trainer", err=True)
            return 130
    return 0 if all(r.outcome == "success" for r in results) else 1


def _reserved(resources: TaskResources) -> str:
    memory = f", {resources.memory_gb:g} GiB" if resources.memory_gb else ""
    return f"{resources.num_cpus:g} CPU, {resources.num_gpus:g} GPU{memory}"


def _show(result: GoalResult) -> None:
    """One goal's end, as ``run`` prints it for one goal (prefixed with the goal's name)."""
    name = result.task.name
    if result.error:
        typer.echo(f"{name}: outcome error: {result.error}")
    else:
        resumed = " (resumed from its checkpointed graph)" if result.resumed else ""
        typer.echo(f"{name}: outcome: {result.outcome} after {result.attempts} attempt(s){resumed}")
    typer.echo(f"{name}: report: {result.report}")
