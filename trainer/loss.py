"""Summed next-token cross-entropy over labelled positions, computing logits only where needed.

For pair and chat data only response tokens carry loss, often a tenth of the sequence. For model
families whose output is a plain linear head over the backbone's last hidden state, the head is
applied only at labelled positions, which skips most of the vocabulary projection and softmax.
Other families (logit soft-capping, logit scaling, …) go through the model's own forward and
full logits. Both paths give the same number; the tests check that.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
import torch.nn.functional as F

from openlora.trainer.data import IGNORE_INDEX
from openlora.trainer.segment_attention import SEGMENTS_KWARG

# Families whose logits are exactly lm_head(backbone(...).last_hidden_state).
PLAIN_HEAD_FAMILIES = frozenset(
    {"llama", "mistral", "mixtral", "qwen2", "qwen3", "gpt2", "falcon", "gpt_neox", "phi", "phi3"}
)


class LabelledTokenLoss:
    """Callable returning the summed loss of a collated batch for a (peft-wrapped) causal LM."""

    def __init__(self, model: Any, per_example_attention: bool = False) -> None:
        self.model = model
        self.per_example_attention = per_example_attention  # pass each row's example slices along
        causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
        model_type = getattr(causal_lm.config, "model_type", "")
        backbone = getattr(causal_lm, getattr(causal_lm, "base_model_prefix", ""), None)
        head = causal_lm.get_output_embeddings()
        self.split = model_type in PLAIN_HEAD_FAMILIES and backbone is not None and head is not None
        self.backbone, self.head = (backbone, head) if self.split else (None, None)

    def __call__(
        self, batch: dict[str, torch.Tensor], autocast: contextlib.AbstractContextManager[Any] | None = None
    ) -> torch.Tensor:
        inputs = {"input_ids": batch["input_ids"], "position_ids": batch["position_ids"], "use_cache": False}
        if self.per_example_attention:
            inputs[SEGMENTS_KWARG] = batch["segments"]
        targets = batch["labels"][:, 1:]
        with autocast or contextlib.nullcontext():
            if self.split:
                hidden = self.backbone(**inputs).last_hidden_state
                keep = targets != IGNORE_INDEX
                logits = self.head(hidden[:, :-1][keep])
                return F.cross_entropy(logits.float(), targets[keep], reduction="sum")
            logits = self.model(**inputs).logits
        # Shift the labels, not the logits, so the big logits tensor is never copied.
        shifted = F.pad(targets, (0, 1), value=IGNORE_INDEX)
        return F.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)),
            shifted.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        )
