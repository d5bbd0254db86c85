"""Base-model sources and per-architecture LoRA targets, all offline."""

from __future__ import annotations

import time

import pytest
from transformers import AutoModelForCausalLM, FalconConfig, MistralConfig, Qwen2Config

from openlora.trainer.config import TrainConfig
from openlora.trainer.models import (
    ModelLoadError,
    apply_lora,
    default_target_modules,
    embedded_gguf_path,
    load_tokenizer,
    resolve_source,
)
from openlora.trainer.result import RunStatus
from tests.conftest import make_run

SMALL_DECODER = {
    "vocab_size": 64,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


def _wrapped(peft_model) -> set[str]:
    return {name.split(".")[-1] for name, module in peft_model.named_modules() if hasattr(module, "lora_A")}


def _config(**settings) -> TrainConfig:
    return TrainConfig.model_validate({"dataset": "unused.jsonl", **settings})


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            FalconConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=4),
            {"query_key_value", "dense"},
        ),
        (MistralConfig(**SMALL_DECODER), {"q_proj", "k_proj", "v_proj", "o_proj"}),
        (Qwen2Config(**SMALL_DECODER), {"q_proj", "k_proj", "v_proj", "o_proj"}),
    ],
)
def test_lora_targets_follow_the_architecture(config, expected):
    model = AutoModelForCausalLM.from_config(config)
    assert set(default_target_modules(model)) == expected
    peft_model = apply_lora(model, _config())
    assert _wrapped(peft_model) == expected
    assert all(not p.requires_grad for n, p in peft_model.named_parameters() if "lora_" not in n)


def test_explicit_target_modules_override(tiny_llama):
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    peft_model = apply_lora(model, _config(target_modules=["gate_proj"]))
    assert _wrapped(peft_model) == {"gate_proj"}


def test_hub_id_not_in_cache_fails_fast_and_clearly():
    source = resolve_source(_config(base_model="some-org/not-downloaded-model"))
    assert source.kind == "hub"
    began = time.time()
    with pytest.raises(ModelLoadError) as info:
        load_tokenizer(source)
    assert time.time() - began < 30
    message = str(info.value)
    assert "some-org/not-downloaded-model" in message and "not in the local Hugging Face cache" in message


def test_embedded_default_is_the_packaged_gguf():
    source = resolve_source(_config())
    assert source.kind == "gguf" and source.gguf_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert embedded_gguf_path().stat().st_size > 50_000_000


def test_four_bit_without_cuda_is_a_clear_error(tiny_llama, kv_dataset, tmp_path, run_in_process):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the CPU refusal cannot be observed")
    run = make_run(
        tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=2, load_in_4bit=True
    )
    result = run_in_process(run)
    assert result.status == RunStatus.ERROR
    assert "load_in_4bit" in result.message and "CUDA" in result.message


def test_hub_id_already_in_the_local_cache_trains_offline(tiny_llama, kv_dataset, tmp_path):
    """A hub id resolves from the HF cache layout (refs/main → snapshots/<rev>) with no network."""
    import os
    import shutil

    from openlora.trainer.result import RunResult
    from openlora.trainer.rundir import RunDir
    from tests.conftest import run_trainer_subprocess

    cache = tmp_path / "hub"
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / "models--local-org--tiny-llama"
    shutil.copytree(tiny_llama, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision, encoding="utf-8")
    run = make_run(tmp_path / "run", base_model="local-org/tiny-llama", dataset=str(kv_dataset), max_steps=2)

    proc = run_trainer_subprocess(run, env={**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"})
    result = RunResult.read(RunDir(run).result)
    assert proc.returncode == 0 and result.status == RunStatus.COMPLETED, result.message
