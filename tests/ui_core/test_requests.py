"""A request in words becomes the TUI's draft, or adjusts the current one (a stub advisor answers)."""

from __future__ import annotations

import json

import yaml

from openlora.ui_core.requests import draft_from_words


class Advisor:
    def __init__(self, answer: dict) -> None:
        self.answer = answer

    def complete_json(self, messages, schema) -> str:
        return json.dumps(self.answer)


def _answer(**fields) -> dict:
    return {
        "kind": "help",
        "dataset": "",
        "task": "",
        "setting": "none",
        "direction": "none",
        "run": "",
    } | fields


DEFAULTS = {"base_model": "embedded:smollm2", "training": {"max_steps": 7}, "approval": "ask"}


def test_a_tuning_request_becomes_a_draft_and_an_adjustment_changes_it(kv_dataset, tmp_path):
    request = f"tune on {kv_dataset.name} so it recalls values"
    advisor = Advisor(_answer(kind="tune", dataset=kv_dataset.name, task="recalls values"))
    reply = draft_from_words(advisor, request, ("", ""), kv_dataset.parent, tmp_path, DEFAULTS)
    assert not reply.error and reply.name == "kv"
    draft = yaml.safe_load(reply.text)
    assert (
        draft["dataset"] == str(kv_dataset)
        and draft["training"]["max_steps"] == 7
        and draft["approval"] == "ask"
    )

    lower = Advisor(_answer(kind="adjust", setting="max_steps", direction="lower"))
    again = draft_from_words(
        lower, "train for fewer steps", (reply.text, reply.name), tmp_path, tmp_path, DEFAULTS
    )
    assert (
        again.message == "draft adjusted: max_steps: 7 → 4"
        and yaml.safe_load(again.text)["training"]["max_steps"] == 4
    )


def test_anything_else_keeps_the_draft_and_says_what_the_box_does(tmp_path):
    reply = draft_from_words(Advisor(_answer()), "hello", ("text", "name"), tmp_path, tmp_path, DEFAULTS)
    assert reply.error and reply.text == "text" and "Name an uploaded file" in reply.message
    empty = draft_from_words(Advisor(_answer()), "  ", ("", ""), tmp_path, tmp_path, DEFAULTS)
    assert empty.error and "empty" in empty.message
