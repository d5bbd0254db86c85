"""A Hugging Face Hub dataset id as a local training file: choose the split's files, download, materialise.

What it is for: ``dataset: tatsu-lab/alpaca`` (with ``dataset_split``, ``dataset_revision`` and
``max_rows``) becoming one local JSONL file that every reader of the product (trainer, dataset
inspection, evaluation, the TUI) then reads like any other file. The repo's file list decides which
data files belong to the split, by the Hub's own naming conventions (``train.jsonl``,
``data/train-00000-of-00002.parquet``, ``validation/...``, a lone file is the train split); only data
files in a format the reader knows are fetched (``.parquet``, ``.jsonl``, ``.json``, ``.csv``,
``.tsv``, ``.txt``) through :mod:`hub_download` (progress, offline, gated/missing errors). A repo that
needs a loading script is refused: dataset code is never run. The rows are written, at most
``max_rows`` of them, to ``$OPENLORA_HOME/datasets/<owner>--<name>/<commit>/<split>[-first-N].jsonl``
with a ``.source.json`` beside it (repo, commit, split, files, rows); both are written atomically, and
the next run with the same commit reuses them without reading the Hub's files again.
What it is not for: turning rows into records (``data_files``) or downloading models (``hub_download``).
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.trainer.data_formats import DataError, read_paragraphs
from openlora.trainer.hub_download import HubDownloadError, HubRepo, ProgressCallback, is_offline

# Preferred first: when a split has files of several formats (the Hub's parquet conversion beside the
# original JSON), only the first format present is used.
DATA_FORMATS = (".parquet", ".jsonl", ".json", ".csv", ".tsv", ".txt")
# The Hub's split keywords (as the datasets library reads file names); any other split name matches itself.
SPLIT_KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "val", "dev"),
    "test": ("test", "testing", "eval", "evaluation"),
}
METADATA_FILES = {"dataset_info.json", "dataset_infos.json", "dataset_dict.json", "state.json"}
DATASET_FILE_SUFFIXES = (*DATA_FORMATS, ".gz", ".zip", ".arrow", ".py")


@dataclass(frozen=True)
class HubDatasetRequest:
    """Which rows of which hub dataset: the config's dataset, dataset_split, dataset_revision, max_rows."""

    repo_id: str
    split: str = "train"
    revision: str | None = None
    max_rows: int | None = None
    offline: bool = False
    field: str = "dataset"


def looks_like_hub_dataset(value: str) -> bool:
    """True for ``owner/name`` without a file suffix: a hub dataset id rather than a missing local file."""
    from openlora.trainer.config import is_hub_id

    if value.startswith((".", "/", "~")) or value.count("/") != 1:
        return False
    return is_hub_id(value) and not value.lower().endswith(DATASET_FILE_SUFFIXES)


def datasets_home() -> Path:
    """Where materialised hub datasets live: ``$OPENLORA_HOME/datasets`` (default ``~/.openlora``)."""
    home = Path(os.environ.get("OPENLORA_HOME") or Path.home() / ".openlora").expanduser()
    return home / "datasets"


def fetch_dataset(
    request: HubDatasetRequest,
    progress_callback: ProgressCallback | None = None,
    *,
    cache_dir: Path | None = None,
    endpoint: str | None = None,
) -> Path:
    """The local JSONL file holding ``request``'s rows, downloading what the cache lacks.

    Raises :class:`HubDownloadError` (repo, network, offline) or :class:`DataError` (a file of the split
    does not parse), each naming the field, the repo and what to do.
    """
    repo = HubRepo(
        request.repo_id, request.revision, None, cache_dir, endpoint, repo_type="dataset", field=request.field
    )
    if is_offline(request.offline):
        return _from_cache(repo, request, None)
    info = repo.model_info()
    if info is None:
        return _from_cache(repo, request, repo.unreachable)
    siblings = [s.rfilename for s in info.siblings or []]
    files = split_files(siblings, request)
    target = materialised_path(request, info.sha)
    if target.is_file():
        return target
    folder = repo.fetch(info.sha, files, [glob.escape(name) for name in files], progress_callback)
    return materialise(request, info.sha, folder, files)


