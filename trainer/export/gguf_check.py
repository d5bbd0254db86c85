"""The GGUF self-check: llama.cpp's logits against the transformers model that carries the adapter.

Fixed prompts are tokenized once with the HF tokenizer; both runtimes see the same token ids.
Agreement is the Pearson correlation of the logits at every position (the minimum over prompts is
what must pass) and the share of prompts whose next token (top-1 at the last position) matches.
llama.cpp's own tokenization of the prompt text is compared too, so a wrong tokenizer in the file
is caught. A check below its thresholds raises :class:`GGUFCheckError` with the figures.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openlora.trainer.quiet import quiet_stderr  # advisor.client imports it from here too

CHECK_PROMPTS = (
    "The quick brown fox jumps over the lazy dog.",
    "Summarise this log event and rate its severity.",
    "key red",
    "1 2 3 4 5 6",
)
THRESHOLDS = {"f16": 0.99, "f32": 0.99, "q8_0": 0.9}


class GGUFCheckError(RuntimeError):
    """The GGUF file does not reproduce the trained model; the message carries the figures."""

    def __init__(self, message: str, agreement: Agreement | None = None) -> None:
        super().__init__(message)
        self.agreement = agreement


@dataclass
class Agreement:
    """How closely llama.cpp reproduces transformers on the check prompts."""

    min_correlation: float
    mean_correlation: float
    top1_match_rate: float
    prompts: int
    tokenizer_match: bool
    threshold: float
    passed: bool

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def check_prompt_ids(tokenizer: Any) -> list[list[int]]:
    return [list(tokenizer(text, add_special_tokens=True)["input_ids"])[:64] for text in CHECK_PROMPTS]


@torch.no_grad()
def reference_logits(model: Any, prompt_ids: list[list[int]]) -> list[np.ndarray]:
    """transformers logits (positions × vocab) for each prompt, in float32 on CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for ids in prompt_ids:
        logits = model(input_ids=torch.tensor([ids], device=device), use_cache=False).logits[0]
        out.append(logits.float().cpu().numpy())
    return out


def open_llama(
    model_path: Path, lora_path: Path | None = None, logits_all: bool = False, n_ctx: int = 512
) -> Any:
    """Load a GGUF (and optional LoRA GGUF) in llama-cpp-python; errors name the file."""
    from llama_cpp import Llama

    try:
        with quiet_stderr():
            return Llama(
                model_path=str(model_path),
                lora_path=str(lora_path) if lora_path else None,
                n_ctx=n_ctx,
                logits_all=logits_all,
                n_threads=max(1, min(4, os.cpu_count() or 1)),
                seed=0,
                verbose=False,
            )
    except (ValueError, RuntimeError) as exc:
        where = f"{model_path}" + (f" with LoRA {lora_path}" if lora_path else "")
        raise GGUFCheckError(f"llama.cpp could not load {where}: {exc}") from None


def measure_agreement(
    model_path: Path,
    lora_path: Path | None,
    tokenizer: Any,
    prompt_ids: list[list[int]],
    reference: list[np.ndarray],
    precision: str,
) -> Agreement:
    """Run the prompts through llama.cpp and compare with ``reference``; raise below threshold."""
    llm = open_llama(model_path, lora_path, logits_all=True)
    try:
        correlations, top1 = [], []
        for ids, expected in zip(prompt_ids, reference, strict=True):
            llm.reset()
            llm.eval(ids)
            got = np.asarray(llm.scores[: len(ids)], dtype=np.float32)
            vocab = min(got.shape[1], expected.shape[1])
            got, want = got[:, :vocab], expected[:, :vocab]
            correlations.append(float(np.corrcoef(got.ravel(), want.ravel())[0, 1]))
            top1.append(int(got[-1].argmax()) == int(want[-1].argmax()))
        tokenizer_match = all(
            llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            == list(tokenizer(text, add_special_tokens=False)["input_ids"])
            for text in CHECK_PROMPTS
        )
    finally:
        llm.close()
    threshold = THRESHOLDS[precision]
    correlations = [c if np.isfinite(c) else -1.0 for c in correlations]
    needs_all_top1 = precision in ("f16", "f32")
    top1_rate = sum(top1) / len(top1)
    passed = min(correlations) >= threshold and tokenizer_match and (top1_rate == 1.0 or not needs_all_top1)
    agreement = Agreement(
        min_correlation=min(correlations),
        mean_correlation=float(np.mean(correlations)),
        top1_match_rate=top1_rate,
        prompts=len(prompt_ids),
        tokenizer_match=tokenizer_match,
        threshold=threshold,
        passed=passed,
    )
    if not passed:
        name = model_path.name + (f" + {lora_path.name}" if lora_path else "")
        raise GGUFCheckError(
            f"{name} does not match the trained model: logit correlation min {agreement.min_correlation:.4f} "
            f"(mean {agreement.mean_correlation:.4f}, needs ≥ {threshold}), top-1 agreement "
            f"{agreement.top1_match_rate:.0%}{'' if not needs_all_top1 else ' (needs 100%)'}, "
            f"tokenizer {'matches' if tokenizer_match else 'differs'}",
            agreement,
        )
    return agreement
