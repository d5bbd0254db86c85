"""``relaunch_on_filtered_data`` and ``relaunch_on_synthesized_data``: the next attempt on changed data.

Both read the previous attempt's training file (with its column mapping), write the new file under
``RUN_ROOT/data/`` in the trainer's own column names, register it as a dataset id the supervisor can
inspect (``filtered`` / ``extended``), and start the next attempt from scratch on it: weights trained
on the old rows are not worth continuing from. Every other setting is the previous attempt's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext, ToolError
from openlora.tools.relaunch_from_checkpoint import start_next_attempt
from openlora.tools.settings import AttemptNumber
from openlora.tools.synthesize_data import MIN_SEED_PAIRS
from openlora.trainer.rundir import GoalDir, RunDir, read_json

# The new file replaces the old one under the trainer's own column names.
NO_MAPPING = {"prompt_column": None, "response_column": None, "text_column": None}

SynthesizedPairs = Annotated[
    int, Field(ge=1, le=2000, description="New pairs to generate from the training pairs (quality-gated).")
]


def _previous(ctx: RunContext, from_attempt: int) -> tuple[Path, Any]:
    from openlora.trainer.data_files import ColumnMap

    spec = read_json(RunDir(ctx.existing_attempt(from_attempt)).spec)
    return Path(spec["dataset"]), ColumnMap.of(spec)


def _launch_on(ctx: RunContext, from_attempt: int, dataset_id: str, target: Path) -> dict[str, Any]:
    ctx.datasets[dataset_id] = target
    changes = {"dataset": str(target), **NO_MAPPING}
    return start_next_attempt(ctx, from_attempt, changes, use_checkpoint=False) | {"dataset_id": dataset_id}


def relaunch_on_filtered_data(ctx: RunContext, from_attempt: AttemptNumber) -> dict[str, Any]:
    """Start the next attempt, from scratch, on the training rows whose answers only state facts
    their prompts support (the adapter learned to invent facts, or to break the output format)."""
    from openlora.synthesis.filtering import filter_unsupported

    source, columns = _previous(ctx, from_attempt)
    target = GoalDir(ctx.run_root).data / f"filtered-for-attempt-{from_attempt + 1}.jsonl"
    try:
        filtered = filter_unsupported(source, target, columns)
    except ValueError as exc:
        raise ToolError(f"relaunch_on_filtered_data: {exc}") from None
    launched = _launch_on(ctx, from_attempt, "filtered", target)
    return launched | {"kept": filtered["kept"], "dropped_lines": filtered["dropped_lines"][:10]}


def relaunch_on_synthesized_data(
    ctx: RunContext, from_attempt: AttemptNumber, pairs: SynthesizedPairs = 50
) -> dict[str, Any]:
    """Start the next attempt, from scratch, on the training rows plus ``pairs`` new pairs the advisor
    writes from them (each through the quality gate: duplicates, length, language, topic, leakage
    into the validation file). For a training set too small for its goal."""
    from openlora.synthesis.filtering import as_row
    from openlora.synthesis.generate import read_pairs, synthesize
    from openlora.trainer.data_files import read_records
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    source, columns = _previous(ctx, from_attempt)
    records = read_records(source, columns)
    seeds = [{"prompt": r.prompt, "response": r.response} for r in records if r.kind == "pair"]
    if len(seeds) < MIN_SEED_PAIRS:
        raise ToolError(
            f"relaunch_on_synthesized_data: the training file has {len(seeds)} prompt/response pairs; "
            f"synthesis needs at least {MIN_SEED_PAIRS}"
        )
    if ctx.advisor is None:
        raise ToolError("relaunch_on_synthesized_data: no advisor model to write pairs with")
    eval_items = read_pairs(ctx.datasets["eval"]) if "eval" in ctx.datasets else []
    result = synthesize(seeds, pairs, ctx.advisor, eval_items, seed=from_attempt)
    if not result.pairs:
        raise ToolError(
            f"relaunch_on_synthesized_data: the quality gate kept none of the generated pairs "
            f"(dropped {dict(result.report['dropped'])})"
        )
    target = GoalDir(ctx.run_root).data / f"extended-for-attempt-{from_attempt + 1}.jsonl"
    write_jsonl_atomic(target, [as_row(r) for r in records] + result.pairs)
    write_json_atomic(target.with_suffix(".report.json"), result.report)
    launched = _launch_on(ctx, from_attempt, "extended", target)
    return launched | {
        "rows_before": len(records),
        "added": len(result.pairs),
        "dropped_by_gate": sum(result.report["dropped"].values()),
    }
