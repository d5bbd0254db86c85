"""The data screen previews every format the trainer reads, through the trainer's own reader.

Each file is written in the test (.json arrays, ShareGPT conversations, Parquet, a semicolon CSV with
a NUL byte, a broken JSONL file, a big file) and shown in the real app; hostile rows must appear as
the characters they are, never as markup or escape sequences.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from textual.widgets import OptionList, Static

from openlora.tui.screens import datasets
from openlora.tui.screens.datasets import DatasetScreen, DataTree
from openlora.tui.screens.pack_import import ImporterPicker
from openlora.ui_core import data_head
from tests.tui.conftest import make_app, wait_for

pytestmark = pytest.mark.anyio
HOSTILE = "[bold red]alert[/bold red] \x1b[2J\x1b[31mcleared"


def _alpaca_json(path: Path) -> None:
    path.write_text(json.dumps([{"instruction": HOSTILE, "input": "", "output": "ok"}]), encoding="utf-8")


def _sharegpt_json(path: Path) -> None:
    turns = [
        {"from": "system", "value": "be brief"},
        {"from": "human", "value": HOSTILE},
        {"from": "gpt", "value": "ok"},
    ]
    path.write_text(json.dumps([{"conversations": turns}]), encoding="utf-8")


def _parquet(path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{"prompt": HOSTILE, "response": "ok"}]), path)


async def _shown(pilot, path: Path) -> DatasetScreen:
    """Open the data screen on ``path`` and wait for its preview and findings."""
    await pilot.press("f4")
    screen = pilot.app.screen
    assert isinstance(screen, DatasetScreen)
    screen.show(path)
    await wait_for(pilot, lambda: screen.preview is not None and screen.findings, what="preview and findings")
    await pilot.pause(0.05)
    return screen


def _status(screen: DatasetScreen) -> str:
    return str(screen.query_one("#data-status", Static).render())


@pytest.mark.parametrize(
    ("name", "write", "expected"),
    [
        ("alpaca.json", _alpaca_json, "  →  ok"),
        ("sharegpt.json", _sharegpt_json, "  ▸  assistant: ok"),
        ("rows.parquet", _parquet, "  →  ok"),
    ],
)
async def test_hostile_rows_in_json_sharegpt_and_parquet_show_literally(
    home, tmp_path, name, write, expected
):
    data = tmp_path / name
    write(data)
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _shown(pilot, data)
        shown = "\n".join(screen.preview_text)
        assert "[bold red]alert[/bold red]" in shown and "[2J[31mcleared" in shown and expected in shown
        assert "\x1b" not in shown
        if name == "sharegpt.json":  # the roles as the trainer maps them
            assert "system: be brief  ▸  user: [bold red]alert" in shown
        assert "2 control characters (NUL, escape…) removed from 1 row" in _status(screen)
        assert any("1 rows" in line for line in screen.findings), screen.findings
        svg = app.export_screenshot()
        assert "[bold&#160;red]alert[/bold&#160;red]" in svg or "[bold red]alert[/bold red]" in svg
        assert "\x1b" not in svg


async def test_a_semicolon_csv_with_a_nul_byte_is_read_as_the_trainer_reads_it(home, tmp_path):
    data = tmp_path / "tickets.csv"
    rows = "prompt;response\nprinter jams;open the tray\nvpn\x00 drops;renew the cert\n"
    data.write_text(rows, encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _shown(pilot, data)
        assert screen.preview_text == [
            "   2  printer jams  →  open the tray",
            "   3  vpn drops  →  renew the cert",  # the NUL removed, as the trainer removes it
        ]
        status = _status(screen)
        assert "2 examples (2 pair)" in status
        assert "⚠ 1 control character (NUL, escape…) removed from 1 row" in status


async def test_a_file_the_trainer_refuses_shows_the_readers_error_literally(home, tmp_path):
    data = tmp_path / "broken.jsonl"
    rows = [{"prompt": "a", "response": "b"}, {"[red]question[/red]": "a", "response": "b"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _shown(pilot, data)
        status = _status(screen)
        assert status.startswith(f"cannot be trained on as it is: {data}:2: missing column")
        assert "[red]question[/red]" in status  # the key is shown, not interpreted
        assert screen.preview_text == []


async def test_a_big_file_is_previewed_from_its_beginning(home, tmp_path, monkeypatch):
    # Stand-ins for a file over the preview's whole-file limit: the limits are lowered, not the reader.
    monkeypatch.setattr(data_head, "WHOLE_FILE_BYTES", 64 * 1024)
    monkeypatch.setattr(datasets, "INSPECT_MAX_BYTES", 64 * 1024)
    data = tmp_path / "big.json"
    turns = [{"from": "human", "value": "hi " * 40}, {"from": "gpt", "value": "hello"}]
    data.write_text(json.dumps([{"conversations": turns}] * 4000), encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _shown(pilot, data)
        assert len(screen.preview_text) == 8 and screen.preview_text[0].startswith("   1  user: hi hi")
        assert "the first 8 examples as the trainer reads them, from the first" in _status(screen)
        assert "from the first 1.7 kB of 832 kB (a big file: the preview reads no further)" in _status(screen)
        assert "inspect_dataset reads the whole file" in screen.findings[0]


def test_the_file_picker_offers_every_format_the_trainer_reads_and_what_packs_import(tmp_path):
    names = ["a.jsonl", "b.json", "c.csv", "d.tsv", "e.parquet", "f.txt", "g.log", "h.py", "i.md"]
    names += ["f.verse-poems.jsonl", "f.verse-poems.report.json", "j.exe", ".hidden.jsonl"]
    for name in names:
        (tmp_path / name).write_text("x", encoding="utf-8")
    kept = DataTree.filter_paths(None, sorted(tmp_path.iterdir()))  # type: ignore[arg-type]
    assert [p.name for p in kept] == sorted(names[:10])  # an import's report is not data


@pytest.mark.parametrize("name", ["rows.parquet", "rows.tsv", "rows.json"])
def test_tune_on_this_file_names_a_file_the_chat_recognises(tmp_path, name):
    from openlora.chat.intent import check_intent

    (tmp_path / name).write_text("x", encoding="utf-8")
    # the request the "Tune on this file" button types, with an advisor answer that names no file
    intent = check_intent("{}", f"tune on {tmp_path / name} so it answers tickets", tmp_path)
    assert intent.kind == "tune" and intent.dataset == tmp_path / name


async def test_i_imports_the_highlighted_file_with_a_pack_and_selects_the_records(home, tmp_path):
    poems = tmp_path / "[b]poems.txt"  # a name that is markup must show as written
    stanzas = ["The Sea", "waves come in\nwaves go out", "[red]the gulls[/red] cry\nthe sand is wet"]
    poems.write_text("\n\n".join(stanzas) + "\n", encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await _shown(pilot, poems)
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, ImporterPicker), what="the importer picker")
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(n).id for n in range(options.option_count)]
        assert ids == ["docs/documents", "verse/poems", "siem/logs"], ids
        options.highlighted = ids.index("verse/poems")
        await pilot.press("enter")
        pairs = tmp_path / "b-poems.verse-poems.jsonl"
        await wait_for(pilot, lambda: screen.selected == pairs and screen.preview is not None, what="records")
        note = str(screen.query_one("#data-import", Static).render())
        assert note.startswith("[b]poems.txt → b-poems.verse-poems.jsonl\nverse/poems: 1 records")
        assert screen.preview_text and "[red]the gulls[/red] cry" in screen.preview_text[0]
        tree = screen.query_one(DataTree)
        await wait_for(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data.path == pairs)
        assert not any(n.data.path.name.endswith(".report.json") for n in tree.root.children)
