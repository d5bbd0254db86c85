"""GGUF key/value metadata: copied from a GGUF base, or built from an HF config and tokenizer.

A GGUF base keeps every key it had (architecture figures, tokenizer, chat template, names), only
the file type changes. For an HF base the keys llama.cpp needs are derived from the config and the
byte-level BPE tokenizer. This module only produces (key, value, type) entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import gguf
import numpy as np

from openlora.trainer.export.gguf_tensors import GGUFExportError

T = gguf.GGUFValueType
SKIP_ON_COPY = {"general.file_type", "general.quantization_version", "general.architecture"}


@dataclass(frozen=True)
class KV:
    key: str
    value: Any
    vtype: gguf.GGUFValueType
    sub_type: gguf.GGUFValueType | None = None


def copy_from_gguf(reader: gguf.GGUFReader) -> list[KV]:
    """Every key of a GGUF file except the ones a writer sets itself."""
    entries = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in SKIP_ON_COPY:
            continue
        vtype = field.types[0]
        value = field.contents()
        if vtype == T.ARRAY:
            entries.append(KV(key, value, T.ARRAY, field.types[-1]))
        else:
            entries.append(KV(key, value, vtype))
    return entries


def _rope_theta(config: Any) -> float:
    theta = getattr(config, "rope_theta", None)
    params = getattr(config, "rope_parameters", None) or {}
    if theta is None and isinstance(params, dict):
        theta = params.get("rope_theta")
    return float(theta or 10000.0)


def from_hf(config: Any, tokenizer: Any, arch: str, name: str) -> list[KV]:
    """Metadata for an HF model converted to GGUF."""
    entries = [KV("general.name", name, T.STRING), KV("general.type", "model", T.STRING)]
    if arch == "gpt2":
        entries += [
            KV("gpt2.context_length", config.n_positions, T.UINT32),
            KV("gpt2.embedding_length", config.n_embd, T.UINT32),
            KV("gpt2.feed_forward_length", config.n_inner or 4 * config.n_embd, T.UINT32),
            KV("gpt2.block_count", config.n_layer, T.UINT32),
            KV("gpt2.attention.head_count", config.n_head, T.UINT32),
            KV("gpt2.attention.layer_norm_epsilon", float(config.layer_norm_epsilon), T.FLOAT32),
        ]
    else:
        entries += _rms_norm_family(config, arch)
    return entries + tokenizer_kv(tokenizer, config.vocab_size, arch)


def _rms_norm_family(config: Any, arch: str) -> list[KV]:
    """Architecture keys of the llama-style families (llama, mistral, qwen2, qwen3, gemma, phi3)."""
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    scaling = getattr(config, "rope_scaling", None) or {}
    if isinstance(scaling, dict) and scaling.get("rope_type", "default") != "default":
        raise GGUFExportError(f"rope scaling {scaling} is not supported by the GGUF exporter")
    entries = [
        KV(f"{arch}.context_length", config.max_position_embeddings, T.UINT32),
        KV(f"{arch}.embedding_length", config.hidden_size, T.UINT32),
        KV(f"{arch}.feed_forward_length", config.intermediate_size, T.UINT32),
        KV(f"{arch}.block_count", config.num_hidden_layers, T.UINT32),
        KV(f"{arch}.attention.head_count", heads, T.UINT32),
        KV(f"{arch}.attention.head_count_kv", kv_heads, T.UINT32),
        KV(f"{arch}.attention.key_length", head_dim, T.UINT32),
        KV(f"{arch}.attention.value_length", head_dim, T.UINT32),
        KV(f"{arch}.rope.dimension_count", head_dim, T.UINT32),
        KV(f"{arch}.rope.freq_base", _rope_theta(config), T.FLOAT32),
        KV(f"{arch}.attention.layer_norm_rms_epsilon", float(config.rms_norm_eps), T.FLOAT32),
        KV(f"{arch}.vocab_size", config.vocab_size, T.UINT32),
    ]
    if arch == "phi3":
        original = getattr(config, "original_max_position_embeddings", None) or config.max_position_embeddings
        entries.append(KV("phi3.rope.scaling.original_context_length", original, T.UINT32))
        if getattr(config, "sliding_window", None):
            entries.append(KV("phi3.attention.sliding_window", config.sliding_window, T.UINT32))
    return entries


def _tokenizer_spec(tokenizer: Any) -> dict[str, Any]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise GGUFExportError("GGUF export needs a fast (tokenizers) tokenizer")
    return json.loads(backend.to_str())


def _is_byte_level(spec: dict[str, Any]) -> bool:
    pre = spec.get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    return any(part.get("type") == "ByteLevel" for part in parts)


def tokenizer_refusal(tokenizer: Any) -> str | None:
    """Why this tokenizer cannot be written as llama.cpp's 'gpt2' (byte-level BPE) model; None if it can.

    SentencePiece-style tokenizers (byte fallback, '▁' for spaces: Llama 2, Mistral v0.x, Gemma,
    Phi-3 on the hub) need llama.cpp's 'llama' tokenizer model with scores, which is not written here.
    """
    try:
        spec = _tokenizer_spec(tokenizer)
    except GGUFExportError as exc:
        return str(exc)
    kind = (spec.get("model") or {}).get("type")
    if kind != "BPE" or not _is_byte_level(spec):
        style = "SentencePiece-style " if kind == "BPE" else ""
        return (
            f"GGUF export writes byte-level BPE tokenizers (GPT-2 style) only; this one is {style}{kind}. "
            "Export adapter, pt or merged (and convert the merged folder with llama.cpp's "
            "convert_hf_to_gguf.py)"
        )
    return None


def tokenizer_kv(tokenizer: Any, vocab_size: int, arch: str) -> list[KV]:
    """A byte-level BPE tokenizer as llama.cpp's 'gpt2' tokenizer model."""
    refusal = tokenizer_refusal(tokenizer)
    if refusal is not None:
        raise GGUFExportError(refusal)
    spec = _tokenizer_spec(tokenizer)
    model = spec.get("model", {})
    vocab = tokenizer.get_vocab()
    by_id = {index: token for token, index in vocab.items()}
    special = set(tokenizer.all_special_ids)
    added = {t.content for t in tokenizer.added_tokens_decoder.values()}
    tokens, types = [], []
    for index in range(vocab_size):
        token = by_id.get(index, f"[PAD{index}]")
        tokens.append(token)
        if index in special:
            types.append(gguf.TokenType.CONTROL)
        elif token in added:
            types.append(gguf.TokenType.USER_DEFINED)
        elif index not in by_id:
            types.append(gguf.TokenType.UNUSED)
        else:
            types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    entries = [
        KV("tokenizer.ggml.model", "gpt2", T.STRING),
        KV("tokenizer.ggml.pre", _pre_tokenizer(spec, arch), T.STRING),
        KV("tokenizer.ggml.tokens", tokens, T.ARRAY, T.STRING),
        KV("tokenizer.ggml.token_type", np.array(types, dtype=np.int32).tolist(), T.ARRAY, T.INT32),
        KV("tokenizer.ggml.merges", merges, T.ARRAY, T.STRING),
        KV("tokenizer.ggml.add_bos_token", bool(getattr(tokenizer, "add_bos_token", False)), T.BOOL),
    ]
    for key, token_id in (
        ("bos", tokenizer.bos_token_id),
        ("eos", tokenizer.eos_token_id),
        ("padding", tokenizer.pad_token_id),
        ("unknown", tokenizer.unk_token_id),
    ):
        if token_id is not None:
            entries.append(KV(f"tokenizer.ggml.{key}_token_id", int(token_id), T.UINT32))
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str) and template:
        entries.append(KV("tokenizer.chat_template", template, T.STRING))
    return entries


def _pre_tokenizer(spec: dict[str, Any], arch: str) -> str:
    """llama.cpp's pre-tokenizer name: GPT-2's regex when the tokenizer is plain byte-level BPE
    with that regex (whatever the architecture), else the family's own (Qwen's digit splitting)."""
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
        return "gpt-2"
    return {"qwen2": "qwen2", "qwen3": "qwen2"}.get(arch, "gpt-2")
