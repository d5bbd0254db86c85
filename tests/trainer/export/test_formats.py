"""Every export format for tiny llama- and gpt2-family models, loaded back by its consumer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from llama_cpp import Llama
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from openlora.trainer.export.exporter import FORMATS, export_run
from openlora.trainer.export.gguf_check import quiet_stderr
from openlora.trainer.rundir import RunDir, sha256_file


def _reference_model(run: Path) -> tuple[object, object]:
    spec = json.loads(RunDir(run).spec.read_text())
    base = AutoModelForCausalLM.from_pretrained(spec["base_model"])
    model = PeftModel.from_pretrained(base, str(RunDir(run).adapter)).eval()
    return model, AutoTokenizer.from_pretrained(spec["base_model"])


def _llama(path: Path, lora: Path | None = None) -> Llama:
    with quiet_stderr():
        return Llama(
            model_path=str(path),
            lora_path=str(lora) if lora else None,
            logits_all=True,
            verbose=False,
            n_ctx=128,
        )


def _no_load_settings_kept(exports):
    """How this machine loaded the tokenizer (offline) is not a setting for whoever loads the export."""
    for folder in ("adapter", "merged"):
        tokenizer_config = json.loads((exports / folder / "tokenizer_config.json").read_text())
        assert "local_files_only" not in tokenizer_config and "trust_remote_code" not in tokenizer_config


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_every_format_exports_and_loads_back(family, request):
    run: Path = request.getfixturevalue(f"{family}_run")
    entries = export_run(run, FORMATS)
    exports = RunDir(run).exports
    model, tokenizer = _reference_model(run)
    ids = tokenizer("key red", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits[0].numpy()

    # adapter: the PEFT folder peft loads
    reloaded = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(json.loads(RunDir(run).spec.read_text())["base_model"]),
        str(exports / "adapter"),
    )
    with torch.no_grad():
        np.testing.assert_allclose(reloaded(torch.tensor([ids])).logits[0].numpy(), expected, atol=1e-5)
    _no_load_settings_kept(exports)
    # pt: tensors only, loadable with weights_only=True, same keys as the safetensors adapter
    state = torch.load(exports / "pt" / "adapter.pt", weights_only=True)
    assert state and all("lora_" in k for k in state)
    assert json.loads((exports / "pt" / "adapter_config.json").read_text())["r"] == 8

    # merged: a plain HF folder
    merged = AutoModelForCausalLM.from_pretrained(exports / "merged")
    assert not any("lora" in name for name, _ in merged.named_parameters())
    with torch.no_grad():
        np.testing.assert_allclose(merged(torch.tensor([ids])).logits[0].numpy(), expected, atol=1e-4)

    # gguf-adapter: base GGUF + LoRA GGUF in llama.cpp
    check = entries["gguf-adapter"]["check"]
    assert check["min_correlation"] >= 0.99 and check["top1_match_rate"] == 1.0 and check["tokenizer_match"]
    folder = exports / "gguf-adapter"
    llm = _llama(folder / "base-f16.gguf", folder / "adapter.gguf")
    llm.eval(ids)
    got = np.asarray(llm.scores[: len(ids)])
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] >= 0.99
    llm.close()

    # gguf: merged model alone, f16 and q8_0, plus an Ollama Modelfile
    checks = entries["gguf"]["checks"]
    assert (
        checks["model-f16.gguf"]["min_correlation"] >= 0.99
        and checks["model-f16.gguf"]["top1_match_rate"] == 1.0
    )
    assert checks["model-q8_0.gguf"]["min_correlation"] >= 0.9
    for name in ("model-f16.gguf", "model-q8_0.gguf"):
        llm = _llama(exports / "gguf" / name)
        out = llm.create_completion("key red", max_tokens=4, temperature=0)
        assert out["choices"][0]["text"] is not None
        llm.close()
    modelfile = (exports / "gguf" / "Modelfile").read_text()
    assert "FROM ./model-q8_0.gguf" in modelfile
    assert ("<|im_start|>" in modelfile) == (family == "llama")  # the llama tokenizer has a ChatML template

    # the manifest records every format with the hashes of the files on disk
    manifest = json.loads((exports / "manifest.json").read_text())
    assert set(manifest["formats"]) == set(FORMATS)
    for entry in manifest["formats"].values():
        for rel, info in entry["files"].items():
            assert sha256_file(exports / entry["path"] / rel) == info["sha256"]
