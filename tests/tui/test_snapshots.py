"""Snapshots of the main screens with fixed contents (seeded registry and memory, fixed files)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, RichLog

from openlora.tui.screens.approval import ApprovalScreen
from tests.tui.conftest import make_app, wait_for
from tests.tui.seed import seed
from tests.tui.snapshots import assert_screen

pytestmark = pytest.mark.anyio
SIZE = (120, 36)
QUESTION = {
    "kind": "relaunch",
    "attempt": 1,
    "diagnosis": "nan",
    "action": "add_warmup",
    "tool": "relaunch_from_checkpoint",
    "changes": {"learning_rate": 0.001, "warmup_steps": 5},
    "reason": "the loss became NaN at step 6: a smaller lr with warm-up",
    "source": "advisor",
    "current": {"learning_rate": 30.0},
    "bounds": {"learning_rate": [0.0001, 60.0]},
    "error": "learning_rate 100 is outside ×0.1–×2 of 30",
}


@pytest.fixture
def fixed_place(home, tmp_path, monkeypatch) -> Path:
    """UTC, a working folder with a stable name, and a small data file in it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.chdir(tmp_path)
    folder = Path("datasets")
    folder.mkdir()
    rows = [
        {"prompt": f"Summarise: sshd failed login #{i} from 10.0.0.{i}", "response": f"failed login {i}"}
        for i in range(5)
    ]
    (folder / "auth.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    yield folder
    monkeypatch.delenv("TZ")
    time.tzset()


async def test_chat_screen(fixed_place, tmp_path):
    app = make_app(Path("."), cwd=fixed_place)
    async with app.run_test(size=SIZE) as pilot:
        await assert_screen(pilot, "chat")


async def test_approval_dialog(fixed_place):
    app = make_app(Path("."), cwd=fixed_place)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ApprovalScreen(QUESTION))
        await assert_screen(pilot, "approval")


async def test_history_screen(fixed_place):
    seed()
    app = make_app(Path("."), cwd=fixed_place)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        table = app.screen.query_one(DataTable)
        facts = app.screen.query_one("#history-facts", RichLog)
        await wait_for(pilot, lambda: table.row_count == 3 and len(facts.lines) > 2, what="history and facts")
        await assert_screen(pilot, "history")


async def test_incidents_screen(fixed_place):
    seed()
    app = make_app(Path("."), cwd=fixed_place)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        table = app.screen.query_one("#incident-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="the incidents")
        await assert_screen(pilot, "incidents")


async def test_data_screen(fixed_place):
    app = make_app(Path("."), cwd=fixed_place)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        app.screen.show(fixed_place / "auth.jsonl")
        await wait_for(pilot, lambda: getattr(app.screen, "findings", None), what="the findings")
        await assert_screen(pilot, "data")
