"""Tensors in GGUF naming and layout: base weights, LoRA factors and merged weights.

Maps Hugging Face module names to GGUF tensor names with the ``gguf`` package's own tables, applies
the q/k row permutation that GGUF conversion of llama-family models performs, transposes GPT-2's
Conv1D weights, stores Gemma's norm weights as 1 + w, and computes LoRA factors and deltas in that
layout. Base weights come either from an HF state dict or from a GGUF file (dequantized). It also
says which families GGUF export refuses, and why. It does not write files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gguf
import numpy as np
import torch

# HF model_type → llama.cpp architecture name: the families this writer converts, each one checked
# against transformers in llama.cpp on every export (tests/trainer/test_families.py covers each).
ARCH_BY_MODEL_TYPE = {
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma": "gemma",
    "phi3": "phi3",
    "gpt2": "gpt2",
}
# Families refused up front, and why (llama.cpp or this writer cannot reproduce them).
UNSUPPORTED_FAMILIES = {
    "falcon": (
        "llama.cpp's falcon graph is the falcon-7b/40b layout (rotary positions, parallel attention); "
        "this writer does not convert falcon checkpoints, and falcon-rw models (ALiBi, sequential "
        "attention then MLP) cannot be expressed in it"
    ),
}
NON_GGUF_FORMATS = ("adapter", "pt", "merged")
# Architectures whose q/k projections are permuted by GGUF conversion (interleaved → halves rope).
PERMUTED_ARCHES = {"llama"}
# Architectures whose HF RMSNorm computes x * (1 + w): GGUF conversion stores 1 + w.
NORM_PLUS_ONE_ARCHES = {"gemma"}
CONV1D_SUFFIXES = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


class GGUFExportError(RuntimeError):
    """The model cannot be expressed as GGUF (unsupported architecture, unmapped tensor, …)."""


@dataclass(frozen=True)
class ArchInfo:
    """What the tensor layout depends on."""

    arch: str
    n_blocks: int
    n_head: int
    n_head_kv: int

    @property
    def name_map(self) -> gguf.TensorNameMap:
        return gguf.get_tensor_name_map(_model_arch(self.arch), self.n_blocks)


def _model_arch(arch: str) -> gguf.MODEL_ARCH:
    for key, name in gguf.MODEL_ARCH_NAMES.items():
        if name == arch:
            return key
    raise GGUFExportError(f"llama.cpp architecture {arch!r} is unknown to the gguf package")


def unsupported_reason(model_type: str) -> str | None:
    """Why GGUF export refuses the HF ``model_type`` (naming it and the other formats); None if it can."""
    if model_type in ARCH_BY_MODEL_TYPE:
        return None
    supported = ", ".join(sorted(ARCH_BY_MODEL_TYPE))
    why = UNSUPPORTED_FAMILIES.get(model_type, f"GGUF export supports the families {supported}")
    return (
        f"GGUF export does not support the {model_type or 'unknown'} family: {why}. "
        f"Export it as {', '.join(NON_GGUF_FORMATS)} instead"
    )


def arch_from_hf_config(config: Any) -> ArchInfo:
    model_type = getattr(config, "model_type", "")
    arch = ARCH_BY_MODEL_TYPE.get(model_type)
    if arch is None:
        raise GGUFExportError(str(unsupported_reason(model_type)))
    if arch == "gpt2":
        return ArchInfo(arch, config.n_layer, config.n_head, config.n_head)
    heads = config.num_attention_heads
    return ArchInfo(
        arch, config.num_hidden_layers, heads, getattr(config, "num_key_value_heads", None) or heads
    )


def arch_from_gguf(reader: gguf.GGUFReader) -> ArchInfo:
    arch = str(reader.fields["general.architecture"].contents())

    def field(key: str) -> int:
        return int(reader.fields[f"{arch}.{key}"].contents())

    heads = field("attention.head_count")
    kv = (
        int(reader.fields[f"{arch}.attention.head_count_kv"].contents())
        if (f"{arch}.attention.head_count_kv" in reader.fields)
        else heads
    )
    return ArchInfo(arch, field("block_count"), heads, kv)


def permute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """The row permutation convert_hf_to_gguf applies to llama q_proj/k_proj (and so to LoRA B)."""
    rows = weight.shape[0]
    return (
        weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)
    )


def gguf_name(info: ArchInfo, hf_name: str) -> str:
    """GGUF tensor name for an HF parameter name (``model.layers.0.self_attn.q_proj.weight``)."""
    name = info.name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise GGUFExportError(f"no GGUF name for tensor {hf_name!r} ({info.arch})")
    return name


def to_gguf_layout(info: ArchInfo, hf_name: str, weight: np.ndarray) -> np.ndarray:
    """An HF weight as GGUF stores it: Conv1D transposed, llama q/k permuted."""
    if info.arch == "gpt2" and hf_name.endswith(CONV1D_SUFFIXES):
        weight = weight.T
    if info.arch in NORM_PLUS_ONE_ARCHES and hf_name.endswith("norm.weight"):
        weight = weight + 1.0
    if info.arch in PERMUTED_ARCHES:
        if hf_name.endswith("q_proj.weight"):
            weight = permute_rows(weight, info.n_head)
        elif hf_name.endswith("k_proj.weight"):
            weight = permute_rows(weight, info.n_head_kv)
    return np.ascontiguousarray(weight)


def hf_base_tensors(
    info: ArchInfo, state: dict[str, torch.Tensor], tied: bool
) -> Iterator[tuple[str, np.ndarray]]:
    """Base weights of an HF model in GGUF names and layout."""
    for hf_name, tensor in state.items():
        if hf_name == "lm_head.weight" and tied:
            continue
        array = tensor.detach().to(torch.float32).cpu().numpy()
        yield gguf_name(info, hf_name), to_gguf_layout(info, hf_name, array)
    if info.arch == "gpt2":  # llama.cpp's gpt2 graph wants an explicit output matrix
        embed = next(t for n, t in state.items() if n.endswith("wte.weight"))
        yield "output.weight", embed.detach().to(torch.float32).cpu().numpy()


def gguf_base_tensors(reader: gguf.GGUFReader) -> Iterator[tuple[str, np.ndarray]]:
    """Base weights of a GGUF file, dequantized to float32, in file order."""
    from gguf.quants import dequantize

    for tensor in reader.tensors:
        data = dequantize(tensor.data, tensor.tensor_type).astype(np.float32, copy=False)
        yield tensor.name, data.reshape([int(d) for d in reversed(tensor.shape)])


@dataclass
class LoraFactor:
    """One adapted weight: A (r × in) and B (out × r) in GGUF layout, and its scale alpha / r."""

    target: str
    a: np.ndarray
    b: np.ndarray
    scale: float

    def delta(self) -> np.ndarray:
        return (self.b @ self.a) * self.scale


def lora_factors(info: ArchInfo, adapter_state: dict[str, torch.Tensor], alpha: float) -> list[LoraFactor]:
    """LoRA factors from a PEFT adapter state dict, renamed and permuted for GGUF."""
    factors = []
    prefix = "base_model.model."
    for key, a_tensor in sorted(adapter_state.items()):
        if not key.endswith("lora_A.weight"):
            continue
        module = key[: -len(".lora_A.weight")]
        b_tensor = adapter_state[f"{module}.lora_B.weight"]
        hf_name = (module[len(prefix) :] if module.startswith(prefix) else module) + ".weight"
        a = a_tensor.detach().to(torch.float32).cpu().numpy()
        b = b_tensor.detach().to(torch.float32).cpu().numpy()
        # Conv1D LoRA (fan_in_fan_out) already has A: r × in and B: out × r in GGUF's (out, in) view.
        if info.arch in PERMUTED_ARCHES and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = info.n_head if hf_name.endswith("q_proj.weight") else info.n_head_kv
            b = permute_rows(b, heads)
        rank = a.shape[0]
        factors.append(
            LoraFactor(
                gguf_name(info, hf_name), np.ascontiguousarray(a), np.ascontiguousarray(b), alpha / rank
            )
        )
    if not factors:
        raise GGUFExportError("the adapter holds no LoRA weights")
    return factors


def merged_tensors(
    base: Iterator[tuple[str, np.ndarray]], factors: list[LoraFactor]
) -> Iterator[tuple[str, np.ndarray]]:
    """Base tensors with each LoRA delta added; every factor must find its tensor."""
    by_target = {f.target: f for f in factors}
    seen = set()
    for name, array in base:
        factor = by_target.get(name)
        if factor is not None:
            if factor.delta().shape != array.shape:
                raise GGUFExportError(f"{name}: LoRA delta {factor.delta().shape} does not fit {array.shape}")
            array = array + factor.delta()
            seen.add(name)
        yield name, array
    missing = set(by_target) - seen
    if missing:
        raise GGUFExportError(f"LoRA targets without a base tensor: {sorted(missing)}")
