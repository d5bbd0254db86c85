"""The importer picker: which domain pack's importer turns the highlighted file or folder into records.

Lists the importers that take the path (``ui_core.pack_imports.importer_choices``, the default
highlighted) and, disabled, the broken packs with their reason; dismisses with the chosen
``pack/importer`` or None (escape). Paths and help texts are shown literally (``safe_text``).
What it is not for: running the import (the data screen does, in a thread worker).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from openlora.tui.safe_text import literal
from openlora.ui_core.pack_imports import Choices


class ImporterPicker(ModalScreen[str | None]):
    """An option list of the importers that take one path; enter imports, escape cancels."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, path: Path, choices: Choices) -> None:
        super().__init__()
        self.path = path
        self.choices = choices

    def compose(self) -> ComposeResult:
        options = [Option(literal(o.label), id=o.value) for o in self.choices.options]
        options += [Option(literal(f"broken pack {b}", "dim"), disabled=True) for b in self.choices.broken]
        with Vertical(id="import-box"):
            yield Label("Import with a domain pack", id="import-title")
            yield Static(literal(str(self.path)), id="import-path")
            yield OptionList(*options, id="import-options")
            yield Static(literal("enter: import · escape: cancel", "dim"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
