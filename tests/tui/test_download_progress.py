"""A hub base model's download shows in the live view, then gives way to the training figures.

No download happens here: the test writes ``download`` events with the trainer's own metrics writer
into the attempt folder the TUI follows, as a stand-in for a trainer fetching a model.
"""

from __future__ import annotations

import pytest
from textual.widgets import ProgressBar, Static

from openlora.trainer.rundir import GoalDir
from openlora.trainer.telemetry import MetricsWriter
from openlora.tui.messages import RunStarted
from openlora.tui.widgets.live_run import LiveRun
from tests.tui.conftest import make_app, wait_for

pytestmark = pytest.mark.anyio
MB = 1_000_000


async def test_stand_in_download_events_show_as_progress_until_training_starts(home, tmp_path):
    root = tmp_path / "runs" / "hub-20260101-090000"
    attempt = GoalDir(root).attempt(1)
    attempt.root.mkdir(parents=True)
    metrics = MetricsWriter(attempt.metrics)
    metrics.write("download", file="config.json", bytes_done=700, bytes_total=700)
    metrics.write("download", file="model.safetensors", bytes_done=34 * MB, bytes_total=270 * MB)
    app = make_app(tmp_path)
    async with app.run_test(size=(140, 42)) as pilot:
        app.screen.post_message(RunStarted(root))  # what approving a draft posts
        live = app.screen.query_one(LiveRun)
        bar = live.query_one("#download-bar", ProgressBar)

        def figures() -> str:
            return str(live.query_one("#run-figures", Static).render())

        await wait_for(pilot, lambda: "downloading" in figures(), timeout=20, what="the download")
        assert figures() == (
            "hub-20260101-090000: downloading model.safetensors 34 MB / 270 MB (12 %) · 1 file(s) done"
        )
        assert bar.display and bar.percentage == pytest.approx(34 / 270)

        metrics.write("download", file="model.safetensors", bytes_done=270 * MB, bytes_total=270 * MB)
        await wait_for(pilot, lambda: "preparing" in figures(), timeout=20, what="the download's end")
        assert figures().endswith("downloaded 2 file(s), 270 MB; preparing the run…")

        metrics.write("run_start", total_steps=10, device="cpu", threads=1)
        metrics.write("step", step=1, loss=2.5, lr=0.001)
        await wait_for(pilot, lambda: "step 1" in figures(), timeout=20, what="the training view")
        assert figures() == "step 1 · loss 2.5 · lr 0.001"
        await pilot.pause(0.05)
        assert not bar.display
