"""Reading what a growing file gained since the last look: JSON lines and text lines, by byte offset.

What it is for: monitors and the Prometheus exporter, which refresh every second on files that grow
for hours (``metrics.jsonl``, ``agent_events.jsonl``, ``supervisor.log``). Each refresh seeks to
where the last one stopped and reads only the new bytes, so its cost does not grow with the file.
A line still being written (no newline yet) waits for the next refresh; a file that shrank
(rewritten) is read again from the start; a line that is not JSON is skipped and counted.
What it is not for: reading a whole file once (``rundir.read_events``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 1 << 20  # a longer line (no newline in 1 MiB) is dropped, not held in memory


class TextTail:
    """The complete lines appended to ``path`` since the previous :meth:`read_new`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.restarts = 0  # times the file was found rewritten; a reader folding lines starts over then

    def read_new(self) -> list[str]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:  # rewritten or truncated: start over
            self.offset, self.partial = 0, b""
            self.restarts += 1
        if size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(size - self.offset)
        self.offset += len(chunk)
        data = self.partial + chunk
        *lines, self.partial = data.split(b"\n")
        if len(self.partial) > MAX_LINE_BYTES:
            self.partial = b""
        return [line.decode("utf-8", errors="replace") for line in lines]


class JsonlTail:
    """The JSON objects appended to ``path`` since the previous :meth:`read_new`."""

    def __init__(self, path: Path) -> None:
        self.lines = TextTail(path)
        self.skipped = 0

    @property
    def path(self) -> Path:
        return self.lines.path

    @property
    def restarts(self) -> int:
        return self.lines.restarts

    def read_new(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for line in self.lines.read_new():
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except ValueError:
                self.skipped += 1
                continue
            if isinstance(event, dict):
                events.append(event)
        return events
