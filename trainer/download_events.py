"""Reading a run's ``download`` events back: which file is downloading, how far it is, in words.

What it is for: the trainer writes ``download`` events (``file``, ``bytes_done``, ``bytes_total``,
``time``) to ``metrics.jsonl`` while it fetches a hub base model (``hub_download``); the TUI's live view
and the supervisor's terminal progress follow them through :class:`DownloadTracker`, one event at a
time, and show "downloading model.safetensors 34 MB / 270 MB (12 %)". Events are untrusted data: a
field of the wrong type is ignored, never raised on.
What it is not for: downloading (``hub_download``) or writing events (``telemetry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Events that say the trainer is past its download and preparing or training.
TRAINING_EVENTS = frozenset({"run_start", "step", "eval", "resumed"})


@dataclass
class FileProgress:
    """One file's latest figures."""

    file: str
    done: int
    total: int | None

    @property
    def fraction(self) -> float | None:
        """Share done, 0…1, or None when the size is unknown."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total


def size_text(count: float) -> str:
    """A byte count as people read it, in decimal units: ``950 B``, ``34 MB``, ``1.4 GB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{int(count)} B"


class DownloadTracker:
    """Follows ``download`` events; says what is downloading until a training event arrives."""

    def __init__(self) -> None:
        self.files: dict[str, FileProgress] = {}
        self.current: FileProgress | None = None
        self.training = False  # a run_start (or later) event arrived: the download is over
        self.first_time: float | None = None
        self.last_time: float | None = None

    def take(self, event: dict[str, Any]) -> bool:
        """Take one metrics event; returns whether it changed what the tracker says."""
        kind = event.get("event")
        if kind in TRAINING_EVENTS:
            changed, self.training = not self.training, True
            return changed
        if kind != "download" or not isinstance(event.get("file"), str):
            return False
        done, total = event.get("bytes_done"), event.get("bytes_total")
        if not isinstance(done, int) or isinstance(done, bool):
            return False
        total = total if isinstance(total, int) and not isinstance(total, bool) and total > 0 else None
        self.current = self.files[event["file"]] = FileProgress(event["file"], max(done, 0), total)
        when = event.get("time")
        if isinstance(when, int | float):
            self.first_time = when if self.first_time is None else self.first_time
            self.last_time = when
        return True

    @property
    def downloading(self) -> bool:
        """Whether the run is in its download (or between the download and its first training event)."""
        return self.current is not None and not self.training

    @property
    def seconds(self) -> float:
        """Time between the first and the latest download event (0 without events)."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return max(0.0, self.last_time - self.first_time)

    def text(self) -> str:
        """``downloading model.safetensors 34 MB / 270 MB (12 %)``, and how many files finished."""
        now = self.current
        if now is None:
            return ""
        finished = [f for f in self.files.values() if f.finished]
        if now.finished:
            total = sum(f.done for f in finished)
            return f"downloaded {len(finished)} file(s), {size_text(total)}; preparing the run…"
        shown = f"downloading {now.file} {size_text(now.done)}"
        if now.total is not None:
            shown += f" / {size_text(now.total)} ({int(100 * (now.fraction or 0.0))} %)"  # 100 % once done
        if finished:
            shown += f" · {len(finished)} file(s) done"
        return shown
