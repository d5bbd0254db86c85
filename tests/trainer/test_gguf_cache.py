"""The dequantized-GGUF cache: written whole or not at all, read back tensor for tensor, and switchable off.

The GGUF file here only keys the cache (its path, size and time); the model stored is the tiny llama,
so no dequantization runs. That the cached copy of the real embedded GGUF trains exactly like the GGUF
is checked in ``tests/test_embedded_smollm2.py``.
"""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from openlora.trainer import gguf_cache


def test_a_stored_model_reads_back_the_same_and_an_unfinished_folder_is_ignored(
    tiny_llama, tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENLORA_CACHE", str(tmp_path / "cache"))
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF stand-in: only its path, size and time are read")
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    assert gguf_cache.cached(gguf) is None

    folder = gguf_cache.folder_for(gguf)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")  # a torn copy: no completion marker
    assert gguf_cache.cached(gguf) is None

    stored = gguf_cache.store(gguf, model, tokenizer)
    assert stored == folder and gguf_cache.cached(gguf) == folder  # the torn copy was replaced
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]  # nothing half-written left
    again = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    original, reread = model.state_dict(), again.state_dict()
    assert original.keys() == reread.keys() and all(torch.equal(original[k], reread[k]) for k in original)
    text = "key red value apple"
    assert AutoTokenizer.from_pretrained(folder)(text)["input_ids"] == tokenizer(text)["input_ids"]

    gguf.write_bytes(b"a changed file gets a new key")
    assert gguf_cache.cached(gguf) is None


def test_the_cache_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLORA_CACHE", "off")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"x")
    assert gguf_cache.cache_root() is None and gguf_cache.folder_for(gguf) is None
    assert gguf_cache.store(gguf, object(), object()) is None
