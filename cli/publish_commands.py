"""``publish``: upload a trained run's exports with a model card to the Hugging Face Hub.

What it is for: parsing the command's arguments, calling ``trainer.export.hub_upload.publish_run``
and printing where the run went (or one line saying why not). The token is the ``HF_TOKEN`` that
huggingface_hub reads itself; this command never takes, prints or stores it.
What it is not for: the publishing logic (``trainer.export``); heavy imports stay inside the function
so that ``openlora-agent --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlora.cli.common import fail


def publish(
    run_dir: Annotated[
        Path, typer.Argument(help="A run folder (openlora-agent train) or a supervised goal folder (run).")
    ],
    repo: Annotated[str, typer.Option("--repo", help="The Hub repo to create or update: USER/NAME.")],
    private: Annotated[
        bool,
        typer.Option("--private", help="Create the repo private (an existing repo keeps its visibility)."),
    ] = False,
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="Export to upload (repeat; the first goes at the root). Default: every one.",
        ),
    ] = None,
) -> None:
    """Publish a trained run to the Hugging Face Hub with a model card (token: HF_TOKEN)."""
    from openlora.trainer.export.hub_upload import PublishError, publish_run
    from openlora.trainer.export.publish_plan import RepoIdError

    try:
        result = publish_run(run_dir, repo, formats or None, private)
    except RepoIdError as exc:
        fail(str(exc))
    except PublishError as exc:
        fail(str(exc), code=1)
    state = "updated" if result.changed else "unchanged (nothing new to commit)"
    typer.echo(f"{result.url}: {state}, commit {result.commit}")
    for name in result.files:
        typer.echo(f"  {name}")
