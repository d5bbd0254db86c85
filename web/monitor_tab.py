"""The Monitor tab: any run, live or finished, its curves, timeline, attempts and the proposal waiting.

What it is for: a timer asks every ``poll_s`` seconds what the picked run folder gained
(``ui_core.run_watch``, which reads only new bytes) and redraws only when something changed: loss and
val-loss, lr, tokens/s and memory as line plots (``ui_core.monitor_view``), the figures of the newest
step, each attempt's diagnosis and decision, the supervisor's timeline, and a proposal waiting for
approval with Approve / Apply edit / Veto, answered through the run folder
(``agent.approval_desk.answer``: the first front to answer wins; the supervisor checks the verdict
with the same bounds as for the TUI). Each browser tab has its own watch, so a reload or a second
browser re-attaches to the run where it stands. Run messages are shown as text.
What it is not for: starting runs (the Train tab) or deciding anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from openlora.agent.approval_desk import answer
from openlora.ui_core.approvals import VerdictError, describe, verdict_of
from openlora.ui_core.monitor_view import (
    ATTEMPT_COLUMNS,
    PLOTS,
    attempt_rows,
    curves,
    figures_line,
    outcome_line,
)
from openlora.ui_core.run_list import list_runs
from openlora.ui_core.run_watch import RunWatch
from openlora.ui_core.uploads import inside
from openlora.web.settings import WebSettings
from openlora.web.text import plain

TIMELINE_SHOWN = 400
TITLES = {
    "loss": "loss and val-loss",
    "lr": "learning rate",
    "tokens_per_s": "tokens/s",
    "memory_mb": "memory (MiB)",
}


@dataclass
class Watching:
    """One browser tab's watch of one run, and what it last showed."""

    watch: RunWatch
    state: str = ""
    request: dict[str, Any] | None = None
    answered: set[str] = field(default_factory=set)
    series: dict[str, list[str]] = field(default_factory=dict)  # each plot's series, as last sent
    legends: dict[str, list[str]] = field(default_factory=dict)  # legends to send on the next look


@dataclass
class MonitorTab:
    run: gr.Dropdown
    refresh: gr.Button
    session: gr.State
    timer: gr.Timer
    outputs: list[Any]
    approve: gr.Button
    edit: gr.Button
    veto: gr.Button
    changes: gr.Textbox
    note: gr.Textbox
    answer_status: gr.Textbox
    box: gr.Group


def run_choices(settings: WebSettings) -> list[tuple[str, str]]:
    return [(entry.label, str(entry.root)) for entry in list_runs(settings.runs)]


def default_run(settings: WebSettings) -> str | None:
    """The run a fresh page shows: the newest running one, else the newest."""
    entries = list_runs(settings.runs)
    running = [e for e in entries if e.state == "running"]
    return str((running or entries)[0].root) if entries else None


def _frame(points: list[tuple[int, float, str]]) -> pd.DataFrame | None:
    """The points with their types fixed; None (an empty plot) before there are any: the plot keeps
    the types and series of the first frame it draws, so it never gets an empty one."""
    if not points:
        return None
    frame = pd.DataFrame(points, columns=["step", "value", "series"])
    return frame.astype({"step": "int64", "value": "float64", "series": "object"})


def _approval(request: dict[str, Any] | None) -> tuple[Any, ...]:
    """The approval box for ``request``: shown with the proposal, or hidden."""
    if request is None:
        return gr.update(visible=False), gr.skip(), gr.skip(), gr.skip()
    question = request["question"]
    text = describe(question)
    if question.get("error"):
        text += f"\nNot applied: {question['error']}"
    changes = json.dumps(question.get("changes", {}))
    return gr.update(visible=True), plain(text), changes, ""


def _plot(watching: Watching, name: str, points: list[tuple[int, float, str]]) -> Any:
    """A plot's new points. When a series appears, the plot's legend is sent on the next look: the
    plot builds its colour scale when its legend changes, from the data it holds by then (new data
    alone would not draw the new series)."""
    series = list(dict.fromkeys(p[2] for p in points))
    if series != watching.series.get(name, []):
        watching.series[name] = series
        watching.legends[name] = series
    return _frame(points)


def _view(watching: Watching, state: str, due: dict[str, list[str]]) -> tuple[Any, ...]:
    """Everything the tab shows; ``due`` holds the legends to send with the plots' new data."""
    watch = watching.watch
    plotted = curves(watch)
    frames = [_plot(watching, name, plotted[name]) for name in PLOTS]
    frames = [
        gr.update(value=frame, colors_in_legend=due[name]) if name in due else frame
        for name, frame in zip(PLOTS, frames, strict=True)
    ]
    rows = [[plain(cell) for cell in row] for row in attempt_rows(watch)]
    timeline = "\n".join(plain(line) for line in list(watch.timeline)[-TIMELINE_SHOWN:])
    status = f"{watch.root.name}: {outcome_line(watch, state)}"
    table = pd.DataFrame(rows, columns=ATTEMPT_COLUMNS)
    return plain(status), plain(figures_line(watch.current)), *frames, table, timeline


