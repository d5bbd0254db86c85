"""The web page: one Gradio app with a tab per job, and the events that tie the tabs together.

What it is for: :func:`build_app` lays out Data, Train, Monitor, History & incidents, Playground and
Exports (each its own module) and wires what crosses tabs: an upload refreshes the Train tab's
dataset lists; "Start" switches to the Monitor on the new run; opening the page (or reloading it)
fills every list and points the Monitor at the newest live run, which is how a reload re-attaches.
What it is not for: serving (``server``) or any core logic (``ui_core``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from openlora.ui_core.services import Services
from openlora.web import data_tab, exports_tab, history_tab, monitor_tab, playground_tab, train_tab
from openlora.web.settings import WebSettings

TITLE = "OpenLoRA"
INTRO = (
    "# OpenLoRA\nUpload a dataset, start a supervised LoRA run, watch it, approve its fixes, chat with "
    "the result. Runs are supervised by their own process: closing this page never stops one."
)


def _datasets(settings: WebSettings) -> tuple[Any, Any]:
    choices = data_tab.upload_choices(settings)
    return gr.update(choices=choices), gr.update(choices=choices)


def _on_load(settings: WebSettings) -> tuple[Any, ...]:
    """Every list filled, the Monitor on the newest live run (else the newest run)."""
    uploads = data_tab.upload_choices(settings)
    runs = monitor_tab.run_choices(settings)
    return (
        gr.update(choices=uploads),
        gr.update(choices=uploads),
        gr.update(choices=uploads),
        gr.update(choices=runs, value=monitor_tab.default_run(settings)),
        gr.update(choices=playground_tab.attempt_choices(settings)),
        gr.update(choices=runs),
    )


def _follow(settings: WebSettings, root: str) -> tuple[Any, Any]:
    if not root:
        return gr.skip(), gr.skip()
    return gr.update(choices=monitor_tab.run_choices(settings), value=root), gr.Tabs(selected="monitor")


def _wire(settings: WebSettings, tabs: gr.Tabs, parts: dict[str, Any]) -> None:
    data, train, monitor = parts["data"], parts["train"], parts["monitor"]
    play, exports, history = parts["playground"], parts["exports"], parts["history"]
    datasets = [train.inputs["dataset"], train.inputs["eval_dataset"]]
    data.upload.upload(
        lambda f: data_tab.take_upload(settings, f),
        data.upload,
        [data.upload_status, data.uploads, *data.shown, *data.import_targets],
    ).then(lambda: _datasets(settings), None, datasets)
    data.run_import.click(
        lambda s, c: data_tab.import_file(settings, s, c),
        [data.source, data.importer],
        [data.import_note, data.uploads, *data.shown],
    ).then(lambda: _datasets(settings), None, datasets)
    data.refresh.click(lambda: gr.update(choices=data_tab.upload_choices(settings)), None, data.uploads).then(
        lambda: _datasets(settings), None, datasets
    )
    train.start_event.then(lambda r: _follow(settings, r), train.started, [monitor.run, tabs])
    monitor.refresh.click(lambda: gr.update(choices=monitor_tab.run_choices(settings)), None, monitor.run)
    monitor.run.change(
        lambda c, w: monitor_tab.tick(settings, c, w), [monitor.run, monitor.session], monitor.outputs
    )
    for refresh_list in (play.refresh.click, parts["playground_tab"].select):
        refresh_list(lambda: gr.update(choices=playground_tab.attempt_choices(settings)), None, play.attempt)
    for refresh_list in (exports.refresh.click, parts["exports_tab"].select):
        refresh_list(lambda: gr.update(choices=monitor_tab.run_choices(settings)), None, exports.run)
    parts["history_tab"].select(lambda: history_tab.load_history(parts["services"]), None, history.runs)


def build_app(settings: WebSettings) -> gr.Blocks:
    """The page for ``settings`` (not launched)."""
    services = Services(settings)
    parts: dict[str, Any] = {"services": services}
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        gr.Markdown(INTRO)
        with gr.Tabs(selected="data") as tabs:
            with gr.Tab("Data", id="data"):
                parts["data"] = data_tab.build(settings)
            with gr.Tab("Train", id="train"):
                parts["train"] = train_tab.build(settings, services, data_tab.upload_choices(settings))
            with gr.Tab("Monitor", id="monitor"):
                parts["monitor"] = monitor_tab.build(settings)
            with gr.Tab("History & incidents", id="history") as parts["history_tab"]:
                parts["history"] = history_tab.build(services)
            with gr.Tab("Playground", id="playground") as parts["playground_tab"]:
                parts["playground"] = playground_tab.build(settings, services)
            with gr.Tab("Exports", id="exports") as parts["exports_tab"]:
                parts["exports"] = exports_tab.build(settings)
        _wire(settings, tabs, parts)
        data, train = parts["data"], parts["train"]
        targets = [data.uploads, train.inputs["dataset"], train.inputs["eval_dataset"]]
        targets += [parts["monitor"].run, parts["playground"].attempt, parts["exports"].run]
        demo.load(lambda: _on_load(settings), None, targets)
    return demo
