"""The playground: one prompt answered by a finished run's adapter and by its base model, side by side."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, RichLog, Select, Static

from openlora.tui.safe_text import literal


class PlaygroundScreen(Screen[None]):
    """Pick a run, type a prompt, compare the answers."""

    def __init__(self) -> None:
        super().__init__()
        self.engine = None
        self.engine_dir: Path | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Select[str]([], prompt="Pick a finished run", id="play-run")
            yield Input(placeholder="Prompt for both models…", id="play-input", max_length=2000)
            with Horizontal():
                with Vertical():
                    yield Static("adapter", classes="pane-title")
                    yield RichLog(id="play-adapter", wrap=True, min_width=20, markup=False)
                with Vertical():
                    yield Static("base model", classes="pane-title")
                    yield RichLog(id="play-base", wrap=True, min_width=20, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load_runs()

    def on_screen_resume(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="play-runs")
    def load_runs(self) -> None:
        runs = self.app.services.registry.history(50)  # type: ignore[attr-defined]
        options = [
            (f"{r.id} ({r.status})", r.run_dir) for r in runs if r.run_dir and Path(r.run_dir).is_dir()
        ]
        self.app.call_from_thread(self.query_one("#play-run", Select).set_options, options)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        choice = self.query_one("#play-run", Select).value
        prompt = event.value.strip()
        if not prompt:
            return
        if not isinstance(choice, str):
            self.notify("Pick a run first.", severity="warning")
            return
        event.input.value = ""
        for pane in ("#play-adapter", "#play-base"):
            self.query_one(pane, RichLog).write(literal(f"> {prompt}", "bold"))
        self.answer(Path(choice), prompt)

    @work(thread=True, exclusive=True, group="play")
    def answer(self, attempt_dir: Path, prompt: str) -> None:
        from openlora.evaluation.playground import Playground, PlaygroundError

        try:
            if self.engine_dir != attempt_dir:
                self.app.call_from_thread(self.notify, "Loading the base model and the adapter…")
                self.engine, self.engine_dir = Playground(attempt_dir), attempt_dir
            replies = self.engine.reply(prompt)
        except PlaygroundError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.query_one("#play-adapter", RichLog).write, literal(replies.adapter))
        self.app.call_from_thread(self.query_one("#play-base", RichLog).write, literal(replies.base))
