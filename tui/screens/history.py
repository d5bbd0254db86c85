"""Run history: every run the registry holds, newest first; selecting one shows its recorded facts."""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog

from openlora.tui.safe_text import literal


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class HistoryScreen(Screen[None]):
    """A table of runs and, beside it, the facts of the selected one."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield RichLog(id="history-facts", wrap=True, min_width=20, markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "run", "status", "attempts", "val loss", "started")
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="history")
    def load(self) -> None:
        from openlora.chat.answers import numbered_history

        rows = numbered_history(self.app.services.registry)  # type: ignore[attr-defined]
        self.app.call_from_thread(self._fill, rows)

    def _fill(self, rows: list[tuple[int, Any]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for number, run in rows:
            val = run.final_metrics.get("val_loss")
            table.add_row(
                str(number),
                literal(run.id),
                run.status,
                str(run.attempts),
                f"{val:.4f}" if isinstance(val, int | float) else "—",
                when(run.created_at),
                key=run.id,
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value:
            self.show_facts(event.row_key.value)

    @work(thread=True, exclusive=True, group="history-facts")
    def show_facts(self, run_id: str) -> None:
        from openlora.chat.answers import answer_question

        services = self.app.services  # type: ignore[attr-defined]
        answer = answer_question(services.registry, services.memory, run_id)
        self.app.call_from_thread(self._show, [answer.headline, *answer.facts])

    def _show(self, lines: list[str]) -> None:
        log = self.query_one("#history-facts", RichLog)
        log.clear()
        for line in lines:
            log.write(literal(line))
