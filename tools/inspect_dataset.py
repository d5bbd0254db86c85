"""``inspect_dataset``: statistics and problems of a goal dataset, with quoted samples only.

Rows are parsed with the trainer's own reader; samples are truncated and quoted as data so their
text can never read as instructions to the advisor.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from openlora.prompts import quote_data
from openlora.tools.context import ToolContext
from openlora.trainer.data_files import ColumnMap, DataError, read_records


def inspect_dataset(ctx: ToolContext, dataset_id: str, samples: int = 3) -> dict[str, Any]:
    """Rows, kinds, length figures, duplicates and the first problem, plus a few quoted samples."""
    path = ctx.dataset(dataset_id)
    try:
        records = read_records(path, ColumnMap())
    except DataError as exc:
        return {"dataset_id": dataset_id, "rows": 0, "problems": [str(exc)], "samples": []}
    texts = [r.prompt + "\n" + r.response if r.kind == "pair" else r.text or str(r.messages) for r in records]
    lengths = [len(t) for t in texts]
    duplicates = sum(n - 1 for n in Counter(texts).values() if n > 1)
    problems = []
    if duplicates:
        problems.append(f"{duplicates} duplicate rows")
    if len(records) < 20:
        problems.append(f"only {len(records)} rows")
    short = sum(1 for r in records if r.kind == "pair" and len(r.response.strip()) < 3)
    if short:
        problems.append(f"{short} responses shorter than 3 characters")
    return {
        "dataset_id": dataset_id,
        "rows": len(records),
        "kinds": dict(Counter(r.kind for r in records)),
        "mean_chars": round(statistics.mean(lengths), 1),
        "max_chars": max(lengths),
        "duplicates": duplicates,
        "problems": problems,
        "samples": [quote_data(t) for t in texts[:samples]],
    }
