"""``run``: pursue a goal unattended, with the terminal as the approval desk when one is attached.

What it is for: handing GOAL.yaml to the supervisor (``openlora.agent.runner.run_goal``), printing its
outcome, and asking approve / edit / veto on stdin when the goal says ``approval: ask``.
What it is not for: any supervision logic (diagnosis, fixes, relaunches live in ``openlora.agent``), the
TUI's approval screen (``openlora.tui``), or training a run by hand (``train_commands``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from openlora.cli.common import fail


def run(
    goal_path: Annotated[Path, typer.Argument(metavar="GOAL.yaml", help="The goal to pursue.")],
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
) -> None:
    """Pursue a goal unattended: train, watch, diagnose, fix, relaunch, export, report."""
    from openlora.agent.goal import GoalError
    from openlora.agent.runner import RunError, run_goal
    from openlora.cli.serve_commands import start_metrics

    if metrics_port is not None:
        start_metrics(runs_root, metrics_port, metrics_host)
        typer.echo(f"[metrics] http://{metrics_host}:{metrics_port}/metrics", err=True)

    approve = _ask_in_terminal if sys.stdin.isatty() else None
    try:
        final = run_goal(
            goal_path,
            runs_root,
            resume_run,
            run_dir,
            echo=lambda line: typer.echo(line, err=True),
            approve=approve,
            offline=offline,
        )
    except (GoalError, RunError) as exc:
        fail(str(exc))
    from openlora.trainer.rundir import GoalDir

    typer.echo(f"outcome: {final.outcome} after {len(final.attempts)} attempt(s)")
    typer.echo(f"report: {GoalDir(Path(final.run_root)).report_md}")
    if final.outcome != "success":
        raise typer.Exit(1)


def _ask_in_terminal(asked: dict[str, Any]) -> dict[str, Any]:
    """``approval: ask`` without the TUI: show the proposal, read approve / edit / veto."""
    import json

    if "error" in asked:
        typer.echo(f"not applied: {asked['error']}", err=True)
    typer.echo(
        f"\nattempt {asked['attempt']}: {asked['diagnosis']} → {asked['action']} {asked['changes']}\n"
        f"  why: {asked['reason']} [{asked['source']}]",
        err=True,
    )
    choice = typer.prompt("approve, edit or veto", default="approve")
    if choice == "edit":
        text = typer.prompt("settings as JSON", default=json.dumps(asked["changes"]))
        try:
            return {"choice": "edit", "changes": json.loads(text)}
        except ValueError as exc:
            return {"choice": "edit", "changes": {"invalid JSON": str(exc)}}
    return {"choice": choice}
