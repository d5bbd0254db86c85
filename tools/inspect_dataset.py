"""``inspect_dataset``: statistics and problems of a goal dataset, with quoted samples only.

Rows are parsed with the trainer's own reader; samples are truncated and quoted as data so their
text can never read as instructions to the advisor. ``blocking`` lists the problems no training
setting can fix (a file that does not parse, responses that look like noise): the supervisor stops
before the first attempt on them unless the goal says ``bad_data: warn``. A missing or misnamed column
is not blocking: a column mapping can fix it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from openlora.prompts import quote_data
from openlora.tools.context import ToolContext
from openlora.trainer.data_files import ColumnMap, DataError, read_records

GARBLED = "garbled responses"  # the detectors look for this prefix
GARBLED_RECURRING_SHARE = 0.2
FIXABLE_BY_MAPPING = ("missing ", "must be text")  # reasons a column mapping can fix


def inspect_dataset(ctx: ToolContext, dataset_id: str, samples: int = 3) -> dict[str, Any]:
    """Rows, kinds, length figures, duplicates and the first problem, plus a few quoted samples."""
    path = ctx.dataset(dataset_id)
    try:
        records = read_records(path, ColumnMap())
    except DataError as exc:
        fixable = any(words in exc.reason for words in FIXABLE_BY_MAPPING)
        return {
            "dataset_id": dataset_id,
            "rows": 0,
            "problems": [str(exc)],
            "blocking": [] if fixable else [str(exc)],
            "suggestions": [
                "map the columns (prompt_column/response_column)" if fixable else "repair the file"
            ],
            "samples": [],
        }
    texts = [r.prompt + "\n" + r.response if r.kind == "pair" else r.text or str(r.messages) for r in records]
    lengths = [len(t) for t in texts]
    duplicates = sum(n - 1 for n in Counter(texts).values() if n > 1)
    problems: list[str] = []
    suggestions: list[str] = []
    blocking: list[str] = []
    if duplicates:
        problems.append(f"{duplicates} duplicate rows")
        suggestions.append("drop exact duplicates (they over-weight a few examples)")
    if len(records) < 20:
        problems.append(f"only {len(records)} rows")
        suggestions.append("synthesize more pairs from these examples (synthesize_data)")
    pairs = [r for r in records if r.kind == "pair"]
    short = sum(1 for r in pairs if len(r.response.strip()) < 3)
    if short:
        problems.append(f"{short} responses shorter than 3 characters")
        suggestions.append("drop or rewrite the near-empty responses")
    truncated = sum(1 for r in pairs if len(r.response) > 200 and r.response.rstrip()[-1:].isalnum())
    if truncated:
        problems.append(f"{truncated} long responses end mid-sentence (truncated?)")
        suggestions.append("check the export that produced the data; raise max_seq_len if responses are long")
    labels = Counter(r.response.strip().lower() for r in pairs if len(r.response.split()) <= 2)
    if len(labels) >= 2 and sum(labels.values()) >= 10:
        top, top_n = labels.most_common(1)[0]
        if top_n / sum(labels.values()) > 0.7:
            problems.append(
                f"class imbalance: {top_n / sum(labels.values()):.0%} of label answers are {top!r}"
            )
            suggestions.append(f"add examples of the other labels or down-sample {top!r}")
    if len(pairs) >= 20:
        # Real answers share vocabulary across rows (labels, keys, JSON fields, common words); noise does not.
        row_tokens = [set(r.response.split()) for r in pairs]
        seen = Counter(token for tokens in row_tokens for token in tokens)
        total = sum(len(tokens) for tokens in row_tokens)
        recurring = sum(1 for tokens in row_tokens for token in tokens if seen[token] > 1) / max(total, 1)
        if recurring < GARBLED_RECURRING_SHARE:
            garbled = f"{GARBLED}: only {recurring:.0%} of the response tokens recur across rows (noise?)"
            problems.append(garbled)
            blocking.append(garbled)
            suggestions.append("repair or regenerate the responses before tuning hyper-parameters")
    openings = Counter(" ".join(r.prompt.split()[:3]).lower() for r in pairs)
    if len(pairs) >= 10 and len(openings) > max(3, len(pairs) // 2):
        problems.append(
            f"{len(openings)} different prompt openings in {len(pairs)} pairs (no shared template)"
        )
        suggestions.append("put the instruction in one consistent form before the input")
    return {
        "dataset_id": dataset_id,
        "rows": len(records),
        "kinds": dict(Counter(r.kind for r in records)),
        "mean_chars": round(statistics.mean(lengths), 1),
        "max_chars": max(lengths),
        "max_bytes": max(len(t.encode("utf-8")) for t in texts),
        "duplicates": duplicates,
        "problems": problems,
        "blocking": blocking,
        "suggestions": suggestions,
        "samples": [quote_data(t) for t in texts[:samples]],
    }
