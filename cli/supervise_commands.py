"""``run``: pursue a goal unattended; proposals wait in the run folder (and the terminal, when attached).

What it is for: handing GOAL.yaml to the supervisor (``openlora.agent.runner.run_goal``), printing its
outcome, and asking approve / edit / veto on stdin when the goal says ``approval: ask``; with ``--ray``,
handing several goals to ``ray_commands`` (one Ray task each).
What it is not for: any supervision logic (diagnosis, fixes, relaunches live in ``openlora.agent``), the
TUI's approval screen (``openlora.tui``), or training a run by hand (``train_commands``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from openlora.cli.common import fail
from openlora.cli.ray_commands import RayAddress, check_goal_count, run_on_ray


def run(
    goal_paths: Annotated[
        list[Path],
        typer.Argument(metavar="GOAL.yaml", help="The goal to pursue (several: with --ray, at once)."),
    ],
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives the run folder.")] = Path(
        "runs"
    ),
    resume_run: Annotated[
        bool, typer.Option("--resume", help="Continue the latest run of this goal.")
    ] = False,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run folder (new, or to resume).")
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Also serve Prometheus metrics of --runs on this port."),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address for --metrics-port (loopback; others need OPENLORA_METRICS_TOKEN).")
    ] = "127.0.0.1",
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Never download: a hub base_model or dataset must be in the local HF cache."
        ),
    ] = False,
    ray_address: RayAddress = None,
) -> None:
    """Pursue a goal unattended: train, watch, diagnose, fix, relaunch, export, report."""
    from openlora.agent.goal import GoalError
    from openlora.agent.runner import RunError, run_goal
    from openlora.cli.serve_commands import start_metrics

    check_goal_count(goal_paths, ray_address, run_dir)
    if metrics_port is not None:
        start_metrics(runs_root, metrics_port, metrics_host)
        typer.echo(f"[metrics] http://{metrics_host}:{metrics_port}/metrics", err=True)
    if ray_address is not None:
        raise typer.Exit(run_on_ray(goal_paths, runs_root, ray_address, resume_run, run_dir, offline))
    (goal_path,) = goal_paths
    try:
        final = run_goal(
            goal_path,
            runs_root,
            resume_run,
            run_dir,
            echo=lambda line: typer.echo(line, err=True),
            approvals=_folder_desk,
            offline=offline,
        )
    except (GoalError, RunError) as exc:
        fail(str(exc))
    from openlora.trainer.rundir import GoalDir

    typer.echo(f"outcome: {final.outcome} after {len(final.attempts)} attempt(s)")
    typer.echo(f"report: {GoalDir(Path(final.run_root)).report_md}")
    if final.outcome != "success":
        raise typer.Exit(1)


def _folder_desk(root: Path) -> Any:
    """Proposals wait in the run folder for any front; an attached terminal is asked too."""
    from openlora.agent.approval_desk import FolderApprovals
    from openlora.cli.terminal_desk import TerminalDesk

    if not sys.stdin.isatty():
        typer.echo(
            f"[approval] proposals wait in {root} for `openlora-agent tui` or `openlora-agent web`", err=True
        )
    return FolderApprovals(root, local=TerminalDesk() if sys.stdin.isatty() else None)
