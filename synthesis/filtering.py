"""Data actions the supervisor can take: filter training rows that teach the model to invent facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openlora.evaluation.hallucination import unsupported_facts
from openlora.trainer.data_files import ColumnMap, read_records


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
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text("".join(json.dumps(row) + "\n" for row in kept), encoding="utf-8")
    tmp.replace(target)
    return {"source": str(source), "target": str(target), "kept": len(kept), "dropped_lines": dropped}
