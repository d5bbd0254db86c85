"""The preview of a big file reads its beginning only, and says what the trainer's reader says of it.

The whole-file limit is lowered so that small files written here stand in for big ones; the reader
is the trainer's own, never replaced.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlora.ui_core import data_head
from openlora.ui_core.data_preview import preview_file

ROWS = [{"prompt": f"question {i}", "response": f"answer {i}"} for i in range(400)]


@pytest.fixture(autouse=True)
def small_limit(monkeypatch):
    monkeypatch.setattr(data_head, "WHOLE_FILE_BYTES", 1024)
    monkeypatch.setattr(data_head, "HEAD_BYTES", 2048)


def test_a_csv_is_cut_between_records_not_inside_a_quoted_field(tmp_path):
    data = tmp_path / "multi.csv"
    data.write_text(
        "prompt,response\n" + "".join(f'"line one\nline two {i}","answer {i}"\n' for i in range(400)),
        encoding="utf-8",
    )
    preview = preview_file(data, rows=3)
    assert preview.rows[0] == "   3  line one ⏎ line two 0  →  answer 0" and not preview.error
    copy = data_head.beginning(data, 3)
    with copy as head:
        text = head.path.read_text(encoding="utf-8")
        assert head.partial and text.count('"') % 2 == 0 and text.endswith('"\n')


@pytest.mark.parametrize(
    "document",
    [
        json.dumps(ROWS, indent=1),  # an array
        json.dumps({"data": ROWS}),  # an array under one key
        "".join(json.dumps(r) + "\n" for r in ROWS),  # JSON Lines in a .json file
    ],
)
def test_a_big_json_file_shows_its_first_records(tmp_path, document):
    data = tmp_path / "rows.json"
    data.write_text(document, encoding="utf-8")
    preview = preview_file(data, rows=2)
    assert preview.rows == ["   1  question 0  →  answer 0", "   2  question 1  →  answer 1"]
    assert "(a big file: the preview reads no further)" in preview.notes[0] and not preview.warnings


def test_json_broken_within_the_beginning_gets_the_readers_error_with_its_line(tmp_path):
    data = tmp_path / "rows.json"
    lines = json.dumps(ROWS, indent=1).splitlines()
    assert lines[6] == '  "prompt": "question 1",'
    lines[6] = '  "prompt": question 1,'  # record 2 is broken
    data.write_text("\n".join(lines), encoding="utf-8")
    assert preview_file(data).error == f"{data}:7: broken JSON: Expecting value at column 13"


def test_parquet_shows_its_first_rows_of_how_many(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), data)
    preview = preview_file(data, rows=2)
    assert preview.rows == ["   1  question 0  →  answer 0", "   2  question 1  →  answer 1"]
    assert preview.notes == [
        "the first 2 of 400 rows as the trainer reads them (a big file: only those read)"
    ]


def test_a_file_that_is_no_parquet_gets_the_readers_error(tmp_path):
    data = tmp_path / "rows.parquet"
    data.write_bytes(b"not parquet" * 200)
    assert preview_file(data).error.startswith(f"{data}:1: not a readable Parquet file")


def test_a_log_shows_raw_lines_with_their_escapes(tmp_path):
    data = tmp_path / "auth.log"
    data.write_bytes(b"first \x1b[2J\r\nsecond\n")
    preview = preview_file(Path(data))
    assert preview.rows == ["   1  first \x1b[2J", "   2  second"]  # the screen spells the escape out
