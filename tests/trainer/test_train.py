"""End-to-end training on tiny models: the loss falls, LoRA weights move, the base does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import RunDir, loss_trace, read_events
from tests.conftest import make_run


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_tiny_model_learns_and_only_lora_changes(family, request, kv_dataset, tmp_path, run_in_process):
    base_dir: Path = request.getfixturevalue(f"tiny_{family}")
    run = make_run(tmp_path / "run", base_model=str(base_dir), dataset=str(kv_dataset), max_steps=40)

    result = run_in_process(run)

    assert result.status == RunStatus.COMPLETED, result.message
    losses = list(loss_trace(RunDir(run).metrics).values())
    assert len(losses) == 40
    assert _mean(losses[-5:]) < _mean(losses[:5]) - 0.3, losses

    # LoRA weights moved away from their init (B starts at zero), the base stayed bit-identical.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = load_file(str(Path(result.adapter_dir) / "adapter_model.safetensors"))
    lora_b = [t for name, t in adapter.items() if "lora_B" in name]
    assert lora_b and all(t.abs().max() > 0 for t in lora_b)

    original = load_file(str(base_dir / "model.safetensors"))
    base = AutoModelForCausalLM.from_pretrained(base_dir)
    model = PeftModel.from_pretrained(base, result.adapter_dir)
    base_state = {
        k.replace("base_model.model.", "").replace(".base_layer", ""): v
        for k, v in model.state_dict().items()
        if "lora_" not in k
    }
    for name, tensor in original.items():
        assert torch.equal(base_state[name], tensor), name

    # The adapter changes the model's output.
    ids = torch.tensor([[1, 5, 9, 12]])
    with torch.no_grad():
        adapted = model(ids).logits
        with model.disable_adapter():
            plain = model(ids).logits
    assert not torch.allclose(adapted, plain)


def test_step_events_carry_the_contract_fields(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=12, eval_every=4
    )
    assert run_in_process(run).status == RunStatus.COMPLETED
    events = read_events(RunDir(run).metrics)
    kinds = {e["event"] for e in events}
    assert {"run_start", "step", "eval", "checkpoint", "completed"} <= kinds
    step = next(e for e in events if e["event"] == "step")
    for field in ("step", "loss", "grad_norm", "lr", "tokens_per_s", "step_time_s", "rss_mb", "time"):
        assert field in step, field
    assert step["tokens_per_s"] > 0 and step["rss_mb"] > 0
    evals = [e for e in events if e["event"] == "eval"]
    assert all(e["val_loss"] > 0 for e in evals)
    # the last step is due an evaluation (12 % eval_every == 0): it is the final one, made once
    assert [e["step"] for e in evals] == [4, 8, 12]


def test_gradient_accumulation_and_checkpointing_train(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=6,
        batch_size=2,
        grad_accum=3,
        gradient_checkpointing=True,
        warmup_steps=2,
        lr_scheduler="cosine",
    )
    result = run_in_process(run)
    assert result.status == RunStatus.COMPLETED, result.message
    lrs = [e["lr"] for e in read_events(RunDir(run).metrics) if e["event"] == "step"]
    assert lrs[0] < lrs[1] and lrs[-1] < max(lrs)  # warmup then decay


def test_target_modules_that_match_nothing_is_an_error(tiny_llama, kv_dataset, tmp_path, run_in_process):
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(kv_dataset),
        max_steps=2,
        target_modules=["no_such_proj"],
    )
    result = run_in_process(run)
    assert result.status == RunStatus.ERROR
    assert "no_such_proj" in result.message
