"""Approvals through the run folder: any front (TUI, web page, terminal) answers a waiting proposal.

What it is for: with ``approval: ask`` the supervisor process (``openlora-agent run``) writes the
proposal to ``approval.json`` atomically, with a fresh request id, and waits for
``approvals/verdict-<id>.json``. A front reads :func:`pending_request`, shows it, and calls
:func:`answer`, which creates the verdict file only if none exists yet (a hard link of a complete
temporary file), so the first front to answer wins and a second gets ``False``. The supervisor then
checks the verdict with the same bounds as ever (``runner._checked_verdict``); an invalid one is asked
again, under a new id, with the error attached. Nothing here decides anything: it carries questions
and answers between processes, which may be started, killed and restarted independently.
What it is not for: checking or applying a verdict (``approval``), or showing one (the fronts).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from openlora.trainer.rundir import GoalDir, read_json, write_json_atomic

VERDICT_LIMIT_BYTES = 64 * 1024  # a verdict is a choice, a few settings and a note


class ApprovalAbandoned(RuntimeError):
    """The supervisor stopped waiting (cancelled) while a proposal had no answer."""


class LocalDesk(Protocol):
    """A front inside the supervisor's own process (the terminal): asked directly, polled for an answer."""

    name: str

    def ask(self, question: dict[str, Any]) -> None: ...

    def poll(self, timeout_s: float) -> dict[str, Any] | None: ...

    def settled(self, by: str) -> None: ...


class FolderApprovals:
    """The supervisor's side: an ``Approve`` callable that asks through the run folder.

    ``local`` (the terminal, when one is attached) is asked too; its answer goes through
    :func:`answer` like any other front's, so the first answer wins wherever it came from.
    """

    def __init__(
        self,
        root: Path,
        cancelled: Callable[[], bool] = lambda: False,
        poll_s: float = 0.2,
        local: LocalDesk | None = None,
    ) -> None:
        self.desk = GoalDir(root)
        self.cancelled, self.poll_s, self.local = cancelled, poll_s, local

    def __call__(self, question: dict[str, Any]) -> dict[str, Any]:
        request_id = uuid.uuid4().hex[:12]
        self.desk.approval_verdict(request_id).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(
            self.desk.approval_request, {"id": request_id, "question": question, "asked_at": time.time()}
        )
        if self.local is not None:
            self.local.ask(question)
        try:
            return self._wait(request_id)
        finally:
            self.desk.approval_request.unlink(missing_ok=True)

    def _wait(self, request_id: str) -> dict[str, Any]:
        path = self.desk.approval_verdict(request_id)
        while not self.cancelled():
            if path.is_file():
                verdict, by = _read_verdict(path)
                if self.local is not None:
                    self.local.settled(by)
                return verdict
            local = self.local.poll(self.poll_s) if self.local is not None else None
            if local is not None:
                answer(self.desk.root, request_id, local, self.local.name)  # type: ignore[union-attr]
            elif self.local is None:
                time.sleep(self.poll_s)
        raise ApprovalAbandoned(f"{self.desk.root}: stopped while a fix waited for approval")


def _read_verdict(path: Path) -> tuple[dict[str, Any], str]:
    """The verdict a front wrote, and which front; something unreadable becomes a verdict the checker
    refuses with the reason (asked again), never a crash of the supervisor."""
    if path.stat().st_size > VERDICT_LIMIT_BYTES:
        return {"choice": f"{path.name} is over {VERDICT_LIMIT_BYTES} bytes"}, "?"
    try:
        data = read_json(path)
    except ValueError:
        return {"choice": "unreadable verdict file (not JSON)"}, "?"
    verdict = data.get("verdict") if isinstance(data, dict) else None
    by = str(data.get("by", "?"))[:40] if isinstance(data, dict) else "?"
    return (verdict, by) if isinstance(verdict, dict) else ({"choice": "no verdict object"}, by)


def pending_request(root: Path) -> dict[str, Any] | None:
    """The proposal waiting in ``root`` (``{"id", "question", "asked_at"}``), or None.

    None too when it has been answered (the supervisor has not picked the verdict up yet) or when the
    file is being replaced.
    """
    desk = GoalDir(root)
    try:
        request = read_json(desk.approval_request)
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(request, dict) or not isinstance(request.get("id"), str):
        return None
    if desk.approval_verdict(request["id"]).exists():
        return None
    return request


def answer(root: Path, request_id: str, verdict: dict[str, Any], by: str) -> bool:
    """Answer request ``request_id`` once: True when this call's verdict is the one, False if another
    front answered first (or the id is not one this module made)."""
    if not (len(request_id) == 12 and all(c in "0123456789abcdef" for c in request_id)):
        return False
    path = GoalDir(root).approval_verdict(request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    write_json_atomic(partial, {"verdict": verdict, "by": by, "answered_at": time.time()})
    try:
        os.link(partial, path)  # fails if a verdict exists: the first answer stands
        return True
    except FileExistsError:
        return False
    finally:
        partial.unlink(missing_ok=True)
