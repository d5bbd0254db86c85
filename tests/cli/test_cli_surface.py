"""The command line keeps its surface: every command, option, help text and default of the old CLI.

``cli_surface.json`` was collected from ``cli/main.py`` before it was split into the ``*_commands``
modules. A deliberate change to the CLI updates that file in the same commit::

    .venv/bin/python -c "from tests.cli.test_cli_surface import write_snapshot; write_snapshot()"
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from openlora.cli.main import app

SNAPSHOT = Path(__file__).with_name("cli_surface.json")
PARAM_FIELDS = (
    "name", "opts", "secondary_opts", "help", "required", "multiple", "nargs", "metavar", "is_flag",
    "hidden", "min", "max",
)  # fmt: skip


def _describe(command: Any, name: str) -> dict[str, Any]:
    """One command (or group, recursively) as plain data, in the order ``--help`` lists them."""
    params = []
    for param in command.params:
        described = {field: getattr(param, field, None) for field in PARAM_FIELDS}
        descriptor = getattr(param, "type_descriptor", None)
        described |= {
            "kind": type(param).__name__,
            "default": repr(getattr(param, "default", None)),
            "annotation": repr(getattr(descriptor, "annotation", None)),
        }
        params.append(described)
    out: dict[str, Any] = {
        "name": name,
        "help": command.help,
        "no_args_is_help": getattr(command, "no_args_is_help", None),
        "params": params,
    }
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        out["commands"] = [_describe(command.get_command(ctx, n), n) for n in command.list_commands(ctx)]
    return out


def surface(typer_app: typer.Typer = app) -> dict[str, Any]:
    """The whole CLI as JSON-ready data: names, options, help texts, defaults, ranges, order."""
    return json.loads(json.dumps(_describe(typer.main.get_command(typer_app), "openlora-agent")))


def write_snapshot(typer_app: typer.Typer = app) -> None:
    SNAPSHOT.write_text(json.dumps(surface(typer_app), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def test_every_command_option_and_help_text_is_unchanged():
    assert surface() == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_bad_arguments_exit_2_with_the_same_messages(tmp_path):
    not_a_run = str(tmp_path)
    cases = {
        ("resume", not_a_run): f"error: {tmp_path}: no spec.json; not a run directory",
        ("export", not_a_run, "-f", "gguf"): f"error: {tmp_path}: no spec.json; not a run directory",
        ("eval", not_a_run, "--against", "x"): "error: --against 'x': use base or none",
        ("eval", not_a_run): f"error: {tmp_path}: no spec.json; not a run directory",
        ("chat-model",): "error: give a RUN_DIR or --gguf PATH (not both)",
        ("chat-model", not_a_run, "--gguf", "x.gguf"): "error: give a RUN_DIR or --gguf PATH (not both)",
        ("tui", "--approval", "maybe"): "error: --approval: expected ask or auto, got 'maybe'",
        ("import-logs", str(tmp_path / "none.log"), "--out", str(tmp_path / "o.jsonl")): (
            f"error: {tmp_path / 'none.log'}: no such file"
        ),
    }
    for args, message in cases.items():
        result = _invoke(*args)
        assert (result.exit_code, result.stderr.strip()) == (2, message), args
        assert result.stdout == ""


def test_history_on_an_empty_home_and_version(home):
    assert (_invoke("history").exit_code, _invoke("history").stdout) == (0, "no runs recorded yet\n")
    version = _invoke("version")
    assert version.exit_code == 0 and version.stdout.strip()
