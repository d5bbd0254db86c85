"""The ``openlora-agent`` command line (Typer): the app, and which module provides each command.

What it is for: creating the Typer ``app`` (the console entry point ``openlora.cli.main:app``) and
mounting the commands in the order ``--help`` lists them; ``version`` lives here.
What it is not for: the commands themselves, which live by audience in ``train_commands`` (train,
resume, export, eval), ``publish_commands`` (publish), ``supervise_commands`` (run),
``memory_commands`` (history, incidents, memory), ``data_commands`` (import-logs, synth),
``build_commands`` (build-dataset), ``pack_commands`` (import, packs), ``serve_commands`` (metrics,
tui, chat-model) and ``web_commands`` (web), with shared helpers in ``common``. Heavy libraries
(torch, transformers, peft, gradio) are imported inside the commands that need them, so
``openlora-agent --help`` answers at once. Commands stay thin: they parse arguments, call the core,
and print; they never hold training logic.
"""

from __future__ import annotations

import sys

import typer

from openlora.cli import (
    build_commands,
    data_commands,
    memory_commands,
    pack_commands,
    publish_commands,
    serve_commands,
    supervise_commands,
    train_commands,
    web_commands,
)

app = typer.Typer(
    name="openlora-agent",
    help="OpenLoRA: LoRA fine-tuning that watches and repairs its own training runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version() -> None:
    """Print the OpenLoRA version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("openlora"))


# Registration order is the order of `openlora-agent --help`; the sub-apps are listed after the commands.
app.command()(train_commands.train)
app.command()(supervise_commands.run)
app.command()(train_commands.resume)
app.command()(train_commands.export)
app.command()(publish_commands.publish)
app.command("chat-model")(serve_commands.chat_model)
app.command()(memory_commands.history)
app.command("eval")(train_commands.eval_run)
app.command("import")(pack_commands.import_command)
app.command("import-logs")(data_commands.import_logs_command)
app.command()(data_commands.synth)
app.command("build-dataset")(build_commands.build_dataset_command)
app.command()(serve_commands.metrics)
app.command()(serve_commands.tui)
app.command()(web_commands.web)
app.command()(version)
app.add_typer(memory_commands.incidents_app, name="incidents")
app.add_typer(memory_commands.memory_app, name="memory")
app.add_typer(pack_commands.packs_app, name="packs")


def main() -> None:  # pragma: no cover - console entry convenience
    app(sys.argv[1:])
