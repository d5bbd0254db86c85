"""``metrics``, ``tui`` and ``chat-model``: the long-running fronts a person watches or talks to.

What it is for: starting the Prometheus endpoint, the conversational TUI (in the terminal or served to
a browser) and the terminal chat with an exported model, after checking their options.
What it is not for: the metrics themselves (``openlora.observability``), the TUI's screens
(``openlora.tui``) or the chat loop (``openlora.cli.chat``). Heavy imports stay inside the functions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail


def chat_model(
    run_dir: Annotated[Path | None, typer.Argument(help="Run directory with a GGUF export.")] = None,
    gguf: Annotated[Path | None, typer.Option("--gguf", help="GGUF model file instead of a run.")] = None,
    lora: Annotated[Path | None, typer.Option("--lora", help="LoRA adapter GGUF to apply to --gguf.")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, max=8192, help="Most tokens per answer.")] = 256,
    temperature: Annotated[float, typer.Option(min=0.0, max=5.0, help="Sampling temperature.")] = 0.7,
    system: Annotated[str | None, typer.Option(help="System message for the conversation.")] = None,
) -> None:
    """Chat in the terminal with an exported model (streams tokens; Ctrl-D quits)."""
    from openlora.cli.chat import ChatModelError, resolve_run_models, run_chat
    from openlora.trainer.export.gguf_check import GGUFCheckError

    if (run_dir is None) == (gguf is None):
        fail("give a RUN_DIR or --gguf PATH (not both)")
    if lora is not None and gguf is None:
        fail("--lora needs --gguf")
    try:
        model, adapter = resolve_run_models(run_dir) if run_dir is not None else (gguf, lora)
        code = run_chat(model, adapter, max_tokens, temperature, system)
    except (ChatModelError, GGUFCheckError) as exc:
        fail(str(exc), code=1)
    raise typer.Exit(code)


def metrics(
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder holding run folders.")] = Path("runs"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the /metrics endpoint.")] = 9464,
    host: Annotated[str, typer.Option(help="Address to bind (default loopback only).")] = "127.0.0.1",
) -> None:
    """Serve Prometheus metrics for every run under --runs until interrupted.

    Any address but loopback needs a bearer token in OPENLORA_METRICS_TOKEN."""
    import threading

    server = start_metrics(runs_root, port, host)
    typer.echo(f"serving http://{host}:{port}/metrics for {runs_root} (Ctrl-C stops)", err=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


def start_metrics(runs_root: Path, port: int, host: str) -> object:
    """The Prometheus endpoint in a daemon thread (exit 2 with the reason when it cannot start)."""
    import os

    from openlora.observability.exporter import TOKEN_ENV, serve

    try:
        server, _ = serve(runs_root, port, host, os.environ.get(TOKEN_ENV) or None)
    except (ValueError, OSError) as exc:
        fail(f"metrics on {host}:{port}: {exc}")
    return server


def tui(
    runs_root: Annotated[Path, typer.Option("--runs", help="Folder that receives run folders.")] = Path(
        "runs"
    ),
    web: Annotated[bool, typer.Option("--web", help="Serve the app to a browser (textual-serve).")] = False,
    host: Annotated[
        str, typer.Option(help="Address to bind with --web (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --web.")] = 8080,
    base_model: Annotated[
        str, typer.Option("--base-model", help="Base model new drafts start from.")
    ] = "embedded:smollm2",
    approval: Annotated[str, typer.Option(help="Approval policy of new drafts: ask or auto.")] = "ask",
) -> None:
    """The conversational app: describe a tuning job, review the draft, approve, watch, approve fixes."""
    if approval not in ("ask", "auto"):
        fail(f"--approval: expected ask or auto, got {approval!r}")
    if web:
        _serve_tui_to_browser(runs_root, host, port, base_model, approval)
        return
    from openlora.tui.app import OpenLoRAApp
    from openlora.tui.services import TuiSettings

    OpenLoRAApp(TuiSettings(runs=runs_root.resolve(), base_model=base_model, approval=approval)).run()


def _serve_tui_to_browser(runs_root: Path, host: str, port: int, base_model: str, approval: str) -> None:
    """``tui --web``: textual-serve starts ``python -m openlora.tui`` with these options per browser tab.

    textual-serve has no authentication, so only loopback addresses are served."""
    import shlex

    from textual_serve.server import Server

    from openlora.observability.exporter import is_loopback

    if not is_loopback(host):
        fail(
            f"--host {host}: the browser TUI has no login, so it binds loopback only; reach it from another "
            "machine through an SSH tunnel (ssh -L 8080:127.0.0.1:8080 …) or an authenticating proxy"
        )

    command = shlex.join(
        [
            sys.executable,
            "-m",
            "openlora.tui",
            "--runs",
            str(runs_root.resolve()),
            "--base-model",
            base_model,
            "--approval",
            approval,
        ]
    )
    typer.echo(f"serving the OpenLoRA TUI on http://{host}:{port}", err=True)
    Server(command, host=host, port=port, title="OpenLoRA").serve()
