"""The Hugging Face side of exports: PEFT adapter folder, LoRA ``.pt`` state dict, merged model.

Each writer checks what it wrote by loading it back the way its consumer will (peft,
``torch.load(weights_only=True)``, ``AutoModelForCausalLM.from_pretrained``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openlora.trainer.export.gguf_check import GGUFCheckError, reference_logits

# How this process loaded the tokenizer (offline, from a local path); not settings for whoever loads
# the export, so they are not kept in its tokenizer_config.json.
LOAD_ONLY_KEYS = ("local_files_only", "trust_remote_code", "gguf_file", "cache_dir", "revision", "token")


def save_tokenizer(tokenizer: Any, folder: Path) -> None:
    """``tokenizer.save_pretrained`` without the keys that only described how it was loaded here."""
    tokenizer.save_pretrained(folder)
    path = folder / "tokenizer_config.json"
    if path.is_file():
        config = json.loads(path.read_text(encoding="utf-8"))
        kept = {k: v for k, v in config.items() if k not in LOAD_ONLY_KEYS}
        if kept != config:
            path.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_adapter(model: Any, tokenizer: Any, folder: Path) -> dict[str, Any]:
    """PEFT folder: adapter_config.json + adapter_model.safetensors (+ tokenizer files)."""
    from safetensors.torch import load_file

    model.save_pretrained(folder, save_embedding_layers=False)
    save_tokenizer(tokenizer, folder)
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    if not tensors or not any("lora_" in name for name in tensors):
        raise RuntimeError(f"{folder}: the saved adapter holds no LoRA tensors")
    return {"lora_tensors": len(tensors)}


def write_pt(model: Any, folder: Path) -> dict[str, Any]:
    """The LoRA state dict as adapter.pt (tensors only) plus adapter_config.json."""
    from peft import get_peft_model_state_dict

    state = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    path = folder / "adapter.pt"
    torch.save(state, path)
    config = model.peft_config["default"].to_dict()
    config = {k: (sorted(v) if isinstance(v, set) else v) for k, v in config.items()}
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2, default=str), encoding="utf-8")
    loaded = torch.load(path, weights_only=True)
    if loaded.keys() != state.keys() or not all(torch.equal(loaded[k], state[k]) for k in state):
        raise RuntimeError(f"{path}: reloading the state dict did not give back the same tensors")
    return {"lora_tensors": len(state)}


def write_merged(
    merged_model: Any, tokenizer: Any, folder: Path, prompt_ids: list[list[int]], reference: list[np.ndarray]
) -> dict[str, Any]:
    """The base with the adapter merged, as safetensors; reloaded and compared with ``reference``."""
    from transformers import AutoModelForCausalLM

    merged_model.hf_quantizer = None
    merged_model.config.quantization_config = None
    if hasattr(merged_model.config, "quantization_config"):
        del merged_model.config.quantization_config
    merged_model.save_pretrained(folder, safe_serialization=True)
    save_tokenizer(tokenizer, folder)
    reloaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    got = reference_logits(reloaded, prompt_ids)
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(got, reference, strict=True))
    if max_diff > 1e-3:
        raise GGUFCheckError(
            f"{folder}: the merged model's logits differ from the adapter's by {max_diff:.3g}"
        )
    return {"check": {"max_abs_logit_diff": max_diff}}
