"""The Data tab: upload a data file, see its first rows as the trainer reads them, its findings, reuse it.

What it is for: the upload goes through ``ui_core.uploads`` (allowed formats, size limit, stored
under ``RUNS/uploads/`` by its content hash, atomically; a ``.log`` imported as pairs); the preview
through ``ui_core.data_preview`` (the trainer's reader and column detection; a file that does not
parse shows the reader's error: file, line, reason) and the findings through
``ui_core.data_findings`` (``inspect_dataset``, blocking problems apart). Earlier uploads are listed.
The file uploaded or picked last can be imported with a domain pack's importer
(``ui_core.pack_imports``: the importers that take it, "use as is" for a format the trainer reads);
the records land beside it and are previewed like any upload. Everything shown is text in text
boxes (``web.text``).
What it is not for: storing or reading files itself, or drafting goals (the Train tab).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from openlora.trainer.download_events import size_text
from openlora.ui_core.data_findings import dataset_findings
from openlora.ui_core.data_preview import Preview, preview_file
from openlora.ui_core.pack_imports import import_with, importer_choices
from openlora.ui_core.uploads import UPLOAD_SUFFIXES, UploadError, inside, list_uploads, store_upload
from openlora.web.settings import WebSettings
from openlora.web.text import plain


@dataclass
class DataTab:
    upload: gr.UploadButton
    upload_status: gr.Textbox
    uploads: gr.Dropdown
    refresh: gr.Button
    preview_status: gr.Textbox
    rows: gr.Textbox
    findings: gr.Textbox
    blocking: gr.Textbox
    source: gr.State  # the path the importer choices are for
    importer: gr.Dropdown
    run_import: gr.Button
    import_note: gr.Textbox

    @property
    def shown(self) -> list[Any]:
        return [self.preview_status, self.rows, self.findings, self.blocking]

    @property
    def import_targets(self) -> list[Any]:
        """What a new upload or a picked file changes for the import: its path, choices and note."""
        return [self.source, self.importer, self.import_note]


AS_IS = "as-is"  # the dropdown's value for "use the file as it is"


def upload_choices(settings: WebSettings) -> list[tuple[str, str]]:
    """The stored uploads as (label, path) choices, newest first."""
    return [(f"{p.name} ({size_text(p.stat().st_size)})", str(p)) for p in list_uploads(settings.uploads)]


def status_text(preview: Preview) -> str:
    if preview.error:
        return f"cannot be trained on as it is: {preview.error}"
    return "\n".join([*preview.notes, *(f"⚠ {w}" for w in preview.warnings)])


def show_file(settings: WebSettings, choice: str | None) -> tuple[str, str, str, str]:
    """The preview status, the rows, the findings and the blocking problems of one stored upload."""
    if not choice:
        return "Pick or upload a data file.", "", "", ""
    path = Path(choice)
    if not inside(path, settings.uploads) or not path.is_file():
        return "not an upload of this page", "", "", ""
    try:
        preview = preview_file(path)
    except Exception as exc:  # a bug in the preview must not hide the findings
        preview = Preview(error=f"{path.name}: the preview failed ({type(exc).__name__}: {exc})")
    findings = dataset_findings(path)
    blocking = "\n".join(plain(b) for b in findings.blocking) or "none"
    rows = "\n".join(plain(r) for r in preview.rows)
    return plain(status_text(preview)), rows, "\n".join(plain(line) for line in findings.lines), blocking


def import_options(path: Path | None) -> tuple[str, Any, str]:
    """For the import controls: the path, the dropdown (the importers that take it, "use as is" where
    the trainer reads the file, the default picked) and a note naming any broken pack."""
    if path is None:
        return "", gr.update(choices=[], value=None), ""
    choices = importer_choices(path)
    options = [(o.label, o.value) for o in choices.options]
    if choices.as_is:
        options.insert(0, ("use as is (the trainer reads this format)", AS_IS))
    value = AS_IS if choices.as_is else choices.default
    n = len(choices.options)
    note = (
        f"{n} importer{'' if n == 1 else 's'} take{'s' if n == 1 else ''} {path.name}"
        if n
        else "no importer takes it"
    )
    note += "".join(f"\nnot available, broken pack {b}" for b in choices.broken)
    return str(path), gr.update(choices=options, value=value), plain(note)


def pick_file(settings: WebSettings, choice: str | None) -> tuple[Any, ...]:
    """A file picked in the uploads list: its preview and the importers that take it."""
    path = Path(choice) if choice else None
    usable = path is not None and inside(path, settings.uploads) and path.is_file()
    return (*show_file(settings, choice), *import_options(path if usable else None))


def import_file(settings: WebSettings, source: str | None, choice: str | None) -> tuple[Any, ...]:
    """Import the upload ``source`` with ``choice`` (``pack/importer`` or "as is"); returns the note,
    the uploads list (the records picked) and their preview."""
    path = Path(source) if source else None
    if path is None or not inside(path, settings.uploads) or not path.is_file():
        return ("Upload or pick a file first.", gr.skip(), *([gr.skip()] * 4))
    if not choice or choice == AS_IS:
        note, picked = f"{path.name} is used as it is", path
    else:
        done = import_with(path, choice, settings.uploads)
        if done.pairs is None:
            return (plain(done.note), gr.skip(), *([gr.skip()] * 4))
        note, picked = done.note, done.pairs
    choices = upload_choices(settings)
    return (plain(note), gr.update(choices=choices, value=str(picked)), *show_file(settings, str(picked)))


def take_upload(settings: WebSettings, received: str | None) -> tuple[Any, ...]:
    """Store what the browser sent; returns the status, the uploads list (the new file picked), the
    new file's preview and the import controls for the stored upload."""
    if not received:
        return (gr.skip(), gr.skip(), *([gr.skip()] * 7))
    source = Path(received)
    try:
        stored = store_upload(source, source.name, settings.uploads, settings.max_upload)
    except UploadError as exc:
        return (plain(f"refused: {exc}"), gr.skip(), *([gr.skip()] * 7))
    finally:
        source.unlink(missing_ok=True)  # Gradio's copy of the upload: the stored one is ours
    picked = stored.pairs or stored.path
    status = f"stored as {stored.path.name} ({size_text(stored.size)})"
    if stored.note:
        status += f"\n{stored.note}"
    choices = upload_choices(settings)
    shown = show_file(settings, str(picked))
    uploads = gr.update(choices=choices, value=str(picked))
    return (plain(status), uploads, *shown, *import_options(stored.path))


