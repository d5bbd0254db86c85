"""Data actions the supervisor can take: filter training rows that teach the model to invent facts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openlora.evaluation.hallucination import unsupported_facts
from openlora.trainer.data_files import ColumnMap, read_records
from openlora.trainer.rundir import write_jsonl_atomic


def filter_unsupported(source: Path, target: Path) -> dict[str, Any]:
    """Copy ``source`` pairs to ``target`` (JSONL) without rows whose response has unsupported facts."""
    records = read_records(source, ColumnMap())
    kept, dropped = [], []
    for record in records:
        if record.kind == "pair" and unsupported_facts(record.response, record.prompt):
            dropped.append(record.line)
            continue
        if record.kind == "pair":
            kept.append({"prompt": record.prompt, "response": record.response})
        elif record.kind == "chat":
            kept.append({"messages": record.messages})
        else:
            kept.append({"text": record.text})
    if not kept:
        raise ValueError(f"{source}: filtering would drop every row")
    write_jsonl_atomic(target, kept)
    return {"source": str(source), "target": str(target), "kept": len(kept), "dropped_lines": dropped}
