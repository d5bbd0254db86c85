"""A data file's findings in words: what ``inspect_dataset`` says of it, and what blocks training.

What it is for: the TUI's data screen and the web page's Data tab, which show under a file's preview
its row count, kinds, lengths, problems and suggestions (:func:`findings_text`), and the web page the
blocking problems apart (the supervisor refuses to train on those unless the goal says
``bad_data: warn``). A raw ``.log`` file gets a sentence instead (it is imported before training), so
does a file the trainer does not read (source code, a page: a domain pack imports it), and so does a
file too big to inspect quickly (the supervisor inspects it before the first attempt).
What it is not for: reading rows (``data_preview``) or deciding anything (``tools.inspect_dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openlora.trainer.data_files import SUFFIXES
from openlora.trainer.download_events import size_text

# inspect_dataset reads the whole file: past this size the findings wait for the run's own inspection.
INSPECT_MAX_BYTES = 128 * 2**20


@dataclass
class Findings:
    """The findings as lines of text, and the blocking problems among them."""

    lines: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)


def findings_text(report: dict[str, Any]) -> list[str]:
    """An ``inspect_dataset`` report in lines: rows and kinds, lengths, problems, suggestions."""
    lines = [f"{report['rows']} rows"]
    if report.get("kinds"):
        lines[0] += f" ({', '.join(f'{n} {k}' for k, n in report['kinds'].items())})"
    if report.get("rows"):  # a file that could not be read has no length figures
        mean = float(report["mean_chars"])
        shown = int(mean) if mean.is_integer() else mean
        lines.append(f"mean {shown} characters, longest {report['max_chars']}")
    lines += [f"problem: {p}" for p in report["problems"]] or ["no problems found"]
    lines += [f"suggestion: {s}" for s in report["suggestions"]]
    return lines


def dataset_findings(path: Path, max_bytes: int = INSPECT_MAX_BYTES) -> Findings:
    """``inspect_dataset`` on ``path`` in words; a failure of the inspection is a line, never an error."""
    from openlora.tools.context import ToolContext
    from openlora.tools.inspect_dataset import inspect_dataset

    if path.suffix.lower() == ".log":
        return Findings(["a log file: drafting a goal imports its events as prompt/response pairs first"])
    if path.is_file() and path.suffix.lower() not in SUFFIXES:
        return Findings([f"{path.suffix} is not a format the trainer reads: import it with a domain pack"])
    size = path.stat().st_size if path.is_file() else 0
    if size > max_bytes:
        return Findings(
            [
                f"{size_text(size)}: inspect_dataset reads the whole file, so its findings wait for the run "
                "(the supervisor inspects the data before the first attempt)"
            ]
        )
    try:
        report = inspect_dataset(ToolContext(path.parent, {"train": path}), "train")
    except Exception as exc:  # the findings are advice: their failure must not close the front
        return Findings([f"inspect_dataset failed: {type(exc).__name__}: {exc}"])
    return Findings(findings_text(report), list(report.get("blocking", [])))
