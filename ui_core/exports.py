"""A run's exports as a front lists them: each format's files, size and check figures, and a download.

What it is for: the web page's Exports tab (and ``openlora-agent export``'s printout, which shares
:func:`check_lines`) reads every attempt's ``exports/manifest.json`` (written by
``trainer.export.publish``) into :class:`ExportRow` s; :func:`bundle` packs one format into a single
file to download (a folder becomes an uncompressed zip, a lone file is copied) in a folder the caller
owns; :func:`export_formats` builds more formats with the same exporter as the CLI.
What it is not for: building formats (``trainer.export``) or serving files (the fronts).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.trainer.download_events import size_text
from openlora.trainer.export.publish import read_manifest
from openlora.trainer.rundir import RunDir
from openlora.ui_core.run_list import attempt_dirs


@dataclass(frozen=True)
class ExportRow:
    """One exported format of one attempt."""

    attempt: Path
    name: str
    files: int
    size: int
    checks: str

    def cells(self) -> list[str]:
        return [self.attempt.name, self.name, str(self.files), size_text(self.size), self.checks]


COLUMNS = ["attempt", "format", "files", "size", "checks"]


def check_lines(entry: dict[str, Any]) -> list[str]:
    """A manifest entry's check figures, one line per check ("check f16: perplexity=…, …")."""
    checks = entry.get("checks") or ({"": entry["check"]} if "check" in entry else {})
    lines = []
    for label, check in checks.items():
        shown = {k: v for k, v in check.items() if k not in ("passed", "threshold", "prompts")}
        figures = ", ".join(f"{k}={v}" for k, v in shown.items())
        lines.append(f"  check {label}: {figures}".replace("check :", "check:"))
    return lines


def export_rows(root: Path) -> list[ExportRow]:
    """Every attempt's exported formats, newest attempt first."""
    rows = []
    for folder in reversed(attempt_dirs(root)):
        try:
            manifest = read_manifest(RunDir(folder).exports)
        except ValueError:
            continue
        for name, entry in sorted(manifest.get("formats", {}).items()):
            files = entry.get("files") or {}
            size = sum(int(f.get("bytes", 0)) for f in files.values())
            checks = "; ".join(line.strip() for line in check_lines(entry)) or "—"
            rows.append(ExportRow(folder, name, len(files), size, checks))
    return rows


def bundle(attempt: Path, name: str, into: Path) -> Path:
    """Format ``name`` of ``attempt`` as one file in ``into``: a zip of its folder, or the lone file."""
    manifest = read_manifest(RunDir(attempt).exports)
    entry = manifest.get("formats", {}).get(name)
    if entry is None:
        raise ValueError(f"{attempt.name} has no {name!r} export")
    source = RunDir(attempt).exports / str(entry["path"])
    into.mkdir(parents=True, exist_ok=True)
    stem = f"{attempt.parent.name}-{attempt.name}-{name}"
    if source.is_file():
        target = into / f"{stem}{source.suffix}"
        shutil.copyfile(source, target)
        return target
    target = into / f"{stem}.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for file in sorted(p for p in source.rglob("*") if p.is_file()):
            archive.write(file, f"{name}/{file.relative_to(source)}")
    return target


def export_formats(attempt: Path, formats: list[str]) -> dict[str, dict[str, Any]]:
    """Build ``formats`` for ``attempt`` (``ExportError`` / ``ConfigError`` say why not)."""
    from openlora.trainer.export.exporter import GGUF_PRECISIONS, export_run

    return export_run(attempt, formats, list(GGUF_PRECISIONS))
