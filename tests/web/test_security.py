"""Who reaches the page: loopback by default; any other address only with a token, never shown."""

from __future__ import annotations

import os
import subprocess
import urllib.error
import urllib.request

import pytest

from openlora.web.security import BindRefused, check_bind, login
from openlora.web.text import chat_html, plain
from tests.web.page import Server, agent

TOKEN = "s3cret-token-0123456789abcdef"


def test_only_loopback_is_served_without_a_token():
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    check_bind("::1", None)
    for host in ("0.0.0.0", "192.168.1.5", "example.org"):
        with pytest.raises(BindRefused, match="set OPENLORA_WEB_TOKEN"):
            check_bind(host, None)
    with pytest.raises(BindRefused, match="too short"):
        check_bind("0.0.0.0", "short")
    check_bind("0.0.0.0", TOKEN)
    check = login(TOKEN)
    assert check("openlora", TOKEN) and not check("openlora", TOKEN[:-1]) and not check("admin", TOKEN)


def test_a_non_loopback_bind_without_a_token_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPENLORA_WEB_TOKEN"}
    done = subprocess.run(
        [agent(), "web", "--host", "0.0.0.0", "--runs", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "set OPENLORA_WEB_TOKEN" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_with_a_token_every_route_wants_the_login_and_the_token_is_never_printed(tmp_path):
    env = {**os.environ, "OPENLORA_WEB_TOKEN": TOKEN, "GRADIO_TEMP_DIR": str(tmp_path / "gradio")}
    server = Server(tmp_path, ["--host", "0.0.0.0", "--runs", str(tmp_path / "runs")], env)
    server.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}config", timeout=5)
        assert refused.value.code == 401
        with urllib.request.urlopen(server.url, timeout=5) as page:  # the login form, not the app
            body = page.read().decode()
        assert TOKEN not in body
    finally:
        server.stop()
    output = server.output()
    assert "login: user 'openlora'" in output and TOKEN not in output and TOKEN[:8] not in output


def test_untrusted_text_reaches_the_page_as_text():
    assert plain("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert (
        chat_html("<img src=x onerror=alert(1)> & \x07") == "&lt;img src=x onerror=alert(1)&gt; &amp; \\x07"
    )
