"""``probe_batch_size``: before attempt 1, the largest micro-batch of the planned config that fits, measured.

The planned config (or, ``after_attempt`` N, the config of attempt N that ran out of memory) is set up
in the goal's probe folder (``GoalDir.memory_probe_after``) and one forward,
backward and optimizer step runs over each candidate micro-batch size, built from the longest training
sequence (``python -m openlora.trainer.memory_probe``). The tool waits for it (at most ``timeout_s``)
and returns each trial's peak memory and time, the largest size that fitted, and the memory budget.
Only the probe folder is written.
"""

import os
import subprocess
import sys
import time
from typing import Annotated, Any

from pydantic import Field

from openlora.tools.context import RunContext, ToolError
from openlora.tools.settings import Supervised
from openlora.trainer.config import TrainConfig
from openlora.trainer.result import RunResult
from openlora.trainer.rundir import GoalDir, RunDir, write_json_atomic

BatchSize = Annotated[int, Field(ge=1, le=4096)]


def probe_batch_size(
    ctx: RunContext,
    sizes: Annotated[list[BatchSize], Field(min_length=1, max_length=8)],
    training_config: Annotated[dict[str, Any], Supervised],
    timeout_s: Annotated[float, Field(gt=0, le=3600), Supervised] = 600.0,
    after_attempt: Annotated[int, Field(ge=0, le=1000), Supervised] = 0,
) -> dict[str, Any]:
    """Measure which micro-batch sizes of the planned config fit in memory and return the largest."""
    spec = dict(training_config) | {"outputs": ["adapter"], "eval_every": 1_000_000, "save_every": 1_000_000}
    try:
        config = TrainConfig.model_validate(spec)
    except Exception as exc:
        raise ToolError(f"probe_batch_size: invalid training config: {exc}") from None
    rd = GoalDir(ctx.run_root).memory_probe_after(after_attempt)
    if rd.result.exists():
        return _read(rd, 0.0)  # a resumed goal reads the probe it already ran
    rd.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(rd.spec, config.model_dump())
    began = time.time()
    listed = ",".join(str(size) for size in sorted(set(sizes)))
    with rd.trainer_log.open("ab") as log:
        try:
            subprocess.run(
                [sys.executable, "-m", "openlora.trainer.memory_probe", str(rd.root), listed],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "TQDM_DISABLE": "1"},
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ToolError(f"probe_batch_size: no result within {timeout_s:g} s") from None
    return _read(rd, time.time() - began)


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
        "budget_gib": evidence.get("budget_gib"),
        "device": evidence.get("device"),
        "seconds": round(seconds, 1),
    }