def tick(settings: WebSettings, choice: str | None, watching: Watching | None) -> tuple[Any, ...]:
    """What changed in the picked run since this tab's last look (everything ``gr.skip()`` if nothing)."""
    unchanged = (watching, *([gr.skip()] * (8 + 4)))
    if not choice or not inside(Path(choice), settings.runs) or not Path(choice).is_dir():
        return unchanged
    root = Path(choice)
    fresh = watching is None or watching.watch.root != root
    if fresh:
        watching = Watching(RunWatch(root))
    assert watching is not None
    update = watching.watch.refresh()
    pending = update.pending if update.pending and update.pending["id"] not in watching.answered else None
    news = fresh or update.events or update.log_lines or update.metrics or update.state != watching.state
    request_changed = (pending or {}).get("id") != (watching.request or {}).get("id")
    watching.state, watching.request = update.state, pending
    due, watching.legends = watching.legends, {}  # legends for series the plots already hold
    if news:
        view = _view(watching, update.state, due)
    else:
        legends = [gr.update(colors_in_legend=due[n]) if n in due else gr.skip() for n in PLOTS]
        view = (gr.skip(), gr.skip(), *legends, gr.skip(), gr.skip())
    box = _approval(pending) if request_changed or fresh else tuple([gr.skip()] * 4)
    return (watching, *view, *box)


def send_answer(
    settings: WebSettings, choice: str, watching: Watching | None, changes: str, note: str
) -> tuple[Any, ...]:
    """Answer the proposal this tab shows with ``choice``; the box hides once the answer is written."""
    request = watching.request if watching is not None else None
    if watching is None or request is None:
        return watching, "nothing is waiting for an answer", gr.skip()
    try:
        verdict = verdict_of(choice, changes, note)
    except VerdictError as exc:
        return watching, plain(str(exc)), gr.skip()
    won = answer(watching.watch.root, request["id"], verdict, by="web")
    watching.answered.add(request["id"])
    watching.request = None
    said = f"sent: {choice}" if won else "another front answered first; its answer stands"
    return watching, said, gr.update(visible=False)


def _plots() -> list[gr.LinePlot]:
    plots = []
    for row in (PLOTS[:2], PLOTS[2:]):
        with gr.Row():
            for name in row:
                plots.append(
                    gr.LinePlot(
                        x="step",
                        y="value",
                        color="series",
                        title=TITLES[name],
                        label=TITLES[name],
                        elem_id=f"plot-{name.replace('_', '-')}",
                    )
                )
    return plots


def _approval_box() -> tuple[gr.Group, list[Any]]:
    with gr.Group(visible=False, elem_id="approval") as box:
        gr.Markdown("**The supervisor proposes a fix** — approve it, edit its settings, or veto it.")
        question = gr.Textbox(label="Proposal", lines=4, interactive=False, elem_id="approval-question")
        changes = gr.Textbox(label="Settings (JSON): edit them to change the fix", elem_id="approval-changes")
        note = gr.Textbox(label="Note (optional)", max_length=300, elem_id="approval-note")
        with gr.Row():
            approve = gr.Button("Approve", variant="primary", elem_id="approve")
            edit = gr.Button("Apply edit", elem_id="apply-edit")
            veto = gr.Button("Veto", variant="stop", elem_id="veto")
    return box, [question, changes, note, approve, edit, veto]


def build(settings: WebSettings) -> MonitorTab:
    with gr.Row():
        run = gr.Dropdown(choices=[], label="Run", scale=4, elem_id="monitor-run")
        refresh = gr.Button("Refresh the list", size="sm", scale=1)
    status = gr.Textbox(label="State", interactive=False, elem_id="monitor-state")
    box, (question, changes, note, approve, edit, veto) = _approval_box()
    answer_status = gr.Textbox(label="Answer", interactive=False, elem_id="approval-status")
    figures = gr.Textbox(label="Newest step", interactive=False, elem_id="monitor-figures")
    plots = _plots()
    attempts = gr.Dataframe(
        headers=ATTEMPT_COLUMNS, datatype="str", interactive=False, wrap=True, elem_id="monitor-attempts"
    )
    timeline = gr.Textbox(
        label="Supervisor timeline", lines=14, max_lines=14, interactive=False, elem_id="monitor-timeline"
    )
    session = gr.State(None)
    timer = gr.Timer(settings.poll_s)
    outputs = [session, status, figures, *plots, attempts, timeline, box, question, changes, note]
    timer.tick(lambda c, w: tick(settings, c, w), [run, session], outputs, show_progress="hidden")
    for button, choice in ((approve, "approve"), (edit, "edit"), (veto, "veto")):
        button.click(
            lambda w, c, n, choice=choice: send_answer(settings, choice, w, c, n),
            [session, changes, note],
            [session, answer_status, box],
        )
    return MonitorTab(
        run, refresh, session, timer, outputs, approve, edit, veto, changes, note, answer_status, box
    )
