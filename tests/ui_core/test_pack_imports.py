"""The data screens' pack importers: which ones a path gets, and an import's records, report and note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlora.synthesis.packs.interface import INTERFACE_VERSION, Importer, ImportReport, Pack
from openlora.synthesis.packs.registry import BrokenPack, Registry, installed
from openlora.ui_core.pack_imports import import_with, importer_choices, is_import_report
from openlora.ui_core.uploads import list_uploads

POEMS = (
    "The Sea\n\nwaves come in\nwaves go out\n\nthe gulls cry\nthe sand is wet\n\n***\n\n"
    "Night\n\nstars are out\nthe moon is bright\n\nthe owl calls\nthe dark is deep\n"
)
LOG = (
    "Nov 28 14:28:32 mail-03 sshd[57036]: Failed password for deploy from 203.0.113.145 port 39518 ssh2\n"
    "[bold]not a log line[/bold]\n"
)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "m.py").write_text('def add(a, b):\n    """Add two numbers."""\n    return a + b\n')
    return folder


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_log_gets_the_siem_importer_first_and_is_not_trained_on_as_it_is(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text(LOG)
    choices = importer_choices(log)
    assert choices.default == "siem/logs" and not choices.as_is and choices.broken == []


def test_a_folder_of_python_gets_the_code_importer_first(source):
    choices = importer_choices(source)
    assert choices.default == "code/tree" and "siem/logs" not in choices.values  # siem takes no folder
    assert not choices.as_is


def test_a_text_file_of_poems_gets_verse_and_can_be_trained_on_as_it_is(tmp_path):
    poems = tmp_path / "poems.txt"
    poems.write_text(POEMS)
    choices = importer_choices(poems)
    assert {"verse/poems", "docs/documents"} <= set(choices.values) and choices.as_is
    assert choices.values[-1] == "siem/logs"  # the catch-all importer after the ones that name .txt
    assert all(o.label.startswith(o.value + " — ") for o in choices.options)


def test_poems_imported_with_verse_land_beside_the_file_with_a_report(tmp_path):
    poems = tmp_path / "poems.txt"
    poems.write_text(POEMS)
    done = import_with(poems, "verse/poems")
    assert done.pairs == tmp_path / "poems.verse-poems.jsonl" and done.records == 2
    rows = _rows(done.pairs)
    assert len(rows) == 2 and all(r["prompt"] and r["response"] for r in rows)
    assert done.note.splitlines() == [
        "poems.txt → poems.verse-poems.jsonl",
        "verse/poems: 2 records (poems 2)",
        "skipped 0",
    ]
    report = tmp_path / "poems.verse-poems.report.json"
    assert json.loads(report.read_text())["importer"] == "poems" and is_import_report(report)
    assert report not in list_uploads(tmp_path) and done.pairs in list_uploads(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_folder_imported_with_code_and_a_log_with_skipped_lines(tmp_path, source):
    done = import_with(source, "code/tree")
    assert done.pairs == tmp_path / "src.code-tree.jsonl" and done.records == 2
    assert any("add" in r["prompt"] for r in _rows(done.pairs))
    log = tmp_path / "auth.log"
    log.write_text(LOG)
    done = import_with(log, "siem/logs", folder=tmp_path / "out")
    assert done.pairs == tmp_path / "out" / "auth.siem-logs.jsonl" and done.records == 3
    assert "skipped 1: 2 (" in done.note


def test_an_importer_that_does_not_take_the_path_or_an_unknown_pack_is_a_message(tmp_path):
    poems = tmp_path / "poems.txt"
    poems.write_text(POEMS)
    assert import_with(poems, "code/tree").note == (
        "poems.txt: pack 'code' has no importer 'tree' that takes a '.txt' file"
    )
    assert "no pack 'nope' is installed" in import_with(poems, "nope/x").note
    assert import_with(tmp_path / "gone.txt", "verse/poems").pairs is None


def _raises(path: Path) -> tuple[list, ImportReport]:
    raise RuntimeError("the parser fell over")


def _rubbish(path: Path) -> tuple[list, ImportReport]:
    return [{"prompt": 1}], ImportReport()


def _registry() -> Registry:
    importers = (Importer("boom", "Raises.", ("*",), _raises), Importer("junk", "Rubbish.", ("*",), _rubbish))
    pack = Pack("faulty", "0.1", INTERFACE_VERSION, "A pack with bugs.", importers)
    broken = BrokenPack("old", "old_pack:PACK", "written for pack interface 0; this OpenLoRA speaks 1")
    return Registry({**installed().packs, "faulty": pack}, {"old": broken})


def test_a_broken_pack_is_listed_and_a_raising_importer_is_a_message_naming_it(tmp_path):
    data = tmp_path / "notes.txt"
    data.write_text("anything\n")
    registry = _registry()
    choices = importer_choices(data, registry)
    assert choices.broken == ["old: written for pack interface 0; this OpenLoRA speaks 1"]
    assert {"faulty/boom", "faulty/junk"} <= set(choices.values)
    done = import_with(data, "faulty/boom", registry=registry)
    assert done.pairs is None and done.note == (
        "notes.txt: pack 'faulty': importer 'boom' raised RuntimeError: the parser fell over"
    )
    assert (
        "record 0 is not a prompt/response pair" in import_with(data, "faulty/junk", registry=registry).note
    )
    assert "pack 'old' is broken: written for" in import_with(data, "old/x", registry=registry).note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
