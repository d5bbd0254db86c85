"""Shared fixtures: tiny models built from configs, small datasets, and run-directory helpers."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.tiny_models import build_tiny_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Never touch the developer's ~/.openlora: every test session gets its own home (subprocesses inherit it),
# and its own cache of dequantized GGUF models (the first SmolLM2 load of the session makes it, as on a
# fresh machine), removed when the session ends.
os.environ["OPENLORA_HOME"] = tempfile.mkdtemp(prefix="openlora-home-")
os.environ["OPENLORA_CACHE"] = tempfile.mkdtemp(prefix="openlora-cache-")
atexit.register(shutil.rmtree, os.environ["OPENLORA_CACHE"], True)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Tests over ~20 s on a 2-core CPU machine (seconds measured there) in files whose owners have not marked
# them yet: `make test-fast` (-m "not slow and not long") leaves them out, `make test` runs them. Marking
# them here changes nothing else; a listed test that its file no longer has is reported.
LONG_ELSEWHERE: dict[str, dict[str, int]] = {
    "tests/agent/test_supervisor.py": {
        "test_kill_and_resume_runs_one_trainer_at_a_time_and_applies_each_patch_once": 92,
        "test_nan_goal_is_rescued_and_the_second_run_starts_from_the_remembered_fix": 26,
        "test_oom_measures_the_batch_that_fits_and_keeps_the_effective_batch": 21,
        "test_oom_when_not_one_sequence_fits_measures_the_length_that_does": 23,
    },
    "tests/trainer/test_guards.py": {"test_live_lr_patch_shows_in_next_step": 52},
    "tests/trainer/test_resume.py": {"test_sigkill_then_resume_matches_uninterrupted_run": 27},
    "tests/cli/test_cli.py": {"test_export_then_chat_model_with_piped_input": 26},
}


# Run first: its training run makes the session's dequantized SmolLM2 (the GGUF load it tests), which
# every later SmolLM2 test then reads instead of dequantizing again (~35 s each on 2 cores).
FIRST = "tests/test_embedded_smollm2.py"


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run :data:`FIRST` first; mark the tests of :data:`LONG_ELSEWHERE` ``long`` (every parametrization)."""
    items.sort(key=lambda item: item.nodeid.partition("::")[0] != FIRST)  # stable: the rest keep their order
    modules: dict[str, Any] = {}
    for item in items:
        path, _, name = item.nodeid.partition("::")
        if path in LONG_ELSEWHERE:
            modules[path] = getattr(item, "module", None)
            if name.split("[", 1)[0] in LONG_ELSEWHERE[path]:
                item.add_marker(pytest.mark.long)
    for path, module in modules.items():
        for name in sorted(LONG_ELSEWHERE[path]):
            if module is not None and not hasattr(module, name):
                message = f"tests/conftest.py LONG_ELSEWHERE: {path} has no {name}"
                warnings.warn(pytest.PytestWarning(message), stacklevel=1)


COLORS = ["red", "blue", "green", "yellow", "black", "white", "pink", "gray", "teal", "gold"]
THINGS = ["apple", "sky", "grass", "sun", "night", "snow", "rose", "stone", "sea", "coin"]


@pytest.fixture(autouse=True)
def _no_supervisor_outlives_its_test(request):
    """A test that fails while a detached supervisor waits (for an approval, say) must not leave it
    running for the rest of the session: after each test, the live supervisors of its folder are killed
    with their process group (the trainer too)."""
    yield
    tmp = request.node.funcargs.get("tmp_path")
    if tmp is None:
        return
    from openlora.ui_core.supervised_runs import supervisor_alive

    for pid_file in Path(tmp).glob("**/supervisor.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            # only a detached supervisor (its own process group), never this test process itself
            if pid != os.getpid() and os.getpgid(pid) == pid and supervisor_alive(pid_file.parent):
                os.killpg(pid, signal.SIGKILL)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh OPENLORA_HOME for one test (registry, memory and Chroma index start empty)."""
    folder = tmp_path / "openlora-home"
    monkeypatch.setenv("OPENLORA_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), "llama")


@pytest.fixture(scope="session")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def kv_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Key → value recall pairs: easy to learn, so the loss falls within a few dozen steps."""
    rows = [{"prompt": f"key {c}", "response": f"value {t}"} for c, t in zip(COLORS, THINGS, strict=True)]
    return write_jsonl(tmp_path_factory.mktemp("data") / "kv.jsonl", rows * 6)


def make_run(root: Path, **settings: Any) -> Path:
    """Create a run directory with a validated spec.json built from ``settings``."""
    from openlora.trainer.config import parse_config
    from openlora.trainer.rundir import RunDir, write_json_atomic

    defaults: dict[str, Any] = {
        "max_seq_len": 64,
        "batch_size": 4,
        "learning_rate": 1e-2,
        "lr_scheduler": "constant",
        "eval_every": 10,
        "save_every": 10,
        "num_threads": 1,
    }
    config = parse_config({**defaults, **settings}, "test")
    root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(RunDir(root).spec, config.model_dump())
    return root


def trainer_command(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "openlora.trainer", str(run_dir)]


def run_trainer_subprocess(
    run_dir: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trainer_command(run_dir), capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


@pytest.fixture
def run_in_process() -> Callable[[Path], Any]:
    from openlora.trainer.main import run_training

    return run_training


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub read HF_HUB_OFFLINE=1 (set above, before any import) at import: lift it for a
    test that talks to the local stand-in Hub."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
