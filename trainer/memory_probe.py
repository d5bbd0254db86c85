"""``python -m openlora.trainer.memory_probe RUN_DIR SIZES``: the largest micro-batch that fits, measured.

The folder's ``spec.json`` is the planned training config. The probe sets the run up as training
would (data, model, LoRA, optimizer, under the config's ``memory_limit_gb``), then, for each batch
size in ``SIZES`` (comma-separated, tried smallest first), runs one forward and backward pass over
that many copies of the longest training sequence — the worst micro-batch the run can meet — and an
optimizer step. It records each trial's peak memory (CUDA: ``max_memory_allocated``; CPU: the
process's peak resident size, which only grows, so trials run in increasing size) and stops at the
first size that runs out of memory. Each trial is a ``memory_trial`` event in ``metrics.jsonl``;
``result.json`` says ``completed`` with ``evidence.trials``, ``evidence.largest_fitting`` (None when
not even the smallest fits) and ``evidence.budget_gib`` (the memory there was to fit into). Choosing
a batch size from that is the supervisor's job (``tools.probe_batch_size``). Nothing is trained: the
adapter's weights are never saved.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import torch

from openlora.trainer.data import collate
from openlora.trainer.main import failure_result, load_spec
from openlora.trainer.result import RunResult, RunStatus, is_out_of_memory
from openlora.trainer.rundir import RunDir

GIB = 2**30


def _peak_bytes(use_cuda: bool) -> int:
    if use_cuda:
        return int(torch.cuda.max_memory_allocated())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _budget_bytes(use_cuda: bool, limit_gib: float | None) -> int:
    """The memory a run may use: the device's, or the config's limit over what is mapped now, or the
    machine's available memory."""
    if use_cuda:
        return int(torch.cuda.mem_get_info()[1])
    if limit_gib is not None:
        return psutil.Process().memory_info().rss + int(limit_gib * GIB)
    return psutil.Process().memory_info().rss + int(psutil.virtual_memory().available)


def measure(recipe: Any, sizes: list[int]) -> list[dict[str, Any]]:
    """Try each size in increasing order; stop at the first that runs out of memory."""
    trials: list[dict[str, Any]] = []
    longest = max(recipe.train_seqs, key=lambda s: len(s.input_ids))
    for size in sorted(set(sizes)):
        batch = recipe._to_device(collate([longest] * size, recipe.tokenizer.pad_token_id))
        if recipe.use_cuda:
            torch.cuda.reset_peak_memory_stats()
        began = time.perf_counter()
        try:
            loss = recipe._loss_sum(batch) / max(1, size)
            (recipe.scaler.scale(loss) if recipe.scaler is not None else loss).backward()
            recipe.optimizer.step()  # AdamW's state is allocated on the first step: part of the peak
            fits = True
        except BaseException as exc:
            if not is_out_of_memory(exc):
                raise
            fits = False
        finally:
            recipe.optimizer.zero_grad(set_to_none=True)
            del batch
            gc.collect()
        trial = {
            "batch_size": size,
            "tokens": len(longest.input_ids),
            "fits": fits,
            "peak_gib": round(_peak_bytes(recipe.use_cuda) / GIB, 3),
            "seconds": round(time.perf_counter() - began, 2),
        }
        recipe.metrics.write("memory_trial", **trial)
        trials.append(trial)
        if not fits:
            break
    return trials


def run_probe(root: Path, sizes: list[int]) -> RunResult:
    """Set the run up, measure each size, and write ``result.json``."""
    from openlora.trainer.guards import memory_limit
    from openlora.trainer.recipe import LoRARecipe

    run_dir = RunDir(root)
    run_dir.result.unlink(missing_ok=True)
    recipe = None
    try:
        config = load_spec(run_dir)
        recipe = LoRARecipe(run_dir, config)
        recipe.setup()
        budget = _budget_bytes(recipe.use_cuda, config.memory_limit_gb)
        with memory_limit(config.memory_limit_gb):
            trials = measure(recipe, sizes)
        fitting = [t["batch_size"] for t in trials if t["fits"]]
        largest = max(fitting) if fitting else None
        result = RunResult(
            RunStatus.COMPLETED,
            f"largest micro-batch that fits: {largest}" if largest else "not even the smallest batch fits",
            evidence={
                "trials": trials,
                "largest_fitting": largest,
                "budget_gib": round(budget / GIB, 2),
                "device": str(recipe.device),
            },
        )
    except BaseException as exc:
        result = failure_result(exc, recipe)
    finally:
        if recipe is not None:
            recipe.cleanup()
    result.write(run_dir.result)
    return result


def parse_sizes(text: str) -> list[int]:
    """``"1,2,4"`` → [1, 2, 4]; every size a positive integer of at most 4096."""
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(not 1 <= s <= 4096 for s in sizes):
        raise ValueError(f"batch sizes must be integers from 1 to 4096, got {text[:80]!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        root, sizes = Path(args[0]), parse_sizes(args[1])
    except (IndexError, ValueError) as exc:
        usage = "usage: python -m openlora.trainer.memory_probe RUN_DIR SIZES (e.g. 1,2,4,8)"
        print(f"{usage}: {exc}", file=sys.stderr)
        return 2
    result = run_probe(root, sizes)
    print(f"{result.status.value}: {result.message}", file=sys.stderr)
    return 0 if result.status == RunStatus.COMPLETED else 1


if __name__ == "__main__":
    raise SystemExit(main())
