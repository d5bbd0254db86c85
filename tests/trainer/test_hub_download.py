"""Hub ids that are not cached are downloaded: against a local stand-in for the Hub (never the real one)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from openlora.trainer.config import ConfigError, TrainConfig, parse_config
from openlora.trainer.hub_download import HubDownloadError, download_model
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir
from tests.conftest import make_run, run_trainer_subprocess
from tests.fixtures.fake_hub import FakeHub, FakeRepo, folder_files

REPO = "stand-in-org/tiny-llama"
WEIGHTS = "model.safetensors"


@pytest.fixture
def hub(tiny_llama: Path):
    """The stand-in serving the tiny llama (plus a pickle that must never be fetched) as REPO@main."""
    server = FakeHub()
    repo = FakeRepo()
    repo.add_commit({**folder_files(tiny_llama), "pytorch_model.bin": b"pickle"})
    server.repos[REPO] = repo
    server.start()
    yield server
    server.stop()


def _download(hub: FakeHub, cache: Path, **kwargs) -> Path:
    return download_model(kwargs.pop("repo_id", REPO), cache_dir=cache, endpoint=hub.url, **kwargs)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_train_downloads_from_the_hub_stand_in_then_trains(hub, tiny_llama, kv_dataset, tmp_path):
    cache = tmp_path / "hf-cache"
    run = make_run(tmp_path / "run", base_model=REPO, dataset=str(kv_dataset), max_steps=2)
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env |= {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_CACHE": str(cache)}
    proc = run_trainer_subprocess(run, env=env)
    result = RunResult.read(RunDir(run).result)
    assert proc.returncode == 0 and result.status == RunStatus.COMPLETED, result.message + proc.stderr[-2000:]
    events = [json.loads(line) for line in RunDir(run).metrics.read_text().splitlines()]
    weights = [e for e in events if e["event"] == "download" and e["file"] == WEIGHTS]
    size = (tiny_llama / WEIGHTS).stat().st_size
    assert weights and weights[-1]["bytes_done"] == weights[-1]["bytes_total"] == size
    start = next(e for e in events if e["event"] == "run_start")
    assert start["base_model"] == f"hub:{REPO}"
    assert not [r for r in hub.requests if r.path.endswith(".bin")], "pickled weights are never fetched"
    snapshots = list((cache / "models--stand-in-org--tiny-llama" / "snapshots").iterdir())
    assert _sha(snapshots[0] / WEIGHTS) == _sha(tiny_llama / WEIGHTS)


def test_second_use_reads_the_cache_with_the_hub_stand_in_stopped(hub, tmp_path, online):
    cache = tmp_path / "hf-cache"
    first = _download(hub, cache)
    hub.stop()
    assert _download(hub, cache) == first  # the stand-in refuses connections: the cache answers
    assert _download(hub, cache, offline=True) == first


def test_dropped_connection_resumes_with_a_range_request_to_the_hub_stand_in(
    hub, tiny_llama, tmp_path, online, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)  # the Hub's 10 MiB > this tiny file
    cut = 4 * 64 * 1024
    hub.drop_once[WEIGHTS] = cut
    folder = _download(hub, tmp_path / "hf-cache")
    first, retry = (r.range for r in hub.gets(WEIGHTS))
    resumed_at = int(retry.removeprefix("bytes=").removesuffix("-"))
    assert first is None and 0 < resumed_at <= cut, retry  # the bytes already written are not fetched again
    assert _sha(folder / WEIGHTS) == _sha(tiny_llama / WEIGHTS)


def test_interrupted_download_completes_on_the_second_call_to_the_hub_stand_in(
    hub, tiny_llama, tmp_path, online
):
    cache = tmp_path / "hf-cache"
    hub.drop_once[WEIGHTS] = (tiny_llama / WEIGHTS).stat().st_size // 2
    hub.fail_after_drop.add(WEIGHTS)  # the retry gets a 500: this call gives up
    with pytest.raises(HubDownloadError, match="run again"):
        _download(hub, cache)
    hub.fail_after_drop.clear()
    folder = _download(hub, cache)
    assert _sha(folder / WEIGHTS) == _sha(tiny_llama / WEIGHTS)
    assert len(hub.gets("config.json")) == 1, "a file that finished is not fetched again"


def test_gated_repo_at_the_hub_stand_in_says_accept_the_terms_and_set_hf_token(hub, tmp_path, online):
    hub.repos[REPO].gated = True
    with pytest.raises(HubDownloadError, match="gated: accept the terms on the Hub and set HF_TOKEN"):
        _download(hub, tmp_path / "hf-cache")


def test_missing_repo_at_the_hub_stand_in_says_not_found_or_private(hub, tmp_path, online):
    with pytest.raises(HubDownloadError, match="not found on the Hub, or private and HF_TOKEN unset"):
        _download(hub, tmp_path / "hf-cache", repo_id="stand-in-org/nothing-here")


def test_offline_sends_no_request_to_the_hub_stand_in_and_says_absent(hub, tmp_path, online, monkeypatch):
    with pytest.raises(HubDownloadError, match="not in the local Hugging Face cache and offline"):
        _download(hub, tmp_path / "hf-cache", offline=True)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as HF_HUB_OFFLINE=1
    with pytest.raises(HubDownloadError, match="nothing was downloaded"):
        _download(hub, tmp_path / "hf-cache")
    assert hub.requests == []


def test_bin_only_repo_at_the_hub_stand_in_is_refused(hub, tiny_llama, tmp_path, online):
    files = {n: b for n, b in folder_files(tiny_llama).items() if n != WEIGHTS}
    hub.repos["stand-in-org/pickled"] = FakeRepo()
    hub.repos["stand-in-org/pickled"].add_commit({**files, "pytorch_model.bin": b"pickle"})
    with pytest.raises(HubDownloadError, match=r"only pickled weights \(pytorch_model.bin\)"):
        _download(hub, tmp_path / "hf-cache", repo_id="stand-in-org/pickled")
    assert not [r for r in hub.requests if "/resolve/" in r.path]


def test_missing_gguf_file_at_the_hub_stand_in_is_refused(hub, tmp_path, online):
    with pytest.raises(HubDownloadError, match=r"has no file 'model\.Q8_0\.gguf'"):
        _download(hub, tmp_path / "hf-cache", gguf_file="model.Q8_0.gguf")


def test_revision_pins_the_commit_requested_from_the_hub_stand_in(hub, tiny_llama, tmp_path, online):
    repo = hub.repos[REPO]
    old = repo.refs["main"]
    files = folder_files(tiny_llama)
    newer = repo.add_commit({**files, "config.json": files["config.json"].replace(b"llama", b"llama ")})
    repo.refs["v1"] = old
    folder = _download(hub, tmp_path / "hf-cache", revision="v1")
    assert folder.name == old != newer
    assert (folder / "config.json").read_bytes() == files["config.json"]
    resolved = {r.path.split("/resolve/")[1].split("/")[0] for r in hub.requests if "/resolve/" in r.path}
    assert resolved == {old}
    assert _download(hub, tmp_path / "hf-cache", revision=old) == folder
    with pytest.raises(HubDownloadError, match="revision not found"):
        _download(hub, tmp_path / "hf-cache", revision="v9")


def test_config_checks_hub_ids_and_revisions(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"text": "hi"}\n', encoding="utf-8")
    config = TrainConfig.model_validate({"dataset": "d.jsonl", "base_model": "org/na me"})
    with pytest.raises(ConfigError, match=r'base_model = "org/na me": not an existing local path'):
        config.resolve_paths(tmp_path)
    long_id = TrainConfig.model_validate({"dataset": "d.jsonl", "base_model": "o/" + "x" * 200})
    with pytest.raises(ConfigError, match="…") as info:
        long_id.resolve_paths(tmp_path)
    assert "x" * 100 not in str(info.value)
    for bad in ("main branch", "../etc", "x" * 101):
        with pytest.raises(ConfigError, match="revision"):
            parse_config({"dataset": "d.jsonl", "revision": bad}, "test")
    ok = parse_config({"dataset": "d.jsonl", "base_model": "org/model.v2_x-1", "revision": "v1.0"}, "t")
    assert ok.revision == "v1.0" and ok.offline is False


def test_cli_train_offline_sends_no_request_to_the_hub_stand_in(hub, kv_dataset, tmp_path):
    import subprocess
    import sys

    config = tmp_path / "train.yaml"
    config.write_text(f"base_model: {REPO}\ndataset: {kv_dataset}\nmax_steps: 2\n", encoding="utf-8")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_CACHE": str(tmp_path / "c")}
    cli = str(Path(sys.executable).parent / "openlora-agent")
    run = tmp_path / "run"
    command = [cli, "train", str(config), "--run-dir", str(run), "--offline"]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and "not in the local Hugging Face cache and offline" in proc.stderr
    assert json.loads(RunDir(run).spec.read_text())["offline"] is True
    assert hub.requests == []
