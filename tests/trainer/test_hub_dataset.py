"""Hub dataset ids (``dataset: owner/name``) are downloaded and read: against a local stand-in for the Hub."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from openlora.trainer.hub_dataset import HubDatasetRequest, fetch_dataset, looks_like_hub_dataset, split_files
from openlora.trainer.hub_download import HubDownloadError
from tests.fixtures.fake_hub import FakeHub, FakeRepo

CLI = str(Path(sys.executable).parent / "openlora-agent")
REPO = "stand-in-org/alpaca-mini"
ALPACA = [
    {"instruction": f"Name colour {i}.", "input": "" if i % 2 else f"hint {i}", "output": f"colour {i}"}
    for i in range(40)
]


def _parquet(rows: list[dict[str, str]]) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


@pytest.fixture
def hub():
    """REPO: an Alpaca JSON array, the train split (as tatsu-lab/alpaca ships it), and a parquet test."""
    server = FakeHub()
    repo = FakeRepo()
    repo.add_commit(
        {
            "README.md": b"# alpaca mini",
            ".gitattributes": b"*.parquet filter=lfs",
            "alpaca_data.json": json.dumps(ALPACA).encode(),
            "data/test-00000-of-00001.parquet": _parquet(ALPACA[:5]),
        }
    )
    server.repos[f"datasets/{REPO}"] = repo
    server.start()
    yield server
    server.stop()


def _fetch(hub: FakeHub, cache: Path, **settings) -> Path:
    return fetch_dataset(HubDatasetRequest(REPO, **settings), cache_dir=cache, endpoint=hub.url)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("files", "split", "expected"),
    [
        (["README.md", "alpaca_data.json"], "train", ["alpaca_data.json"]),
        (
            ["data/train-00001-of-00002.parquet", "data/train-00000-of-00002.parquet", "data/test-0.parquet"],
            "train",
            ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"],
        ),
        (["train.jsonl", "dev.jsonl", "test.jsonl"], "validation", ["dev.jsonl"]),
        (["sft/part-1.jsonl", "dpo/part-1.jsonl"], "sft", ["sft/part-1.jsonl"]),
        (["train.json", "data/train-0.parquet", "dataset_infos.json"], "train", ["data/train-0.parquet"]),
        (["corpus/poems.txt", ".cache/x.json"], "train", ["corpus/poems.txt"]),
    ],
)
def test_the_split_is_chosen_by_the_hubs_file_naming(files, split, expected):
    assert split_files(files, HubDatasetRequest(REPO, split=split)) == expected


@pytest.mark.parametrize(
    ("files", "split", "message"),
    [
        (
            ["alpaca.py", "README.md"],
            "train",
            "only a loading script (alpaca.py), which is code and never run",
        ),
        (
            ["train.jsonl", "test.jsonl"],
            "validation",
            "no split 'validation' (dataset_split); its splits: ['test', 'train']",
        ),
        (["data.arrow"], "train", "has no data; readable formats: .parquet, .jsonl"),
    ],
)
def test_a_repo_without_the_split_says_what_it_has(files, split, message):
    with pytest.raises(HubDownloadError, match=r"^dataset: 'stand-in-org/alpaca-mini'") as info:
        split_files(files, HubDatasetRequest(REPO, split=split))
    assert message in str(info.value)


def test_hub_ids_and_local_paths_are_told_apart():
    assert looks_like_hub_dataset("tatsu-lab/alpaca") and looks_like_hub_dataset(
        "HuggingFaceH4/ultrachat_200k"
    )
    for local in ("data/train.jsonl", "./alpaca", "/abs/name", "one", "a/b/c", "owner/name.parquet"):
        assert not looks_like_hub_dataset(local), local


def test_a_split_downloads_from_the_hub_stand_in_into_one_file_with_its_source(hub, tmp_path, online):
    cache = tmp_path / "hf-cache"
    train = _fetch(hub, cache, max_rows=25)
    assert _lines(train) == ALPACA[:25]
    source = json.loads(train.with_suffix(".source.json").read_text())
    assert source["files"] == ["alpaca_data.json"] and source["rows"] == 25 and source["repo_id"] == REPO
    assert not hub.gets("test-00000-of-00001.parquet"), "only the split's files are fetched"
    test = _fetch(hub, cache, split="test")
    assert _lines(test) == ALPACA[:5] and test.name == "test.jsonl"
    fetched = len(hub.gets("alpaca_data.json"))
    assert _fetch(hub, cache, max_rows=25) == train and len(hub.gets("alpaca_data.json")) == fetched
    hub.stop()  # the cache and the materialised rows answer without the Hub
    assert _fetch(hub, cache, offline=True).read_text().count("\n") == 40


def test_offline_a_hub_dataset_not_cached_is_named_and_no_request_is_made(hub, tmp_path, online):
    with pytest.raises(HubDownloadError, match=r"^dataset: 'stand-in-org/alpaca-mini' is not in the local"):
        _fetch(hub, tmp_path / "hf-cache", offline=True)
    assert hub.requests == []


def test_missing_and_gated_dataset_repos_of_the_hub_stand_in_say_which(hub, tmp_path, online):
    with pytest.raises(HubDownloadError, match=r"^dataset: 'stand-in-org/nothing' not found on the Hub"):
        fetch_dataset(HubDatasetRequest("stand-in-org/nothing"), cache_dir=tmp_path, endpoint=hub.url)
    hub.repos[f"datasets/{REPO}"].gated = True
    with pytest.raises(HubDownloadError, match="is gated: accept the terms on the Hub and set HF_TOKEN"):
        _fetch(hub, tmp_path / "hf-cache")


def test_train_on_a_hub_dataset_id_from_the_hub_stand_in_then_offline_with_it_stopped(
    hub, tiny_llama, tmp_path
):
    config = {
        "name": "hubdata",
        "base_model": str(tiny_llama),
        "dataset": REPO,
        "dataset_max_rows": 30,
        "max_steps": 2,
        "max_seq_len": 64,
        "batch_size": 4,
        "num_threads": 1,
    }
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env |= {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_CACHE": str(tmp_path / "hf-cache")}
    env["OPENLORA_HOME"] = str(tmp_path / "home")

    def train(*extra: str) -> dict:
        runs = tmp_path / f"runs{len(extra)}"
        proc = subprocess.run(
            [CLI, "train", str(path), "--runs", str(runs), *extra], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        (run,) = runs.iterdir()
        return json.loads((run / "spec.json").read_text())

    spec = train()
    assert Path(spec["dataset"]).is_relative_to(tmp_path / "home" / "datasets")
    assert len(_lines(Path(spec["dataset"]))) == 30
    hub.stop()
    assert train("--offline")["dataset"] == spec["dataset"]
