"""Downloading a base model from the Hugging Face Hub into the local HF cache, safetensors only.

What it is for: turning a hub id (``owner/name``, optionally pinned to a ``revision``) into a local
snapshot folder that ``models`` then loads exactly like a local folder. It checks the repo's file list
first and refuses repos that only ship pickled weights (``*.bin``/``*.pt``/``*.pth``/``*.ckpt`` are never
fetched), downloads weights, configs and tokenizer files (or one named GGUF file plus configs) through
``huggingface_hub.snapshot_download``, reports progress per file, and says plainly why a download failed
(gated, not found, unknown revision, offline and absent, interrupted). Offline (``offline=True`` or
``HF_HUB_OFFLINE=1``) makes no network request at all and only reads the cache. The token is the
``HF_TOKEN`` that huggingface_hub reads itself; this module never sees, prints or stores it.
What it is not for: loading the model (``models``) or any other Hub feature.

Interrupted downloads: files that finished stay in the cache and are not fetched again; huggingface_hub
2.4 resumes a dropped connection within one call with an HTTP Range request, but deletes a partial file
when the call fails, so the next call fetches that one file again from its start.
"""

from __future__ import annotations

import glob
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

WEIGHT_PATTERNS = ["*.safetensors", "*.safetensors.index.json"]
CONFIG_PATTERNS = ["*.json"]
TOKENIZER_PATTERNS = ["tokenizer.model", "*.txt", "*.tiktoken", "*.jinja"]
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
OFFLINE_HINT = "HF_HUB_OFFLINE / offline: true / --offline"
ProgressCallback = Callable[[dict[str, Any]], None]


class HubDownloadError(RuntimeError):
    """A hub model could not be downloaded or found in the cache; the message says why and what to do."""


def allow_patterns(gguf_file: str | None) -> list[str]:
    """What is fetched: safetensors weights, configs and tokenizer files; or one GGUF file and configs."""
    if gguf_file:
        return [glob.escape(gguf_file), *CONFIG_PATTERNS]
    return [*WEIGHT_PATTERNS, *CONFIG_PATTERNS, *TOKENIZER_PATTERNS]


def is_offline(offline: bool) -> bool:
    """``offline`` from the config, or huggingface_hub's offline mode (``HF_HUB_OFFLINE=1`` at import)."""
    from huggingface_hub import constants

    return offline or constants.is_offline_mode()


def download_model(
    repo_id: str,
    revision: str | None = None,
    gguf_file: str | None = None,
    offline: bool = False,
    progress_callback: ProgressCallback | None = None,
    *,
    cache_dir: Path | None = None,
    endpoint: str | None = None,
) -> Path:
    """The local snapshot folder of ``repo_id`` at ``revision``, downloading what the cache lacks.

    ``cache_dir`` and ``endpoint`` default to huggingface_hub's (``HF_HUB_CACHE``, ``HF_ENDPOINT``).
    Raises :class:`HubDownloadError` with a message naming the repo, the cause and the remedy.
    """
    where = HubRepo(repo_id, revision, gguf_file, cache_dir, endpoint)
    if is_offline(offline):
        return where.cached(None)
    info = where.model_info()
    if info is None:  # the Hub cannot be reached: the cache may still have it
        return where.cached(where.unreachable)
    files = _files_to_fetch(where, [s.rfilename for s in info.siblings or []])
    return where.fetch(info.sha, files, allow_patterns(gguf_file), progress_callback)


def _files_to_fetch(where: HubRepo, siblings: list[str]) -> list[str]:
    """The repo files to download; refuses pickle-only repos and a gguf_file the repo does not have."""
    from huggingface_hub.utils import filter_repo_objects

    if where.gguf_file:
        if where.gguf_file not in siblings:
            ggufs = [name for name in siblings if name.endswith(".gguf")]
            raise HubDownloadError(
                f"base_model: {where.label()} has no file {where.gguf_file!r} (gguf_file); "
                f"its GGUF files: {ggufs[:10] or 'none'}"
            )
    elif not any(name.endswith(".safetensors") for name in siblings):
        pickles = [name for name in siblings if name.endswith(PICKLE_SUFFIXES)]
        found = f"only pickled weights ({', '.join(pickles[:5])})" if pickles else "no weights"
        raise HubDownloadError(
            f"base_model: {where.label()} has {found} and no .safetensors; pickled weights are never "
            "downloaded (they can run code when loaded). Pick a repo with safetensors weights, or one "
            "with a GGUF file and set gguf_file."
        )
    return list(filter_repo_objects(siblings, allow_patterns=allow_patterns(where.gguf_file)))


