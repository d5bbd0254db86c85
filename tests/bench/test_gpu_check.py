"""bench/gpu_check.py where there is no GPU: it refuses at once, and its help lists the checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA machine the script runs its checks")
def test_refuses_with_status_2_and_writes_no_json_on_a_machine_without_cuda(tmp_path):
    out = tmp_path / "results" / "gpu_check.json"
    done = _run("--out", str(out))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no CUDA device is visible" in lines[0] and "torch.cuda.is_available() is False" in lines[0]
    assert f"torch {torch.__version__}" in lines[0]  # which build is installed (e.g. 2.13.0+cpu)
    assert done.stdout == ""
    assert not out.exists() and not out.parent.exists()


def test_help_lists_every_check_and_the_options():
    from bench.gpu_check import CHECKS

    done = _run("--help")
    assert done.returncode == 0, done.stderr
    for key, (title, _) in CHECKS.items():
        assert f"{key}  {title}" in done.stdout
    for option in ("--only", "--steps", "--out", "--workdir"):
        assert option in done.stdout
    assert set(CHECKS) == {"a", "b", "c", "d", "e", "f"}


def test_an_unknown_check_is_refused_by_name():
    done = _run("--only", "a,z")
    assert done.returncode == 2 and "unknown check(s) ['z']" in done.stderr
