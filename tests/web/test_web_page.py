"""``openlora-agent web`` end to end in headless Chromium, on the tiny model: upload → preview → start →
live chart → approval (approve relaunches, veto stops) → reload → SIGKILL the server → playground.

One server and one browser serve the whole module; the tests run in file order and the later ones use
the runs the earlier ones started (``STATE``). Two runs start at once from two browser tabs, each its
own process and run folder; they are NaN-prone (lr 30) so that each brings up the approval.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from openlora.trainer.rundir import GoalDir, read_json
from openlora.ui_core.supervised_runs import supervisor_state
from tests.agent.conftest import BROKEN_TRAINING
from tests.web.conftest import alpaca_bytes
from tests.web.page import SHOTS_ENV, Page, Server, shot, storyboard

# NaN within ~30 steps at lr 30; the relaunch at the proposed lr trains long enough to be watched.
TRAINING = {**BROKEN_TRAINING, "max_steps": 600, "eval_every": 50, "save_every": 200}
XSS = "<script>alert(1)</script> <img src=x onerror=\"document.title='pwned'\">"
STATE: dict[str, Path] = {}


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
    return value


def _no_script_ran(page: Page) -> None:
    assert page.dialogs == [], page.dialogs
    assert page.page.title() == "OpenLoRA"
    assert page.page.locator("img[src='x']").count() == 0
    assert page.outside == [], f"requests that left the machine: {page.outside}"


def _stored(server: Server) -> list[Path]:
    return sorted(p for p in (server.folder / "runs").rglob("*") if p.is_file())


def test_uploads_are_previewed_as_the_trainer_reads_them_and_stay_text(server, browser, kv_bytes):
    page = Page(browser, server.url)
    page.upload("kv.jsonl", kv_bytes)
    assert re.search(r"stored as [0-9a-f]{16}-kv\.jsonl", page.wait_value("upload-status", bool))
    page.wait_value("preview-rows", lambda v: "   1  key red  →  value apple" in v)
    assert "60 examples (60 pair)" in page.value("preview-status")
    assert "60 rows (60 pair)" in page.value("findings") and page.value("blocking") == "none"
    shot(page, "1-data", height=760)

    page.upload("alpaca.json", alpaca_bytes())  # a JSON array of Alpaca records
    rows = page.wait_value("preview-rows", lambda v: "Add the numbers." in v)
    assert "Add the numbers. ⏎  ⏎ 2 and 3  →  5" in rows and "2 examples (2 pair)" in page.value(
        "preview-status"
    )

    page.upload("hostile.jsonl", (json.dumps({"prompt": XSS, "response": "<b>bold</b>"}) + "\n").encode())
    rows = page.wait_value("preview-rows", lambda v: "alert(1)" in v)
    assert f"{XSS}  →  <b>bold</b>" in rows  # the characters themselves, in a text box
    _no_script_ran(page)

    page.upload("../../etc/x.jsonl", b'{"prompt": "a", "response": "b"}\n')
    page.wait_value("upload-status", lambda v: re.search(r"stored as [0-9a-f]{16}-x\.jsonl ", v))
    uploads = server.folder / "runs" / "uploads"
    assert all(p.parent == uploads for p in _stored(server)), _stored(server)
    assert not (server.folder / "etc").exists() and not (server.folder / "runs" / "etc").exists()

    page.upload("broken.jsonl", b'{"prompt": "a", "response": "b"}\n{not json\n')
    status = page.wait_value("preview-status", lambda v: "cannot be trained on" in v)
    assert re.search(r"-broken\.jsonl:2: ", status) and "Traceback" not in page.page.content()

    page.upload("tool.exe", b"MZ\x90\x00")
    page.page.wait_for_timeout(1500)
    assert not [p for p in _stored(server) if p.suffix == ".exe" or p.name.startswith(".")]
    listed = page.page.locator("#upload-list input").first
    listed.click()
    options = page.page.locator("ul[role=listbox] li").all_inner_texts()
    assert len(options) == 5 and any("-kv.jsonl" in o for o in options), options


def _start_goal(page: Page, name: str, runs: Path) -> Path:
    """Fill the Train tab's form with a NaN-prone goal on the uploaded kv data, draft it, start it."""
    page.tab("Train")
    page.fill("goal-name", name)
    page.fill("goal-task", "Learn the key to value pairs.")
    page.pick("goal-dataset", "-kv.jsonl")
    page.fill("goal-training", yaml.safe_dump(TRAINING))
    page.fill("goal-success-val-loss-below", "5.5")
    page.page.locator("#goal-memory input[type=checkbox]").uncheck()  # no remembered fix: each run asks
    page.click("draft-from-form")
    page.wait_value("draft-status", lambda v: v.startswith("the draft is valid"))
    page.click("start")
    started = page.wait_value("start-status", lambda v: v.startswith("started"))
    root = runs / started.split()[1].rstrip(":")
    page.wait_value("monitor-state", lambda v: v.startswith(root.name))
    return root