class HubRepo:
    """One repo at one revision in one cache, and the calls made about it.

    ``field`` is the config field that named the repo (``base_model`` or ``dataset``): every message
    starts with it. ``repo_type`` is ``model`` or ``dataset``.
    """

    def __init__(
        self,
        repo_id: str,
        revision: str | None,
        gguf_file: str | None,
        cache: Path | None,
        endpoint: str | None,
        *,
        repo_type: str = "model",
        field: str = "base_model",
    ) -> None:
        self.repo_id, self.revision, self.gguf_file = repo_id, revision, gguf_file
        self.cache_dir, self.endpoint = cache, endpoint
        self.repo_type, self.field = repo_type, field
        self.unreachable: Exception | None = None

    def label(self) -> str:
        return f"{self.repo_id!r}" + (f" at revision {self.revision!r}" if self.revision else "")

    def model_info(self) -> Any:
        """The repo's info (commit sha, file list); None when the Hub cannot be reached at all."""
        import httpx2
        from huggingface_hub import HfApi
        from huggingface_hub.errors import OfflineModeIsEnabled

        try:
            api = HfApi(endpoint=self.endpoint)
            info = api.dataset_info if self.repo_type == "dataset" else api.model_info
            return info(self.repo_id, revision=self.revision)
        except (httpx2.ConnectError, httpx2.TimeoutException, OfflineModeIsEnabled) as exc:
            self.unreachable = exc
            return None
        except Exception as exc:
            raise HubDownloadError(hub_error_message(self.label(), exc, field=self.field)) from None

    def snapshot(
        self, revision: str | None, patterns: list[str], tqdm_class: Any, local: bool = False
    ) -> str:
        from huggingface_hub import snapshot_download

        try:
            return snapshot_download(
                self.repo_id,
                revision=revision,
                cache_dir=self.cache_dir,
                endpoint=self.endpoint,
                repo_type=self.repo_type,
                allow_patterns=patterns,
                local_files_only=local,
                tqdm_class=tqdm_class,
            )
        except Exception as exc:
            raise HubDownloadError(
                hub_error_message(self.label(), exc, offline=local, field=self.field)
            ) from None

    def fetch(
        self, commit: str, files: list[str], patterns: list[str], progress_callback: ProgressCallback | None
    ) -> Path:
        """Download ``files`` of ``commit`` one at a time (a progress bar and callback per file); return
        the snapshot folder at the requested revision.

        The last pass, at ``self.revision`` with ``patterns``, records refs/<revision> in the cache (for
        later offline use) and fetches anything the per-file pass missed; cached files cost no request.
        """
        report = ThrottledProgress(progress_callback)
        for name in files:
            self.snapshot(commit, [glob.escape(name)], progress_bar_class(name, report))
        return Path(self.snapshot(self.revision, patterns, QuietBar))

    def cached_folder(self, unreachable: Exception | None, patterns: list[str]) -> Path:
        """The cached snapshot, with no network request; says why nothing was downloaded when absent."""
        try:
            return Path(self.snapshot(self.revision, patterns, QuietBar, local=True))
        except HubDownloadError:
            if unreachable is None:
                raise
            raise HubDownloadError(
                f"{self.field}: {self.label()} is not in the local Hugging Face cache and the Hub cannot be "
                f"reached ({type(unreachable).__name__}: {str(unreachable).splitlines()[0][:200]}): nothing "
                f"was downloaded. Check the network (or HF_ENDPOINT), or download it on a machine that can."
            ) from None

    def cached_snapshot(self, unreachable: Exception | None) -> Path:
        """The cache's snapshot folder for the revision, whatever files it holds (no network request).

        Read from the cache layout (``<type>s--<owner>--<name>/refs/<revision>`` → ``snapshots/<commit>``)
        because huggingface_hub refuses a snapshot it knows to be partial, and a dataset snapshot holds
        only the splits that were used.
        """
        from huggingface_hub import constants
        from huggingface_hub.file_download import repo_folder_name

        cache = Path(self.cache_dir or constants.HF_HUB_CACHE)
        folder = cache / repo_folder_name(repo_id=self.repo_id, repo_type=self.repo_type)
        ref = folder / "refs" / (self.revision or "main")
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else (self.revision or "")
        snapshot = folder / "snapshots" / commit
        if commit and snapshot.is_dir() and "/" not in commit:
            return snapshot
        return self.cached_folder(unreachable, ["*"])  # not there: the same error as any absent repo

    def cached(self, unreachable: Exception | None) -> Path:
        """The cached snapshot of a model with its weights (see :meth:`cached_folder`)."""
        folder = self.cached_folder(unreachable, allow_patterns(self.gguf_file))
        wanted = self.gguf_file or "*.safetensors"
        if not list(folder.glob(wanted)):
            raise HubDownloadError(
                f"base_model: the cached snapshot of {self.label()} ({folder}) has no {wanted}; only "
                "safetensors weights (or the named gguf_file) are used. Download it again with network."
            )
        return folder


