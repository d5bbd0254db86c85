"""Reading raw dataset files into records that remember their line: the entry point of the reader.

Supported: .txt, .jsonl, .json (an array of records), .csv / .tsv (delimiter sniffed for .csv) and
.parquet; the per-format parsers live in :mod:`openlora.trainer.data_formats`, and this module maps
their rows onto prompt/response pairs, chats or plain text. It parses and checks files; it does not
tokenize. Every problem raises :class:`DataError`, whose message names the file, the line (for a JSON
array the record, for Parquet the row) and the reason, so a person (or the agent) can go straight to
the bad row. Control characters (NUL etc.) are removed from the text and counted in a
:class:`ReadReport`. Dataset text is untrusted and is only ever carried as data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from openlora.trainer.data_formats import (
    DataError,
    Rows,
    clip,
    read_csv,
    read_json,
    read_jsonl,
    read_paragraphs,
    read_parquet,
)

__all__ = ["ColumnMap", "DataError", "ReadReport", "Record", "read_records", "read_records_with_report"]

RecordKind = Literal["pair", "chat", "text"]

PROMPT_KEYS = ("prompt", "instruction", "question", "input")
RESPONSE_KEYS = ("response", "output", "completion", "answer")
TEXT_KEYS = ("text", "content")
ROLES = ("system", "user", "assistant")
# ShareGPT and other exports name the roles differently; each maps onto one of ROLES.
ROLE_ALIASES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
}
CHAT_KEYS = ("messages", "conversations")
# Removed from all text (tab, newline and carriage return are kept).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
READERS: dict[str, Callable[[Path], Rows]] = {
    ".jsonl": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".tsv": lambda path: read_csv(path, delimiter="\t"),
    ".parquet": read_parquet,
}
SUFFIXES = (".txt", *READERS)


@dataclass
class ReadReport:
    """What the reader changed while reading: control characters removed, and from how many rows."""

    control_chars_removed: int = 0
    rows_cleaned: int = 0


@dataclass(frozen=True)
class ColumnMap:
    """Explicit column names from the config; None means detect."""

    prompt: str | None = None
    response: str | None = None
    text: str | None = None

    @classmethod
    def of(cls, settings: Mapping[str, Any]) -> ColumnMap:
        """The mapping a run's settings (a config or ``spec.json`` as a dict) name."""
        keys = ("prompt_column", "response_column", "text_column")
        return cls(*(settings.get(key) for key in keys))


@dataclass
class Record:
    """One training example before tokenization."""

    kind: RecordKind
    line: int
    prompt: str = ""
    response: str = ""
    text: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)


def read_records(path: Path, columns: ColumnMap) -> list[Record]:
    """Parse ``path`` by its extension; raise DataError naming file and line on any problem."""
    return read_records_with_report(path, columns)[0]


def read_records_with_report(path: Path, columns: ColumnMap) -> tuple[list[Record], ReadReport]:
    """``read_records``, and a report of the control characters removed from the records' text."""
    suffix = path.suffix.lower()
    report = ReadReport()
    if suffix == ".txt":
        paragraphs = (Record(kind="text", line=n, text=text) for n, text in read_paragraphs(path))
        records = [r for r in paragraphs if _cleaned(r, report).text.strip()]
    elif suffix in READERS:
        rows = READERS[suffix](path)
        records = [_row_record(path, rows, line, obj, columns, report) for line, obj in rows.items]
    else:
        raise DataError(path, 1, f"unsupported file type {suffix!r}; use {', '.join(SUFFIXES)}")
    if not records:
        raise DataError(path, 1, "no examples found in the file")
    return records, report


def _row_record(
    path: Path, rows: Rows, line: int, obj: dict[str, Any], columns: ColumnMap, report: ReadReport
) -> Record:
    """One row's cleaned record; an error names the record or row, and for CSV the delimiter and header."""
    try:
        record = _cleaned(_record_from_mapping(path, line, obj, columns), report)
        fields = {"pair": ("prompt", "response"), "text": ("text",), "chat": ()}[record.kind]
        for name in fields:
            if not getattr(record, name).strip():
                raise DataError(path, line, f"the {name} is empty once its control characters are removed")
    except DataError as exc:
        reason = exc.reason
        if rows.note and reason.startswith("missing"):
            reason = f"{reason}; {rows.note}"
        if rows.unit != "line":
            reason = f"{rows.unit} {line}: {reason}"
        raise DataError(path, line, reason, exc.figures) from None
    return record


