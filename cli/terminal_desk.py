"""The terminal as one approval desk among others: prompts for approve / edit / veto without blocking.

What it is for: ``openlora-agent run`` in an interactive terminal, with ``approval: ask``. The
supervisor's :class:`~openlora.agent.approval_desk.FolderApprovals` polls this desk between looks at
the run folder, so a TUI or web page may answer the same proposal first; whichever answers first wins
and the terminal says who did. Input is read a line at a time with ``select`` (POSIX terminals).
What it is not for: checking the verdict (the supervisor does, with the same bounds for every front).
"""

from __future__ import annotations

import json
import select
import sys
import time
from typing import Any

import typer


class TerminalDesk:
    """Asks on stdin/stderr; ``poll`` returns a verdict once the person has typed one."""

    name = "terminal"

    def __init__(self) -> None:
        self.stage: str | None = None
        self.changes: dict[str, Any] = {}
        self.closed = False

    def ask(self, question: dict[str, Any]) -> None:
        if "error" in question:
            typer.echo(f"not applied: {question['error']}", err=True)
        typer.echo(
            f"\\nattempt {question['attempt']}: {question['diagnosis']} → {question['action']} "
            f"{question['changes']}\\n  why: {question['reason']} [{question['source']}]",
            err=True,
        )
        self.changes = dict(question.get("changes") or {})
        self._prompt("choice", "approve, edit or veto [approve]: ")

    def _prompt(self, stage: str, text: str) -> None:
        self.stage = stage
        typer.echo(text, err=True, nl=False)

    def poll(self, timeout_s: float) -> dict[str, Any] | None:
        if self.closed or self.stage is None:
            time.sleep(timeout_s)
            return None
        ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
        if not ready:
            return None
        line = sys.stdin.readline()
        if not line:  # end of input: other fronts may still answer
            self.closed = True
            return None
        return self._take(line.strip())

    def _take(self, text: str) -> dict[str, Any] | None:
        if self.stage == "choice":
            choice = text or "approve"
            if choice in ("approve", "veto"):
                self.stage = None
                return {"choice": choice}
            if choice == "edit":
                self._prompt("changes", f"settings as JSON [{json.dumps(self.changes)}]: ")
                return None
            self._prompt("choice", "answer approve, edit or veto: ")
            return None
        self.stage = None
        try:
            return {"choice": "edit", "changes": json.loads(text) if text else self.changes}
        except ValueError as exc:
            return {"choice": "edit", "changes": {"invalid JSON": str(exc)[:80]}}

    def settled(self, by: str) -> None:
        if by != self.name:
            typer.echo(f"\\n[approval] answered from {by}", err=True)
        self.stage = None
