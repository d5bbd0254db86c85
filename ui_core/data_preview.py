"""What a data preview shows of a file (TUI data screen, web Data tab): its first examples, as trained on.

Every format the trainer reads (``trainer.data_files.SUFFIXES``) goes through the trainer's own
reader and column detection (``read_records_with_report`` with a detecting :class:`ColumnMap`), so a
row appears as the trainer will see it: prompt → response, chat turns with their roles mapped
(ShareGPT's human/gpt become user/assistant), or text, with control characters already removed; the
count removed is a warning, and a :class:`DataError` is shown as its message (file, line, reason).
A big file is previewed from its beginning only (``data_head``). Other files (``.log``) show their
first raw lines. The text returned is untrusted: the screen renders it literally (``safe_text``).
What it is not for: the dataset's findings (``inspect_dataset``) or any widget.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from openlora.trainer.data_files import (
    SUFFIXES,
    ColumnMap,
    DataError,
    ReadReport,
    Record,
    read_records_with_report,
)
from openlora.trainer.download_events import size_text
from openlora.ui_core.data_head import HEAD_BYTES, Head, beginning

PREVIEW_ROWS = 8
FIELD_CHARS = 300


@dataclass
class Preview:
    """The rows to show (one line each), what they cover, and what the reader warned about or refused."""

    rows: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def cut(text: str, limit: int = FIELD_CHARS) -> str:
    """``text`` on one line (``⏎`` for a line break), cut to ``limit`` characters."""
    flat = text[: limit + 1].replace("\r\n", " ⏎ ").replace("\n", " ⏎ ")
    return flat[:limit] + ("…" if len(text) > limit or len(flat) > limit else "")


def example_text(record: Record) -> str:
    """One example as the trainer reads it, on one line."""
    if record.kind == "pair":
        return f"{cut(record.prompt)}  →  {cut(record.response)}"
    if record.kind == "chat":
        return "  ▸  ".join(f"{m['role']}: {cut(m['content'], 200)}" for m in record.messages)
    return cut(record.text)


def preview_file(path: Path, rows: int = PREVIEW_ROWS, columns: ColumnMap | None = None) -> Preview:
    """The first ``rows`` examples of ``path`` as the trainer reads them; raw lines for other files."""
    if path.suffix.lower() not in SUFFIXES:
        return _raw_lines(path, rows)
    try:
        with beginning(path, rows) as head:
            if head.unread:
                return Preview(warnings=[head.unread])
            records, report = read_records_with_report(head.path, columns or ColumnMap())
    except DataError as exc:  # the copy of a big file has another path: name the file itself
        return Preview(error=f"{path}:{exc.line}: {exc.reason}")
    except OSError as exc:
        return Preview(error=f"cannot read {path}: {exc.strerror or exc}")
    shown = records[:rows]
    preview = Preview(rows=[f"{r.line:>4}  {example_text(r)}" for r in shown])
    preview.notes.append(_coverage(path, head, records, len(shown)))
    preview.warnings += _warnings(head, report)
    return preview


def _coverage(path: Path, head: Head, records: list[Record], shown: int) -> str:
    kinds = ", ".join(f"{n} {kind}" for kind, n in Counter(r.kind for r in records).items())
    if not head.partial:
        return f"{_count(len(records), 'example')} ({kinds}); the first {shown} as the trainer reads them"
    if head.total_rows is not None:
        return (
            f"the first {shown} of {head.total_rows}"
            " rows as the trainer reads them (a big file: only those read)"
        )
    size = path.stat().st_size
    return (
        f"the first {_count(shown, 'example')} as the trainer reads them, from the first "
        f"{size_text(head.covered_bytes)} of {size_text(size)} (a big file: the preview reads no further)"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _warnings(head: Head, report: ReadReport) -> list[str]:
    warnings = [head.note] if head.note else []
    if report.control_chars_removed:
        where = " in the part read" if head.partial else ""
        warnings.append(
            f"{_count(report.control_chars_removed, 'control character')} (NUL, escape…) removed from "
            f"{_count(report.rows_cleaned, 'row')}{where}; the trainer removes them too"
        )
    return warnings


def _raw_lines(path: Path, rows: int) -> Preview:
    """The first raw lines of a file the trainer does not read (a .log is imported first)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(HEAD_BYTES)
    except OSError as exc:
        return Preview(error=f"cannot read {path}: {exc.strerror or exc}")
    lines = data.decode("utf-8", errors="replace").split("\n")
    if lines[-1] == "":
        lines.pop()  # the break that ends the last line
    return Preview(
        rows=[f"{n:>4}  {cut(line.rstrip(chr(13)))}" for n, line in enumerate(lines[:rows], start=1)],
        notes=["raw lines: not a format the trainer reads as it is"],
    )
