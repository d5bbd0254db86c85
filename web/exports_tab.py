"""The Exports tab: a run's exported formats with sizes and check figures, a download, another format.

What it is for: the table comes from every attempt's ``exports/manifest.json``
(``ui_core.exports.export_rows``); "Download" packs the picked format into one file in a temporary
folder (``ui_core.exports.bundle``) that the browser then fetches; "Export" builds another format of
the picked attempt with the same exporter as ``openlora-agent export`` (every GGUF checked in
llama.cpp), which takes a while for merged models.
What it is not for: publishing to the Hub (``openlora-agent publish``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from openlora.ui_core.exports import COLUMNS, bundle, export_formats, export_rows
from openlora.ui_core.run_list import attempt_dirs
from openlora.ui_core.uploads import inside
from openlora.web.settings import WebSettings
from openlora.web.text import plain


@dataclass
class ExportsTab:
    run: gr.Dropdown
    refresh: gr.Button


def show_exports(settings: WebSettings, choice: str | None) -> tuple[pd.DataFrame, object, object]:
    """The exports table, the (attempt, format) choices to download and the attempts to export from."""
    if not choice or not inside(Path(choice), settings.runs):
        return pd.DataFrame([], columns=COLUMNS), gr.update(choices=[]), gr.update(choices=[])
    rows = export_rows(Path(choice))
    table = pd.DataFrame([[plain(c) for c in row.cells()] for row in rows], columns=COLUMNS)
    picks = [(f"{row.attempt.name} / {row.name}", f"{row.attempt}|{row.name}") for row in rows]
    attempts = [(p.name, str(p)) for p in reversed(attempt_dirs(Path(choice)))]
    first = attempts[0][1] if attempts else None
    return (
        table,
        gr.update(choices=picks, value=picks[0][1] if picks else None),
        gr.update(choices=attempts, value=first),
    )


def download(settings: WebSettings, pick: str | None) -> tuple[str | None, str]:
    if not pick or "|" not in pick:
        return None, "Pick an export."
    attempt, name = pick.rsplit("|", 1)
    if not inside(Path(attempt), settings.runs):
        return None, "not a run of this page"
    try:
        return str(bundle(Path(attempt), name, Path(tempfile.mkdtemp(prefix="openlora-export-")))), ""
    except (OSError, ValueError) as exc:
        return None, plain(str(exc))


def export_more(settings: WebSettings, attempt: str | None, fmt: str | None) -> str:
    from openlora.trainer.config import ConfigError
    from openlora.trainer.export.exporter import ExportError

    if not attempt or not fmt or not inside(Path(attempt), settings.runs):
        return "Pick an attempt and a format."
    try:
        entries = export_formats(Path(attempt), [fmt])
    except (ExportError, ConfigError) as exc:
        return plain(f"not exported: {exc}")
    return plain(f"exported {', '.join(entries)} for {Path(attempt).name}: reload the table")


def build(settings: WebSettings) -> ExportsTab:
    from openlora.trainer.export.exporter import FORMATS

    with gr.Row():
        run = gr.Dropdown(choices=[], label="Run", scale=4, elem_id="export-run")
        refresh = gr.Button("Refresh the list", size="sm", scale=1)
    table = gr.Dataframe(
        headers=COLUMNS, datatype="str", interactive=False, wrap=True, elem_id="export-table"
    )
    with gr.Row():
        pick = gr.Dropdown(choices=[], label="Export to download", elem_id="export-pick")
        get = gr.Button("Download", elem_id="export-download")
    file = gr.File(label="Download", interactive=False, elem_id="export-file")
    with gr.Row():
        attempt = gr.Dropdown(choices=[], label="Attempt", elem_id="export-attempt")
        fmt = gr.Dropdown(list(FORMATS), label="Format", elem_id="export-format")
        make = gr.Button("Export", elem_id="export-make")
    status = gr.Textbox(label="Status", interactive=False, elem_id="export-status")
    run.change(lambda c: show_exports(settings, c), run, [table, pick, attempt])
    get.click(lambda p: download(settings, p), pick, [file, status])
    make.click(lambda a, f: export_more(settings, a, f), [attempt, fmt], status).then(
        lambda c: show_exports(settings, c), run, [table, pick, attempt]
    )
    return ExportsTab(run, refresh)
