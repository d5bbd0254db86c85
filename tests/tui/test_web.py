"""``openlora-agent tui --web`` end to end: textual-serve on loopback, driven by a headless Chromium.

The browser types into the chat and the test checks three things: the server listens on 127.0.0.1 only,
the app's terminal output streamed over the websocket echoes the message into the chat log, and the
rendered page is a real, changing screen (not blank). Chromium is Debian's package (.ci/run installs it);
playwright drives it without downloading its own browsers. There is no internet: every request that is
not for the local server (textual-serve's page links a Google font) is blocked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import pytest

from tests.fixtures.local_servers import free_port, wait_http

CHROMIUM = Path("/usr/bin/chromium")
MESSAGE = "hello"
# CSI sequences (colours, cursor moves) between the characters of the terminal stream.
_CSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def _missing(what: str) -> NoReturn:
    if os.environ.get("OPENLORA_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"{what} (.ci/run installs Debian's chromium)")
    pytest.skip(f"{what}; .ci/run installs it")


def _listening_addresses(pid: int, port: int) -> set[str]:
    import psutil

    return {
        conn.laddr.ip
        for conn in psutil.Process(pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
    }


def _stop(server: subprocess.Popen) -> None:
    """End the server and the app processes it spawned (one process group: start_new_session)."""
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)  # children (the app, llama.cpp) may outlive the server
    server.wait(timeout=10)


def _local_only(route) -> None:
    """No internet here: serve the local server, refuse the rest (textual-serve's Google font)."""
    if route.request.url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:")):
        route.continue_()
    else:
        route.abort()


def _check_not_blank(path: Path) -> None:
    from PIL import Image, ImageStat

    image = Image.open(path).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24) or []
    spread = max(ImageStat.Stat(image).stddev)
    assert len(colours) > 100, f"{path}: only {len(colours)} colours: the page looks blank"
    assert spread > 10, f"{path}: pixel standard deviation {spread:.1f}: the page looks blank"


class _Stream:
    """The app's terminal output as the browser receives it over the websocket."""

    def __init__(self, log: Path) -> None:
        self.frames: list[bytes] = []
        self.log = log

    def on_websocket(self, ws) -> None:
        ws.on("framereceived", lambda f: self.frames.append(f if isinstance(f, bytes) else f.encode()))

    def text(self) -> str:
        return _CSI.sub(b"", b"".join(self.frames)).decode("utf-8", "replace")

    def wait_for(self, needle: str, page, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{needle!r} never reached the browser; stream tail:\n{self.text()[-2000:]}\n"
                    f"server log:\n{self.log.read_text(errors='replace')[-4000:]}"
                )
            page.wait_for_timeout(200)  # lets playwright dispatch the websocket events


def _start_server(tmp_path: Path, port: int, log: Path) -> subprocess.Popen:
    """``openlora-agent tui --web`` on ``port``, in its own process group."""
    env = {**os.environ, "OPENLORA_HOME": str(tmp_path / "home")}
    agent = Path(sys.executable).with_name("openlora-agent")  # the venv's console script
    if not agent.exists():
        agent = Path(shutil.which("openlora-agent") or agent)
    command = [str(agent), "tui", "--web", "--port", str(port), "--runs", str(tmp_path / "runs")]
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _type_in_browser(url: str, log: Path, folder: Path) -> tuple[Path, Path]:
    """Open the page in Chromium, type the message; screenshots before and after."""
    from playwright.sync_api import sync_playwright

    stream = _Stream(log)
    before, after = folder / "before.png", folder / "after.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", _local_only)
            page.on("websocket", stream.on_websocket)
            page.goto(url)
            # textual.js marks the body once the app's first bytes arrive over the websocket.
            page.wait_for_selector("body.-first-byte", timeout=60_000)
            stream.wait_for("OpenLoRA…", page)  # the chat input's placeholder: the screen is mounted
            page.wait_for_timeout(500)
            page.screenshot(path=str(before))

            page.focus(".xterm-helper-textarea")  # xterm's keyboard sink; no click reaches the app
            page.keyboard.type(MESSAGE)
            page.keyboard.press("Enter")
            stream.wait_for(f"you: {MESSAGE}", page, timeout=30)  # the chat log echoes the message
            page.wait_for_timeout(1000)
            page.screenshot(path=str(after))
            if target := os.environ.get("OPENLORA_WEB_SCREENSHOT"):
                shutil.copyfile(after, target)
        finally:
            browser.close()
    return before, after


def test_web_tui_in_chromium(tmp_path):
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed (pip install -e .[dev])")
    from PIL import Image, ImageChops

    port = free_port()
    log = tmp_path / "server.log"
    url = f"http://127.0.0.1:{port}/"
    server = _start_server(tmp_path, port, log)
    try:
        wait_http(url, server, log, name="tui --web")
        assert _listening_addresses(server.pid, port) == {"127.0.0.1"}
        before, after = _type_in_browser(url, log, tmp_path)
        _check_not_blank(before)
        _check_not_blank(after)
        shots = [Image.open(path).convert("RGB") for path in (before, after)]
        assert ImageChops.difference(*shots).getbbox() is not None, "typing changed nothing on screen"
    finally:
        _stop(server)
