"""The goal form comes from the goal schema, and what it fills is checked by the strict goal loader."""

from __future__ import annotations

import pytest
import yaml

from openlora.agent.goal import Goal, GoalError
from openlora.chat.drafts import save_draft
from openlora.ui_core.goal_fields import draft_text, goal_data, goal_fields


def _filled(dataset, **values):
    specs = goal_fields({"approval": "ask", "training": {"max_steps": 5}})
    filled = {s.key: s.default for s in specs}
    filled["training"] = yaml.safe_dump(filled["training"])
    filled.update(
        {"name": "kv", "task": "Recall values.", "dataset": str(dataset), "success.val_loss_below": 2.0}
    )
    filled.update(values)
    return specs, filled


def test_every_setting_of_the_goal_is_a_field_with_its_help_text():
    keys = {s.key for s in goal_fields()}
    top = {
        n
        for n, f in Goal.model_fields.items()
        if n not in ("success", "budget", "publish", "evaluation", "advisor", "resources")
    }
    assert top <= keys
    assert {
        "success.val_loss_below",
        "budget.max_attempts",
        "publish.repo",
        "evaluation.json",
        "advisor.n_ctx",
        "resources.num_gpus",
    } <= keys
    assert all(s.description for s in goal_fields())
    kinds = {s.key: (s.kind, s.choices) for s in goal_fields()}
    assert kinds["approval"] == ("choice", ("auto", "ask")) and kinds["training"][0] == "mapping"
    assert kinds["outputs"] == ("choices", ("adapter", "pt", "merged", "gguf-adapter", "gguf"))


def test_a_filled_form_is_a_draft_the_goal_loader_accepts(kv_dataset, tmp_path):
    specs, filled = _filled(kv_dataset)
    data = goal_data(specs, filled)
    assert "publish" not in data and "advisor" not in data  # untouched groups keep the schema's defaults
    path, goal = save_draft(draft_text(data), tmp_path, "kv")
    assert goal.approval == "ask" and goal.training == {"max_steps": 5} and goal.success.val_loss_below == 2.0
    assert path.read_text().startswith("# Goal draft")


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"name": ""}, "the draft: name = {…}: Field required"),
        ({"budget.max_attempts": 0}, "budget.max_attempts = 0: Input should be greater than or equal to 1"),
        (
            {"success.train_loss_below": "abc"},
            'success.train_loss_below = "abc": Input should be a valid number',
        ),
        ({"training": "max_stepz: 3"}, "unknown training setting(s) ['max_stepz']"),
    ],
)
def test_a_bad_field_gets_the_goal_loaders_error_naming_it(kv_dataset, tmp_path, values, error):
    specs, filled = _filled(kv_dataset, **values)
    with pytest.raises(GoalError) as caught:
        save_draft(draft_text(goal_data(specs, filled)), tmp_path, "kv")
    assert error in str(caught.value)
    assert not list(tmp_path.iterdir())  # nothing is left of an invalid draft


def test_publish_is_left_out_without_its_repo_and_kept_with_it(kv_dataset):
    specs, filled = _filled(kv_dataset, **{"publish.private": True})
    assert "publish" not in goal_data(specs, filled)
    specs, filled = _filled(kv_dataset, **{"publish.repo": "me/kv", "publish.private": True})
    assert goal_data(specs, filled)["publish"] == {"repo": "me/kv", "private": True}
    with pytest.raises(GoalError, match="training: expected a mapping"):
        goal_data(specs, {**filled, "training": "- a list"})