def _from_cache(repo: HubRepo, request: HubDatasetRequest, unreachable: Exception | None) -> Path:
    """Offline (or the Hub unreachable): the cached snapshot's split, with no network request."""
    folder = repo.cached_snapshot(unreachable)
    commit = folder.name
    target = materialised_path(request, commit)
    if target.is_file():
        return target
    siblings = [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()]
    return materialise(request, commit, folder, split_files(siblings, request))


def split_files(siblings: list[str], request: HubDatasetRequest) -> list[str]:
    """The repo files holding ``request.split``, in one format; HubDownloadError says why when none do."""
    data = [name for name in siblings if _is_data_file(name)]
    label = f"{request.field}: {request.repo_id!r}"
    if not data:
        scripts = [name for name in siblings if name.endswith(".py")]
        found = f"only a loading script ({scripts[0]}), which is code and never run" if scripts else "no data"
        raise HubDownloadError(
            f"{label} has {found}; readable formats: {', '.join(DATA_FORMATS)}. Pick a repo with data files "
            "(on the Hub, a dataset's 'refs/convert/parquet' revision often has them: dataset_revision: "
            "refs/convert/parquet)"
        )
    by_split: dict[str, list[str]] = {}
    for name in data:
        by_split.setdefault(_split_of(name, request.split), []).append(name)
    # Files that name no split are the train split when no file names "train" (a lone alpaca_data.json).
    unnamed = by_split.pop("", [])
    if unnamed and "train" not in by_split:
        by_split["train"] = unnamed
    chosen = by_split.get(request.split)
    if not chosen:
        raise HubDownloadError(
            f"{label} has no split {request.split!r} (dataset_split); its splits: {sorted(by_split)}"
        )
    for suffix in DATA_FORMATS:
        of_format = sorted(name for name in chosen if name.lower().endswith(suffix))
        if of_format:
            return of_format
    raise AssertionError("unreachable: every data file has a known format")


def _is_data_file(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    hidden = any(part.startswith(".") for part in name.split("/"))
    return not hidden and base not in METADATA_FILES and name.lower().endswith(DATA_FORMATS)


def _split_of(name: str, wanted: str) -> str:
    """The split a file name says (``""`` when it names none), by the Hub's split keywords."""
    stem = name.lower().rsplit(".", 1)[0]
    tokens = set(re.split(r"[/._\-\s]+", stem))
    keywords = {**SPLIT_KEYWORDS, wanted: SPLIT_KEYWORDS.get(wanted, (wanted.lower(),))}
    for split, names in keywords.items():
        if tokens & set(names):
            return split
    return ""


def materialised_path(request: HubDatasetRequest, commit: str) -> Path:
    owner_name = request.repo_id.replace("/", "--")
    limit = f"-first-{request.max_rows}" if request.max_rows else ""
    return datasets_home() / owner_name / commit[:12] / f"{_safe(request.split)}{limit}.jsonl"


def _safe(split: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", split)[:64] or "split"


def materialise(request: HubDatasetRequest, commit: str, folder: Path, files: list[str]) -> Path:
    """Write the split's rows (at most ``max_rows``) as one JSONL file and its ``.source.json``."""
    target = materialised_path(request, commit)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    rows = 0
    every_row = itertools.chain.from_iterable(_rows(folder / name) for name in files)
    try:
        with partial.open("w", encoding="utf-8") as out:
            for row in itertools.islice(every_row, request.max_rows):
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                rows += 1
        if rows == 0:
            raise DataError(folder / files[0], 1, f"split {request.split!r} of {request.repo_id!r}: no rows")
        source = {"repo_id": request.repo_id, "commit": commit, "split": request.split, "files": files}
        _write_atomic(target.with_suffix(".source.json"), json.dumps({**source, "rows": rows}, indent=2))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _rows(path: Path) -> Any:
    """The rows of one downloaded data file, as mappings (a text file's paragraphs as ``{"text": ...}``)."""
    from openlora.trainer.data_files import READERS

    suffix = path.suffix.lower()
    if suffix == ".txt":
        return ({"text": text} for _, text in read_paragraphs(path))
    return (obj for _, obj in READERS[suffix](path).items)


def _write_atomic(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
