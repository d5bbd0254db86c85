"""The OpenLoRA TUI: one Textual app with a mode per screen, over the same core as the CLI.

Modes: chat (chat + goal draft + live run), history, incidents, data, playground. The app holds the
shared services and which run is active; screens do blocking work in thread workers.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.widgets import Input

from openlora.tui.messages import RunFinished
from openlora.tui.screens.chat import ChatScreen
from openlora.tui.screens.datasets import DatasetScreen
from openlora.tui.screens.history import HistoryScreen
from openlora.tui.screens.incidents import IncidentsScreen
from openlora.tui.screens.playground import PlaygroundScreen
from openlora.tui.services import Services, TuiSettings


class OpenLoRAApp(App[None]):
    """Conversational fine-tuning: describe, review the draft, approve, watch, approve fixes."""

    TITLE = "OpenLoRA"
    SUB_TITLE = "LoRA fine-tuning that supervises itself"
    CSS_PATH = "app.tcss"
    MODES = {
        "chat": ChatScreen,
        "history": HistoryScreen,
        "incidents": IncidentsScreen,
        "data": DatasetScreen,
        "playground": PlaygroundScreen,
    }
    DEFAULT_MODE = "chat"
    BINDINGS = [
        Binding("f1", "switch_mode('chat')", "Chat"),
        Binding("f2", "switch_mode('history')", "History"),
        Binding("f3", "switch_mode('incidents')", "Incidents"),
        Binding("f4", "switch_mode('data')", "Data"),
        Binding("f5", "switch_mode('playground')", "Playground"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, settings: TuiSettings | None = None) -> None:
        super().__init__()
        self.services = Services(settings or TuiSettings())
        self.active_run: Path | None = None
        self.finished_runs: list[RunFinished] = []

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """Screenshots (command palette → Screenshot) go to the current folder, not ~/Downloads."""
        folder = path or str(Path.cwd())
        self.notify(f"screenshot saved in {folder}", title="Screenshot")
        return super().deliver_screenshot(filename, folder, time_format)

    def last_run_root(self) -> Path | None:
        return self.finished_runs[-1].root if self.finished_runs else None

    def suggest_request(self, text: str) -> None:
        """Go to the chat with ``text`` typed in the input, ready to finish and send."""
        self.switch_mode("chat")
        field = self.screen.query_one("#chat-input", Input)
        field.value = text
        field.cursor_position = len(text)
        field.focus()
