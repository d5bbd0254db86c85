"""Per-example attention over packed rows: the same numbers as the block-diagonal mask, less work.

Checked per family on tiny models built from configs: a packed batch's logits equal each example
run alone; families outside the supported set (falcon) and layers whose sliding window is shorter
than an example keep the mask; and a whole training run gives the same loss trace either way.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM

from openlora.trainer import segment_attention
from openlora.trainer.data import PackedSequence, collate
from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import RunDir, loss_trace, read_events
from tests.conftest import make_run
from tests.fixtures.tiny_models import build_tiny_model

EXAMPLE_LENGTHS = ([7, 12, 5], [20], [3, 3, 9, 1])  # rows of several examples, padded to 24


def _packed_batch() -> tuple[dict, list[PackedSequence]]:
    generator = torch.Generator().manual_seed(1)
    sequences = []
    for lengths in EXAMPLE_LENGTHS:
        ids = torch.randint(4, 100, (sum(lengths),), generator=generator).tolist()
        positions = [i for n in lengths for i in range(n)]
        sequences.append(PackedSequence(ids, ids, positions, list(lengths)))
    batch = collate(sequences, pad_id=3)
    assert batch["segments"] == [[7, 12, 5], [20, 4], [3, 3, 9, 1, 8]]  # padding is one more slice
    return batch, sequences


def _logits(model, batch: dict, per_example: bool) -> torch.Tensor:
    extra = {segment_attention.SEGMENTS_KWARG: batch["segments"]} if per_example else {}
    with torch.no_grad():
        return model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False, **extra
        ).logits


def _alone(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]


@pytest.mark.parametrize("family", sorted(segment_attention.SEGMENT_FAMILIES))
def test_each_packed_example_attends_only_to_itself_as_when_run_alone(family, tmp_path):
    model = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path, family), attn_implementation="sdpa"
    )
    model.eval()
    batch, sequences = _packed_batch()
    masked = _logits(model, batch, per_example=False)
    assert segment_attention.enable(model) and model.config._attn_implementation == "openlora_segments"
    per_example = _logits(model, batch, per_example=True)
    for row, sequence in enumerate(sequences):
        start = 0
        for length in sequence.segments:
            alone = _alone(model, sequence.input_ids[start : start + length])
            torch.testing.assert_close(per_example[row, start : start + length], alone, atol=1e-5, rtol=1e-5)
            start += length
        real = sum(sequence.segments)
        torch.testing.assert_close(per_example[row, :real], masked[row, :real], atol=1e-5, rtol=1e-5)
    # Without segments (an export's check, a generation) the switched model is plain sdpa.
    torch.testing.assert_close(_logits(model, batch, per_example=False), masked, atol=0, rtol=0)


def test_a_family_without_the_attention_interface_keeps_the_mask(tmp_path):
    model = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path, "falcon"), attn_implementation="sdpa"
    )
    assert not segment_attention.enable(model)
    assert model.config._attn_implementation == "sdpa"


def test_a_sliding_window_shorter_than_an_example_falls_back_to_the_mask(tmp_path):
    """mistral passes its config's window to the attention function (qwen2/qwen3 keep it on the
    layer, which the function reads too)."""
    model = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path, "mistral"), attn_implementation="sdpa"
    )
    model.eval()
    model.config.sliding_window = 4  # shorter than most examples: slices would ignore the window
    batch, _ = _packed_batch()
    reference = _logits(model, batch, per_example=False)
    assert segment_attention.enable(model)
    torch.testing.assert_close(_logits(model, batch, per_example=True), reference, atol=0, rtol=0)
    model.config.sliding_window = None
    assert not torch.allclose(_logits(model, batch, per_example=False), reference)  # the window mattered


def test_training_gives_the_same_loss_trace_with_per_example_attention_as_with_the_mask(
    tiny_llama, kv_dataset, tmp_path, run_in_process
):
    """The optimisation changes the work, not the numbers: 12 steps on packed rows of several
    examples, both ways; losses and gradient norms agree to 1e-4 relative (float32 summation order
    differs between one masked kernel call and one call per example)."""
    traces, norms = {}, {}
    for mode in ("per_example", "masked"):
        run = make_run(
            tmp_path / mode,
            base_model=str(tiny_llama),
            dataset=str(kv_dataset),
            max_steps=12,
            packed_attention=mode,
        )
        result = run_in_process(run)
        assert result.status == RunStatus.COMPLETED, result.message
        events = read_events(RunDir(run).metrics)
        start = next(e for e in events if e["event"] == "run_start")
        assert start["packed_attention"] == mode
        assert start["dataset"]["train_sequences"] < start["dataset"]["train_examples"] / 2  # packed
        traces[mode] = list(loss_trace(RunDir(run).metrics).values())
        norms[mode] = [e["grad_norm"] for e in events if e["event"] == "step"]
    assert len(traces["masked"]) == 12
    torch.testing.assert_close(
        torch.tensor(traces["per_example"]), torch.tensor(traces["masked"]), rtol=1e-4, atol=0
    )
    torch.testing.assert_close(
        torch.tensor(norms["per_example"]), torch.tensor(norms["masked"]), rtol=1e-4, atol=0
    )
