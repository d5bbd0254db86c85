"""Reading only what is new, and approvals through the run folder: the first front to answer wins."""

from __future__ import annotations

import json
import threading
import time

from openlora.agent.approval_desk import FolderApprovals, answer, pending_request
from openlora.trainer.rundir import GoalDir
from openlora.trainer.tail import JsonlTail, TextTail

QUESTION = {"attempt": 1, "diagnosis": "nan", "action": "lower_lr", "changes": {"learning_rate": 0.001}}


def test_a_tail_returns_complete_new_lines_only_and_restarts_on_a_rewrite(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = JsonlTail(path)
    assert tail.read_new() == []  # no file yet
    path.write_text('{"step": 1}\n{"step": 2}\n{"st', encoding="utf-8")
    assert tail.read_new() == [{"step": 1}, {"step": 2}]
    assert tail.read_new() == []  # the torn line waits for its end
    with path.open("a", encoding="utf-8") as handle:
        handle.write('ep": 3}\nnot json\n[1]\n')
    assert tail.read_new() == [{"step": 3}] and tail.skipped == 1
    path.write_text('{"step": 9}\n', encoding="utf-8")  # rewritten shorter: read again from the start
    assert tail.read_new() == [{"step": 9}]
    log = TextTail(tmp_path / "supervisor.log")
    (tmp_path / "supervisor.log").write_bytes("naïve\n\xff\n".encode("latin-1"))
    assert log.read_new() == ["na\ufffdve", "\ufffd"]  # undecodable bytes never raise


def test_the_first_front_to_answer_wins_and_the_supervisor_gets_that_verdict(tmp_path):
    verdicts: list[dict] = []
    desk = FolderApprovals(tmp_path, poll_s=0.02)
    asking = threading.Thread(target=lambda: verdicts.append(desk(QUESTION)))
    asking.start()
    deadline = time.monotonic() + 5
    while (request := pending_request(tmp_path)) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert request is not None and request["question"] == QUESTION
    assert answer(tmp_path, request["id"], {"choice": "veto", "note": "from the web"}, by="web")
    assert not answer(tmp_path, request["id"], {"choice": "approve"}, by="tui")  # too late
    asking.join(5)
    assert verdicts == [{"choice": "veto", "note": "from the web"}]
    assert pending_request(tmp_path) is None and not GoalDir(tmp_path).approval_request.exists()
    recorded = json.loads(GoalDir(tmp_path).approval_verdict(request["id"]).read_text())
    assert recorded["by"] == "web"
    assert not answer(tmp_path, "../../etc/passwd", {"choice": "approve"}, by="web")


def test_an_unreadable_verdict_file_comes_back_as_a_verdict_the_checker_refuses(tmp_path):
    from openlora.agent.approval import ApprovalError, parse_verdict

    desk = FolderApprovals(tmp_path, poll_s=0.02)
    result: list[dict] = []
    asking = threading.Thread(target=lambda: result.append(desk(QUESTION)))
    asking.start()
    while (request := pending_request(tmp_path)) is None:
        time.sleep(0.01)
    path = GoalDir(tmp_path).approval_verdict(request["id"])
    path.write_text("{broken", encoding="utf-8")
    asking.join(5)
    try:
        parse_verdict(result[0])
    except ApprovalError as exc:
        assert "unreadable verdict file" in str(exc)
    else:
        raise AssertionError("a broken verdict must not pass")
