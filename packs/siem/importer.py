"""Reading a log file into pairs: every line parsed, unknown lines counted with their numbers, never fatal.

What it is for: :func:`import_logs` (the ``import-logs`` behaviour: pairs and the legacy report with
``events``, ``by_format`` and ``malformed_lines``), :func:`run` (the same as the pack interface's
importer: records and an :class:`~openlora.synthesis.packs.interface.ImportReport`), and
:func:`import_text` (plain text as completion chunks).
What it is not for: recognising formats (``lines``) or writing files (the caller does, atomically).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.packs.siem.events import event_pairs
from openlora.packs.siem.lines import parse_line
from openlora.synthesis.packs.interface import ImportReport as PackReport


@dataclass
class ImportReport:
    lines: int = 0
    events: int = 0
    pairs: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_logs(path: Path) -> tuple[list[dict[str, str]], ImportReport]:
    """Pairs from a log file; malformed lines are counted in the report, never raised."""
    report = ImportReport()
    pairs: list[dict[str, str]] = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        report.lines += 1
        event = parse_line(number, line)
        if event is None:
            report.malformed += 1
            report.malformed_lines.append(number)
            continue
        report.events += 1
        report.by_format[event.format] = report.by_format.get(event.format, 0) + 1
        if event.kind:
            report.by_kind[event.kind] = report.by_kind.get(event.kind, 0) + 1
        pairs.extend(event_pairs(event))
    report.pairs = len(pairs)
    return pairs, report


def run(path: Path) -> tuple[list[dict[str, str]], PackReport]:
    """The pack importer: :func:`import_logs` with its report in the interface's shape."""
    pairs, legacy = import_logs(path)
    report = PackReport(source=str(path), details=legacy.to_json())
    for name, n in legacy.by_format.items():
        report.count(name, n)
    for number in legacy.malformed_lines:
        report.skip(number, "no known log format")
    return pairs, report


def import_text(path: Path, chunk_chars: int = 1200) -> list[dict[str, str]]:
    """Plain text as completion records, cut at paragraph boundaries near ``chunk_chars``."""
    paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    chunks, current = [], ""
    for paragraph in paragraphs:
        if current and len(current) + len(paragraph) > chunk_chars:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}".strip()
    if current:
        chunks.append(current)
    return [{"text": chunk} for chunk in chunks]
