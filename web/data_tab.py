"""The Data tab: upload a data file, see its first rows as the trainer reads them, its findings, reuse it.

What it is for: the upload goes through ``ui_core.uploads`` (allowed formats, size limit, stored
under ``RUNS/uploads/`` by its content hash, atomically; a ``.log`` imported as pairs); the preview
through ``ui_core.data_preview`` (the trainer's reader and column detection; a file that does not
parse shows the reader's error: file, line, reason) and the findings through
``ui_core.data_findings`` (``inspect_dataset``, blocking problems apart). Earlier uploads are listed.
Everything shown is text in text boxes (``web.text``).
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

    @property
    def shown(self) -> list[Any]:
        return [self.preview_status, self.rows, self.findings, self.blocking]


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


def take_upload(settings: WebSettings, received: str | None) -> tuple[Any, ...]:
    """Store what the browser sent; returns the status, the uploads list (the new file picked) and the
    new file's preview."""
    if not received:
        return (gr.skip(), gr.skip(), *([gr.skip()] * 4))
    source = Path(received)
    try:
        stored = store_upload(source, source.name, settings.uploads, settings.max_upload)
    except UploadError as exc:
        return (plain(f"refused: {exc}"), gr.skip(), *([gr.skip()] * 4))
    finally:
        source.unlink(missing_ok=True)  # Gradio's copy of the upload: the stored one is ours
    picked = stored.pairs or stored.path
    status = f"stored as {stored.path.name} ({size_text(stored.size)})"
    if stored.note:
        status += f"\n{stored.note}"
    choices = upload_choices(settings)
    shown = show_file(settings, str(picked))
    return (plain(status), gr.update(choices=choices, value=str(picked)), *shown)


def build(settings: WebSettings) -> DataTab:
    """The tab's components and its own events (the Train tab's dataset lists are wired in ``app``)."""
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(f"Formats: {' '.join(UPLOAD_SUFFIXES)}; a `.log` is imported as pairs.")
            upload = gr.UploadButton(
                "Upload a data file", file_types=list(UPLOAD_SUFFIXES), variant="primary", elem_id="upload"
            )
            upload_status = gr.Textbox(label="Upload", interactive=False, elem_id="upload-status")
            uploads = gr.Dropdown(
                choices=[], label="Uploaded files (stored under RUNS/uploads/)", elem_id="upload-list"
            )
            refresh = gr.Button("Refresh the list", size="sm")
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
    tab = DataTab(upload, upload_status, uploads, refresh, preview_status, rows, findings, blocking)
    uploads.input(lambda choice: show_file(settings, choice), uploads, tab.shown)
    return tab
