"""The Train tab's goal form: one input per goal setting, built from the goal schema itself.

What it is for: :func:`build_form` turns each ``ui_core.goal_fields.FieldSpec`` into a Gradio input
(text, number, radio, checkboxes, YAML for the pinned training settings) whose help text is the
schema's description; nested settings sit in an accordion each, titled with their model's
description. The dataset fields list the uploads (a hub dataset id may be typed instead). Beside
the training settings, a table lists every training setting with its default and help text.
What it is not for: turning values into a goal (``ui_core.goal_fields.goal_data``) or validating
(the strict goal loader does that when the draft is saved).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import yaml

from openlora.trainer.config import TrainConfig
from openlora.ui_core.goal_fields import FieldSpec

DATASET_KEYS = ("dataset", "eval_dataset")
OPEN_GROUPS = ("When the goal is met",)


def _component(spec: FieldSpec, dataset_choices: list[tuple[str, str]]) -> Any:
    label = spec.key + (" (required)" if spec.required and not spec.optional_group else "")
    info = spec.description
    elem_id = "goal-" + spec.key.replace(".", "-").replace("_", "-")
    if spec.key in DATASET_KEYS:
        return gr.Dropdown(
            choices=dataset_choices,
            value=None,
            allow_custom_value=True,
            label=label,
            info=f"{info} Pick an upload (Data tab) or type a hub dataset id.",
            elem_id=elem_id,
        )
    common: dict[str, Any] = {"label": label, "elem_id": elem_id}
    if spec.kind == "mapping":
        text = yaml.safe_dump(spec.default, sort_keys=False) if spec.default else ""
        return gr.Textbox(text, lines=6, max_lines=30, info=f"{info} YAML, one setting a line.", **common)
    if spec.kind == "flag":
        return gr.Checkbox(bool(spec.default), info=info, **common)
    if spec.kind == "choice":
        return gr.Radio(list(spec.choices), value=spec.default, info=info, **common)
    if spec.kind == "choices":
        return gr.CheckboxGroup(list(spec.choices), value=spec.default or [], info=info, **common)
    if spec.kind in ("number", "integer") and spec.default is not None:
        precision = 0 if spec.kind == "integer" else None
        return gr.Number(spec.default, precision=precision, info=info, **common)
    if spec.kind in ("number", "integer"):  # unset by default: a number box would show (and send) 0
        return gr.Textbox("", placeholder="unset", info=info, **common)
    value = ", ".join(spec.default) if isinstance(spec.default, list) else (spec.default or "")
    lines = 3 if spec.kind == "long_text" else 1
    return gr.Textbox(value, lines=lines, info=info, **common)


def training_reference() -> list[list[str]]:
    """Every training setting with its default and help text (the trainer's own config model)."""
    rows = []
    for name, info in TrainConfig.model_fields.items():
        default = "" if info.is_required() else repr(info.get_default(call_default_factory=True))
        rows.append([name, default, info.description or ""])
    return rows


def build_form(specs: list[FieldSpec], dataset_choices: list[tuple[str, str]]) -> dict[str, Any]:
    """The inputs by key, laid out: top-level settings first, each nested model in an accordion."""
    inputs: dict[str, Any] = {}
    for spec in [s for s in specs if not s.group]:
        inputs[spec.key] = _component(spec, dataset_choices)
        if spec.kind == "mapping":
            with gr.Accordion("Training settings: reference", open=False):
                gr.Dataframe(
                    training_reference(),
                    headers=["setting", "default", "description"],
                    datatype="str",
                    interactive=False,
                    wrap=True,
                )
    groups: dict[str, list[FieldSpec]] = {}
    for spec in specs:
        if spec.group:
            groups.setdefault(spec.group, []).append(spec)
    for title, members in groups.items():
        head = members[0].key.partition(".")[0]
        with gr.Accordion(f"{head}: {title}", open=title.startswith(OPEN_GROUPS)):
            for spec in members:
                inputs[spec.key] = _component(spec, dataset_choices)
    return inputs
