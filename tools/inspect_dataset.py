"""``inspect_dataset``: statistics and problems of a goal dataset, with quoted samples only.

Rows are parsed with the trainer's own reader; samples are truncated and quoted as data so their
text can never read as instructions to the advisor. ``blocking`` lists the problems no training
setting can fix (a file that does not parse, responses that look like noise, a validation file that
cannot measure the goal: mostly training rows, or rows of another kind): the supervisor stops before
the first attempt on them unless the goal says ``bad_data: warn``. A missing or misnamed column is not
blocking: a column mapping can fix it.
"""

import statistics
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from openlora.prompts import quote_data
from openlora.tools.context import RunContext
from openlora.trainer.data_files import ColumnMap, DataError, Record, read_records, read_records_with_report

GARBLED = "garbled responses"  # the detectors look for this prefix
GARBLED_RECURRING_SHARE = 0.2
# Past this share of validation rows that are also training rows, the validation loss measures
# memorisation rather than the goal (below it the overlap is named as a warning).
MAX_MEASURABLE_OVERLAP = 0.5
FIXABLE_BY_MAPPING = ("missing ", "must be text")  # reasons a column mapping can fix
Found = tuple[str, str, bool] | None  # (problem, suggestion, blocking)
DatasetId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class DatasetReport(BaseModel):
    """What ``inspect_dataset`` found (the supervisor keeps it in its state and the report)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str
    rows: int
    kinds: dict[str, int] = Field(default_factory=dict)
    mean_chars: float = 0.0
    max_chars: int = 0
    max_bytes: int | None = None
    mean_bytes: float = 0.0
    train_overlap: int = Field(0, description="Rows (of a validation file) also in the training file.")
    length_deciles: list[int] = Field(
        default_factory=list, description="UTF-8 bytes per row at 0 %, 10 %, …, 100 % of the rows."
    )
    whole_rows: int = Field(0, description="Rows the trainer keeps whole or drops (all but plain text).")
    whole_length_deciles: list[int] = Field(
        default_factory=list, description="length_deciles over those rows only (plain text is chunked)."
    )
    duplicates: int = 0
    control_chars_removed: int = Field(0, description="Control characters (NUL etc.) the reader removed.")
    rows_cleaned: int = Field(0, description="Rows they were removed from.")
    problems: list[str] = Field(default_factory=list)
    blocking: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)
    samples: list[str] = Field(default_factory=list, description="Quoted, truncated rows: data only.")


def inspect_dataset(ctx: RunContext, dataset_id: DatasetId, samples: int = 3) -> dict[str, Any]:
    """Rows, kinds, length figures, duplicates and problems of a dataset, plus a few quoted samples."""
    try:
        records, read = read_records_with_report(ctx.dataset(dataset_id), ColumnMap())
    except DataError as exc:
        fixable = any(words in exc.reason for words in FIXABLE_BY_MAPPING)
        return DatasetReport(
            dataset_id=dataset_id,
            rows=0,
            problems=[str(exc)],
            blocking=[] if fixable else [str(exc)],
            suggestions=["map the columns (prompt_column/response_column)" if fixable else "repair the file"],
        ).model_dump()
    texts = [_text(r) for r in records]
    lengths = [len(t.encode("utf-8")) for t in texts]
    whole = [n for n, r in zip(lengths, records, strict=True) if r.kind != "text"]
    report = DatasetReport(
        dataset_id=dataset_id,
        rows=len(records),
        kinds=dict(Counter(r.kind for r in records)),
        mean_chars=round(statistics.mean(len(t) for t in texts), 1),
        max_chars=max(len(t) for t in texts),
        max_bytes=max(lengths),
        mean_bytes=round(statistics.mean(lengths), 1),
        length_deciles=deciles(lengths),
        whole_rows=len(whole),
        whole_length_deciles=deciles(whole) if whole else [],
        duplicates=sum(n - 1 for n in Counter(texts).values() if n > 1),
        control_chars_removed=read.control_chars_removed,
        rows_cleaned=read.rows_cleaned,
        samples=[quote_data(t) for t in texts[:samples]],
    )
    pairs = [r for r in records if r.kind == "pair"]
    found = [check(records, pairs, report) for check in CHECKS]
    if dataset_id != "train" and "train" in ctx.datasets:
        found += _relation_to_training(ctx, records, report)
    for problem, suggestion, blocking in (f for f in found if f is not None):
        report.problems.append(problem)
        report.suggestions.append(suggestion)
        if blocking:
            report.blocking.append(problem)
    return report.model_dump()


def _text(record: Record) -> str:
    if record.kind == "pair":
        return record.prompt + "\n" + record.response
    return record.text or str(record.messages)


def _relation_to_training(ctx: RunContext, records: list[Record], report: DatasetReport) -> list[Found]:
    """How a validation file relates to the training file: rows they share, and rows of another kind."""
    try:
        training = read_records(ctx.dataset("train"), ColumnMap())
    except DataError:
        return []  # the training file's own report names its problem
    seen = {_text(r) for r in training}
    report.train_overlap = sum(1 for r in records if _text(r) in seen)
    found: list[Found] = []
    if report.train_overlap:
        share = report.train_overlap / max(1, len(records))
        found.append(
            (
                f"{report.train_overlap} of {len(records)} validation rows ({share:.0%}) also appear in the "
                "training file",
                "remove them from one file: the validation loss of a row trained on measures memorisation",
                share > MAX_MEASURABLE_OVERLAP,
            )
        )
    train_kinds, kinds = set(Counter(r.kind for r in training)), set(report.kinds)
    if not kinds & train_kinds:
        found.append(
            (
                f"the validation rows are {sorted(kinds)} while the training rows are {sorted(train_kinds)}",
                "validate on rows of the same kind: the loss of another format measures another task",
                True,
            )
        )
    return found


def deciles(values: list[int]) -> list[int]:
    """The values at 0 %, 10 %, …, 100 % of their sorted order (nearest rank)."""
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, round(i * (len(ordered) - 1) / 10))] for i in range(11)]


def _duplicates(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    if report.duplicates:
        return (
            f"{report.duplicates} duplicate rows",
            "drop exact duplicates (they over-weight a few examples)",
            False,
        )
    return None


def _control_chars(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    if report.control_chars_removed:
        return (
            f"{report.control_chars_removed} control characters (NUL etc.) removed from "
            f"{report.rows_cleaned} rows",
            "check the export that produced the data: the trainer trains on the text without them",
            False,
        )
    return None


def _few_rows(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    if len(records) < 20:
        return (
            f"only {len(records)} rows",
            "synthesize more pairs from these examples (synthesize_data)",
            False,
        )
    return None


def _near_empty(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    short = sum(1 for r in pairs if len(r.response.strip()) < 3)
    if short:
        return (
            f"{short} responses shorter than 3 characters",
            "drop or rewrite the near-empty responses",
            False,
        )
    return None


def _truncated(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    truncated = sum(1 for r in pairs if len(r.response) > 200 and r.response.rstrip()[-1:].isalnum())
    if truncated:
        return (
            f"{truncated} long responses end mid-sentence (truncated?)",
            "check the export that produced the data; raise max_seq_len if responses are long",
            False,
        )
    return None


def _imbalance(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    labels = Counter(r.response.strip().lower() for r in pairs if len(r.response.split()) <= 2)
    if len(labels) < 2 or sum(labels.values()) < 10:
        return None
    top, top_n = labels.most_common(1)[0]
    share = top_n / sum(labels.values())
    if share > 0.7:
        return (
            f"class imbalance: {share:.0%} of label answers are {top!r}",
            f"add examples of the other labels or down-sample {top!r}",
            False,
        )
    return None


def _garbled(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    """Real answers share vocabulary across rows (labels, keys, JSON fields, common words); noise does not."""
    if len(pairs) < 20:
        return None
    row_tokens = [set(r.response.split()) for r in pairs]
    seen = Counter(token for tokens in row_tokens for token in tokens)
    total = sum(len(tokens) for tokens in row_tokens)
    recurring = sum(1 for tokens in row_tokens for token in tokens if seen[token] > 1) / max(total, 1)
    if recurring < GARBLED_RECURRING_SHARE:
        return (
            f"{GARBLED}: only {recurring:.0%} of the response tokens recur across rows (noise?)",
            "repair or regenerate the responses before tuning hyper-parameters",
            True,
        )
    return None


def _no_template(records: list[Record], pairs: list[Record], report: DatasetReport) -> Found:
    openings = Counter(" ".join(r.prompt.split()[:3]).lower() for r in pairs)
    if len(pairs) >= 10 and len(openings) > max(3, len(pairs) // 2):
        return (
            f"{len(openings)} different prompt openings in {len(pairs)} pairs (no shared template)",
            "put the instruction in one consistent form before the input",
            False,
        )
    return None


CHECKS: list[Callable[[list[Record], list[Record], DatasetReport], Found]] = [
    _duplicates,
    _control_chars,
    _few_rows,
    _near_empty,
    _truncated,
    _imbalance,
    _garbled,
    _no_template,
]
