"""The dataset picker: browse data files, preview their rows literally, and read inspect_dataset's findings.

Rows are untrusted: they are shown as plain text with control characters spelled out (``safe_text``),
so markup such as ``[bold red]`` or an escape sequence such as ``\\x1b[2J`` appears as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DirectoryTree, Footer, Header, RichLog, Static

from openlora.tui.safe_text import literal, visible

DATA_SUFFIXES = {".jsonl", ".csv", ".txt", ".log", ".json"}
PREVIEW_ROWS = 8


class DataTree(DirectoryTree):
    """Folders and data files only, hidden entries left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() in DATA_SUFFIXES)
        ]


def _cut(text: str, limit: int = 300) -> str:
    flat = text.replace("\n", " ⏎ ")
    return flat[:limit] + ("…" if len(flat) > limit else "")


def preview_lines(path: Path, rows: int = PREVIEW_ROWS) -> list[str]:
    """The first ``rows`` examples as the trainer reads them (prompt → response), else raw lines.

    Parsed text is what the model will see, so escapes inside JSON strings (``\\u001b``) appear
    decoded, then spelled out by ``safe_text``; nothing is interpreted.
    """
    from openlora.trainer.data_files import ColumnMap, DataError, read_records

    if path.suffix.lower() in (".jsonl", ".csv", ".txt"):
        try:
            records = read_records(path, ColumnMap())[:rows]
        except DataError as exc:
            return [f"cannot parse: {exc}"]
        return [
            f"{r.line:>4}  "
            + (
                _cut(r.prompt) + "  →  " + _cut(r.response)
                if r.kind == "pair"
                else _cut(r.text or str(r.messages))
            )
            for r in records
        ]
    lines: list[str] = []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if number > rows:
                break
            lines.append(f"{number:>4}  {_cut(line.rstrip(chr(10)))}")
    return lines


def findings_text(report: dict[str, Any]) -> list[str]:
    lines = [f"{report['rows']} rows"]
    if report.get("kinds"):
        lines[0] += f" ({', '.join(f'{n} {k}' for k, n in report['kinds'].items())})"
    if report.get("rows"):  # a file that could not be read has no length figures
        mean = float(report["mean_chars"])
        shown = int(mean) if mean.is_integer() else mean
        lines.append(f"mean {shown} characters, longest {report['max_chars']}")
    lines += [f"problem: {p}" for p in report["problems"]] or ["no problems found"]
    lines += [f"suggestion: {s}" for s in report["suggestions"]]
    return lines


class DatasetScreen(Screen[None]):
    """A file tree, a literal preview, the findings, and a button that starts a tuning request."""

    def __init__(self) -> None:
        super().__init__()
        self.selected: Path | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTree(self.app.services.settings.cwd, id="data-tree")  # type: ignore[attr-defined]
            with Vertical(id="data-side"):
                yield Static("Pick a data file.", id="data-path")
                yield RichLog(id="data-preview", wrap=False, markup=False, highlight=False)
                yield RichLog(id="data-findings", wrap=True, min_width=20, markup=False)
                yield Button("Tune on this file", id="use-dataset", disabled=True)
        yield Footer()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.show(Path(event.path))

    def show(self, path: Path) -> None:
        self.selected = path
        self.query_one("#data-path", Static).update(literal(str(path)))
        preview = self.query_one("#data-preview", RichLog)
        preview.clear()
        try:
            lines = preview_lines(path)
        except OSError as exc:
            lines = [f"cannot read: {exc}"]
        self.preview_text = [visible(line) for line in lines]
        for line in lines:
            preview.write(literal(line))
        self.query_one("#use-dataset", Button).disabled = False
        self.inspect(path)

    @work(thread=True, exclusive=True, group="inspect")
    def inspect(self, path: Path) -> None:
        from openlora.tools.context import ToolContext
        from openlora.tools.inspect_dataset import inspect_dataset

        if path.suffix.lower() == ".log":
            lines = ["a log file: drafting a goal imports its events as prompt/response pairs first"]
        else:
            report = inspect_dataset(ToolContext(path.parent, {"train": path}), "train")
            lines = findings_text(report)
        self.app.call_from_thread(self._findings, lines)

    def _findings(self, lines: list[str]) -> None:
        self.findings = lines
        log = self.query_one("#data-findings", RichLog)
        log.clear()
        for line in lines:
            log.write(literal(line))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "use-dataset" and self.selected is not None:
            self.app.suggest_request(f"tune on {self.selected} so it ")  # type: ignore[attr-defined]
