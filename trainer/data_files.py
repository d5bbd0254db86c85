"""Reading raw dataset files (.txt, .jsonl, .csv) into records that remember their line.

This module parses and checks files; it does not tokenize. Every problem raises
:class:`DataError`, whose message names the file, the line and the reason, so a person (or the
agent) can go straight to the bad row. Dataset text is untrusted and is only ever carried as data.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

RecordKind = Literal["pair", "chat", "text"]

PROMPT_KEYS = ("prompt", "instruction", "question", "input")
RESPONSE_KEYS = ("response", "output", "completion", "answer")
TEXT_KEYS = ("text", "content")
ROLES = ("system", "user", "assistant")


class DataError(ValueError):
    """A dataset problem located at ``path:line``."""

    def __init__(
        self, path: Path | str, line: int, reason: str, figures: dict[str, float] | None = None
    ) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.figures = figures or {}  # the numbers behind the reason, for the supervisor's evidence


@dataclass(frozen=True)
class ColumnMap:
    """Explicit column names from the config; None means detect."""

    prompt: str | None = None
    response: str | None = None
    text: str | None = None


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
    text = _read_text(path)
    if not text.strip():
        raise DataError(path, 1, "the file is empty: no examples to train on")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        records = _read_txt(text)
    elif suffix == ".jsonl":
        records = _read_jsonl(path, text, columns)
    elif suffix == ".csv":
        records = _read_csv(path, text, columns)
    else:
        raise DataError(path, 1, f"unsupported file type {suffix!r}; use .txt, .jsonl or .csv")
    if not records:
        raise DataError(path, 1, "no examples found in the file")
    return records


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, 0, "no such file") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None


def _read_txt(text: str) -> list[Record]:
    """Paragraphs (separated by blank lines) become documents for completion training."""
    records: list[Record] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            records.append(Record(kind="text", line=start, text="\n".join(current)))
            current = []
    if current:
        records.append(Record(kind="text", line=start, text="\n".join(current)))
    return records


def _read_jsonl(path: Path, text: str, columns: ColumnMap) -> list[Record]:
    records: list[Record] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(path, number, f"broken JSON line: {exc.msg} at column {exc.colno}") from None
        if not isinstance(obj, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(obj).__name__}")
        records.append(_record_from_mapping(path, number, obj, columns))
    return records


def _read_csv(path: Path, text: str, columns: ColumnMap) -> list[Record]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise DataError(path, 1, "no header row")
    records: list[Record] = []
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                raise DataError(path, number, f"more fields than the {len(reader.fieldnames)} header columns")
            if all(not (value or "").strip() for value in row.values()):
                continue
            records.append(_record_from_mapping(path, number, dict(row), columns))
    except csv.Error as exc:
        raise DataError(path, reader.line_num, f"malformed CSV: {exc}") from None
    return records


def _record_from_mapping(path: Path, line: int, obj: dict[str, Any], columns: ColumnMap) -> Record:
    if columns.text:
        return Record(kind="text", line=line, text=_field(path, line, obj, columns.text))
    if columns.prompt or columns.response:
        prompt_key = columns.prompt or _first_present(obj, PROMPT_KEYS)
        response_key = columns.response or _first_present(obj, RESPONSE_KEYS)
        if prompt_key is None or response_key is None:
            missing = "prompt" if prompt_key is None else "response"
            raise DataError(path, line, f"missing {missing} column (keys present: {sorted(obj)})")
        return _pair(path, line, obj, prompt_key, response_key)
    if "messages" in obj:
        return Record(kind="chat", line=line, messages=_messages(path, line, obj["messages"]))
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
        "missing column: expected prompt/response, instruction/output, messages or text "
        f"(keys present: {sorted(obj)}); map columns with prompt_column/response_column/text_column",
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


def _field(path: Path, line: int, obj: dict[str, Any], key: str) -> str:
    if key not in obj:
        raise DataError(path, line, f"missing column {key!r} (keys present: {sorted(obj)})")
    value = obj[key]
    if not isinstance(value, str):
        raise DataError(path, line, f"column {key!r} must be text, got {type(value).__name__}")
    if not value.strip():
        raise DataError(path, line, f"column {key!r} is empty")
    return value


def _messages(path: Path, line: int, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataError(path, line, "'messages' must be a non-empty list")
    messages: list[dict[str, str]] = []
    for index, message in enumerate(value):
        if not isinstance(message, dict) or set(message) - {"role", "content"} or "role" not in message:
            raise DataError(path, line, f"messages[{index}] must be an object with 'role' and 'content'")
        role, content = message["role"], message.get("content")
        if role not in ROLES:
            raise DataError(path, line, f"messages[{index}].role {role!r} is not one of {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise DataError(path, line, f"messages[{index}].content must be text")
        messages.append({"role": role, "content": content})
    if not any(m["role"] == "assistant" for m in messages):
        raise DataError(path, line, "'messages' has no assistant turn to learn from")
    return messages
