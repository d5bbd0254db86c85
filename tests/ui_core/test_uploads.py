"""Uploads land in RUNS/uploads/ under their content hash, whatever name the browser gave."""

from __future__ import annotations

import json

import pytest

from openlora.ui_core.uploads import (
    UploadError,
    list_uploads,
    parse_size,
    safe_parts,
    store_upload,
    with_stored_names,
)

ROW = b'{"prompt": "a", "response": "b"}\n'


HOSTILE = ["../../etc/x.jsonl", "a\x00b.csv", "..\\..\\windows\\x.jsonl", "/etc/passwd.txt", ".hidden.json"]


@pytest.mark.parametrize("name", [*HOSTILE, "...jsonl"])
def test_a_hostile_name_cannot_leave_the_uploads_folder(tmp_path, name):
    source = tmp_path / "received"
    source.write_bytes(ROW)
    folder = tmp_path / "runs" / "uploads"
    stored = store_upload(source, name, folder)
    assert stored.path.parent == folder and stored.path.read_bytes() == ROW
    assert stored.path.name.startswith(stored.sha256[:16] + "-")
    stem = stored.path.name.removeprefix(stored.sha256[:16] + "-")
    assert "\x00" not in stem and "/" not in stem and not stem.startswith(".")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == sorted([source, stored.path])


def test_the_name_keeps_a_readable_stem_and_a_lower_case_suffix():
    assert safe_parts("../../etc/x.jsonl") == ("x", ".jsonl")
    assert safe_parts("a\x00b.CSV") == ("ab", ".csv")
    assert safe_parts("my data (v2).Parquet") == ("my-data-v2", ".parquet")
    assert safe_parts("") == ("upload", "")


def test_other_formats_and_big_files_are_refused_and_leave_nothing(tmp_path):
    source = tmp_path / "received"
    source.write_bytes(ROW * 10)
    folder = tmp_path / "uploads"
    with pytest.raises(UploadError, match=r"\.exe is not accepted"):
        store_upload(source, "tool.exe", folder)
    with pytest.raises(UploadError, match="no extension is not accepted"):
        store_upload(source, "README", folder)
    with pytest.raises(UploadError, match="over the upload limit"):
        store_upload(source, "big.jsonl", folder, max_bytes=len(ROW))
    assert not folder.exists() or not list(folder.iterdir())


def test_the_same_file_is_stored_once_and_a_half_written_one_is_never_listed(tmp_path):
    source = tmp_path / "received"
    source.write_bytes(ROW)
    folder = tmp_path / "uploads"
    first = store_upload(source, "a.jsonl", folder)
    again = store_upload(source, "a.jsonl", folder)
    other = store_upload(source, "b.jsonl", folder)
    assert first.path == again.path != other.path
    (folder / ".partial-0123.jsonl").write_bytes(ROW[:5])  # what an upload in progress looks like
    (folder / "notes.md").write_text("x")
    assert sorted(list_uploads(folder)) == sorted([first.path, other.path])


def test_a_raw_log_is_imported_as_pairs_beside_it(tmp_path):
    source = tmp_path / "received"
    source.write_text(
        "Nov 28 14:28:32 mail-03 sshd[57036]: Failed password for deploy from 203.0.113.145 port 39518 ssh2\n"
        "Nov 28 16:30:40 db-02 sshd[41236]: Accepted publickey for bob from 198.51.100.205 port 13225 ssh2\n",
        encoding="utf-8",
    )
    stored = store_upload(source, "auth.log", tmp_path / "uploads")
    assert stored.pairs is not None and stored.pairs.parent == stored.path.parent
    assert stored.pairs.name == stored.path.name.removesuffix(".log") + ".siem-logs.jsonl"
    assert stored.note.startswith(f"{stored.path.name} → {stored.pairs.name}")
    assert stored.pairs in list_uploads(tmp_path / "uploads")
    report = stored.pairs.with_name(stored.pairs.name.removesuffix(".jsonl") + ".report.json")
    assert report.is_file() and report not in list_uploads(tmp_path / "uploads")  # as the Import button
    rows = [json.loads(line) for line in stored.pairs.read_text().splitlines()]
    assert rows and all(r["prompt"] and r["response"] for r in rows)


def test_a_log_with_no_events_is_stored_and_says_nothing_was_imported(tmp_path):
    source = tmp_path / "received"
    source.write_bytes(b"\x00\x01 not a log line at all\n")
    stored = store_upload(source, "noise.log", tmp_path / "uploads")
    assert stored.path.is_file() and stored.pairs is None
    assert "nothing to import" in stored.note


def test_sizes_read_as_people_write_them():
    assert parse_size("1GiB") == 2**30 and parse_size("500MB") == 500 * 10**6
    assert parse_size("2g") == 2 * 10**9 and parse_size("1048576") == 2**20
    for bad in ("", "-1", "12 parsecs", "0"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_a_request_may_name_an_upload_as_the_person_called_it(tmp_path):
    source = tmp_path / "received"
    source.write_bytes(ROW)
    stored = store_upload(source, "kv.jsonl", tmp_path / "uploads")
    text = with_stored_names("tune on kv.jsonl so it recalls; not old-kv.jsonl", tmp_path / "uploads")
    assert text == f"tune on {stored.path.name} so it recalls; not old-kv.jsonl"
