"""Publishing a trained run to the Hub: against the local Hub stand-in (never the real Hub).

The real huggingface_hub client talks HTTP to the stand-in (``tests/fixtures/fake_hub_upload.py``);
xet is switched off as the stand-in does not offer it, so huggingface_hub takes the basic LFS transfer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlora.cli.main import app
from openlora.trainer.export.hub_upload import PublishError, publish_run
from openlora.trainer.export.model_card import escape_text
from openlora.trainer.export.publish_plan import RepoIdError
from openlora.trainer.rundir import GoalDir, RunDir, read_json, write_json_atomic
from tests.fixtures.fake_hub import FakeHub
from tests.fixtures.published_runs import (
    BASE_ID,
    BASE_LICENSE,
    FAKE_TOKEN,
    MARKER,
    cached_base,
    goal_folder,
    marked_dataset,
    trained_run,
)

REPO = "someone/tiny-kv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_llama) -> Path:
    """A completed tiny run on a cache-style base, exported as adapter and q8_0 GGUF (read-only)."""
    from openlora.trainer.export.exporter import export_run

    root = tmp_path_factory.mktemp("published")
    base = cached_base(root / "hf-cache", tiny_llama)
    run = trained_run(root / "run", base, marked_dataset(root / "kv.jsonl"))
    export_run(run, ["gguf"], ["q8_0"])
    return run


@pytest.fixture(scope="module")
def goal(tmp_path_factory, trained) -> Path:
    """A supervised goal folder whose attempt 2 is the trained run (read-only)."""
    root = tmp_path_factory.mktemp("goal") / "kv-20260101-000000"
    return goal_folder(root, trained, Path(read_json(RunDir(trained).spec)["dataset"]))


@pytest.fixture
def hub(monkeypatch):
    """The stand-in, wanting FAKE_TOKEN; huggingface_hub online and without xet (calls pass endpoint=)."""
    from huggingface_hub import constants

    server = FakeHub().start()
    server.uploads.token = FAKE_TOKEN
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # tests/conftest.py set it before import
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the stand-in offers no xet
    yield server
    server.stop()


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def _manifest_files(run: Path, name: str) -> list[str]:
    return sorted(f for f in read_json(RunDir(run).manifest)["formats"][name]["files"] if f != "README.md")


def _card(hub: FakeHub) -> str:
    return hub.uploads.commits[-1].added["README.md"].decode()


def test_publish_goal_commits_exactly_the_expected_files_against_hub_stand_in(hub, goal, tmp_path):
    from huggingface_hub import hf_hub_download

    result = publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    run = GoalDir(goal).attempt(2).root
    expected = {"README.md", "loss.png", *_manifest_files(run, "adapter")}
    expected |= {f"gguf/{name}" for name in _manifest_files(run, "gguf")}
    [commit] = hub.uploads.commits_to(REPO)
    assert set(commit.added) == expected == set(result.files)
    assert result.changed and result.commit == commit.sha and not commit.deleted
    assert {"adapter_model.safetensors", "gguf/model-q8_0.gguf", "loss.png"} <= commit.lfs
    assert (
        commit.added["gguf/model-q8_0.gguf"]
        == (RunDir(run).exports / "gguf" / "model-q8_0.gguf").read_bytes()
    )
    assert json.loads(commit.added["adapter_config.json"])["base_model_name_or_path"] == BASE_ID
    # The download side serves the new commit at once.
    fetched = hf_hub_download(REPO, "adapter_model.safetensors", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(fetched).read_bytes() == (RunDir(run).adapter / "adapter_model.safetensors").read_bytes()


def test_model_card_parses_with_the_hub_metadata_against_hub_stand_in(hub, goal):
    from huggingface_hub import ModelCard

    publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    text = _card(hub)
    card = ModelCard(text)
    assert card.data.base_model == BASE_ID and card.data.base_model_relation == "adapter"
    assert card.data.library_name == "peft" and card.data.license == BASE_LICENSE
    assert {"openlora", "lora", "peft", "gguf"} <= set(card.data.tags)
    for section in ("## Training", "## Supervision", "## Evaluation", "## Training loss", "## How to use"):
        assert section in text, section
    assert "![training loss](loss.png)" in text
    assert "| 1 | nan | nan | lower_lr learning_rate=0.001 | 0 | 9.5 | — |" in text  # attempts and fixes
    assert "| 2 | completed | healthy | — | 0 | 1.25 | — |" in text
    assert "| exact_match | 0.75 | 0 |" in text  # adapter vs base
    for usage in ("PeftModel.from_pretrained", "AutoModelForCausalLM", "llama-cli", "ollama create"):
        assert usage in text, usage
    # Nothing the dataset, the trainer's messages or the rules' prose said reaches the card.
    assert MARKER.split()[0] not in text and "<img" not in text and "evil" not in text


def test_gguf_first_run_folder_card_says_quantized_and_unsupervised_against_hub_stand_in(hub, trained):
    from huggingface_hub import ModelCard

    result = publish_run(trained, REPO, ["gguf"], endpoint=hub.url)
    assert set(result.files) == {"README.md", *_manifest_files(trained, "gguf")}
    card = ModelCard(_card(hub))
    assert card.data.base_model_relation == "quantized" and card.data.library_name == "gguf"
    assert "not supervised" in card.text and "loss.png" not in card.text


def test_private_repo_is_created_private_against_hub_stand_in(hub, trained):
    publish_run(trained, "someone/private-kv", ["adapter"], private=True, endpoint=hub.url)
    publish_run(trained, "someone/public-kv", ["adapter"], endpoint=hub.url)
    assert hub.uploads.created == {"someone/private-kv": True, "someone/public-kv": False}
    create = next(r for r in hub.uploads.requests if r.path == "/api/repos/create")
    assert json.loads(create.body) == {
        "name": "private-kv",
        "organization": "someone",
        "visibility": "private",
        "type": "model",
    }


def test_republishing_an_unchanged_run_makes_no_commit_against_hub_stand_in(hub, goal):
    first = publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    puts = sum(r.method == "PUT" for r in hub.uploads.requests)
    again = publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    assert first.changed and not again.changed and again.commit == first.commit
    assert len(hub.uploads.commits_to(REPO)) == 1
    assert sum(r.method == "PUT" for r in hub.uploads.requests) == puts  # nothing uploaded twice


def test_failed_commit_is_a_clear_error_and_a_retry_completes_it_against_hub_stand_in(hub, goal):
    hub.uploads.fail_once["commit"] = 500
    with pytest.raises(
        PublishError, match=r"publishing to someone/tiny-kv failed .*run the same publish again"
    ):
        publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    assert not hub.uploads.commits_to(REPO)
    lfs_puts = sum(r.method == "PUT" for r in hub.uploads.requests)
    result = publish_run(goal, REPO, ["adapter", "gguf"], endpoint=hub.url)
    [commit] = hub.uploads.commits_to(REPO)
    assert result.changed and set(commit.added) == set(result.files)
    assert sum(r.method == "PUT" for r in hub.uploads.requests) == lfs_puts  # LFS files kept from try one


def test_the_token_reaches_no_file_log_or_other_url_against_hub_stand_in(hub, goal, caplog, monkeypatch):
    from huggingface_hub import constants

    # The CLI passes no endpoint: HfApi takes constants.ENDPOINT (HF_ENDPOINT, read at import).
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    caplog.set_level("DEBUG")
    result = CliRunner().invoke(app, ["publish", str(goal), "--repo", REPO, "-f", "adapter", "--private"])
    assert result.exit_code == 0, result.output
    assert f"{hub.url}/{REPO}: updated" in result.output
    again = CliRunner().invoke(app, ["publish", str(goal), "--repo", REPO, "-f", "adapter"])
    assert "unchanged" in again.output
    token = FAKE_TOKEN.encode()
    leaked = [p for p in goal.rglob("*") if p.is_file() and token in p.read_bytes()]
    assert not leaked and FAKE_TOKEN not in result.output + again.output + caplog.text
    for request in hub.uploads.requests:
        assert token not in request.body and FAKE_TOKEN not in request.path
        # The token goes to the Hub's API only; LFS content goes to the URL the Hub gave, without it.
        assert request.authorization == (None if request.method == "PUT" else f"Bearer {FAKE_TOKEN}")


def test_a_refused_token_is_named_without_echoing_it_against_hub_stand_in(hub, trained):
    hub.uploads.token = "another-token"
    with pytest.raises(PublishError, match=r"refused the token \(401\)") as refused:
        publish_run(trained, REPO, ["adapter"], endpoint=hub.url)
    assert FAKE_TOKEN not in str(refused.value)


def test_publish_refuses_unfinished_unchecked_and_changed_runs_before_any_request_to_hub_stand_in(
    hub, trained, goal, tmp_path
):
    failed = _copy(trained, tmp_path / "failed")
    result = read_json(RunDir(failed).result)
    write_json_atomic(RunDir(failed).result, {**result, "status": "nan"})
    unchecked = _copy(trained, tmp_path / "unchecked")
    manifest = read_json(RunDir(unchecked).manifest)
    manifest["formats"]["gguf"]["checks"]["model-q8_0.gguf"]["passed"] = False
    write_json_atomic(RunDir(unchecked).manifest, manifest)
    changed = _copy(trained, tmp_path / "changed")
    (RunDir(changed).adapter / "adapter_model.safetensors").write_bytes(b"not the checked adapter")
    cases = [
        (failed, ["adapter"], "the run ended nan, not completed"),
        (unchecked, ["gguf"], "export gguf failed its self-check"),
        (changed, ["adapter"], "changed since it was exported and checked"),
        (trained, ["merged"], "format merged was not exported"),
    ]
    for run, formats, reason in cases:
        with pytest.raises(PublishError, match=reason):
            publish_run(run, REPO, formats, endpoint=hub.url)
    unsuccessful = goal_folder(
        tmp_path / "failed-goal", trained, Path(read_json(RunDir(trained).spec)["dataset"]), "failed"
    )
    with pytest.raises(PublishError, match="the goal ended 'failed', not success"):
        publish_run(unsuccessful, REPO, endpoint=hub.url)
    assert not hub.uploads.requests


def test_publish_cli_names_a_bad_repo_id_without_any_request_to_hub_stand_in(hub, trained):
    for bad in ("no-owner", "a/b/c", "owner/na--me", "owner/" + "x" * 100):
        result = CliRunner().invoke(app, ["publish", str(trained), "--repo", bad])
        assert result.exit_code == 2 and "error: --repo " in result.output and "owner/name" in result.output
    with pytest.raises(RepoIdError, match=r"publish\.repo"):
        publish_run(trained, "bad id", repo_argument="publish.repo", endpoint=hub.url)
    assert not hub.uploads.requests


def test_escape_text_leaves_no_markdown_or_html_to_inject():
    escaped = escape_text("<script>x</script> | [a](http://b) *c* _d_ `e` !g\\ # f\n- g", limit=200)
    assert not [ch for ch in "<>|[]()*_`!\\\n/:." if ch in escaped], escaped
    assert "# f" not in escaped and "&#35; f" in escaped and escaped.endswith(" - g")
    assert escape_text("x" * 10_000, limit=20) == "x" * 20
    assert (
        escape_text("lower_lr") == "lower_lr"
        and escape_text("www.evil.example") == "www&#46;evil&#46;example"
    )


def test_publish_without_a_token_says_so_before_any_request_to_hub_stand_in(
    hub, trained, tmp_path, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    with pytest.raises(PublishError, match="no Hugging Face token: set HF_TOKEN"):
        publish_run(trained, REPO, ["adapter"], endpoint=hub.url)
    assert not hub.uploads.requests


def test_an_unreachable_hub_is_named_against_a_stopped_hub_stand_in(hub, trained):
    hub.stop()
    with pytest.raises(PublishError, match=f"the Hub at {hub.url} cannot be reached"):
        publish_run(trained, REPO, ["adapter"], endpoint=hub.url)


def test_a_base_not_on_the_hub_leaves_base_model_out_against_hub_stand_in(hub, trained, tmp_path):
    from huggingface_hub import ModelCard

    local = _copy(trained, tmp_path)
    spec = read_json(RunDir(local).spec)
    write_json_atomic(RunDir(local).spec, {**spec, "base_model": str(tmp_path / "my-own-model")})
    publish_run(local, REPO, ["adapter"], endpoint=hub.url)
    card = ModelCard(_card(hub))
    assert card.data.base_model is None and card.data.license is None
    assert "base_model_relation" not in card.data.to_dict()
    assert card.data.library_name == "peft" and 'from_pretrained("BASE_MODEL")' in card.text
    [commit] = hub.uploads.commits_to(REPO)
    assert json.loads(commit.added["adapter_config.json"])["base_model_name_or_path"] is None
