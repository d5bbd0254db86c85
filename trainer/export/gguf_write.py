"""Writing a GGUF file from metadata and float32 tensors, at a chosen precision.

1-D tensors (norms, biases) stay float32; matrices become f16, or q8_0 where their rows are a
multiple of the 32-value block (f16 otherwise), or stay f32 for LoRA factors. The file is written
to a temporary name and renamed, so a crash never leaves a truncated GGUF behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import gguf
import numpy as np
from gguf.quants import quantize

from openlora.trainer.export.gguf_metadata import KV

Precision = Literal["f32", "f16", "q8_0"]
FILE_TYPES = {
    "f32": gguf.LlamaFileType.ALL_F32,
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
}


def encode_tensor(array: np.ndarray, precision: Precision) -> tuple[np.ndarray, gguf.GGMLQuantizationType]:
    """Array and GGML type as they will be stored."""
    if array.ndim < 2 or precision == "f32":
        return array.astype(np.float32), gguf.GGMLQuantizationType.F32
    if precision == "q8_0" and array.shape[-1] % 32 == 0:
        qtype = gguf.GGMLQuantizationType.Q8_0
        return quantize(array.astype(np.float32), qtype), qtype
    return array.astype(np.float16), gguf.GGMLQuantizationType.F16


def write_gguf(
    path: Path,
    arch: str,
    metadata: Iterable[KV],
    tensors: Iterable[tuple[str, np.ndarray]],
    precision: Precision,
) -> Path:
    """Write a complete GGUF file at ``path`` (atomically)."""
    tmp = path.with_name(f".{path.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    try:
        for entry in metadata:
            writer.add_key_value(entry.key, entry.value, entry.vtype, entry.sub_type)
        writer.add_file_type(FILE_TYPES[precision])
        if precision == "q8_0":
            writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for name, array in tensors:
            data, qtype = encode_tensor(array, precision)
            writer.add_tensor(name, data, raw_dtype=qtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    finally:
        writer.close()
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path