def _cleaned(record: Record, report: ReadReport) -> Record:
    """``record`` with control characters removed from its text, counted in ``report``."""
    removed = 0

    def clean(text: str) -> str:
        nonlocal removed
        text, count = CONTROL_CHARS.subn("", text)
        removed += count
        return text

    record.prompt, record.response, record.text = (
        clean(record.prompt),
        clean(record.response),
        clean(record.text),
    )
    for message in record.messages:
        message["content"] = clean(message["content"])
    if removed:
        report.control_chars_removed += removed
        report.rows_cleaned += 1
    return record


def _record_from_mapping(path: Path, line: int, obj: dict[str, Any], columns: ColumnMap) -> Record:
    if columns.text:
        return Record(kind="text", line=line, text=_field(path, line, obj, columns.text))
    if columns.prompt or columns.response:
        prompt_key = columns.prompt or _first_present(obj, PROMPT_KEYS)
        response_key = columns.response or _first_present(obj, RESPONSE_KEYS)
        if prompt_key is None or response_key is None:
            missing = "prompt" if prompt_key is None else "response"
            raise DataError(path, line, f"missing {missing} column (keys present: {_keys(obj)})")
        return _pair(path, line, obj, prompt_key, response_key)
    chat_key = _first_present(obj, CHAT_KEYS)
    if chat_key:
        return Record(kind="chat", line=line, messages=_messages(path, line, chat_key, obj[chat_key]))
    if "instruction" in obj and "output" in obj:
        instruction = _field(path, line, obj, "instruction")
        extra = obj.get("input") or ""
        if not isinstance(extra, str):
            raise DataError(path, line, "field 'input' must be text")
        prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        return Record(kind="pair", line=line, prompt=prompt, response=_field(path, line, obj, "output"))
    prompt_key = _first_present(obj, PROMPT_KEYS)
    response_key = _first_present(obj, RESPONSE_KEYS)
    if prompt_key and response_key:
        return _pair(path, line, obj, prompt_key, response_key)
    text_key = _first_present(obj, TEXT_KEYS)
    if text_key:
        return Record(kind="text", line=line, text=_field(path, line, obj, text_key))
    raise DataError(
        path,
        line,
        "missing column: expected prompt/response, instruction/output, messages, conversations or text "
        f"(keys present: {_keys(obj)}); map columns with prompt_column/response_column/text_column",
    )


def _pair(path: Path, line: int, obj: dict[str, Any], prompt_key: str, response_key: str) -> Record:
    return Record(
        kind="pair",
        line=line,
        prompt=_field(path, line, obj, prompt_key),
        response=_field(path, line, obj, response_key),
    )


def _first_present(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((key for key in keys if key in obj), None)


def _keys(obj: dict[str, Any]) -> str:
    """The row's keys for a message, each and all of them cut short."""
    return clip(sorted(str(key)[:40] for key in obj), 300)


def _field(path: Path, line: int, obj: dict[str, Any], key: str) -> str:
    if key not in obj:
        raise DataError(path, line, f"missing column {clip(key)} (keys present: {_keys(obj)})")
    value = obj[key]
    if not isinstance(value, str):
        raise DataError(path, line, f"column {clip(key)} must be text, got {type(value).__name__}")
    if not value.strip():
        raise DataError(path, line, f"column {clip(key)} is empty")
    return value


def _messages(path: Path, line: int, key: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataError(path, line, f"{key!r} must be a non-empty list")
    messages = [_message(path, line, f"{key}[{index}]", item) for index, item in enumerate(value)]
    if not any(m["role"] == "assistant" for m in messages):
        raise DataError(path, line, f"{key!r} has no assistant turn to learn from")
    return messages


def _message(path: Path, line: int, where: str, item: Any) -> dict[str, str]:
    """One turn, as ``{"role", "content"}`` or ShareGPT's ``{"from", "value"}``; a null field is absent."""
    item = {k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item
    shapes = (("role", "content"), ("from", "value"))
    shape = next((s for s in shapes if isinstance(item, dict) and s[0] in item), None)
    if shape is None or set(item) - set(shape):
        present = f" (keys present: {_keys(item)})" if isinstance(item, dict) else ""
        raise DataError(
            path,
            line,
            f"{where} must be an object with 'role' and 'content' (or 'from' and 'value'){present}",
        )
    role_key, content_key = shape
    role, content = item[role_key], item.get(content_key)
    if not isinstance(role, str) or role not in ROLE_ALIASES:
        known = ", ".join(ROLE_ALIASES)
        raise DataError(path, line, f"{where}.{role_key} {clip(role)} is not a known role ({known})")
    if not isinstance(content, str):
        raise DataError(path, line, f"{where}.{content_key} must be text")
    return {"role": ROLE_ALIASES[role], "content": content}