def _wait_for_proposal(page: Page) -> str:
    page.wait(lambda: page.page.locator("#approval-question textarea:visible").count(), 240, "the proposal")
    return page.value("approval-question")


def _plotted(page: Page) -> tuple[int, int]:
    """(attempt, steps plotted) as the Monitor's figures say."""
    found = re.search(r"attempt (\d+) · step \d+ · (\d+) steps plotted", page.value("monitor-figures"))
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@pytest.mark.long
def test_two_tabs_start_two_runs_a_veto_stops_one_an_approval_relaunches_the_other(server, browser):
    approving, vetoing = Page(browser, server.url), Page(browser, server.url)
    runs = server.folder / "runs"
    STATE["approved"] = _start_goal(approving, "kv-approve", runs)
    STATE["vetoed"] = _start_goal(vetoing, "kv-veto", runs)

    question = _wait_for_proposal(vetoing)
    assert question.startswith("Attempt 1 ended: nan.") and "learning_rate" in question
    vetoing.fill("approval-changes", "not json")
    vetoing.click("apply-edit")
    assert "not JSON" in vetoing.wait_value("approval-status", bool)
    vetoing.click("veto")
    vetoing.wait_value("approval-status", lambda v: v == "sent: veto")

    _wait_for_proposal(approving)
    shot(approving, "2-approval")
    approving.click("approve")
    approving.wait_value("approval-status", lambda v: v == "sent: approve")
    approving.wait(lambda: _plotted(approving)[0] == 2, 120, "attempt 2's first steps")
    shots, counts = [], [_plotted(approving)[1]]
    plot = approving.page.locator("#plot-loss").first
    shots.append(plot.screenshot())
    for _ in range(2):  # the chart gains points while it trains
        approving.wait(lambda: _plotted(approving)[1] > counts[-1], 60, "more steps")
        counts.append(_plotted(approving)[1])
    shots.append(plot.screenshot())
    shot(approving, "3-monitor")
    assert supervisor_state(STATE["approved"]) == "running" and counts == sorted(set(counts)), counts
    assert shots[0] != shots[1], "the loss plot did not change while the run trained"
    lines = approving.page.locator("#plot-loss svg .mark-line path")  # one line a series, each its colour
    approving.wait(
        lambda: len(set(lines.evaluate_all("ps => ps.map(p => p.getAttribute('stroke'))"))) >= 2, 10
    )
    legend = approving.page.locator("#plot-loss svg text").evaluate_all("ts => ts.map(t => t.textContent)")
    assert {"attempt 1 train", "attempt 2 train"} <= set(legend), legend

    approving.open()  # reload mid-run: a new watch re-reads the folder and follows from there
    approving.tab("Monitor")
    approving.wait_value("monitor-state", lambda v: v.startswith(STATE["approved"].name))
    approving.wait(lambda: _plotted(approving)[1] >= counts[-1], 30, "the re-attached curves")
    assert "[run] starting kv-approve" in approving.value("monitor-timeline")
    assert "approve" in approving.page.locator("#monitor-attempts").inner_text()

    _wait(lambda: supervisor_state(STATE["vetoed"]) == "finished", 120, "the vetoed run's report")
    report = read_json(GoalDir(STATE["vetoed"]).report_json)
    assert report["outcome"] == "failed" and len(report["attempts"]) == 1
    assert not GoalDir(STATE["vetoed"]).attempt(2).root.exists()
    _no_script_ran(approving)


