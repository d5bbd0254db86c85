"""The dataset picker: browse data files, preview rows as the trainer reads them, read their findings.

The tree offers every format the trainer reads (``trainer.data_files.SUFFIXES``), ``.log`` files and
the files an installed pack's importer names (``.py``, ``.md``…);
the preview (``data_preview``) goes through the trainer's own reader, in a thread worker, and says how
much of the file it covers, how many control characters the reader removed and, for a file the
trainer would refuse, the reader's error. Rows are untrusted: they are shown as plain text with
control characters spelled out (``safe_text``), so markup such as ``[bold red]`` or an escape
sequence such as ``\\x1b[2J`` appears as written. ``i`` imports the highlighted file or folder with a
domain pack's importer (``ui_core.pack_imports``, picked in ``pack_import.ImporterPicker``), in a
thread worker; the records appear in the tree beside it, selected, with the import's note shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DirectoryTree, Footer, Header, RichLog, Static
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode

from openlora.trainer.data_files import SUFFIXES
from openlora.tui.safe_text import literal, visible
from openlora.tui.screens.pack_import import ImporterPicker
from openlora.ui_core import data_findings
from openlora.ui_core.data_findings import dataset_findings
from openlora.ui_core.data_preview import Preview, preview_file
from openlora.ui_core.pack_imports import (
    PackImport,
    import_with,
    importer_choices,
    is_import_report,
    pack_suffixes,
)

DATA_SUFFIXES = {*SUFFIXES, ".log"}
INSPECT_MAX_BYTES = data_findings.INSPECT_MAX_BYTES  # tests lower it here


class DataTree(DirectoryTree):
    """Folders, data files and the files a pack imports; hidden entries and import reports left out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        suffixes = DATA_SUFFIXES | pack_suffixes()
        return [
            p
            for p in paths
            if not p.name.startswith(".")
            and (p.is_dir() or p.suffix.lower() in suffixes)
            and not is_import_report(p)
        ]


def status_lines(preview: Preview) -> list[tuple[str, str]]:
    """The lines above the rows, each with its style: what is shown, warnings, or the reader's error."""
    if preview.error:
        return [(f"cannot be trained on as it is: {preview.error}", "bold red")]
    return [(note, "dim") for note in preview.notes] + [(f"⚠ {w}", "bold yellow") for w in preview.warnings]


class DatasetScreen(Screen[None]):
    """A file tree, a literal preview, the findings, and a button that starts a tuning request."""

    BINDINGS = [Binding("i", "import_file", "Import with a pack")]

    def __init__(self) -> None:
        super().__init__()
        self.selected: Path | None = None
        self.preview: Preview | None = None  # the selected file's, once read
        self.preview_text: list[str] = []  # its rows as shown (control characters spelled out)
        self.findings: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield DataTree(self.app.services.settings.cwd, id="data-tree")  # type: ignore[attr-defined]
            with Vertical(id="data-side"):
                yield Static("Pick a data file.", id="data-path")
                yield Static("", id="data-import")
                yield Static("", id="data-status")
                yield RichLog(id="data-preview", wrap=False, markup=False, highlight=False)
                yield RichLog(id="data-findings", wrap=True, min_width=20, markup=False)
                yield Button("Tune on this file", id="use-dataset", disabled=True)
        yield Footer()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.show(Path(event.path))

    def show(self, path: Path) -> None:
        """Select ``path``: its preview and findings arrive from a thread worker."""
        self.selected, self.preview, self.preview_text, self.findings = path, None, [], None
        self.query_one("#data-path", Static).update(literal(str(path)))
        self.query_one("#data-import", Static).update("")
        self.query_one("#data-status", Static).update(literal("reading…", "dim"))
        self.query_one("#data-preview", RichLog).clear()
        self.query_one("#data-findings", RichLog).clear()
        self.query_one("#use-dataset", Button).disabled = False
        self.load(path)

    @work(thread=True, exclusive=True, group="data")
    def load(self, path: Path) -> None:
        """Preview first (it reads only the beginning of a big file), then the findings."""
        try:
            preview = preview_file(path)
        except Exception as exc:  # a bug in the preview must not kill the findings
            preview = Preview(error=f"{path}: the preview failed ({type(exc).__name__}: {exc})")
        self.app.call_from_thread(self._preview, path, preview)
        self.app.call_from_thread(self._findings, path, self.findings_of(path))

    def _preview(self, path: Path, preview: Preview) -> None:
        if path != self.selected:
            return
        self.preview = preview
        status = Text("\n").join(literal(text, style) for text, style in status_lines(preview))
        self.query_one("#data-status", Static).update(status)
        self.preview_text = [visible(line) for line in preview.rows]
        log = self.query_one("#data-preview", RichLog)
        log.clear()
        for line in preview.rows:
            log.write(literal(line))

    @staticmethod
    def findings_of(path: Path) -> list[str]:
        """inspect_dataset's findings in words (a .log file or a very big one gets a sentence instead)."""
        return dataset_findings(path, INSPECT_MAX_BYTES).lines

    def _findings(self, path: Path, lines: list[str]) -> None:
        if path != self.selected:
            return
        self.findings = lines
        log = self.query_one("#data-findings", RichLog)
        log.clear()
        for line in lines:
            log.write(literal(line))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "use-dataset" and self.selected is not None:
            self.app.suggest_request(f"tune on {self.selected} so it ")  # type: ignore[attr-defined]

    def import_target(self) -> Path | None:
        """The highlighted file or folder of the tree (the selected file when the root is highlighted)."""
        tree = self.query_one(DataTree)
        node = tree.cursor_node
        if node is not None and node is not tree.root and node.data is not None:
            return Path(node.data.path)
        return self.selected

    def action_import_file(self) -> None:
        """Offer the importers that take the highlighted path; the one picked runs in a worker."""
        path = self.import_target()
        if path is None:
            self.notify("Highlight a file or folder to import first.", severity="warning")
            return
        choices = importer_choices(path)
        if not choices.options:
            broken = "".join(f"\nbroken pack {b}" for b in choices.broken)
            self.notify(f"No installed pack imports {path.name}.{broken}", severity="warning", markup=False)
            return

        def picked(choice: str | None) -> None:
            if choice:
                self.query_one("#data-import", Static).update(literal(f"importing with {choice}…", "dim"))
                self.import_path(path, choice)

        self.app.push_screen(ImporterPicker(path, choices), picked)

    @work(thread=True, exclusive=True, group="import")
    def import_path(self, path: Path, choice: str) -> None:
        """Import in a thread (a big folder takes a while); the result goes back to the screen."""
        try:
            done = import_with(path, choice)
        except Exception as exc:  # import_with turns a pack's failure into a note; this is a last guard
            done = PackImport(None, f"{path.name}: {choice} failed: {type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._imported, done)

    async def _imported(self, done: PackImport) -> None:
        """Show the records (reloaded into the tree, selected) and the note; an error stays a note."""
        note = literal(done.note, "" if done.pairs else "bold red")
        if done.pairs is None:
            self.query_one("#data-import", Static).update(note)
            return
        tree = self.query_one(DataTree)
        await tree.reload()
        self.show(done.pairs)
        self.query_one("#data-import", Static).update(note)
        node = _find(tree, done.pairs)
        if node is not None:
            tree.move_cursor(node)


def _find(tree: DataTree, path: Path) -> TreeNode[DirEntry] | None:
    """The tree's node for ``path`` among the loaded ones (None when its folder is collapsed)."""
    pending = [tree.root]
    while pending:
        node = pending.pop()
        if node.data is not None and Path(node.data.path) == path:
            return node
        pending.extend(node.children)
    return None
