"""Trained tiny runs shared by the export tests (one per model family)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlora.trainer.main import run_training
from openlora.trainer.result import RunStatus
from tests.conftest import make_run


def _trained(tmp_path_factory: pytest.TempPathFactory, base: Path, dataset: Path, name: str) -> Path:
    run = make_run(
        tmp_path_factory.mktemp(name) / "run",
        base_model=str(base),
        dataset=str(dataset),
        max_steps=30,
        learning_rate=2e-2,
    )
    assert run_training(run).status == RunStatus.COMPLETED
    return run


@pytest.fixture(scope="module")
def llama_run(tmp_path_factory, tiny_llama, kv_dataset) -> Path:
    return _trained(tmp_path_factory, tiny_llama, kv_dataset, "llama-run")


@pytest.fixture(scope="module")
def gpt2_run(tmp_path_factory, tiny_gpt2, kv_dataset) -> Path:
    return _trained(tmp_path_factory, tiny_gpt2, kv_dataset, "gpt2-run")
