"""TUI test helpers: an app on a tiny model with its own OPENLORA_HOME, and waiting in Pilot time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from openlora.tui.app import OpenLoRAApp
from openlora.tui.services import TuiSettings
from tests.agent.conftest import BROKEN_TRAINING

# Goals drafted in the tests train the tiny model: the agent tests' broken settings (NaN in a few steps)
# or a healthy variant of them.
BROKEN = dict(BROKEN_TRAINING)
HEALTHY = {**BROKEN, "learning_rate": 0.1, "weight_decay": 0.0, "max_steps": 60, "eval_every": 20}


def make_app(tmp_path: Path, base: Path | str = "embedded:smollm2", **settings) -> OpenLoRAApp:
    settings = {"cwd": tmp_path, **settings}
    return OpenLoRAApp(TuiSettings(runs=tmp_path / "runs", base_model=str(base), poll_s=0.1, **settings))


async def wait_for(pilot, condition: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        await pilot.pause(0.1)


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests are async; anyio's pytest plugin runs them on asyncio."""
    return "asyncio"
