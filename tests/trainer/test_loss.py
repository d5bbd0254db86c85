"""The labelled-token loss equals the model's own mean loss, on both of its paths."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from openlora.trainer.config import TrainConfig
from openlora.trainer.data import IGNORE_INDEX, Example, collate, pack_examples
from openlora.trainer.loss import LabelledTokenLoss
from openlora.trainer.models import apply_lora


def _batch() -> dict[str, torch.Tensor]:
    rows = [
        Example(input_ids=[5, 6, 7, 8, 9, 10], labels=[IGNORE_INDEX] * 3 + [8, 9, 10], line=1),
        Example(input_ids=[11, 12, 13, 14], labels=[IGNORE_INDEX, IGNORE_INDEX, 13, 14], line=2),
        Example(input_ids=[20, 21, 22], labels=[20, 21, 22], line=3),
    ]
    return collate(pack_examples(rows, max_len=8, packing=True), pad_id=3)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("split", [True, False])
def test_loss_matches_model_loss(family, split, request):
    base = AutoModelForCausalLM.from_pretrained(request.getfixturevalue(f"tiny_{family}"))
    model = apply_lora(base, TrainConfig.model_validate({"dataset": "unused"}))
    loss_fn = LabelledTokenLoss(model)
    assert loss_fn.split  # both families have a plain head
    loss_fn.split = split
    batch = _batch()
    n_labels = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    with torch.no_grad():
        ours = loss_fn(batch)
        inputs = {k: batch[k] for k in ("input_ids", "position_ids", "labels")}
        reference = model(**inputs, use_cache=False).loss
    torch.testing.assert_close(ours / n_labels, reference, rtol=1e-5, atol=1e-6)
