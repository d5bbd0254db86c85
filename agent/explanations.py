"""Checks on what a person reads: an explanation must be well-formed text that names the diagnosis and
the settings the decision changed.

The supervisor composes every reason from the evidence (the advisor writes no prose), and
:meth:`Decision.explanation` puts the diagnosis first and the changed settings last, so these checks
hold by construction; they are here so that anything else that would show text to a person (a larger
advisor allowed to write a sentence, a new rule) is held to the same test, and so tests can read a
run's reports and prove it. :func:`well_formed` catches what small models emit when they go wrong:
runs of the same token or fragment ("1.0.0.1.1.1…", "spy_spy_spy"), control characters, empty or
endless text.
"""

from __future__ import annotations

import re
from typing import Any

MAX_CHARS = 1200
# A short fragment five times in a row ("1.1.1.1.1"), or a longer one three times ("de la mise en référence").
_REPEATED_FRAGMENT = re.compile(r"(.{2,3}?)\1{4,}|(.{4,60}?)\2{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Words that name a setting in plain text (its key always does).
SETTING_WORDS: dict[str, tuple[str, ...]] = {
    "learning_rate": ("lr", "learning rate"),
    "max_seq_len": ("sequence",),
    "batch_size": ("batch",),
    "grad_accum": ("accumulation",),
    "max_steps": ("steps",),
    "warmup_steps": ("warmup", "warm up"),
    "max_grad_norm": ("clip",),
    "gradient_checkpointing": ("recompute", "checkpointing"),
    "target_modules": ("target modules",),
    "prompt_column": ("column",),
    "response_column": ("column",),
    "text_column": ("column",),
    "dataset": ("rows", "data"),
}


def well_formed(text: str) -> list[str]:
    """What is wrong with ``text`` as something a person reads (nothing when it is fine)."""
    problems = []
    if not text.strip():
        problems.append("empty")
    if len(text) > MAX_CHARS:
        problems.append(f"{len(text)} characters (more than {MAX_CHARS})")
    if _CONTROL.search(text):
        problems.append("control characters")
    repeated = _REPEATED_FRAGMENT.search(text)
    if repeated:
        problems.append(f"a fragment repeated over and over: {repeated.group(0)[:40]!r}")
    return problems


def names_setting(text: str, key: str) -> bool:
    lowered = text.lower()
    return key in lowered or any(word in lowered for word in SETTING_WORDS.get(key, ()))


def explanation_problems(text: str, diagnosis: str, changes: dict[str, Any]) -> list[str]:
    """Why ``text`` does not explain a decision on ``diagnosis`` that changed ``changes``."""
    problems = well_formed(text)
    if diagnosis.replace("_", " ") not in text.lower().replace("_", " "):
        problems.append(f"does not name the diagnosis {diagnosis!r}")
    problems += [
        f"does not name the changed setting {key!r}" for key in changes if not names_setting(text, key)
    ]
    return problems
