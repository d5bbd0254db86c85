"""Pilot drives the chat: request → goal draft → approve → a run on a tiny model → approvals."""

from __future__ import annotations

import pytest
import yaml
from textual.widgets import RichLog, Select

from openlora.trainer.rundir import GoalDir
from openlora.tui.screens.approval import ApprovalScreen
from openlora.tui.widgets.chat_log import ChatLog
from openlora.tui.widgets.draft_editor import DraftEditor
from openlora.tui.widgets.live_run import LiveRun
from tests.tui.conftest import BROKEN, HEALTHY, make_app, wait_for

pytestmark = pytest.mark.anyio


async def _request(pilot, text: str) -> None:
    await pilot.click("#chat-input")
    app = pilot.app
    app.screen.query_one("#chat-input").value = text
    await pilot.press("enter")


def _draft(app) -> dict:
    return yaml.safe_load(app.screen.query_one(DraftEditor).text or "{}") or {}


async def test_a_request_becomes_a_draft_that_runs_and_the_loss_chart_follows(
    home, tiny_llama, kv_dataset, tmp_path
):
    app = make_app(tmp_path, tiny_llama, training=HEALTHY, approval="auto")
    async with app.run_test(size=(140, 42)) as pilot:
        await _request(pilot, f"tune the model on {kv_dataset} so it recalls the value of each key")
        await wait_for(pilot, lambda: _draft(app).get("dataset"), what="the goal draft")
        draft = _draft(app)
        assert draft["dataset"] == str(kv_dataset) and draft["base_model"] == str(tiny_llama)
        assert draft["training"]["learning_rate"] == HEALTHY["learning_rate"]
        assert "recalls the value" in draft["task"]

        await _request(pilot, "try a smaller lr")
        await wait_for(
            pilot,
            lambda: _draft(app)["training"]["learning_rate"] < HEALTHY["learning_rate"],
            what="the edit",
        )
        assert _draft(app)["training"]["learning_rate"] == HEALTHY["learning_rate"] / 2

        editor = app.screen.query_one(DraftEditor)  # the person edits the target before approving
        editor.query_one("#draft-text").load_text(
            editor.text.replace("val_loss_below: 1.5", "val_loss_below: 5.5")
        )
        await pilot.click("#approve-draft")
        assert app.screen.query_one("#approve-draft").disabled  # no second run from the same click
        live = app.screen.query_one(LiveRun)
        await wait_for(pilot, lambda: live.series and live.series.steps, what="the first step on the chart")
        first_points = len(live.series.steps)
        await wait_for(pilot, lambda: app.finished_runs, what="the end of the run")
        live.poll()
        assert len(live.series.steps) > first_points  # the chart kept updating as the run went on
        assert live.series.val_loss and "step" in live.figures()
        assert app.finished_runs[-1].outcome == "success"
        assert not app.screen.query_one("#approve-draft").disabled
        assert (tmp_path / "runs" / "drafts" / f"{draft['name']}.yaml").is_file()
        said = "\n".join(app.screen.query_one(ChatLog).lines_said)
        assert "The run ended: success" in said
        assert any(line.startswith("[launch]") for line in live.timeline)

        await pilot.press("f5")  # the playground answers with the new adapter and with the base
        select = app.screen.query_one("#play-run", Select)
        await wait_for(pilot, lambda: len(select._options) > 1, what="finished runs to pick")
        select.value = select._options[1][1]
        app.screen.query_one("#play-input").value = "key red"
        await pilot.click("#play-input")
        await pilot.press("enter")
        adapter_pane = app.screen.query_one("#play-adapter", RichLog)
        base_pane = app.screen.query_one("#play-base", RichLog)
        await wait_for(
            pilot, lambda: len(adapter_pane.lines) >= 2 and len(base_pane.lines) >= 2, what="replies"
        )


async def test_a_proposed_fix_waits_for_approval_and_a_veto_stops_the_run(
    home, tiny_llama, kv_dataset, tmp_path
):
    app = make_app(tmp_path, tiny_llama, training=BROKEN, approval="ask")
    async with app.run_test(size=(140, 42)) as pilot:
        await _request(pilot, f"tune the model on {kv_dataset} so it recalls the value of each key")
        await wait_for(pilot, lambda: _draft(app).get("dataset"), what="the goal draft")
        assert _draft(app)["approval"] == "ask"
        await pilot.click("#approve-draft")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the approval dialog")
        question = app.screen.question
        assert question["diagnosis"] == "nan" and question["action"]
        root = GoalDir(app.active_run)
        await pilot.pause(1.0)
        assert not root.attempt(2).root.exists()  # nothing relaunches while the proposal waits
        assert app.finished_runs == []

        await pilot.click("#veto")
        await wait_for(pilot, lambda: app.finished_runs, what="the end of the run")
        finished = app.finished_runs[-1]
        assert finished.outcome == "failed" and len(finished.final.attempts) == 1
        assert finished.final.attempts[-1].decision.source == "person"
        assert not root.attempt(2).root.exists()
        assert any("[approval] veto" in line for line in app.screen.query_one(LiveRun).timeline)


async def test_quitting_the_tui_leaves_the_run_going_and_a_new_tui_follows_it_to_the_end(
    home, tiny_llama, kv_dataset, tmp_path
):
    from openlora.ui_core.supervised_runs import supervisor_state

    first = make_app(tmp_path, tiny_llama, training=HEALTHY, approval="auto")
    async with first.run_test(size=(140, 42)) as pilot:
        await _request(pilot, f"tune the model on {kv_dataset} so it recalls the value of each key")
        await wait_for(pilot, lambda: _draft(first).get("dataset"), what="the goal draft")
        editor = first.screen.query_one(DraftEditor)
        editor.query_one("#draft-text").load_text(
            editor.text.replace("val_loss_below: 1.5", "val_loss_below: 5.5")
        )
        await pilot.click("#approve-draft")
        root = first.active_run
        live = first.screen.query_one(LiveRun)
        await wait_for(pilot, lambda: live.series and live.series.steps, what="the first step")
    # the TUI has quit: the supervisor is its own process and keeps going
    assert supervisor_state(root) == "running"

    second = make_app(tmp_path, tiny_llama, training=HEALTHY, approval="auto")
    async with second.run_test(size=(140, 42)) as pilot:
        assert second.active_run == root  # the new TUI follows the run still going
        await wait_for(pilot, lambda: second.finished_runs, what="the end of the run", timeout=240)
        outcome = second.finished_runs[-1].outcome
        assert outcome in ("success", "failed") and supervisor_state(root) == "finished"
        said = "\n".join(second.screen.query_one(ChatLog).lines_said)
        assert f"Following the run still going in {root}" in said and f"The run ended: {outcome}" in said
