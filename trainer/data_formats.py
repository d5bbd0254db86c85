"""The per-format parsers behind :func:`openlora.trainer.data_files.read_records`.

Each reader turns one file (.txt, .jsonl, .json, .csv/.tsv, .parquet) into raw rows, mappings that
remember where they were found, and knows nothing of prompts or chats: ``data_files`` maps rows onto
records. :class:`DataError` lives here, the lowest layer, and ``data_files`` re-exports it. Text from
a file is echoed in a message only through :func:`clip`, so a huge field is never printed whole.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SNIFF_BYTES = 8192
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # only these end a line (str.splitlines also splits on \x0c, \u2028…)


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


@dataclass
class Rows:
    """Mappings parsed from a file, each with its 1-based position in the unit the file counts in."""

    unit: Literal["line", "record", "row"]
    items: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    note: str = ""  # added to a missing-column message (a CSV file: the delimiter and the header)


def clip(value: object, limit: int = 80, *, quoted: bool = True) -> str:
    """``repr(value)`` (or ``str`` when not ``quoted``) cut to ``limit`` characters with an ellipsis.

    A long string is cut before it is rendered, so a 50 MB field is never copied whole.
    """
    cut = isinstance(value, str) and len(value) > limit
    if cut:
        value = value[:limit]  # type: ignore[index]
    text = repr(value) if quoted else str(value)
    return text if len(text) <= limit and not cut else text[: limit - 1] + "…"


def read_text(path: Path) -> str:
    """The file decoded as UTF-8 (a BOM dropped); DataError when missing, undecodable or blank."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, 0, "no such file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise DataError(path, 1, "the file is empty: no examples to train on")
    return text


def read_paragraphs(path: Path) -> list[tuple[int, str]]:
    """Paragraphs (separated by blank lines) of a text file, each with its first line number."""
    paragraphs: list[tuple[int, str]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(LINE_BREAK.split(read_text(path)), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            paragraphs.append((start, "\n".join(current)))
            current = []
    if current:
        paragraphs.append((start, "\n".join(current)))
    return paragraphs


def read_jsonl(path: Path, text: str | None = None) -> Rows:
    """One JSON object a line; blank lines are skipped but still counted."""
    rows = Rows("line")
    for number, line in enumerate(LINE_BREAK.split(read_text(path) if text is None else text), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, strict=False)  # control characters inside strings are cleaned later
        except json.JSONDecodeError as exc:
            raise DataError(path, number, f"broken JSON line: {exc.msg} at column {exc.colno}") from None
        if not isinstance(obj, dict):
            raise DataError(path, number, f"expected a JSON object, got {type(obj).__name__}")
        rows.items.append((number, obj))
    return rows


def read_json(path: Path) -> Rows:
    """A JSON array of objects, or one object holding such an array under its single key.

    A ``.json`` file that is JSON Lines (as ``datasets``' ``to_json`` writes) is read as such.
    """
    text = read_text(path)
    try:
        document = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return read_jsonl(path, text)
        raise DataError(path, exc.lineno, f"broken JSON: {exc.msg} at column {exc.colno}") from None
    if isinstance(document, dict) and len(document) == 1 and isinstance(next(iter(document.values())), list):
        document = next(iter(document.values()))
    if not isinstance(document, list):
        raise DataError(path, 1, f"{_json_kind(document)}; expected an array of records")
    rows = Rows("record")
    for number, obj in enumerate(document, start=1):
        if not isinstance(obj, dict):
            raise DataError(path, number, f"record {number}: expected a JSON object, got {_json_kind(obj)}")
        rows.items.append((number, obj))
    return rows


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"a JSON object with keys {clip(sorted(key[:40] for key in value), 200)}"
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return f"a JSON {names[type(value)]}" if type(value) in names else "JSON null"


def read_csv(path: Path, delimiter: str | None = None) -> Rows:
    """A header row, then one example a row; ``delimiter`` None sniffs one of ``, ; tab |``."""
    text = read_text(path)
    delimiter = delimiter or sniff_delimiter(text)
    header = LINE_BREAK.split(text.lstrip("\r\n"), maxsplit=1)[0]
    rows = Rows(
        "line", note=f"read as {DELIMITERS[delimiter]}-separated ({delimiter!r}), header {clip(header)}"
    )
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames:
        raise DataError(path, 1, "no header row")
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                raise DataError(
                    path, number, f"more fields than the {len(reader.fieldnames)} header columns; {rows.note}"
                )
            if all(not (value or "").strip() for value in row.values()):
                continue
            rows.items.append((number, dict(row)))
    except csv.Error as exc:
        raise DataError(
            path, reader.line_num, f"malformed CSV: {clip(str(exc), 200, quoted=False)}"
        ) from None
    return rows


def sniff_delimiter(text: str) -> str:
    """The delimiter csv.Sniffer finds in the first few KB, if the header has it; else a comma."""
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return ","
    header = LINE_BREAK.split(sample.lstrip("\r\n"), maxsplit=1)[0]
    return found if found in header else ","


def read_parquet(path: Path) -> Rows:
    """Every row of a Parquet file as a mapping of its columns (needs pyarrow, imported here only)."""
    if not path.is_file():
        raise DataError(path, 0, "no such file")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(path, 1, "reading .parquet needs pyarrow (pip install pyarrow)") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise DataError(
            path, 1, f"not a readable Parquet file: {clip(str(exc), 200, quoted=False)}"
        ) from None
    if table.num_rows == 0:
        raise DataError(path, 1, "the file is empty: no examples to train on")
    return Rows("row", list(enumerate(table.to_pylist(), start=1)))
