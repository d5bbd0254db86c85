"""``train``, ``resume``, ``export`` and ``eval``: one LoRA run by hand, without the supervisor.

What it is for: parsing those commands' arguments, calling the trainer, exporter and evaluator, and
printing what they return (and recording a finished run in the registry).
What it is not for: training, export or scoring logic (``openlora.trainer``, ``openlora.evaluation``),
and supervised runs (``supervise_commands``). Heavy imports stay inside the functions so that
``openlora-agent --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail, require_run_dir
from openlora.trainer.rundir import RunDir


def train(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG.yaml", help="Training config (YAML).")],
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives the run directory.")] = Path(
        "runs"
    ),
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Exact run directory to create (must not exist).")
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Never download: a hub base_model or dataset must be in the local HF cache."
        ),
    ] = False,
) -> None:
    """Train a LoRA adapter from CONFIG.yaml; results land in runs/<name>-<time>/."""
    from openlora.trainer.config import ConfigError, load_config
    from openlora.trainer.rundir import unique_run_dir, write_json_atomic

    try:
        config = load_config(config_path, offline)
    except ConfigError as exc:
        fail(str(exc))
    target = run_dir or unique_run_dir(runs_root, config.name)
    if target.exists():
        fail(f"--run-dir {target} already exists; use `openlora-agent resume {target}` to continue it")
    target.mkdir(parents=True)
    write_json_atomic(RunDir(target).spec, config.model_dump())
    typer.echo(f"run directory: {target}", err=True)
    _run_and_report(target)


def resume(
    run_dir: Annotated[Path, typer.Argument(help="Run directory holding spec.json and checkpoints/.")],
) -> None:
    """Continue a run from its newest complete checkpoint."""
    require_run_dir(run_dir)
    _run_and_report(run_dir)


def _run_and_report(target: Path) -> None:
    """Train in TARGET, record it, print status, metrics and paths; exit 1 unless it completed."""
    from openlora.trainer.main import run_training
    from openlora.trainer.result import RunStatus

    result = run_training(target)
    _register(target)
    typer.echo(f"status: {result.status.value}", err=True)
    typer.echo(f"message: {result.message}", err=True)
    for key, value in result.final_metrics.items():
        typer.echo(f"  {key}: {value:.6g}", err=True)
    if result.adapter_dir:
        typer.echo(f"adapter: {result.adapter_dir}", err=True)
    typer.echo(f"result: {RunDir(target).result}", err=True)
    if result.status != RunStatus.COMPLETED:
        raise typer.Exit(1)


def _register(target: Path) -> None:
    """Record the run in the registry (OPENLORA_HOME); a registry problem never fails the training."""
    from openlora.memory.registry import RunRegistry

    try:
        RunRegistry().record_run_dir(target)
    except Exception as exc:  # the run itself is safe on disk; say why history will miss it
        typer.echo(f"warning: could not record the run in the registry: {exc}", err=True)


def export(
    run_dir: Annotated[Path, typer.Argument(help="Run directory (holds spec.json and a trained adapter).")],
    formats: Annotated[
        list[str],
        typer.Option("--format", "-f", help="adapter, pt, merged, gguf-adapter or gguf; repeat for several."),
    ],
    gguf_types: Annotated[
        list[str] | None, typer.Option("--gguf-type", help="Merged GGUF precision: f16, q8_0 (default both).")
    ] = None,
) -> None:
    """Export a trained run; every GGUF is checked in llama.cpp before it is published."""
    from openlora.trainer.config import ConfigError
    from openlora.trainer.export.exporter import GGUF_PRECISIONS, ExportError, export_run
    from openlora.ui_core.exports import check_lines

    require_run_dir(run_dir)
    precisions = gguf_types or list(GGUF_PRECISIONS)
    bad = [p for p in precisions if p not in GGUF_PRECISIONS]
    if bad:
        fail(f"--gguf-type {bad[0]!r}: choose from {', '.join(GGUF_PRECISIONS)}")
    try:
        entries = export_run(run_dir, formats, precisions)  # type: ignore[arg-type]
    except (ExportError, ConfigError) as exc:
        fail(str(exc), code=1)
    for name, entry in entries.items():
        folder = RunDir(run_dir).exports / entry["path"]
        typer.echo(f"{name}: {folder}")
        for line in check_lines(entry):
            typer.echo(line)
    typer.echo(f"manifest: {RunDir(run_dir).manifest}")


def eval_run(
    run_dir: Annotated[Path, typer.Argument(help="Run directory with a trained adapter.")],
    against: Annotated[str, typer.Option("--against", help="Compare with: base, or none.")] = "base",
    n: Annotated[int, typer.Option("--n", min=1, max=10_000, help="Most held-out samples to score.")] = 100,
    max_new_tokens: Annotated[
        int, typer.Option(min=1, max=2048, help="Most tokens per generated answer.")
    ] = 48,
    json_output: Annotated[bool, typer.Option("--json", help="Outputs must be valid JSON.")] = False,
    labels: Annotated[str | None, typer.Option(help="Outputs must be one of these, comma-separated.")] = None,
) -> None:
    """Score the adapter (and the base) on the run's held-out pairs; writes RUN_DIR/eval/report.{json,md}."""
    from openlora.evaluation.engine import FormatChecks, evaluate_run, render_markdown

    if against not in ("base", "none"):
        fail(f"--against {against!r}: use base or none")
    require_run_dir(run_dir)
    checks = FormatChecks(json=json_output, labels=[x.strip() for x in labels.split(",")] if labels else [])
    try:
        report = evaluate_run(run_dir, against == "base", n, max_new_tokens, checks)
    except ValueError as exc:
        fail(str(exc), code=1)
    typer.echo(render_markdown(report, examples=0))
    typer.echo(f"report: {RunDir(run_dir).evaluation_md}")
