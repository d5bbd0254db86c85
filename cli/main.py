"""The ``openlora-agent`` command line (Typer).

Heavy libraries (torch, transformers, peft) are imported inside the commands that need them, so
``openlora-agent --help`` answers at once. Commands stay thin: they parse arguments, call the
core, and print; they never hold training logic.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="openlora-agent",
    help="OpenLoRA: LoRA fine-tuning that watches and repairs its own training runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _new_run_dir(runs_root: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = runs_root / f"{name}-{stamp}"
    suffix = 1
    while candidate.exists():
        suffix += 1
        candidate = runs_root / f"{name}-{stamp}-{suffix}"
    return candidate


@app.command()
def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="Training config (YAML).")],
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives the run directory.")] = Path(
        "runs"
    ),
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run directory to create (must not exist).")
    ] = None,
) -> None:
    """Train a LoRA adapter from CONFIG.yaml; results land in runs/<name>-<time>/."""
    from openlora.trainer.config import ConfigError, load_config
    from openlora.trainer.rundir import RunDir, write_json_atomic

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        _fail(str(exc))
    target = run_dir or _new_run_dir(runs_root, config.name)
    if target.exists():
        _fail(f"--run-dir {target} already exists; use `openlora-agent resume {target}` to continue it")
    target.mkdir(parents=True)
    write_json_atomic(RunDir(target).spec, config.model_dump())
    typer.echo(f"run directory: {target}", err=True)
    _run_and_report(target)


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="Run directory holding spec.json and checkpoints/.")],
) -> None:
    """Continue a run from its newest complete checkpoint."""
    if not (run_dir / "spec.json").is_file():
        _fail(f"{run_dir}: no spec.json; not a run directory")
    _run_and_report(run_dir)


def _run_and_report(target: Path) -> None:
    from openlora.trainer.main import run_training
    from openlora.trainer.result import RunStatus

    result = run_training(target)
    typer.echo(f"status: {result.status.value}", err=True)
    typer.echo(f"message: {result.message}", err=True)
    for key, value in result.final_metrics.items():
        typer.echo(f"  {key}: {value:.6g}", err=True)
    if result.adapter_dir:
        typer.echo(f"adapter: {result.adapter_dir}", err=True)
    typer.echo(f"result: {target / 'result.json'}", err=True)
    if result.status != RunStatus.COMPLETED:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the OpenLoRA version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("openlora"))


def main() -> None:  # pragma: no cover - console entry convenience
    app(sys.argv[1:])