def hub_error_message(label: str, exc: Exception, offline: bool = False, field: str = "base_model") -> str:
    """Say which failure ``exc`` is and what to do about it (never echoing a token); ``field`` leads."""
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    detail = f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"
    if isinstance(exc, GatedRepoError):
        return (
            f"{field}: {label} is gated: accept the terms on the Hub and set HF_TOKEN to a token of the "
            f"account that accepted them {detail}"
        )
    if isinstance(exc, RevisionNotFoundError):
        return f"{field}: {label}: revision not found on the Hub; check the branch, tag or commit {detail}"
    if isinstance(exc, RepositoryNotFoundError):
        return (
            f"{field}: {label} not found on the Hub, or private and HF_TOKEN unset (or without access); "
            f"check the id {detail}"
        )
    if offline or isinstance(exc, LocalEntryNotFoundError):
        return (
            f"{field}: {label} is not in the local Hugging Face cache and offline ({OFFLINE_HINT}): "
            "nothing was downloaded. Run once with network (offline: false, HF_HUB_OFFLINE unset) or "
            f"point {field} at a local {'folder' if field == 'base_model' else 'file'} {detail}"
        )
    return (
        f"{field}: downloading {label} failed {detail}; files that finished are kept in the cache, "
        "run again to fetch the rest"
    )


class ThrottledProgress:
    """Forwards progress to the callback at most ``per_second`` times a second per file, plus each end."""

    def __init__(self, callback: ProgressCallback | None, per_second: float = 4.0) -> None:
        self.callback, self.interval = callback, 1.0 / per_second
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str, done: int, total: int | None) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        with self._lock:
            finished = total is not None and done >= total
            if not finished and now - self._last.get(name, 0.0) < self.interval:
                return
            self._last[name] = now
            self.callback({"file": name, "bytes_done": int(done), "bytes_total": total})


class QuietBar(tqdm):
    """No bar: for the passes that fetch nothing new (huggingface_hub's default would print one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def progress_bar_class(name: str, report: ThrottledProgress) -> type[tqdm]:
    """A tqdm class for one file's snapshot_download: a bar on a terminal, and progress to ``report``.

    snapshot_download makes a files bar and two byte bars with it (network bytes "Downloading bytes",
    and bytes written); the bytes-written bar is the one reported.
    """

    class FileBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("disable", not sys.stderr.isatty())  # tqdm draws on stderr
            self._reports = kwargs.get("unit") == "B" and not str(kwargs.get("desc", "")).startswith(
                "Downloading"
            )
            self._done = int(kwargs.get("initial") or 0)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            self._done += int(n or 0)
            if self._reports:
                report(name, self._done, int(self.total) if self.total else None)
            return super().update(n)

    return FileBar
