"""A dequantized copy of a GGUF base model as a Hugging Face folder, made once, read by later runs.

Loading a ``.gguf`` file makes transformers dequantize every tensor in Python: 15–40 s for the
embedded SmolLM2-135M on this project's 2-core machine, in every trainer, probe and evaluation
process. The first load of a file writes what it produced (``config.json``, the fp32 weights as
``model.safetensors``, the tokenizer) to a folder keyed by the file's resolved path, size and
modification time and the transformers version; later loads of the same file read that folder in
about a second, tensor for tensor the same weights. The folder is ``$OPENLORA_CACHE/gguf/<key>``
(default ``~/.cache/openlora``; ``OPENLORA_CACHE=off`` turns the cache off). It is written into a
temporary folder and renamed into place, so it is never half-written; when it cannot be written (a
read-only or full disk) the run loads from the GGUF file as before. A 135M model takes ~0.55 GB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

COMPLETE = "complete"  # written last: a folder without it is ignored


def cache_root() -> Path | None:
    setting = os.environ.get("OPENLORA_CACHE", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "openlora"


def folder_for(gguf: Path) -> Path | None:
    """The cache folder of one GGUF file (whether or not it exists yet); None when the cache is off."""
    import transformers

    root = cache_root()
    if root is None or not gguf.is_file():
        return None
    stat = gguf.resolve().stat()
    key = f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{transformers.__version__}"
    return root / "gguf" / f"{gguf.stem[:40]}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def cached(gguf: Path) -> Path | None:
    """The complete cache folder of ``gguf``, or None."""
    folder = folder_for(gguf)
    return folder if folder is not None and (folder / COMPLETE).is_file() else None


def store(gguf: Path, model: Any, tokenizer: Any) -> Path | None:
    """Write the dequantized ``model`` and its ``tokenizer`` for ``gguf``; None when it cannot."""
    from safetensors.torch import save_model

    folder = folder_for(gguf)
    if folder is None or (folder / COMPLETE).is_file():
        return folder
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    temporary = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(folder.parent).free < 2 * size:
            return None
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        config = model.config.to_dict()
        config.pop("quantization_config", None)  # the weights are plain fp32 now
        type(model.config).from_dict(config).save_pretrained(temporary)
        save_model(model, str(temporary / "model.safetensors"))  # tied embeddings saved once
        tokenizer.save_pretrained(temporary)
        (temporary / COMPLETE).write_text(str(gguf.resolve()) + "\n", encoding="utf-8")
        if folder.exists() and not (folder / COMPLETE).is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a torn copy (copied or restored by hand)
        try:
            temporary.rename(folder)
        except OSError:  # another process finished first: its copy is the same
            shutil.rmtree(temporary, ignore_errors=True)
        return folder if (folder / COMPLETE).is_file() else None
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        return None
