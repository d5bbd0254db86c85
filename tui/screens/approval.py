"""The approval dialog: a fix the supervisor proposes waits here for approve, edit or veto.

Dismisses with a verdict dict (``{"choice": ..., "changes": ..., "note": ...}``); the runner checks
it and sends an out-of-bounds edit back with the error, which this dialog then shows.
"""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from openlora.tui.safe_text import literal
from openlora.ui_core.approvals import VerdictError, describe, verdict_of


class ApprovalScreen(ModalScreen[dict[str, Any]]):
    """Approve, edit within bounds, or veto one proposal."""

    BINDINGS = [("escape", "veto", "Veto")]

    def __init__(self, question: dict[str, Any]) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-box"):
            yield Label("The supervisor proposes a fix", id="approval-title")
            yield Static(literal(describe(self.question)), id="approval-text")
            if self.question.get("error"):
                yield Static(
                    literal(f"Not applied: {self.question['error']}", "bold red"), id="approval-error"
                )
            yield Label("Settings (JSON) — edit them to change the fix:")
            yield Input(json.dumps(self.question["changes"]), id="approval-changes")
            yield Input(placeholder="note (optional)", id="approval-note")
            with Horizontal(id="approval-buttons"):
                yield Button("Approve", id="approve", variant="success")
                yield Button("Apply edit", id="edit", variant="primary")
                yield Button("Veto", id="veto", variant="error")

    def _note(self) -> str:
        return self.query_one("#approval-note", Input).value.strip()[:300]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "veto":
            self.action_veto()
        elif event.button.id in ("approve", "edit"):
            text = self.query_one("#approval-changes", Input).value
            try:
                self.dismiss(verdict_of(event.button.id, text, self._note()))
            except VerdictError as exc:
                self.notify(str(exc), severity="error")

    def action_veto(self) -> None:
        self.dismiss(verdict_of("veto", note=self._note()))
