"""Driving ``openlora-agent web`` in a real headless Chromium: the server, the browser, the page's fields.

The server is the real command in its own process group (so a test can SIGKILL it); the browser is
Debian's Chromium through playwright (no browser download). There is no internet: Chromium sends
every non-loopback request to a proxy that does not exist, and the requests it tried are recorded
(Gradio's own fonts and scripts are local). Fields are found by their ``elem_id``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.fixtures.local_servers import free_port, wait_http

CHROMIUM = Path("/usr/bin/chromium")
# Chromium always reaches loopback directly; everything else goes to a dead proxy (no internet here).
CHROMIUM_ARGS = ["--no-sandbox", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1"]


def missing(what: str) -> NoReturn:
    if os.environ.get("OPENLORA_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"{what} (.ci/run installs Debian's chromium)")
    pytest.skip(f"{what}; .ci/run installs it")


def require_browser() -> None:
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is not installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright is not installed (pip install -e .[dev])")


def agent() -> str:
    script = Path(sys.executable).with_name("openlora-agent")
    return str(script if script.exists() else shutil.which("openlora-agent") or script)


@dataclass
class Server:
    """One ``openlora-agent web`` process (restartable on the same port)."""

    folder: Path
    args: list[str]
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / f"server-{self.starts}.log"

    def start(self, timeout: float = 90.0) -> None:
        self.starts += 1
        command = [agent(), "web", "--port", str(self.port), *self.args]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_http(self.url, self.process, self.log, timeout, name="web")

    def kill(self) -> None:
        """SIGKILL the server's process group (the runs it started have their own sessions)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
        self.kill()

    def output(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("server-*.log")))


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Page:
    """One browser tab on the page, with what it tried to fetch from outside and the dialogs it opened."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.outside: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", self._request)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = url
        self.open()

    def _request(self, request: Any) -> None:
        if not request.url.startswith(("http://127.0.0.1", "data:", "blob:")):
            self.outside.append(request.url)

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector("#upload", timeout=60_000)

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def field(self, elem_id: str) -> Any:
        return self.page.locator(f"#{elem_id} textarea, #{elem_id} input").first

    def value(self, elem_id: str) -> str:
        return self.field(elem_id).input_value()

    def fill(self, elem_id: str, text: str) -> None:
        self.field(elem_id).fill(text)

    def click(self, elem_id: str) -> None:
        self.page.locator(f"#{elem_id}").first.click()

    def pick(self, elem_id: str, text: str) -> None:
        """Choose the option holding ``text`` in a dropdown."""
        self.page.locator(f"#{elem_id} input").first.click()
        self.page.locator("ul[role=listbox] li", has_text=text).first.click()

    def upload(self, name: str, data: bytes) -> None:
        """Click "Upload a data file" and give the file chooser ``data`` named ``name``."""
        with self.page.expect_file_chooser() as chooser:
            self.click("upload")
        chooser.value.set_files(files=[{"name": name, "mimeType": "text/plain", "buffer": data}])

    def wait(self, condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
        """Poll ``condition()`` in page time until it returns something true."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
            self.page.wait_for_timeout(250)

    def wait_value(self, elem_id: str, check: Callable[[str], bool], timeout: float = 60.0) -> str:
        def current() -> str:
            text = self.value(elem_id)
            return text if check(text) else ""

        try:
            return self.wait(current, timeout, f"#{elem_id}")
        except AssertionError:
            raise AssertionError(f"#{elem_id} still reads {self.value(elem_id)!r}") from None

    def screenshot(self, path: Path, full_page: bool = True) -> None:
        self.page.screenshot(path=str(path), full_page=full_page)


SHOTS_ENV = "OPENLORA_WEB_SHOTS"  # a folder: the tests leave a screenshot of each stage there


def shot(page: Page, stage: str, height: int = 1100) -> None:
    """With ``OPENLORA_WEB_SHOTS`` set, a screenshot of the page's top ``height`` pixels for ``stage``."""
    folder = os.environ.get(SHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        clip = {"x": 0, "y": 0, "width": 1280, "height": height}
        page.page.screenshot(path=str(Path(folder) / f"{stage}.png"), clip=clip, full_page=True)


def storyboard(stages: list[tuple[str, str]], target: Path, scale: float = 0.6) -> None:
    """The stages' screenshots, captioned, two a row, as one image (the README's picture of the page)."""
    from PIL import Image, ImageDraw

    folder = Path(os.environ[SHOTS_ENV])
    panels = []
    for stage, caption in stages:
        image = Image.open(folder / f"{stage}.png").convert("RGB")
        image = image.resize((int(image.width * scale), int(image.height * scale)))
        framed = Image.new("RGB", (image.width, image.height + 36), "white")
        framed.paste(image, (0, 36))
        ImageDraw.Draw(framed).text((10, 10), caption, fill="black", font_size=20)
        panels.append(framed)
    width, height = panels[0].width, max(p.height for p in panels)
    rows = (len(panels) + 1) // 2
    board = Image.new("RGB", (2 * width + 12, rows * (height + 12)), (220, 220, 220))
    for n, panel in enumerate(panels):
        board.paste(panel, ((n % 2) * (width + 12), (n // 2) * (height + 12)))
    board.save(target)
