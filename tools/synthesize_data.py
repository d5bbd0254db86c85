"""``synthesize_data``: new pairs from a goal dataset with the advisor model, through the quality gate.

Writes ``RUN_ROOT/data/synth-<dataset_id>-<n>.jsonl`` and its report; never writes elsewhere.
"""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext, ToolError
from openlora.tools.inspect_dataset import DatasetId
from openlora.trainer.rundir import GoalDir

MIN_SEED_PAIRS = 3  # the fewest pairs synthesis can show the advisor as examples


def synthesize_data(
    ctx: RunContext,
    dataset_id: DatasetId,
    n: Annotated[int, Field(ge=1, le=10_000, description="Pairs to generate.")] = 50,
) -> dict[str, Any]:
    """Generate more training pairs from a dataset's examples; every pair passes the quality gate."""
    from openlora.synthesis.generate import read_pairs, synthesize
    from openlora.trainer.rundir import write_json_atomic, write_jsonl_atomic

    seeds = read_pairs(ctx.dataset(dataset_id))
    if len(seeds) < MIN_SEED_PAIRS:
        raise ToolError(
            f"dataset {dataset_id!r} has {len(seeds)} pairs; synthesis needs at least {MIN_SEED_PAIRS}"
        )
    eval_items = read_pairs(ctx.datasets["eval"]) if "eval" in ctx.datasets else []
    result = synthesize(seeds, n, ctx.advisor, eval_items)
    target = GoalDir(ctx.run_root).data / f"synth-{dataset_id}-{n}.jsonl"
    write_jsonl_atomic(target, result.pairs)
    write_json_atomic(target.with_suffix(".report.json"), result.report)
    return {"path": target.name, "pairs": len(result.pairs), "dropped": result.report["dropped"]}
