"""``web``: the self-hosted web page (Gradio) for people who never open a terminal.

What it is for: checking the options of ``openlora-agent web`` (the upload limit, the approval
policy) and handing them to ``openlora.web.server.serve``; the token for a non-loopback address comes
from ``OPENLORA_WEB_TOKEN`` only, so it never lands in shell history or ``ps``.
What it is not for: the page itself (``openlora.web``). Gradio is imported inside the command, so
``openlora-agent --help`` answers at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail


def web(
    host: Annotated[
        str, typer.Option(help="Address to bind (loopback by default; others need OPENLORA_WEB_TOKEN).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the page.")] = 7860,
    runs_root: Annotated[
        Path, typer.Option("--runs", help="Folder of runs; uploads go to RUNS/uploads/.")
    ] = Path("runs"),
    max_upload: Annotated[
        str, typer.Option("--max-upload", help="Largest upload (e.g. 1GiB, 500MB).")
    ] = "1GiB",
    base_model: Annotated[
        str, typer.Option("--base-model", help="Base model new goals start from.")
    ] = "embedded:smollm2",
    approval: Annotated[str, typer.Option(help="Approval policy of new goals: ask or auto.")] = "ask",
) -> None:
    """Serve the web page: upload data, start and watch supervised runs, approve fixes, chat with the result.

    Any address but loopback needs a token in OPENLORA_WEB_TOKEN (the login's password)."""
    from openlora.ui_core.uploads import parse_size
    from openlora.web.security import USER_ENV, BindRefused, token_from_env
    from openlora.web.settings import WebSettings

    if approval not in ("ask", "auto"):
        fail(f"--approval: expected ask or auto, got {approval!r}")
    try:
        limit = parse_size(max_upload)
    except ValueError as exc:
        fail(f"--max-upload: {exc}")
    from openlora.web.server import serve

    settings = WebSettings(
        runs=runs_root.resolve(), base_model=base_model, approval=approval, max_upload=limit
    )
    try:
        serve(settings, host, port, token_from_env(), os.environ.get(USER_ENV) or "openlora")
    except BindRefused as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc}", code=1)
