"""Running a pack's importer: the records it returns checked, written as JSONL, and its report as text.

What it is for: :func:`run_import` (choose the importer, call it, turn anything it raises or returns
malformed into a :class:`~openlora.synthesis.packs.registry.PackError` that names the pack),
:func:`write_import` (the records and the report beside them, both atomically) and
:func:`report_lines` (the report in a few lines for a terminal or a web page; long skip lists are
truncated and say so). The CLI, the TUI and the web page all import through here.
What it is not for: parsing anything (the packs do) or discovering packs (``registry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openlora.synthesis.packs.interface import ImportReport, Record
from openlora.synthesis.packs.registry import PackError, Registry, installed

SHOWN_SKIPS = 10
LOG_IMPORTER = ("siem", "logs")  # (pack, importer) a raw .log goes through unless a person picks another


@dataclass
class ImportResult:
    """The records one importer made from one path, its report, and which pack and importer it was."""

    pack: str
    importer: str
    records: list[Record]
    report: ImportReport


def _check_records(pack: str, importer: str, records: object) -> list[Record]:
    where = f"pack {pack!r}: importer {importer!r}"
    if not isinstance(records, list):
        raise PackError(f"{where} returned {type(records).__name__}, not a list of records")
    for i, row in enumerate(records):
        keys = ("prompt", "response") if isinstance(row, dict) and "prompt" in row else ("text",)
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in keys):
            raise PackError(f"{where}: record {i} is not a prompt/response pair or a text row: {row!r:.200}")
    return records


def run_import(
    pack: str, path: Path, importer: str | None = None, registry: Registry | None = None
) -> ImportResult:
    """Import ``path`` with a pack's importer (``importer``, else the first that accepts the path)."""
    registry = registry or installed()
    chosen = registry.importer(pack, path, importer)
    try:
        result = chosen.run(path)
        records, report = result
    except Exception as exc:  # a pack's bug is reported by name, never a traceback in the product
        raise PackError(
            f"pack {pack!r}: importer {chosen.name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(report, ImportReport):
        raise PackError(f"pack {pack!r}: importer {chosen.name!r} returned no ImportReport")
    records = _check_records(pack, chosen.name, records)
    report.source = report.source or str(path)
    report.records = len(records)
    return ImportResult(pack, chosen.name, records, report)


def write_import(out: Path, result: ImportResult) -> Path:
    """Write the records to ``out`` (JSONL) and the report to ``out`` with ``.report.json``; returns it."""
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl_atomic(out, result.records)
    report = out.with_suffix(".report.json")
    write_json_atomic(report, {"pack": result.pack, "importer": result.importer, **result.report.to_json()})
    return report


def report_lines(result: ImportResult, shown: int = SHOWN_SKIPS) -> list[str]:
    """The report in plain lines: records written, counts, skipped lines or files (the first ``shown``)."""
    report = result.report
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    lines = [
        f"{result.pack}/{result.importer}: {report.records} records" + (f" ({counts})" if counts else "")
    ]
    skipped = report.skipped
    if skipped:
        listed = "; ".join(f"{where} ({why})" for where, why in skipped[:shown])
        more = (
            f"; … {len(skipped) - shown} more (truncated, all in the report file)"
            if len(skipped) > shown
            else ""
        )
        lines.append(f"skipped {len(skipped)}: {listed}{more}")
    else:
        lines.append("skipped 0")
    return lines
