"""Attention computed per packed example instead of over the whole packed row.

Why: a packed row of 512 tokens holding four examples of ~130 tokens is kept apart by a
block-diagonal mask, but the attention kernel still computes the full 512 × 512 scores and masks
most of them away (on CPU the profile put attention at ~19 % of a step). Run per example with a
plain causal kernel, attention costs Σ lᵢ²/2 instead of L²: several times less work, the same
numbers (the tests compare logits and loss traces with the masked path).

How: the trainer registers ``openlora_segments`` with transformers' attention interface (and its
mask interface, as sdpa's mask, so anything that calls the model without segments — evaluation
outside the loop, an export's check — gets exactly sdpa). Where a batch carries its examples'
lengths (``SEGMENTS_KWARG``, from ``data.collate``), each example's slice of the queries, keys and
values goes through transformers' own ``sdpa_attention_forward`` with ``is_causal`` (on CPU, a
slice of up to 1024 tokens through the math kernel: 3 % faster a step than the flash kernel, whose
backward is slow on short slices); padding at the end of a row is one more slice, which no real
token can see.

Used only for families whose attention goes through the interface with the decoder's keyword
arguments (``SEGMENT_FAMILIES``) and only when a layer has no sliding window shorter than an
example; everything else keeps sdpa with the mask.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

SEGMENT_ATTENTION = "openlora_segments"
SEGMENTS_KWARG = "openlora_segments"
# Families whose attention modules call ALL_ATTENTION_FUNCTIONS with the decoder's **kwargs.
MATH_KERNEL_MAX_TOKENS = 1024  # a slice's scores: heads × 1024² floats at most, tens of MB
SEGMENT_FAMILIES = frozenset({"llama", "mistral", "qwen2", "qwen3", "gemma", "phi3", "gpt2"})


def segment_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """sdpa over each example's slice when the batch names its examples' lengths; plain sdpa else."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    segments = kwargs.pop(SEGMENTS_KWARG, None)
    # mistral and phi3 pass the window as an argument, qwen2/qwen3 keep it on the module
    window = kwargs.get("sliding_window") or getattr(module, "sliding_window", None)
    if segments is None or (window and max(max(row) for row in segments) > window):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    # split, not slicing: a slice's backward writes a zero tensor of the whole input per slice.
    rows = []
    for q_row, k_row, v_row, lengths in zip(
        query.split(1), key.split(1), value.split(1), segments, strict=True
    ):
        parts = [
            _causal_slice(module, q, k, v, dropout, scaling)
            for q, k, v in zip(
                q_row.split(lengths, dim=2),
                k_row.split(lengths, dim=2),
                v_row.split(lengths, dim=2),
                strict=True,
            )
        ]
        rows.append(torch.cat(parts, dim=1) if len(parts) > 1 else parts[0])
    return torch.cat(rows) if len(rows) > 1 else rows[0], None


def _causal_slice(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    dropout: float,
    scaling: float | None,
) -> torch.Tensor:
    """One example's causal attention; on CPU a short slice goes through the math kernel, which
    measured faster there than the flash kernel's backward (its L×L scores are small at that size)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    short_on_cpu = query.device.type == "cpu" and query.shape[2] <= MATH_KERNEL_MAX_TOKENS
    with sdpa_kernel([SDPBackend.MATH]) if short_on_cpu else contextlib.nullcontext():
        return sdpa_attention_forward(
            module, query, key, value, None, dropout=dropout, scaling=scaling, is_causal=True
        )[0]


def register() -> None:
    """Make ``openlora_segments`` a known attention implementation (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(SEGMENT_ATTENTION, segment_attention_forward)
    ALL_MASK_ATTENTION_FUNCTIONS.register(SEGMENT_ATTENTION, sdpa_mask)


def enable(model: Any) -> bool:
    """Switch a model of a supported family from sdpa to per-example attention; True if it was."""
    config = model.config
    if getattr(config, "model_type", "") not in SEGMENT_FAMILIES or config._attn_implementation != "sdpa":
        return False
    register()
    model.set_attn_implementation(SEGMENT_ATTENTION)
    return True


def row_segments(lengths: list[int], row_length: int) -> list[int]:
    """A packed row's attention slices: its examples' lengths, then its padding as one slice."""
    padding = row_length - sum(lengths)
    return [*lengths, padding] if padding > 0 else list(lengths)
