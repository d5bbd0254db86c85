"""The live view of the active run: loss and val-loss curves, current figures, the agent's timeline.

:meth:`LiveRun.poll` reads only the lines appended to the newest attempt's ``metrics.jsonl`` since
the last poll (the file can grow long), so a one-second timer stays cheap. While the trainer downloads
a hub base model, its ``download`` events show as a progress bar and a line ("downloading
model.safetensors 34 MB / 270 MB (12 %)"), replaced by the training figures once training starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, RichLog, Static
from textual_plotext import PlotextPlot

from openlora.trainer.download_events import DownloadTracker
from openlora.trainer.rundir import RunDir, latest_attempt
from openlora.tui.safe_text import literal


class LiveRun(Vertical):
    """Curves and figures of the run being supervised, and the supervisor's timeline."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_root: Path | None = None
        self.attempt_dir: Path | None = None
        self.read_pos = 0
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
        self.last: dict[str, Any] = {}
        self.timeline: list[str] = []
        self.download = DownloadTracker()

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="loss-plot")
        yield ProgressBar(total=100, show_eta=False, show_percentage=False, id="download-bar")
        yield Static("No run yet.", id="run-figures")
        yield RichLog(id="timeline", wrap=True, min_width=20, markup=False, max_lines=500)

    def on_mount(self) -> None:
        self._draw()

    def follow(self, root: Path) -> None:
        self.run_root, self.attempt_dir, self.read_pos = root, None, 0
        self.steps, self.losses, self.val_steps, self.val_losses, self.last = [], [], [], [], {}
        self.download = DownloadTracker()
        self.query_one("#timeline", RichLog).clear()
        self.timeline = []
        self._draw()

    def add_timeline(self, line: str) -> None:
        self.timeline.append(line)
        self.query_one("#timeline", RichLog).write(literal(line))

    def poll(self) -> bool:
        """Read new metric lines; returns whether anything changed."""
        newest = latest_attempt(self.run_root) if self.run_root is not None else None
        if newest is None:
            return False
        if newest != self.attempt_dir:
            self.attempt_dir, self.read_pos = newest, 0
            self.steps, self.losses, self.val_steps, self.val_losses = [], [], [], []
            self.download = DownloadTracker()
        metrics = RunDir(newest).metrics
        if not metrics.is_file():
            return False
        with metrics.open("rb") as handle:
            handle.seek(self.read_pos)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        if not complete:
            return False
        self.read_pos += len(complete)
        for raw in complete.splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            self._take(event)
        self._draw()
        return True

    def _take(self, event: dict[str, Any]) -> None:
        self.download.take(event)
        kind = event.get("event")
        if kind == "step" and isinstance(event.get("loss"), int | float):
            self.steps.append(int(event["step"]))
            self.losses.append(float(event["loss"]))
            self.last = event
        elif kind == "eval" and isinstance(event.get("val_loss"), int | float):
            self.val_steps.append(int(event["step"]))
            self.val_losses.append(float(event["val_loss"]))

    def _draw(self) -> None:
        plot = self.query_one("#loss-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.title("loss" if self.attempt_dir is None else f"loss — {self.attempt_dir.name}")
        finite = [(s, v) for s, v in zip(self.steps, self.losses, strict=True) if v == v and abs(v) < 1e30]
        if finite:
            plt.plot([s for s, _ in finite], [v for _, v in finite], label="train")
        if self.val_losses:
            plt.plot(self.val_steps, self.val_losses, label="val", marker="dot")
        plot.refresh()
        self._draw_download()
        self.query_one("#run-figures", Static).update(literal(self.figures()))

    def _draw_download(self) -> None:
        bar = self.query_one("#download-bar", ProgressBar)
        bar.display = self.download.downloading
        now = self.download.current
        if self.download.downloading and now is not None:
            fraction = now.fraction
            bar.update(total=None if fraction is None else 100, progress=100 * (fraction or 0.0))

    def figures(self) -> str:
        if self.download.downloading and self.run_root is not None:
            return f"{self.run_root.name}: {self.download.text()}"
        if not self.last:
            return (
                "No run yet."
                if self.run_root is None
                else f"{self.run_root.name}: waiting for the first step…"
            )
        e = self.last
        parts = [f"step {e.get('step')}", f"loss {e.get('loss'):.4g}"]
        if isinstance(e.get("lr"), int | float):
            parts.append(f"lr {e['lr']:.3g}")
        if isinstance(e.get("tokens_per_s"), int | float):
            parts.append(f"{e['tokens_per_s']:.0f} tok/s")
        if self.val_losses:
            parts.append(f"val {self.val_losses[-1]:.4g}")
        if isinstance(e.get("gpu_mem_used_mb"), int | float):
            parts.append(
                f"GPU {e['gpu_mem_used_mb'] / 1024:.1f}/{e.get('gpu_mem_total_mb', 0) / 1024:.1f} GiB"
            )
        elif isinstance(e.get("cuda_mem_allocated_mb"), int | float):
            parts.append(f"CUDA {e['cuda_mem_allocated_mb'] / 1024:.1f} GiB")
        if isinstance(e.get("gpu_util_pct"), int | float):
            parts.append(f"GPU util {e['gpu_util_pct']:.0f}%")
        if isinstance(e.get("rss_mb"), int | float):
            parts.append(f"RAM {e['rss_mb']:.0f} MiB")
        return " · ".join(parts)
