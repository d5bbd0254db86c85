"""``packs list`` and ``import --pack``: the installed domain packs, and raw files → records through one.

What it is for: listing every installed pack with its version, interface version and contributions
(importers with the file kinds they take, checks, templates, recipes, goal defaults) and the broken
packs with their reason; running one pack's importer on a path and writing the records (JSONL) and its
report beside them, atomically. A pack that fails is reported by name with exit status 1.
What it is not for: discovering or running packs (``openlora.synthesis.packs``) or any parsing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail

packs_app = typer.Typer(help="Domain packs: importers, checks, templates, recipes and goal defaults.")


def _contributions(pack: object) -> list[str]:
    from openlora.synthesis.packs.interface import Pack

    assert isinstance(pack, Pack)
    lines = [f"  importer {i.name} [{', '.join(i.accepts)}]: {i.help}" for i in pack.importers]
    lines += [f"  check {c.name}: {c.help}" for c in pack.checks]
    lines += [f"  template {t.name}: {t.help}" for t in pack.templates]
    lines += [f"  recipe {r.name}: {r.help}" for r in pack.recipes]
    defaults = pack.goal_defaults
    if defaults is not None:
        shown = {"task": defaults.task, "success": dict(defaults.success or {}), **dict(defaults.evaluation)}
        shown |= {"checks": list(defaults.checks)} if defaults.checks else {}
        lines.append("  goal defaults: " + ", ".join(f"{k}={v!r}" for k, v in shown.items() if v))
    return lines


@packs_app.command("list")
def list_packs() -> None:
    """Show the installed packs, what each contributes, and the broken ones with their reason."""
    from openlora.synthesis.packs.registry import installed

    registry = installed()
    for name, pack in sorted(registry.packs.items()):
        typer.echo(f"{name} {pack.version} (interface {pack.interface_version}): {pack.description}")
        for line in _contributions(pack):
            typer.echo(line)
    for name, broken in sorted(registry.broken.items()):
        typer.echo(f"{name} BROKEN ({broken.target}): {broken.reason}")
    if not registry.packs and not registry.broken:
        typer.echo("no packs installed")


def import_command(
    path: Annotated[Path, typer.Argument(help="A file or folder the pack's importer reads.")],
    pack: Annotated[str, typer.Option("--pack", help="The pack to import with (see `packs list`).")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file of records to write.")],
    importer: Annotated[
        str | None,
        typer.Option("--importer", help="Which of the pack's importers; default: the one that takes PATH."),
    ] = None,
) -> None:
    """Turn raw files into training records with a domain pack (report beside --out)."""
    from openlora.synthesis.packs.registry import PackError
    from openlora.synthesis.packs.running import report_lines, run_import, write_import

    if not path.exists():
        fail(f"{path}: no such file or folder")
    try:
        result = run_import(pack, path, importer)
    except PackError as exc:
        fail(str(exc), 1)
    report = write_import(out, result)
    for line in report_lines(result):
        typer.echo(line)
    typer.echo(f"{result.report.records} records written to {out} (report: {report})")
