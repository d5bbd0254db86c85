"""Does a packed batch let one example see another? A check for bench/trainer_throughput.py.

The model runs forward (eval mode, no dropout, no gradient) on a packed batch exactly as the trainer
feeds it, and again on each packed example alone; the logits at an example's positions must be the
same either way. A difference above ``LEAK_TOLERANCE`` (float32) means tokens attended across an
example boundary. Done for TRL's padding-free batch (its data collator on its prepared dataset) and,
as a control, for OpenLoRA's ``collate`` of ``pack_examples`` sequences (position ids restarting at
each example, no attention mask). Not a throughput figure and not a test of the loss.
"""

from __future__ import annotations

from typing import Any

import torch

LEAK_TOLERANCE = 1e-3


@torch.no_grad()
def _segment_diffs(model: Any, inputs: dict[str, Any], segments: list[tuple[int, int, int]]) -> list[float]:
    """Max |Δlogit| per (row, start, length) segment between the packed forward and the example alone."""
    device = next(model.parameters()).device
    inputs = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    packed = model(**inputs, use_cache=False).logits
    ids = inputs["input_ids"]
    diffs = []
    for row, start, length in segments:
        alone = model(input_ids=ids[row : row + 1, start : start + length], use_cache=False).logits[0]
        diffs.append(float((packed[row, start : start + length] - alone).abs().max()))
    return diffs


def _report(diffs: list[float], rows: int, length: int) -> dict[str, Any]:
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    return {
        "max_abs_logit_diff": max(diffs),
        "examples_compared": len(diffs),
        "worst_example": worst,
        "batch_shape": [rows, length],
        "leaks": max(diffs) > LEAK_TOLERANCE,
        "tolerance": LEAK_TOLERANCE,
    }


def _eval(model: Any) -> bool:
    was_training = model.training
    model.eval()
    return was_training


def trl_packing_leaks(trainer: Any, model: Any) -> dict[str, Any]:
    """TRL's first padding-free batch (its collator on its prepared, packed dataset) against each
    example alone; every example after the first in the flattened row is one that could leak."""
    rows = [
        trainer.train_dataset[i]
        for i in range(min(trainer.args.per_device_train_batch_size, len(trainer.train_dataset)))
    ]
    batch = trainer.data_collator(rows)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist()
    ends = [*starts[1:], batch["position_ids"].size(1)]
    segments = [(0, s, e - s) for s, e in zip(starts, ends, strict=True)]
    was_training = _eval(model)
    try:
        diffs = _segment_diffs(model, inputs, segments)
    finally:
        model.train(was_training)
    return {**_report(diffs, *batch["input_ids"].shape), "attention": "masked (flattened padding-free row)"}


def openlora_packing_leaks(
    model: Any, sequences: list[Any], pad_id: int, per_example: bool = False
) -> dict[str, Any]:
    """Control: OpenLoRA's collate of packed sequences, fed as its loss feeds the model (input ids and
    position ids, no attention mask; with ``per_example``, each row's example slices on the trainer's
    per-example attention), against each example alone."""
    from openlora.trainer.data import collate

    batch = collate(sequences, pad_id)
    inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"]}
    segments = []
    for row, seq in enumerate(sequences):
        start = 0
        for length in seq.segments:
            segments.append((row, start, length))
            start += length
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if per_example:
        from openlora.trainer.segment_attention import SEGMENTS_KWARG, enable

        per_example = enable(base)
        if per_example:
            inputs[SEGMENTS_KWARG] = batch["segments"]
    was_training = _eval(model)
    try:
        diffs = _segment_diffs(model, inputs, segments)
    finally:
        model.train(was_training)
        if per_example:
            base.set_attn_implementation("sdpa")
    return {
        **_report(diffs, *batch["input_ids"].shape),
        "attention": "per example" if per_example else "masked",
    }
