"""``probe_batch_size``: before attempt 1, the largest micro-batch of the planned config that fits, measured.

The planned config (or, ``after_attempt`` N, the config of attempt N that ran out of memory) is set up
in the goal's probe folder (``GoalDir.memory_probe_after``) and one forward,
backward and optimizer step runs over each candidate micro-batch size, built from the longest training
sequence (``python -m openlora.trainer.memory_probe``). Given ``lengths``, it runs one sequence at each
of those token counts instead (batch 1; its own folder, ``GoalDir.length_probe_after``): what fits when
not even one whole sequence does. The tool waits for it (at most ``timeout_s``) and returns each trial's
peak memory and time, the largest size and the longest sequence that fitted, and the memory budget.
Only the probe folder is written.
"""

from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext, ToolError
from openlora.tools.probe_process import probe_config, run_probe
from openlora.tools.settings import Supervised
from openlora.trainer.config import config_setting
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import GoalDir, RunDir

BatchSize = Annotated[int, Field(ge=1, le=4096)]
Lengths = Annotated[list[config_setting("max_seq_len")], Field(min_length=1, max_length=8)]


def probe_batch_size(
    ctx: RunContext,
    sizes: Annotated[list[BatchSize], Field(min_length=1, max_length=8)],
    training_config: Annotated[dict[str, Any], Supervised],
    timeout_s: Annotated[float, Field(gt=0, le=3600), Supervised] = 600.0,
    after_attempt: Annotated[int, Field(ge=0, le=1000), Supervised] = 0,
    lengths: Annotated[Lengths | None, Supervised] = None,
) -> dict[str, Any]:
    """Measure which micro-batch sizes of the planned config fit in memory and return the largest."""
    spec = dict(training_config) | {"outputs": ["adapter"], "eval_every": 1_000_000, "save_every": 1_000_000}
    config = probe_config(spec, "probe_batch_size")
    goal_dir = GoalDir(ctx.run_root)
    rd = goal_dir.length_probe_after(after_attempt) if lengths else goal_dir.memory_probe_after(after_attempt)
    if rd.result.exists():
        return _read(rd, 0.0)  # a resumed goal reads the probe it already ran
    listed = [",".join(str(size) for size in sorted(set(sizes)))]
    if lengths:
        listed.append(",".join(str(length) for length in sorted(set(lengths))))
    module = "openlora.trainer.memory_probe"
    seconds = run_probe("probe_batch_size", rd, config, module, *listed, timeout_s=timeout_s)
    return _read(rd, seconds)


def _read(rd: RunDir, seconds: float) -> dict[str, Any]:
    if not rd.result.exists():
        raise ToolError(f"probe_batch_size: the probe wrote no result (see {rd.trainer_log.name})")
    result = RunResult.read(rd.result)
    evidence = result.evidence
    return {
        "status": result.status.value,
        "message": result.message[:300],
        "trials": evidence.get("trials", []),
        "largest_fitting": evidence.get("largest_fitting"),
        "longest_fitting_tokens": evidence.get("longest_fitting_tokens"),
        "budget_gib": evidence.get("budget_gib"),
        "device": evidence.get("device"),
        "seconds": round(seconds, 1),
    }
