"""``python -m openlora.trainer.memory_probe RUN_DIR SIZES [LENGTHS]``: what fits in memory, measured.

The folder's ``spec.json`` is the planned training config. The probe sets the run up as training
would (data, model, LoRA, optimizer, under the config's ``memory_limit_gb``), then, for each batch
size in ``SIZES`` (comma-separated, tried smallest first), runs one forward and backward pass over
that many copies of the longest training sequence — the worst micro-batch the run can meet — and an
optimizer step. It records each trial's peak memory (CUDA: ``max_memory_allocated``; CPU: the
process's peak resident size, which only grows, so trials run in increasing size) and stops at the
first size that runs out of memory. With ``LENGTHS`` (comma-separated token counts), the trials are
instead one sequence at each length (the longest sequence cut to that many tokens), shortest first,
stopping at the first that runs out of memory: what fits when not even one full sequence does.
Each trial is a ``memory_trial`` event in ``metrics.jsonl``; ``result.json`` says ``completed`` with
``evidence.trials``, ``evidence.largest_fitting`` (the largest batch, None when not even the smallest
fits), ``evidence.longest_fitting_tokens`` (the most tokens of a trial that fitted) and
``evidence.budget_gib`` (the memory there was to fit into). Choosing a config from that is the
supervisor's job (``tools.probe_batch_size``). Nothing is trained: the adapter's weights are never saved.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
import torch

from openlora.trainer.data import PackedSequence, collate
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


def _trial(recipe: Any, sequences: list[PackedSequence]) -> dict[str, Any]:
    """One forward, backward and optimizer step over ``sequences``; whether it fitted and its peak."""
    batch = recipe._to_device(collate(sequences, recipe.tokenizer.pad_token_id))
    if recipe.use_cuda:
        torch.cuda.reset_peak_memory_stats()
    began = time.perf_counter()
    try:
        loss = recipe._loss_sum(batch) / max(1, len(sequences))
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
        "batch_size": len(sequences),
        "tokens": max(len(s.input_ids) for s in sequences),
        "fits": fits,
        "peak_gib": round(_peak_bytes(recipe.use_cuda) / GIB, 3),
        "seconds": round(time.perf_counter() - began, 2),
    }
    recipe.metrics.write("memory_trial", **trial)
    return trial


def _cut(sequence: PackedSequence, tokens: int) -> PackedSequence:
    """The first ``tokens`` tokens of ``sequence``, as a packed sequence of that length would start."""
    segments, left = [], tokens
    for length in sequence.segments:
        if left <= 0:
            break
        segments.append(min(length, left))
        left -= length
    return PackedSequence(
        input_ids=sequence.input_ids[:tokens],
        labels=sequence.labels[:tokens],
        position_ids=sequence.position_ids[:tokens],
        segments=segments,
    )


def _longest(recipe: Any) -> PackedSequence:
    return max(recipe.train_seqs, key=lambda s: len(s.input_ids))


def _until_out_of_memory(recipe: Any, batches: Iterable[list[PackedSequence]]) -> list[dict[str, Any]]:
    """A trial of each batch in turn (growing: the CPU peak only grows); stop at the first that runs out."""
    trials: list[dict[str, Any]] = []
    for sequences in batches:
        trials.append(_trial(recipe, sequences))
        if not trials[-1]["fits"]:
            break
    return trials


def measure(recipe: Any, sizes: list[int]) -> list[dict[str, Any]]:
    """Try each batch size in increasing order; stop at the first that runs out of memory."""
    longest = _longest(recipe)
    return _until_out_of_memory(recipe, ([longest] * size for size in sorted(set(sizes))))


def measure_lengths(recipe: Any, lengths: list[int]) -> list[dict[str, Any]]:
    """One sequence at each length in increasing order (the longest cut to it); stop at the first that
    runs out of memory. Lengths past the longest sequence are not tried (they would repeat it)."""
    longest = _longest(recipe)
    tried = sorted({min(t, len(longest.input_ids)) for t in lengths})
    return _until_out_of_memory(recipe, ([_cut(longest, tokens)] for tokens in tried))


def run_probe(root: Path, sizes: list[int], lengths: list[int] | None = None) -> RunResult:
    """Set the run up, measure each batch size (or, given ``lengths``, each length at batch 1), and
    write ``result.json``."""
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
            trials = measure_lengths(recipe, lengths) if lengths else measure(recipe, sizes)
        fitting = [t for t in trials if t["fits"]]
        largest = max((t["batch_size"] for t in fitting), default=None)
        longest = max((t["tokens"] for t in fitting), default=None)
        if lengths:
            message = (
                f"longest sequence that fits: {longest} tokens" if longest else "not even the shortest fits"
            )
        else:
            message = (
                f"largest micro-batch that fits: {largest}" if largest else "not even the smallest batch fits"
            )
        result = RunResult(
            RunStatus.COMPLETED,
            message,
            evidence={
                "trials": trials,
                "largest_fitting": largest,
                "longest_fitting_tokens": longest,
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


def parse_sizes(text: str, what: str = "batch sizes", high: int = 4096) -> list[int]:
    """``"1,2,4"`` → [1, 2, 4]; every value a positive integer of at most ``high``."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(not 1 <= v <= high for v in values):
        raise ValueError(f"{what} must be integers from 1 to {high}, got {text[:80]!r}")
    return values


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        root, sizes = Path(args[0]), parse_sizes(args[1])
        lengths = parse_sizes(args[2], "sequence lengths", 32768) if len(args) > 2 else None
    except (IndexError, ValueError) as exc:
        usage = "usage: python -m openlora.trainer.memory_probe RUN_DIR SIZES [LENGTHS] (e.g. 1,2,4,8 64,128)"
        print(f"{usage}: {exc}", file=sys.stderr)
        return 2
    result = run_probe(root, sizes, lengths)
    print(f"{result.status.value}: {result.message}", file=sys.stderr)
    return 0 if result.status == RunStatus.COMPLETED else 1


if __name__ == "__main__":
    raise SystemExit(main())
