"""all-MiniLM-L6-v2's forward pass in numpy: the incident memory's embedder without torch.

The model is a 6-layer BERT (hidden 384, 12 heads) followed by mean pooling over the real tokens and
L2 normalisation — what sentence-transformers runs for it (``modules.json``: Transformer, Pooling,
Normalize), computed here with numpy from the package's ``model.safetensors`` and tokenized with the
``tokenizers`` library from its ``tokenizer.json`` (lower-cased WordPiece, at most 256 tokens, as
``sentence_bert_config.json`` says). A process that only reads or writes the memory (the supervisor,
the CLI, the TUI) therefore never imports torch: loading takes well under a second instead of about
six. Inference only; the vectors match sentence-transformers' to float32 rounding
(tests/memory/test_embedder.py compares them with transformers' ``BertModel``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

LAYER_NORM_EPS = 1e-12
MASKED = np.float32(-1e9)  # added to the attention scores of padding: exp() of it is 0


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: below float32's resolution
    of BERT's activations); numpy has none and scipy is not a dependency."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


class MiniLM:
    """The sentence encoder of one model folder (config, ``model.safetensors``, ``tokenizer.json``)."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.weights = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(settings["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))  # to the longest in a batch

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.weights[f"{name}.weight"].T + self.weights[f"{name}.bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.weights[f"{name}.weight"], self.weights[f"{name}.bias"])

    def _attention(self, x: np.ndarray, mask: np.ndarray, prefix: str) -> np.ndarray:
        batch, length, width = x.shape
        size = width // self.heads

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(self._linear(x, f"{prefix}.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(size)) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        context = (scores / scores.sum(-1, keepdims=True)) @ v
        context = context.transpose(0, 2, 1, 3).reshape(batch, length, width)
        return self._norm(self._linear(context, f"{prefix}.output.dense") + x, f"{prefix}.output.LayerNorm")

    def _encode(self, ids: np.ndarray, attention: np.ndarray) -> np.ndarray:
        w = self.weights
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions]
        )
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        mask = np.where(attention[:, None, None, :] > 0, np.float32(0), MASKED)
        for i in range(self.layers):
            layer = f"encoder.layer.{i}"
            x = self._attention(x, mask, f"{layer}.attention")
            hidden = _gelu(self._linear(x, f"{layer}.intermediate.dense"))
            x = self._norm(self._linear(hidden, f"{layer}.output.dense") + x, f"{layer}.output.LayerNorm")
        return x

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Mean-pooled, L2-normalised float32 rows, one per text (in the order given)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of alike lengths pad less
        out = np.zeros((len(texts), self.weights["embeddings.word_embeddings.weight"].shape[1]), np.float32)
        for start in range(0, len(texts), batch_size):
            chosen = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in chosen])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            attention = np.array([e.attention_mask for e in encodings], dtype=np.float32)
            hidden = self._encode(ids, attention)
            pooled = (hidden * attention[..., None]).sum(1) / np.maximum(
                attention.sum(1, keepdims=True), 1e-9
            )
            out[chosen] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
