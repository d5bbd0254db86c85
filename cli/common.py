"""Helpers the command modules share: failing with an exit code, the run-folder check, number formatting.

What it is for: the few lines every ``openlora-agent`` command module would otherwise repeat.
What it is not for: command logic or Typer commands (those live in the ``*_commands`` modules), and
nothing heavy: this module is imported by ``--help``, so it imports only Typer and the standard library.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with CODE (2: bad arguments; 1: the work failed)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def require_run_dir(run_dir: Path) -> None:
    """Exit 2 unless RUN_DIR holds a ``spec.json`` (what makes a folder a run directory)."""
    from openlora.trainer.rundir import RunDir

    if not RunDir(run_dir).is_run():
        fail(f"{run_dir}: no spec.json; not a run directory")


def format_metric(value: float | str | None) -> str:
    """A metric for a table column: 4 decimals, ``-`` when missing, stored text (``nan``) as is."""
    if isinstance(value, int | float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)  # a NaN is stored as "nan"