@pytest.mark.long
def test_a_sigkilled_server_leaves_the_run_going_and_the_restarted_page_shows_it_finished(
    server, browser, tiny_llama, kv_dataset
):
    root = STATE.get("approved")
    if root is None or supervisor_state(root) != "running":  # it finished first: start another run
        root = _healthy_run(server, tiny_llama, kv_dataset)
    server.kill()
    assert supervisor_state(root) == "running"
    _wait(lambda: supervisor_state(root) == "finished", 240, "the run's report with no server up")
    assert read_json(GoalDir(root).report_json)["outcome"] == "success"
    attempts = len(read_json(GoalDir(root).report_json)["attempts"])

    server.start()
    page = Page(browser, server.url)
    page.tab("Monitor")
    page.pick("monitor-run", root.name)
    state = page.wait_value("monitor-state", lambda v: v.startswith(root.name) and "finished" in v)
    assert f"finished: success after {attempts} attempt(s)" in state


def _healthy_run(server: Server, base: Path, dataset: Path) -> Path:
    """A run of the tiny model that needs no approval, started as the page starts them."""
    from openlora.ui_core.supervised_runs import start_supervised_run

    goal = {
        "name": "kv-healthy",
        "task": "Recall the value of each key.",
        "base_model": str(base),
        "dataset": str(dataset),
        "success": {"val_loss_below": 99.0},
        "training": {**BROKEN_TRAINING, "learning_rate": 0.1, "weight_decay": 0.0, "max_steps": 40},
    }
    path = server.folder / "kv-healthy.yaml"
    path.write_text(yaml.safe_dump(goal), encoding="utf-8")
    root = start_supervised_run(path, server.folder / "runs", "kv-healthy", env=server.env)
    _wait(lambda: GoalDir(root).attempt(1).root.is_dir(), 120, "the first attempt of the healthy run")
    return root


def test_the_playground_answers_with_the_adapter_and_the_exports_are_listed(server, browser):
    root = STATE.get("approved")
    if root is None or supervisor_state(root) != "finished":
        pytest.skip("needs the finished run of the previous tests")
    page = Page(browser, server.url)
    page.tab("Playground")
    page.pick("play-run", f"{root.name} / attempt-2")
    for turn, prompt in enumerate(("key red", f"key blue {XSS}"), start=1):
        page.fill("play-prompt", prompt)
        page.field("play-prompt").press("Enter")
        page.wait_value("play-status", lambda v, turn=turn: v.startswith(f"answer {turn} done"), timeout=120)
        if turn == 1:
            shot(page, "4-playground", height=760)
    adapter = page.page.locator("#play-adapter").inner_text()
    base = page.page.locator("#play-base").inner_text()
    assert adapter.count(XSS) == 1 and base.count(XSS) == 1  # the prompt, shown literally
    assert len(adapter.split(XSS, 1)[1].strip()) > 0 and len(base.split(XSS, 1)[1].strip()) > 0
    _no_script_ran(page)
    if os.environ.get(SHOTS_ENV):
        stages = [
            ("1-data", "1. Data: an upload, previewed as the trainer reads it"),
            ("2-approval", "2. Monitor: attempt 1 went NaN; the fix waits for approval"),
            ("3-monitor", "3. Monitor: the approved relaunch trains, live"),
            ("4-playground", "4. Playground: the adapter and the base model answer"),
        ]
        storyboard(stages, Path(os.environ[SHOTS_ENV]) / "web-page.png")

    page.tab("Exports")
    page.pick("export-run", root.name)
    table = page.wait(lambda: page.page.locator("#export-table").inner_text().count("adapter"), 30, "exports")
    assert table and "attempt-2" in page.page.locator("#export-table").inner_text()
    page.click("export-download")
    page.wait(lambda: page.page.locator("#export-file a").count(), 30, "the download link")
    shown = page.page.locator("#export-file").inner_text().replace("\n", "")
    assert f"{root.name}-attempt-2-adapter.zip" in shown, shown


def test_the_history_lists_the_registrys_runs_with_their_facts_and_searches_incidents(server, browser):
    root = STATE.get("approved")
    if root is None:
        pytest.skip("needs the runs of the previous tests")
    page = Page(browser, server.url)
    page.tab("History & incidents")
    table = page.page.locator("#history-runs")
    page.wait(lambda: root.name in table.inner_text(), 30, "the run in the history")
    assert STATE["vetoed"].name in table.inner_text()
    table.get_by_role("gridcell", name=root.name).first.click()
    facts = page.wait_value("history-facts", bool)
    assert facts.startswith(f"Run {root.name} (kv-approve) succeeded after 2 attempt(s)."), facts
    assert "attempt 1: nan" in facts and "attempt 2: completed" in facts
    page.fill("incident-query", "loss became nan")
    page.click("incident-search")
    assert page.wait_value("incident-caption", bool) == "0 incidents like 'loss became nan'"  # memory: off
