"""Data actions the supervisor can take: filter training rows that teach the model to invent facts,
and write rows back out in the trainer's own column names (so a derived file needs no column mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openlora.evaluation.hallucination import unsupported_facts
from openlora.trainer.data_files import ColumnMap, Record, read_records
from openlora.trainer.rundir import write_jsonl_atomic


def as_row(record: Record) -> dict[str, Any]:
    """``record`` as a JSONL row the trainer reads with no column mapping."""
    if record.kind == "pair":
        return {"prompt": record.prompt, "response": record.response}
    if record.kind == "chat":
        return {"messages": record.messages}
    return {"text": record.text}


def inventing_rows(source: Path, columns: ColumnMap | None = None) -> tuple[int, int]:
    """How many of ``source``'s prompt/response pairs answer with a fact their prompt lacks, of how many."""
    pairs = [r for r in read_records(source, columns or ColumnMap()) if r.kind == "pair"]
    return sum(1 for r in pairs if unsupported_facts(r.response, r.prompt)), len(pairs)


def filter_unsupported(source: Path, target: Path, columns: ColumnMap | None = None) -> dict[str, Any]:
    """Copy ``source`` rows to ``target`` (JSONL) without the pairs whose response has unsupported facts."""
    records = read_records(source, columns or ColumnMap())
    kept, dropped = [], []
    for record in records:
        if record.kind == "pair" and unsupported_facts(record.response, record.prompt):
            dropped.append(record.line)
        else:
            kept.append(as_row(record))
    if not kept:
        raise ValueError(f"{source}: filtering would drop every row")
    write_jsonl_atomic(target, kept)
    return {"source": str(source), "target": str(target), "kept": len(kept), "dropped_lines": dropped}
