"""Incidents: search the incident memory, and see the past incidents most like the active run's."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from openlora.tui.safe_text import literal


def _row(incident: Any, similarity: float | None) -> tuple[Any, ...]:
    fix = f"{incident.fix.action} {incident.fix.changes}" if incident.fix else "—"
    score = f"{similarity:.2f}" if similarity is not None else ""
    return (
        incident.id[:12],
        incident.diagnosis.value,
        literal(fix),
        incident.outcome.value,
        incident.run_id or "—",
        score,
    )


class IncidentsScreen(Screen[None]):
    """A search box over the memory, the results, and the incidents similar to the current one."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Input(placeholder="Search incidents (e.g. 'loss became nan')…", id="incident-query")
            yield Static("Recent incidents", id="incident-caption")
            yield DataTable(id="incident-table", cursor_type="row", zebra_stripes=True)
            yield Static("Similar to the current run's latest incident", id="similar-caption")
            yield DataTable(id="similar-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            table.add_columns("incident", "diagnosis", "fix", "outcome", "run", "similarity")
        self.load("")

    def on_screen_resume(self) -> None:
        self.load(self.query_one("#incident-query", Input).value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.load(event.value.strip())

    @work(thread=True, exclusive=True, group="incidents")
    def load(self, query: str) -> None:
        memory = self.app.services.memory  # type: ignore[attr-defined]
        if query:
            found = [_row(h.incident, h.similarity) for h in memory.search(query, k=20)]
            caption = f"{len(found)} incidents like '{query}'"
        else:
            found = [_row(i, None) for i in memory.recent(50)]
            caption = f"Recent incidents ({memory.count()} remembered)"
        similar: list[tuple[Any, ...]] = []
        root = self.app.active_run or self.app.last_run_root()  # type: ignore[attr-defined]
        current = memory.for_run(root.name) if root is not None else []
        if current:
            hits = memory.search(current[-1].signature, k=6)
            similar = [_row(h.incident, h.similarity) for h in hits if h.incident.id != current[-1].id]
        self.app.call_from_thread(self._fill, caption, found, similar)

    def _fill(self, caption: str, found: list[tuple[Any, ...]], similar: list[tuple[Any, ...]]) -> None:
        self.query_one("#incident-caption", Static).update(literal(caption))
        for table_id, rows in (("#incident-table", found), ("#similar-table", similar)):
            table = self.query_one(table_id, DataTable)
            table.clear()
            for row in rows:
                table.add_row(*row)
