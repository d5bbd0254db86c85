"""The registry: every tool the supervisor and the advisor may call, as langchain-core StructuredTools.

Each tool is a plain function in its own module; its signature (with the bounds of the trainer's own
config, see ``tools.settings``) is its argument schema and its docstring is its description: nothing
else spells a tool's arguments. Parameters marked as supervised (the run context, attempt numbers,
patch ids) are injected by the supervisor and hidden from the advisor's schema.

:func:`validate_call` refuses an unknown tool, an argument the schema does not have, and a value out
of its bounds, before any code runs; :func:`invoke` validates, then runs the tool. Tools take attempt
numbers and dataset ids, never paths.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from langchain_core.tools import StructuredTool
from pydantic import ValidationError

from openlora.tools.context import ToolContext, ToolError
from openlora.tools.export_model import export_model
from openlora.tools.inspect_dataset import inspect_dataset
from openlora.tools.launch_run import launch_run
from openlora.tools.patch_hyperparams import patch_hyperparams
from openlora.tools.probe_batch_size import probe_batch_size
from openlora.tools.probe_learning_rate import probe_learning_rate
from openlora.tools.read_telemetry import read_telemetry
from openlora.tools.recall_incidents import recall_incidents
from openlora.tools.relaunch_from_checkpoint import relaunch_from_checkpoint
from openlora.tools.relaunch_on_data import relaunch_on_filtered_data, relaunch_on_synthesized_data
from openlora.tools.score_outputs import score_outputs
from openlora.tools.stop_run import stop_run
from openlora.tools.synthesize_data import synthesize_data

FUNCTIONS: list[Callable[..., dict[str, Any]]] = [
    launch_run,
    read_telemetry,
    patch_hyperparams,
    relaunch_from_checkpoint,
    relaunch_on_filtered_data,
    relaunch_on_synthesized_data,
    stop_run,
    inspect_dataset,
    probe_learning_rate,
    probe_batch_size,
    recall_incidents,
    export_model,
    synthesize_data,
    score_outputs,
]
TOOLS: dict[str, StructuredTool] = {
    f.__name__: StructuredTool.from_function(f, name=f.__name__, description=inspect.getdoc(f))
    for f in FUNCTIONS
}
TOOL_NAMES: tuple[str, ...] = tuple(TOOLS)
CONTEXT_ARG = "ctx"


class ToolCallError(ToolError):
    """A call the registry refuses before running anything; the message names the tool and argument.

    ``out_of_bounds`` is True when the call had the schema's shape and only a numeric bound failed
    (the one thing llama.cpp's grammar does not enforce).
    """

    def __init__(self, message: str, out_of_bounds: bool = False) -> None:
        super().__init__(message)
        self.out_of_bounds = out_of_bounds


BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}


def get_tool(name: str) -> StructuredTool:
    if name not in TOOLS:
        raise ToolCallError(f"unknown tool {str(name)[:64]!r}; registered: {', '.join(TOOL_NAMES)}")
    return TOOLS[name]


def chooser_args(name: str) -> set[str]:
    """The arguments a chooser (the advisor) may set: the schema without the supervised ones."""
    return set(get_tool(name).tool_call_schema.model_json_schema().get("properties", {}))


def chooser_schema(name: str) -> dict[str, Any]:
    """The JSON schema of the arguments the advisor may set (bounds included)."""
    return get_tool(name).tool_call_schema.model_json_schema()


def validate_call(name: str, args: dict[str, Any], supervised: dict[str, Any]) -> dict[str, Any]:
    """The validated arguments of ``name`` called with ``args`` (the chooser's) and ``supervised``.

    Raises ToolCallError for an unknown tool, an argument the chooser may not set, or a value the
    tool's own schema refuses (with the argument, the bound and the value, truncated).
    """
    tool = get_tool(name)
    if not isinstance(args, dict):
        raise ToolCallError(f"{name}: arguments must be an object; got {str(args)[:80]!r}")
    unknown = sorted(set(args) - chooser_args(name))
    if unknown:
        raise ToolCallError(f"{name}: unknown argument(s) {[str(u)[:40] for u in unknown]}")
    try:
        tool.args_schema.model_validate({**args, **supervised})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        bounds_only = all(e["type"] in BOUND_ERRORS for e in exc.errors())
        raise ToolCallError(
            f"{name}: {where}: {first['msg']} (got {str(first.get('input'))[:80]!r})", bounds_only
        ) from None
    return {**args, **supervised}


def invoke(
    name: str, ctx: ToolContext, args: dict[str, Any], supervised: dict[str, Any] | None = None
) -> Any:
    """Validate, then run tool ``name`` bound to ``ctx``."""
    checked = validate_call(name, args, {CONTEXT_ARG: ctx, **(supervised or {})})
    return get_tool(name).invoke(checked)
