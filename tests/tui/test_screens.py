"""History, incidents, the dataset picker (untrusted rows shown literally) and answers about runs."""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable

from openlora.tui.screens.datasets import DatasetScreen
from openlora.tui.widgets.chat_log import ChatLog
from tests.tui.conftest import make_app, wait_for
from tests.tui.seed import seed

pytestmark = pytest.mark.anyio
HOSTILE = "[bold red]alert[/bold red] \x1b[2J\x1b[31mcleared"


def _cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_history_and_incident_screens_list_what_the_registry_holds(home, tmp_path):
    seed()
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f2")
        table = app.screen.query_one("#history-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, what="three runs in the history")
        rows = _cells(table)
        assert [r[1] for r in rows] == [
            "quickstart-20260103-090000",
            "rescue-20260102-090000",
            "siem-20260101-090000",
        ]
        assert [r[0] for r in rows] == ["3", "2", "1"] and rows[1][2] == "failed"

        await pilot.press("f3")
        incidents = app.screen.query_one("#incident-table", DataTable)
        await wait_for(pilot, lambda: incidents.row_count == 2, timeout=120, what="two incidents")
        assert sorted(r[1] for r in _cells(incidents)) == ["diverged", "nan"]
        query = app.screen.query_one("#incident-query")
        query.value = "the loss became nan"
        await pilot.click("#incident-query")
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: "like" in str(app.screen.query_one("#incident-caption").render()), what="search"
        )
        assert _cells(incidents)[0][1] == "nan"  # the closest incident comes first


async def test_a_question_about_a_run_is_answered_from_recorded_facts(home, tmp_path):
    seed()
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        app.screen.query_one("#chat-input").value = "why did run 2 fail?"
        await pilot.click("#chat-input")
        await pilot.press("enter")
        log = app.screen.query_one(ChatLog)
        await wait_for(pilot, lambda: len(log.lines_said) >= 3, what="the answer")
        said = "\n".join(log.lines_said)
        assert "Run rescue-20260102-090000 (rescue) failed after 1 attempt(s)." in said
        assert 'attempt 1: diverged — "loss rose 8x over 12 steps"' in said
        assert '"the loss blew up"' in said and "incident diverged-inc" in said
        assert "diverged → lower_lr as relaunch_from_checkpoint(fix=lower_lr, learning_rate=3)" in said


async def test_dataset_rows_with_markup_and_escapes_show_literally(home, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"prompt": HOSTILE, "response": "ok"}) + "\n", encoding="utf-8")
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f4")
        screen = app.screen
        assert isinstance(screen, DatasetScreen)
        screen.show(data)
        await wait_for(pilot, lambda: getattr(screen, "findings", None), what="inspect_dataset's findings")
        shown = "\n".join(screen.preview_text)
        # markup shown as text; the reader removes the escape characters (counted by the data gate)
        assert "[bold red]alert[/bold red]" in shown and "[2J[31mcleared" in shown
        assert "\x1b" not in shown
        assert any("control characters" in finding for finding in screen.findings), screen.findings
        svg = app.export_screenshot()
        assert "[bold&#160;red]alert[/bold&#160;red]" in svg or "[bold red]alert[/bold red]" in svg
        assert "[2J[31mcleared" in svg and "\x1b" not in svg
        assert any("1 rows" in line for line in screen.findings)

        raw = tmp_path / "raw.log"  # a raw file holding real escape bytes, previewed line by line
        raw.write_text(HOSTILE + "\n", encoding="utf-8")
        screen.show(raw)
        await wait_for(pilot, lambda: screen.preview is not None, what="the raw preview")  # read in a worker
        shown = "\n".join(screen.preview_text)
        assert "[bold red]alert[/bold red] \\x1b[2J" in shown and "\x1b" not in shown
