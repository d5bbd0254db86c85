"""A big data file's beginning as a file of its own, for the data screen to preview with the trainer's reader.

The trainer's reader (``trainer.data_files``) reads whole files. A file up to :data:`WHOLE_FILE_BYTES`
is handed to it as it is; a bigger one is replaced, in a temporary folder and under the same name,
by its beginning:
- line formats (.jsonl, .csv, .tsv, .txt): the first lines, at least :data:`HEAD_BYTES` and enough
  line breaks for the rows asked for, cut at a line break (for CSV one outside a quoted field);
- .json: the array's first records, closed again (``]``, or ``]}`` for an array under one key); JSON
  Lines in a .json file is cut as lines;
- .parquet: the first rows, written as Parquet.
Each copy starts where the file starts, so line, record and row numbers (and the reader's errors)
are the file's own. What it is not for: parsing rows (the reader) or showing them (``data_preview``).
"""

from __future__ import annotations

import codecs
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

WHOLE_FILE_BYTES = 32 * 2**20
HEAD_BYTES = 2**20
MAX_HEAD_BYTES = 16 * 2**20
_WRAPPED_ARRAY = re.compile(r'\s*\{\s*"(?:[^"\\]|\\.)*"\s*:\s*\[')


@dataclass
class Head:
    """The file to hand to the reader, and how much of the original it holds."""

    path: Path
    partial: bool = False
    covered_bytes: int = 0  # bytes of the original the copy holds (all of them when not partial)
    total_rows: int | None = None  # a partial Parquet file's row count, from its metadata
    note: str = ""  # why the copy holds fewer rows than asked for
    unread: str = ""  # why there is nothing to read: the beginning holds no whole row


@contextmanager
def beginning(path: Path, rows: int) -> Iterator[Head]:
    """``path`` itself when small enough (or missing), else a copy of its beginning holding ``rows`` rows."""
    size = path.stat().st_size if path.is_file() else 0
    if size <= WHOLE_FILE_BYTES:
        yield Head(path, covered_bytes=size)
        return
    with tempfile.TemporaryDirectory(prefix="openlora-preview-") as folder:
        target = Path(folder) / path.name
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            yield _parquet_head(path, target, rows)
        elif suffix == ".json":
            yield _json_head(path, target, rows)
        else:
            yield _lines_head(path, target, rows, csv=suffix in (".csv", ".tsv"))


def _limit() -> str:
    return f"{MAX_HEAD_BYTES / 2**20:g} MiB"


def _prefix(path: Path, breaks: int) -> bytes:
    """The first bytes of ``path``: at least HEAD_BYTES and ``breaks`` line breaks, at most MAX_HEAD_BYTES."""
    limit = MAX_HEAD_BYTES
    chunks: list[bytes] = []
    size = count = 0
    with path.open("rb") as handle:
        while size < limit:
            chunk = handle.read(min(HEAD_BYTES, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            count += chunk.count(b"\n")
            if size >= HEAD_BYTES and count > breaks:
                break
    return b"".join(chunks)


def _line_ends(data: bytes, csv: bool) -> int:
    """Where the last whole line (for CSV, the last whole record) of ``data`` ends; 0 when none does."""
    if not csv:
        return max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    end = position = quotes = 0
    for line in data.splitlines(keepends=True):
        position += len(line)
        quotes += line.count(b'"')
        if line.endswith((b"\n", b"\r")) and quotes % 2 == 0:  # a line break outside a quoted field
            end = position
    return end


def _lines_head(path: Path, target: Path, rows: int, csv: bool = False) -> Head:
    data = _prefix(path, rows + 1)
    end = _line_ends(data, csv)
    if end == 0 and len(data) >= MAX_HEAD_BYTES:
        return Head(target, unread=f"the first {_limit()} hold no whole line: the preview reads no further")
    target.write_bytes(data[:end] if end else data)
    return Head(target, partial=True, covered_bytes=end)


def _json_head(path: Path, target: Path, rows: int) -> Head:
    """The first ``rows`` records of a JSON array, closed again; JSON Lines and the rest are cut as lines."""
    data = _prefix(path, 2**62)  # as much as the preview reads: records can be long
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:  # the reader names the byte and its line: the copy starts where the file does
        target.write_bytes(data)
        return Head(target, partial=True, covered_bytes=len(data))
    wrapped = _WRAPPED_ARRAY.match(text)
    start = wrapped.end() - 1 if wrapped else len(text) - len(text.lstrip())
    if text[start : start + 1] != "[":
        return _lines_head(path, target, rows)
    ends, state = _array_items(text, start, rows)
    if state == "broken":  # broken within the beginning: the reader says where, as for the whole file
        target.write_text(text, encoding="utf-8")
        return Head(target, partial=True, covered_bytes=len(data))
    if not ends:
        return Head(
            target, unread=f"the first record is longer than {_limit()}: the preview reads no further"
        )
    closing = "\n]}" if wrapped else "\n]"
    kept = text[: ends[-1]]
    target.write_text(kept + closing, encoding="utf-8")
    note = ""
    if state == "cut":
        note = f"record {len(ends) + 1} runs past the {_limit()} the preview reads"
    return Head(target, partial=True, covered_bytes=len(kept.encode("utf-8")), note=note)


def _array_items(text: str, start: int, rows: int) -> tuple[list[int], str]:
    """Where each of the first ``rows`` items of the array opening at ``start`` ends, and how the list
    ended: ``full`` (``rows`` items), ``closed`` (the array ended), ``cut`` (the text ends inside an
    item) or ``broken`` (the JSON is broken before the text's end)."""
    decoder = json.JSONDecoder(strict=False)  # as the reader: control characters in strings are cleaned later
    ends: list[int] = []
    at = start + 1
    while len(ends) < rows:
        at = _skip_space(text, at)
        mark = text[at : at + 1]
        if mark == "]":
            return ends, "closed"
        if ends:  # items are separated by commas
            if mark != ",":
                return ends, "broken" if mark else "cut"
            at = _skip_space(text, at + 1)
        try:
            _, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:  # cut off: at the text's end, or in a string running to it
            cut = exc.pos >= len(text) or exc.msg.startswith("Unterminated string")
            return ends, "cut" if cut else "broken"
        ends.append(at)
    return ends, "full"


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _parquet_head(path: Path, target: Path, rows: int) -> Head:
    """The first ``rows`` rows as a Parquet file; the original file when pyarrow cannot open it."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        batch = next(parquet.iter_batches(batch_size=rows), None)
        table = pa.Table.from_batches([batch]) if batch is not None else parquet.schema_arrow.empty_table()
        pq.write_table(table, target)
    except Exception:  # not Parquet, or no pyarrow: the reader fails on the original at once and says so
        return Head(path, covered_bytes=path.stat().st_size)
    return Head(target, partial=True, covered_bytes=0, total_rows=parquet.metadata.num_rows)
