"""goal.yaml ``publish:``: validated up front, acted on after success, never failing the goal — against
the local Hub stand-in (never the real Hub)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from langgraph.graph import END

from openlora.agent import finish
from openlora.agent.goal import GoalError, PublishSettings, load_goal
from openlora.agent.graph import after_report
from openlora.agent.recorder import Recorder
from openlora.agent.records import GoalStatus
from openlora.agent.state import GoalRun
from openlora.trainer.rundir import GoalDir, read_json
from tests.fixtures.fake_hub import FakeHub
from tests.fixtures.published_runs import FAKE_TOKEN, cached_base, goal_folder, marked_dataset, trained_run

REPO = "someone/kv-goal"


@pytest.fixture(scope="module")
def goal_root(tmp_path_factory, tiny_llama) -> Path:
    root = tmp_path_factory.mktemp("publish-goal")
    dataset = marked_dataset(root / "kv.jsonl")
    run = trained_run(root / "run", cached_base(root / "hf-cache", tiny_llama), dataset)
    return goal_folder(root / "kv-20260101-000000", run, dataset)


@pytest.fixture
def hub(monkeypatch):
    """The stand-in as HF_ENDPOINT would make it (the node passes no endpoint), online, without xet."""
    from huggingface_hub import constants

    server = FakeHub().start()
    server.uploads.token = FAKE_TOKEN
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    yield server
    server.stop()


def _goal_file(tmp_path: Path, **publish) -> Path:
    (tmp_path / "kv.jsonl").write_text('{"prompt": "a", "response": "b"}\n', encoding="utf-8")
    goal = {"name": "kv", "task": "t", "dataset": "kv.jsonl", "success": {"train_loss_below": 3}}
    path = tmp_path / "goal.yaml"
    path.write_text(yaml.safe_dump({**goal, "publish": publish}), encoding="utf-8")
    return path


def test_goal_publish_settings_are_checked_before_anything_runs(tmp_path):
    goal = load_goal(_goal_file(tmp_path, repo="me/kv", private=True))
    assert goal.publish == PublishSettings(repo="me/kv", private=True) and goal.publish_formats() == [
        "adapter"
    ]
    with pytest.raises(GoalError, match=r"publish\.repo = \"kv\": .*not a valid Hub repo id"):
        load_goal(_goal_file(tmp_path, repo="kv"))
    with pytest.raises(GoalError, match=r"publish\.formats \['gguf'\] are not in outputs"):
        load_goal(_goal_file(tmp_path, repo="me/kv", formats=["gguf"]))


def _state(goal_root: Path, **publish) -> dict:
    run = GoalRun.model_validate(read_json(GoalDir(goal_root).report_json))
    goal = run.goal.model_copy(update={"publish": PublishSettings(repo=REPO, **publish)})
    return {**dict(run), "goal": goal, "attempt": 2}


def test_only_a_goal_that_succeeded_and_names_a_repo_goes_on_to_publish(goal_root):
    state = _state(goal_root)
    assert after_report(state) == "publish"
    assert after_report({**state, "outcome": GoalStatus.EXPORT_FAILED}) == END
    assert after_report({**state, "goal": state["goal"].model_copy(update={"publish": None})}) == END


def test_a_failed_publish_is_reported_and_the_goal_stays_a_success_against_hub_stand_in(
    hub, goal_root, tmp_path
):
    folder = GoalDir(goal_root)
    lines: list[str] = []
    runtime = SimpleNamespace(context=SimpleNamespace(recorder=Recorder(goal_root, echo=lines.append)))
    hub.uploads.fail_once["create"] = 500
    update = finish.publish(_state(goal_root, private=True), runtime)
    assert update["published"]["repo"] == REPO and "failed" in update["published"]["error"]
    assert "Publishing to someone/kv-goal failed" in folder.report_md.read_text()
    assert read_json(folder.report_json)["outcome"] == "success"
    events = [json.loads(line) for line in folder.agent_events.read_text().splitlines()]
    assert events[-1] | {"time": 0} == {
        "event": "action",
        "time": 0,
        "tool": "publish_model",
        "outcome": "error",
        "attempt": 2,
    }

    update = finish.publish(_state(goal_root, private=True), runtime)  # the retry completes it
    assert update["published"]["changed"] and hub.uploads.created == {REPO: True}
    [commit] = hub.uploads.commits_to(REPO)
    assert {"README.md", "loss.png", "adapter_model.safetensors"} <= set(commit.added)
    report = folder.report_md.read_text()
    assert f"{hub.url}/{REPO} at commit {commit.sha}" in report
    assert read_json(folder.report_json)["published"]["commit"] == commit.sha
    assert any("[publish] published to" in line for line in lines)
    assert not [p for p in goal_root.rglob("*") if p.is_file() and FAKE_TOKEN.encode() in p.read_bytes()]
