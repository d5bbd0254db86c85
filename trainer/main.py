"""Entry point of the trainer subprocess: read ``spec.json``, run the recipe, write ``result.json``.

This is the only place where exceptions become statuses: a data problem becomes ``data_error``,
an allocation failure ``oom``, a bad model or anything unexpected ``error`` with the traceback's
tail as evidence. Whatever happens, ``result.json`` is written. It is launchable as
``python -m openlora.trainer RUN_DIR`` locally, under ``torchrun``, or by a cluster engine.
"""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from openlora.trainer.config import ConfigError, TrainConfig, parse_config
from openlora.trainer.data_files import DataError
from openlora.trainer.result import RunResult, RunStatus, is_out_of_memory
from openlora.trainer.rundir import RunDir, read_json

if TYPE_CHECKING:
    from openlora.trainer.recipe import LoRARecipe


def load_spec(run_dir: RunDir) -> TrainConfig:
    """Read and validate ``spec.json``."""
    try:
        data = read_json(run_dir.spec)
    except FileNotFoundError:
        raise ConfigError(f"{run_dir.spec}: no such file; a run directory needs spec.json") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{run_dir.spec}: expected a JSON object")
    return parse_config(data, str(run_dir.spec))


def run_training(
    root: Path, adjust: Callable[[LoRARecipe], None] | None = None, export: bool = True
) -> RunResult:
    """Train the run in ``root`` (resuming from its newest complete checkpoint) and record the result.

    ``adjust`` may change the set-up recipe before training (the learning-rate probe's schedule);
    ``export=False`` writes no outputs. Under torchrun (``RANK``/``WORLD_SIZE`` set) this is one rank:
    rank 0 writes ``result.json``; another rank writes ``rank-N.result.json`` only when it fails.
    """
    from openlora.trainer import ranks as rank_group
    from openlora.trainer.guards import StopFlag, memory_limit
    from openlora.trainer.recipe import LoRARecipe

    run_dir = RunDir(root)
    ranks = rank_group.from_env()
    outcome_file = run_dir.result if ranks.is_main else run_dir.rank_result(ranks.rank)
    outcome_file.unlink(missing_ok=True)
    stop = StopFlag()
    stop.install()
    recipe: LoRARecipe | None = None
    try:
        config = load_spec(run_dir)
        recipe = LoRARecipe(run_dir, config, stop, ranks)
        recipe.setup()
        if adjust is not None:
            adjust(recipe)
        with memory_limit(config.memory_limit_gb):
            result = recipe.train()
        if result.status == RunStatus.COMPLETED and export and ranks.is_main:
            result = recipe.export_outputs(result)
    except BaseException as exc:
        result = failure_result(exc, recipe)
    finally:
        stop.restore()
        if recipe is not None:
            recipe.cleanup()
        ranks.stop()
    if ranks.is_main or result.status != RunStatus.COMPLETED:
        result.write(outcome_file)
    return result


def failure_result(exc: BaseException, recipe: object) -> RunResult:
    """How a run (or a probe on a run folder) that raised ``exc`` ended: a config or data error, out of
    memory (with the batch settings), interrupted, or an error with its traceback tail."""
    if isinstance(exc, ConfigError):
        return RunResult(RunStatus.ERROR, str(exc), evidence={"kind": "config"})
    if isinstance(exc, DataError):
        evidence = {"file": exc.path, "line": exc.line, "reason": exc.reason, **exc.figures}
        return RunResult(RunStatus.DATA_ERROR, str(exc), evidence=evidence)
    step = getattr(recipe, "step", 0)
    if is_out_of_memory(exc):
        gc.collect()
        config = getattr(recipe, "config", None)
        evidence = {
            "error": str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__,
            "batch_shape": list(getattr(recipe, "current_batch_shape", None) or []),
        }
        if config is not None:
            evidence.update(
                batch_size=config.batch_size,
                max_seq_len=config.max_seq_len,
                grad_accum=config.grad_accum,
                gradient_checkpointing=config.gradient_checkpointing,
                memory_limit_gb=config.memory_limit_gb,
            )
        return RunResult(RunStatus.OOM, f"out of memory at step {step + 1}", step=step, evidence=evidence)
    if _collective_failed(exc, recipe):
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        return RunResult(
            RunStatus.ERROR,
            f"a collective with the other ranks failed at step {step + 1}: {first}",
            step=step,
            evidence={"kind": "distributed", "error": first},
        )
    if isinstance(exc, KeyboardInterrupt):
        return RunResult(RunStatus.KILLED, "interrupted before training started", step=step)
    tail = traceback.format_exception(exc)[-6:]
    from openlora.trainer.models import ModelLoadError

    kind = "model" if isinstance(exc, ModelLoadError) else type(exc).__name__
    return RunResult(
        RunStatus.ERROR,
        f"{type(exc).__name__}: {exc}",
        step=step,
        evidence={"kind": kind, "traceback_tail": tail},
    )


_COLLECTIVE_MARKERS = ("gloo", "nccl", "connection", "timed out", "timeout", "broken pipe", "peer")


def _collective_failed(exc: BaseException, recipe: object) -> bool:
    """Whether ``exc`` is a DDP collective failing (a peer rank went away or hung)."""
    ranks = getattr(recipe, "ranks", None)
    if ranks is None or not ranks.distributed or not isinstance(exc, RuntimeError):
        return False
    import torch.distributed as dist

    text = str(exc).lower()
    return isinstance(exc, dist.DistError) or any(marker in text for marker in _COLLECTIVE_MARKERS)


def run_dir_cli(argv: list[str] | None, module: str, run: Callable[[Path], RunResult]) -> int:
    """``python -m MODULE RUN_DIR``: ``run`` the folder, print how it ended; 0 only when completed."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(f"usage: python -m {module} RUN_DIR   (RUN_DIR holds spec.json)", file=sys.stderr)
        return 2
    result = run(Path(args[0]))
    print(f"{result.status.value}: {result.message}", file=sys.stderr)
    return 0 if result.status == RunStatus.COMPLETED else 1


def main(argv: list[str] | None = None) -> int:
    return run_dir_cli(argv, "openlora.trainer", run_training)


if __name__ == "__main__":
    raise SystemExit(main())
