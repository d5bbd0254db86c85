"""FLOPs of a LoRA training step on a frozen base, on two bases, for bench/trainer_throughput.py.

Model basis (the same for every trainer; the useful work per real token):
    2 · (2N + 2 · layers · hidden · mean_example_len)
with N the parameters used in matmuls (every Linear / Conv1D, the LM head included): forward 2N plus
input-gradient backward 2N (the frozen N gets no weight gradient), logits at every position, and
causal attention (QKᵀ and AV, 2 · 2 · hidden · context per layer, half of it masked) at the mean
example length, forward and backward alike.

Hardware basis (what a trainer executes, from the tensor shapes of each step), summed per step:
    base linears   positions · 4 · Σ d_in·d_out       every position of the input tensor, padding
                                                      included; forward 2 + input-gradient 2, no
                                                      weight gradient (frozen); LM head excluded
    LoRA           positions · 6 · Σ r·(d_in + d_out) forward 2, input-gradient 2, weight grads 2
                                                      per adapted module
    LM head        head_positions · 2 · passes · hidden · vocab
                                                      only where the trainer projects: OpenLoRA at
                                                      labelled positions (trainer/loss.py), the padded
                                                      Trainer at every position, TRL's fused chunked
                                                      head at every shifted position on CPU (labelled
                                                      ones only with Triton on CUDA); passes = 2
                                                      (forward, input-gradient), 3 for TRL, whose
                                                      backward recomputes each logits tile
    attention      area · 4 · attn_width · layers · 3 forward 4·L²·width per row and layer (QKᵀ, AV)
                                                      for a masked kernel, half that for a pure causal
                                                      one (no mask: SDPA ``is_causal``); backward 2×
                                                      forward; area = Σ_rows L² or L²/2
``area`` follows transformers' mask construction (masking_utils.create_causal_mask for SDPA): a mask
is materialized, so the kernel computes the full L×L, when the 2-D attention mask holds padding or
when position ids restart inside a row (packed sequences: the block-diagonal mask); otherwise SDPA
runs with ``is_causal`` and computes about half. OpenLoRA's rows are its packed sequences (padded to
the longest of the batch) under that mask, or, with the trainer's per-example attention
(``packed_attention="per_example"``), each example and the row's padding as its own causal slice
(area Σ l²/2); the Trainer's rows are padded examples, and TRL padding-free flattens the whole batch
into one row, so its kernel attends over (Σ tokens)² under the mask. Not counted: norms, activations,
softmax, the embedding lookup, the input-gradients autograd skips in the first layer's q/k/v (their
input needs no gradient), and the recomputation inside flash-style attention backward kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class StepShape:
    """What one training step (all its micro-batches) ran, as the FLOPs count needs it."""

    positions: int  # positions of the input tensors, padding included
    real_tokens: int
    head_positions: int  # positions the LM head projected
    attention_area: float  # Σ over rows of the query×key pairs the attention kernel computes

    def __add__(self, other: StepShape) -> StepShape:
        return StepShape(
            self.positions + other.positions,
            self.real_tokens + other.real_tokens,
            self.head_positions + other.head_positions,
            self.attention_area + other.attention_area,
        )


@dataclass(frozen=True)
class ModelDims:
    """The matmul sizes of a peft-wrapped causal LM."""

    layers: int
    attention_width: int  # heads · head_dim
    base_linear: int  # Σ d_in·d_out over the base model's linears, LM head excluded
    head: int  # hidden · vocab
    lora: int  # Σ r·(d_in + d_out) over adapted modules
    matmul_params: int  # every Linear / Conv1D weight, LM head included (model basis)

    @classmethod
    def of(cls, model: Any) -> ModelDims:
        from transformers.pytorch_utils import Conv1D

        cfg = model.config
        layers = getattr(cfg, "num_hidden_layers", None) or cfg.n_layer
        hidden = getattr(cfg, "hidden_size", None) or cfg.n_embd
        heads = getattr(cfg, "num_attention_heads", None) or cfg.n_head
        head_dim = getattr(cfg, "head_dim", None) or hidden // heads
        lora_parts = {id(m) for n, m in model.named_modules() if ".lora_A." in n or ".lora_B." in n}
        lora = sum(m.weight.numel() for n, m in model.named_modules() if ".lora_A." in n or ".lora_B." in n)
        head = model.get_output_embeddings()
        linears = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, Conv1D))]
        base = [m for m in linears if id(m) not in lora_parts and m is not head]
        return cls(
            layers=layers,
            attention_width=heads * head_dim,
            base_linear=sum(m.weight.numel() for m in base),
            head=head.weight.numel(),
            lora=lora,
            matmul_params=sum(m.weight.numel() for m in base) + head.weight.numel(),
        )


def model_flops_per_token(dims: ModelDims, mean_context: float) -> float:
    """Model basis: forward + input-gradient backward of every matmul, causal attention at the mean length."""
    attention = 2 * 2 * dims.layers * dims.attention_width * mean_context / 2  # QKᵀ and AV, causal half
    return 2 * (2 * dims.matmul_params + attention)


def hardware_flops(dims: ModelDims, shape: StepShape, head_passes: int = 2) -> float:
    """Hardware basis: the FLOPs one step executed (see the module docstring)."""
    linear = shape.positions * 4 * dims.base_linear
    lora = shape.positions * 6 * dims.lora
    head = shape.head_positions * 2 * head_passes * dims.head
    attention = shape.attention_area * 4 * dims.attention_width * dims.layers * 3
    return float(linear + lora + head + attention)


def attention_area(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None, position_ids: torch.Tensor | None
) -> float:
    """Σ_rows L² when transformers materializes a mask for SDPA (padding or packed rows), else L²/2."""
    from transformers.masking_utils import find_packed_sequence_indices

    rows, length = input_ids.shape
    if attention_mask is not None:
        dense = not bool(attention_mask.all())
    else:
        dense = position_ids is not None and find_packed_sequence_indices(position_ids) is not None
    return rows * length**2 * (1.0 if dense else 0.5)


def batch_shape(batch: dict[str, Any], head_positions: int) -> StepShape:
    """The shape record of one collated micro-batch (``input_ids``, optional mask and position ids)."""
    input_ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    real = int(mask.sum()) if mask is not None else int(batch.get("real_tokens", input_ids.numel()))
    area = attention_area(input_ids, mask, batch.get("position_ids"))
    return StepShape(int(input_ids.numel()), real, head_positions, area)


def openlora_order(config: Any, tokenizer: Any) -> Any:
    """OpenLoRA's micro-batches by index (``MicroBatchOrder``), rebuilt from the run's config: they are a
    pure function of (seed, index), so this gives the very sequences each step of the run trained on."""
    from openlora.trainer.batches import MicroBatchOrder, prepare_data

    return MicroBatchOrder(prepare_data(config, tokenizer), config.batch_size, config.seed)


def per_example_attention(config: Any, model: Any) -> bool:
    """Whether OpenLoRA's trainer attends per packed example (``packed_attention="per_example"`` on a
    family ``segment_attention`` supports) rather than over the whole row under the block mask."""
    try:
        from openlora.trainer.segment_attention import SEGMENT_FAMILIES
    except ImportError:  # a trainer without per-example attention
        return False
    wanted = getattr(config, "packed_attention", "masked") == "per_example"
    return wanted and getattr(model.config, "model_type", "") in SEGMENT_FAMILIES


def openlora_shapes(
    order: Any, config: Any, pad_id: int, split_head: bool, per_example: bool = False
) -> list[StepShape]:
    """The shapes of OpenLoRA's steps, each the ``collate`` of its ``grad_accum`` micro-batches.

    ``split_head``: the loss applies the LM head at labelled positions only (``LabelledTokenLoss.split``).
    ``per_example``: attention runs causally on each row's slices (its examples, then its padding),
    Σ l²/2; otherwise over the whole row under the block-diagonal mask, L² per row.
    """
    from openlora.trainer.data import IGNORE_INDEX, collate

    shapes = []
    for step in range(config.max_steps):
        total = StepShape(0, 0, 0, 0.0)
        for index in range(step * config.grad_accum, (step + 1) * config.grad_accum):
            batch = collate(order(index), pad_id)
            labelled = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
            shape = batch_shape(batch, labelled if split_head else int(batch["input_ids"].numel()))
            if per_example:
                area = sum(length**2 / 2 for row in batch["segments"] for length in row)
                shape = StepShape(shape.positions, shape.real_tokens, shape.head_positions, area)
            total += shape
        shapes.append(total)
    return shapes


def per_step(micro: list[StepShape], grad_accum: int) -> list[StepShape]:
    """Micro-batch shapes summed into optimizer steps of ``grad_accum`` micro-batches."""
    steps = []
    for start in range(0, len(micro) - grad_accum + 1, grad_accum):
        total = StepShape(0, 0, 0, 0.0)
        for shape in micro[start : start + grad_accum]:
            total += shape
        steps.append(total)
    return steps
