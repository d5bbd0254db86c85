"""The goal draft editor: the YAML the person reads, edits and approves before anything runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static, TextArea

from openlora.tui.safe_text import literal


class DraftEditor(Vertical):
    """A TextArea with the draft, the notes on how it was built, approve and discard buttons."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.draft_name = ""

    def compose(self) -> ComposeResult:
        yield Static("No goal draft yet: describe what to tune in the chat.", id="draft-notes")
        yield TextArea("", id="draft-text", soft_wrap=False)
        yield Static("", id="draft-error")
        with Horizontal(id="draft-buttons"):
            yield Button("Approve and run", id="approve-draft", variant="success", disabled=True)
            yield Button("Discard", id="discard-draft", variant="default", disabled=True)

    def show(self, text: str, name: str, notes: list[str]) -> None:
        self.draft_name = name
        self.query_one("#draft-text", TextArea).load_text(text)
        note = "Goal draft — edit it, then approve." + "".join(f"\n• {n}" for n in notes)
        self.query_one("#draft-notes", Static).update(literal(note))
        self.set_error("")
        for button in self.query(Button):
            button.disabled = False

    def clear(self) -> None:
        self.draft_name = ""
        self.query_one("#draft-text", TextArea).load_text("")
        self.query_one("#draft-notes", Static).update("No goal draft.")
        for button in self.query(Button):
            button.disabled = True

    def set_running(self, running: bool, saved_as: str = "") -> None:
        """While the draft's run is going, it cannot be approved again (no accidental second run)."""
        self.query_one("#approve-draft", Button).disabled = running or not self.draft_name
        self.query_one("#discard-draft", Button).disabled = running or not self.draft_name
        if running:
            self.query_one("#draft-notes", Static).update(
                literal(f"Running; the draft was saved as {saved_as}.")
            )

    @property
    def text(self) -> str:
        return self.query_one("#draft-text", TextArea).text

    def set_error(self, message: str) -> None:
        self.query_one("#draft-error", Static).update(literal(message, style="bold red"))
