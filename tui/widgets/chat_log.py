"""The conversation pane: who said what, with recorded facts quoted under an answer."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from openlora.tui.safe_text import literal

STYLES = {"you": "bold cyan", "openlora": "bold green", "error": "bold red"}


class ChatLog(RichLog):
    """A RichLog that only ever writes literal text (no markup from users, data or models)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, min_width=20, **kwargs)  # type: ignore[arg-type]
        self.lines_said: list[str] = []

    def say(self, author: str, text: str, facts: list[str] | None = None) -> None:
        line = Text.assemble((f"{author}: ", STYLES.get(author, "bold")), literal(text))
        self.write(line)
        self.lines_said.append(f"{author}: {text}")
        for fact in facts or []:
            self.write(Text.assemble(("  │ ", "dim"), literal(fact, style="italic")))
            self.lines_said.append(f"  | {fact}")
