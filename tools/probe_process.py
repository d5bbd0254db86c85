"""What the probe tools share: the probe's config checked, and a trainer probe module run in its folder.

A probe (the learning-rate range test, the memory probe) is a ``python -m openlora.trainer.<module>``
process on a run folder of its own inside the goal folder: ``spec.json`` written first, its output
appended to ``trainer.log``, bounded by a timeout. Reading what it found is each tool's own business.
"""

import os
import time
from typing import Any

from openlora.tools.context import ToolError
from openlora.trainer import spawner
from openlora.trainer.config import TrainConfig
from openlora.trainer.rundir import RunDir, write_json_atomic


def probe_config(spec: dict[str, Any], tool: str) -> TrainConfig:
    """The probe's training config, or a ToolError naming ``tool`` and what was wrong."""
    try:
        return TrainConfig.model_validate(spec)
    except Exception as exc:
        raise ToolError(f"{tool}: invalid training config: {exc}") from None


def run_probe(tool: str, rd: RunDir, config: TrainConfig, module: str, *args: str, timeout_s: float) -> float:
    """Write ``config`` to ``rd`` and run ``python -m module RUN_DIR *args`` there; the seconds it took."""
    rd.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(rd.spec, config.model_dump())
    began = time.time()
    pid = spawner.spawn(module, [str(rd.root), *args], rd.trainer_log, {**os.environ, "TQDM_DISABLE": "1"})
    if not spawner.wait(pid, timeout_s):
        spawner.kill(pid)
        raise ToolError(f"{tool}: no result within {timeout_s:g} s")
    return time.time() - began
