"""Serving the web page: the address and token checked first, then Gradio on that address only.

What it is for: :func:`serve` refuses a non-loopback address without a token (``security``), builds
the page (``app``) and launches it with no share link, no analytics, Gradio's upload limit set to
the page's, server-side rendering off (no Node process) and, with a token, Gradio's login in front
of every page and API route. It prints where it serves, never the token.
What it is not for: parsing command-line options (``cli.web_commands``).
"""

from __future__ import annotations

from collections.abc import Callable

from openlora.web.security import DEFAULT_USER, check_bind, login
from openlora.web.settings import WebSettings


def serve(
    settings: WebSettings,
    host: str,
    port: int,
    token: str | None,
    user: str = DEFAULT_USER,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve until interrupted (``BindRefused`` before anything starts; ``OSError`` if the port is taken)."""
    check_bind(host, token)
    from openlora.web.app import build_app

    demo = build_app(settings)
    demo.queue(default_concurrency_limit=4)
    where = f"http://{host}:{port}/"
    echo(f"serving the OpenLoRA web page on {where} (runs: {settings.runs}; Ctrl-C stops)")
    if token:
        echo(f"login: user {user!r}, password: the token in OPENLORA_WEB_TOKEN")
    demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=login(token, user) if token else None,
        auth_message="OpenLoRA: the password is the token the server was started with.",
        max_file_size=settings.max_upload,
        ssr_mode=False,
        quiet=True,
        show_error=False,
        footer_links=[],
        enable_monitoring=False,
        mcp_server=False,
        pwa=False,
        inbrowser=False,
    )
