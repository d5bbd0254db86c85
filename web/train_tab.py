"""The Train tab: a goal from the form or from words, as an editable YAML draft, and "Start".

What it is for: the form (``goal_form``) or a request in words (``ui_core.requests``, the same draft
the TUI's chat makes) fills the draft; the draft is validated by the strict goal loader
(``chat.drafts.save_draft``: its errors name the field and line) when it is made and again on
"Start", which saves it under ``RUNS/drafts/`` and starts the supervisor as its own process
(``ui_core.supervised_runs``): closing the page never stops it. Its data must be an upload of this
page or a hub dataset id: the page does not read other files of the server.
What it is not for: watching the run (the Monitor tab) or supervising anything.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import yaml

from openlora.ui_core.goal_fields import FieldSpec, draft_text, goal_data, goal_fields
from openlora.ui_core.services import Services
from openlora.ui_core.uploads import inside, with_stored_names
from openlora.web.goal_form import build_form
from openlora.web.settings import WebSettings
from openlora.web.text import plain


@dataclass
class TrainTab:
    specs: list[FieldSpec]
    inputs: dict[str, Any]
    request: gr.Textbox
    from_words: gr.Button
    from_form: gr.Button
    draft: gr.Code
    draft_status: gr.Textbox
    start: gr.Button
    start_status: gr.Textbox
    started: gr.Textbox  # the run folder started last (hidden; the Monitor tab follows it)
    start_event: Any  # "Start" clicked: the Monitor tab chains on it


def draft_name(text: str) -> str:
    """A file-safe name for the draft (the goal's name when it has a usable one)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None
    name = str(data.get("name", "")) if isinstance(data, dict) else ""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:48] or "goal"


def check_draft(text: str) -> str:
    """ "" when the draft passes the strict goal loader, else its error (field and line)."""
    from openlora.agent.goal import GoalError
    from openlora.chat.drafts import save_draft

    with tempfile.TemporaryDirectory(prefix="openlora-draft-") as folder:
        try:
            save_draft(text, Path(folder), draft_name(text))
        except GoalError as exc:
            return str(exc)
    return ""


def data_problem(goal: Any, uploads: Path) -> str:
    """Why the goal's data cannot be used from this page ("" when it can)."""
    for field in ("dataset", "eval_dataset"):
        value = getattr(goal, field)
        if value and Path(value).is_absolute() and not inside(Path(value), uploads):
            return f"{field}: {value} is not an upload of this page; upload it in the Data tab"
    return ""


def form_draft(specs: list[FieldSpec], keys: list[str], *values: Any) -> tuple[str, str]:
    """The draft made from the form's values, and what the goal loader says of it."""
    from openlora.agent.goal import GoalError

    try:
        text = draft_text(goal_data(specs, dict(zip(keys, values, strict=True))))
    except GoalError as exc:
        return gr.skip(), plain(f"not a draft: {exc}")
    problem = check_draft(text)
    return text, plain(
        f"not valid yet: {problem}" if problem else "the draft is valid: review it, then Start"
    )


def words_draft(settings: WebSettings, services: Services, request: str, text: str) -> tuple[str, str]:
    """The draft a request in words makes (or the adjusted current draft), and what was understood."""
    from openlora.ui_core.requests import draft_from_words

    if not request.strip():
        return gr.skip(), "Describe the goal first."
    defaults = {"base_model": settings.base_model, "training": settings.goal_defaults()["training"]}
    defaults["approval"] = settings.approval
    try:
        request = with_stored_names(request, settings.uploads)  # "kv.jsonl" is the upload of that name
        reply = draft_from_words(
            services.advisor, request, (text or "", ""), settings.uploads, settings.uploads, defaults
        )
    except Exception as exc:  # the advisor failed to load or answer: say so, keep the draft
        return gr.skip(), plain(f"the advisor could not read the request: {type(exc).__name__}: {exc}")
    message = "\n".join([reply.message, *reply.notes])
    return (gr.skip() if reply.error else reply.text), plain(message)


def start_run(settings: WebSettings, text: str) -> tuple[str, str]:
    """Save the draft and start its supervisor; returns the status and the run folder ("" if none)."""
    from openlora.agent.goal import GoalError
    from openlora.chat.drafts import save_draft
    from openlora.ui_core.supervised_runs import start_supervised_run

    if not (text or "").strip():
        return "Make a draft first (from the form or from words).", ""
    name = draft_name(text)
    try:
        path, goal = save_draft(text, settings.drafts, f"{name}-{uuid.uuid4().hex[:8]}")
    except GoalError as exc:
        return plain(f"not started: {exc}"), ""
    problem = data_problem(goal, settings.uploads)
    if problem:
        path.unlink(missing_ok=True)
        return plain(f"not started: {problem}"), ""
    root = start_supervised_run(path, settings.runs, goal.name)
    return plain(f"started {root.name}: its supervisor runs on its own; follow it in the Monitor tab"), str(
        root
    )


def build(settings: WebSettings, services: Services, dataset_choices: list[tuple[str, str]]) -> TrainTab:
    specs = goal_fields(settings.goal_defaults())
    with gr.Accordion("Describe it in words", open=False):
        request = gr.Textbox(
            label="Request", placeholder="tune on data.jsonl so it answers support tickets", elem_id="request"
        )
        from_words = gr.Button("Draft from my words", elem_id="draft-from-words")
    with gr.Accordion("Goal form (every field of goal.yaml)", open=True):
        inputs = build_form(specs, dataset_choices)
    from_form = gr.Button("Draft from the form", variant="secondary", elem_id="draft-from-form")
    draft = gr.Code("", language="yaml", label="Goal draft (edit it, then Start)", lines=14, elem_id="draft")
    draft_status = gr.Textbox(label="Draft", interactive=False, elem_id="draft-status")
    start = gr.Button("Start", variant="primary", elem_id="start")
    start_status = gr.Textbox(label="Run", interactive=False, elem_id="start-status")
    started = gr.Textbox(visible=False)
    keys = list(inputs)
    from_form.click(lambda *v: form_draft(specs, keys, *v), [inputs[k] for k in keys], [draft, draft_status])
    from_words.click(
        lambda r, t: words_draft(settings, services, r, t), [request, draft], [draft, draft_status]
    )
    event = start.click(lambda t: start_run(settings, t), draft, [start_status, started])
    return TrainTab(
        specs,
        inputs,
        request,
        from_words,
        from_form,
        draft,
        draft_status,
        start,
        start_status,
        started,
        event,
    )
