"""The web page's tests share one ``openlora-agent web`` server on the tiny model and one Chromium."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.page import Server, chromium, require_browser


@pytest.fixture(scope="module")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="module")
def server(web_home: Path, tiny_llama: Path) -> Iterator[Server]:
    """``openlora-agent web`` on a free loopback port; new goals start from the tiny llama."""
    require_browser()
    env = {
        **os.environ,
        "OPENLORA_HOME": str(web_home / "home"),
        "GRADIO_TEMP_DIR": str(web_home / "gradio"),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("OPENLORA_WEB_TOKEN", None)
    args = ["--runs", str(web_home / "runs"), "--base-model", str(tiny_llama), "--approval", "ask"]
    running = Server(web_home, args, env)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def kv_bytes(kv_dataset: Path) -> bytes:
    return kv_dataset.read_bytes()


def alpaca_bytes() -> bytes:
    rows = [
        {"instruction": "Name the colour of the sky.", "input": "", "output": "blue"},
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
    ]
    return json.dumps(rows, indent=1).encode()
