"""Publishing a trained run to the Hugging Face Hub: create the repo, commit the exports and the card.

What it is for: :func:`publish_run` checks the run (``publish_plan``), writes the card (``model_card``),
then ``HfApi.create_repo(exist_ok=True)`` and one ``HfApi.create_commit`` holding the card, the chosen
exports and the loss plot, and says plainly why it failed (no token, token refused, no write access,
Hub unreachable, card metadata refused). What it is not for: building exports, or downloading
(``hub_download``).

Token: the ``HF_TOKEN`` that huggingface_hub reads itself; this module only asks whether there is
one, never prints, logs or stores it, and cuts it out of any error text just in case. huggingface_hub
sends it to the endpoint only (LFS uploads go to the URL the Hub answers, without it).

Idempotent: the commit relies on the Hub's no-op rule as huggingface_hub 2.4 applies it — the
preupload answer gives each existing file's oid (git SHA-1, or SHA-256 for LFS), unchanged files are
dropped from the commit, and a commit with nothing left is not made at all. The card is the same for
the same run, so a re-publish of an unchanged run makes no commit; :attr:`PublishResult.changed` says
which happened (the head commit before and after). A failed upload commits nothing half: the commit
is one request at the end, and LFS files the Hub already holds are not uploaded again on the retry.
Files already in the repo that this publish does not write are left as they are (nothing is deleted).
``--private`` applies when the repo is created; an existing repo keeps its visibility.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from openlora.trainer.export.model_card import render_card
from openlora.trainer.export.publish_plan import CARD, PublishError, PublishPlan, check_repo_id, plan_publish

__all__ = ["PublishError", "PublishResult", "publish_run"]


@dataclass
class PublishResult:
    """What a publish did: the repo, its head commit, whether this publish changed it, the files."""

    repo_id: str
    url: str
    commit: str
    changed: bool
    private: bool  # as asked (an existing repo keeps its own visibility)
    files: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def publish_run(
    root: Path,
    repo_id: str,
    formats: Sequence[str] | None = None,
    private: bool = False,
    *,
    repo_argument: str = "--repo",
    endpoint: str | None = None,
) -> PublishResult:
    """Publish the run in ``root`` (a run or goal folder) to ``repo_id``; raises :class:`PublishError`.

    ``formats`` default to every format the run exported; the first one goes at the repo root.
    ``repo_argument`` names the setting in an invalid-id error (``--repo``, ``publish.repo``).
    """
    check_repo_id(repo_id, repo_argument)
    plan = plan_publish(root, formats)
    card = render_card(plan, repo_id)
    _require_online_and_token()
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint)
    with _explained(repo_id, api.endpoint):
        url = api.create_repo(repo_id, repo_type="model", private=True if private else None, exist_ok=True)
        before = _head(api, repo_id)
        info = api.create_commit(
            repo_id,
            _operations(plan, card),
            commit_message=f"Publish {plan.spec.get('name', 'run')} ({', '.join(plan.formats)})",
            repo_type="model",
        )
    files = [CARD, *(upload.path_in_repo for upload in plan.files)]
    return PublishResult(repo_id, str(url), info.oid, info.oid != before, private, files)


def _operations(plan: PublishPlan, card: str) -> list[Any]:
    from huggingface_hub import CommitOperationAdd

    operations = [CommitOperationAdd(CARD, card.encode("utf-8"))]
    for upload in plan.files:
        source = upload.content if upload.content is not None else str(upload.local)
        operations.append(CommitOperationAdd(upload.path_in_repo, source))
    return operations


def _head(api: Any, repo_id: str) -> str | None:
    """The repo's head commit on main; None for a repo without one."""
    from huggingface_hub.errors import RevisionNotFoundError

    try:
        return api.repo_info(repo_id, repo_type="model").sha
    except RevisionNotFoundError:
        return None


def _require_online_and_token() -> None:
    from huggingface_hub import constants, get_token

    if constants.is_offline_mode():
        raise PublishError("publishing needs the network, and HF_HUB_OFFLINE is set; unset it to publish")
    if not get_token():
        raise PublishError(
            "no Hugging Face token: set HF_TOKEN to a token with write access (huggingface_hub reads it; "
            "OpenLoRA never prints or stores it)"
        )


@contextmanager
def _explained(repo_id: str, endpoint: str) -> Iterator[None]:
    """Turn any failure of the Hub calls into a :class:`PublishError` saying which and what to do."""
    try:
        yield
    except PublishError:
        raise
    except Exception as exc:
        message = upload_error_message(repo_id, endpoint, exc)
        from huggingface_hub import get_token

        token = get_token()
        raise PublishError(message.replace(token, "[token]") if token else message) from None


def upload_error_message(repo_id: str, endpoint: str, exc: BaseException) -> str:
    """Say which failure ``exc`` is (token refused, no access, unreachable, card refused, other)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    cause = exc.__cause__ if isinstance(exc, RuntimeError) and exc.__cause__ else exc
    first = str(cause).splitlines()[0][:200] if str(cause) else ""
    detail = f"({type(cause).__name__}: {first})"
    response = cause.response if isinstance(cause, HfHubHTTPError) else None
    status = response.status_code if response is not None else None
    retry = "run the same publish again: files the Hub already holds are not uploaded twice"
    if isinstance(cause, httpx2.ConnectError | httpx2.TimeoutException):
        return (
            f"publishing to {repo_id}: the Hub at {endpoint} cannot be reached {detail}; check the network, "
            f"then {retry}"
        )
    if status == 401:
        return f"publishing to {repo_id}: the Hub refused the token (401); set a valid HF_TOKEN {detail}"
    if status == 403:
        return (
            f"publishing to {repo_id}: the token may not write there (403); use a write token of the "
            f"account or organisation {repo_id.split('/')[0]!r} {detail}"
        )
    if status == 429:
        return f"publishing to {repo_id}: the Hub is rate-limiting (429) {detail}; wait, then {retry}"
    if isinstance(exc, ValueError) and "metadata" in str(exc):
        return f"publishing to {repo_id}: the Hub refused the model card's metadata {detail}"
    return f"publishing to {repo_id} failed {detail}; nothing half-committed: {retry}"
