"""The live view of the active run: loss and val-loss curves, current figures, the agent's timeline.

:meth:`LiveRun.poll` refreshes a ``ui_core.run_watch.RunWatch`` of the run folder, which reads only
what the files gained since the last poll (they can grow long), so a one-second timer stays cheap; the
timeline is the supervisor process's ``supervisor.log``. While the trainer downloads
a hub base model, its ``download`` events show as a progress bar and a line ("downloading
model.safetensors 34 MB / 270 MB (12 %)"), replaced by the training figures once training starts.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, RichLog, Static
from textual_plotext import PlotextPlot

from openlora.trainer.download_events import DownloadTracker
from openlora.tui.safe_text import literal
from openlora.ui_core.run_watch import AttemptSeries, RunUpdate, RunWatch


class LiveRun(Vertical):
    """Curves and figures of the run being followed, and the supervisor's timeline."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.run_root: Path | None = None
        self.watch: RunWatch | None = None
        self.attempt_number: int | None = None
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
        self.run_root, self.watch, self.attempt_number = root, RunWatch(root), None
        self.download = DownloadTracker()
        self.query_one("#timeline", RichLog).clear()
        self.timeline = []
        self._draw()

    def add_timeline(self, line: str) -> None:
        self.timeline.append(line)
        self.query_one("#timeline", RichLog).write(literal(line))

    @property
    def series(self) -> AttemptSeries | None:
        return self.watch.current if self.watch is not None else None

    def poll(self) -> RunUpdate | None:
        """Read what the run folder gained (``RunWatch``); redraw when anything is new."""
        if self.watch is None:
            return None
        update = self.watch.refresh()
        current = self.series
        if current is not None and current.number != self.attempt_number:
            self.attempt_number, self.download = current.number, DownloadTracker()
        for event in update.metrics.get(self.attempt_number or 0, []):
            self.download.take(event)
        for line in update.log_lines:
            self.add_timeline(line)
        if update.metrics:
            self._draw()
        return update

    def _draw(self) -> None:
        plot = self.query_one("#loss-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        series = self.series
        plt.title("loss" if series is None else f"loss — attempt {series.number}")
        if series is not None:
            finite = [(s, v) for s, v in zip(series.steps, series.loss, strict=True) if abs(v) < 1e30]
            if finite:
                plt.plot([s for s, _ in finite], [v for _, v in finite], label="train")
            if series.val_loss:
                plt.plot(series.val_steps, series.val_loss, label="val", marker="dot")
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
        series = self.series
        if series is None or not series.last:
            return (
                "No run yet."
                if self.run_root is None
                else f"{self.run_root.name}: waiting for the first step…"
            )
        e = series.last
        parts = [f"step {e.get('step')}", f"loss {series.loss[-1]:.4g}"]  # nan when not finite
        if isinstance(e.get("lr"), int | float):
            parts.append(f"lr {e['lr']:.3g}")
        if isinstance(e.get("tokens_per_s"), int | float):
            parts.append(f"{e['tokens_per_s']:.0f} tok/s")
        if series.val_loss:
            parts.append(f"val {series.val_loss[-1]:.4g}")
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