def build(settings: WebSettings) -> DataTab:
    """The tab's components and its own events (the Train tab's dataset lists are wired in ``app``)."""
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(
                f"Formats: {' '.join(UPLOAD_SUFFIXES)}; a `.log` is imported as pairs; "
                "any upload can be imported with a domain pack below."
            )
            upload = gr.UploadButton(
                "Upload a data file", file_types=list(UPLOAD_SUFFIXES), variant="primary", elem_id="upload"
            )
            upload_status = gr.Textbox(label="Upload", interactive=False, elem_id="upload-status")
            uploads = gr.Dropdown(
                choices=[], label="Uploaded files (stored under RUNS/uploads/)", elem_id="upload-list"
            )
            refresh = gr.Button("Refresh the list", size="sm")
            source = gr.State("")
            importer = gr.Dropdown(
                choices=[], label="Import the file with a domain pack", elem_id="import-choice"
            )
            run_import = gr.Button("Import", size="sm", elem_id="import")
            import_note = gr.Textbox(label="Import", lines=3, interactive=False, elem_id="import-note")
        with gr.Column(scale=2):
            preview_status = gr.Textbox(label="Preview", interactive=False, elem_id="preview-status")
            rows = gr.Textbox(
                label="First rows, as the trainer reads them",
                lines=10,
                max_lines=20,
                interactive=False,
                elem_id="preview-rows",
            )
            findings = gr.Textbox(
                label="Findings (inspect_dataset)", lines=4, interactive=False, elem_id="findings"
            )
            blocking = gr.Textbox(label="Blocking problems", interactive=False, elem_id="blocking")
    tab = DataTab(
        upload,
        upload_status,
        uploads,
        refresh,
        preview_status,
        rows,
        findings,
        blocking,
        source,
        importer,
        run_import,
        import_note,
    )
    uploads.input(lambda choice: pick_file(settings, choice), uploads, [*tab.shown, *tab.import_targets])
    return tab
