"""Training step time with and without the Prometheus exporter being scraped, measured in one run.

Two identical tiny-model training runs (same data, seed and settings) are trained one after the
other in subprocesses: one alone, one while the exporter serves its folder and a client scrapes
it every 0.5 s (ten times faster than the 5 s the shipped scrape config uses). Printed: median
step time of each and their ratio. Target: scraping adds under 2 %.

Usage: python bench/metrics_overhead.py [--steps 400] [--scrape-interval 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from openlora.observability.exporter import serve
from openlora.trainer.config import parse_config
from openlora.trainer.rundir import RunDir, read_events, write_json_atomic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train(run: Path, settings: dict) -> list[float]:
    run.mkdir(parents=True)
    write_json_atomic(RunDir(run).spec, parse_config(settings, "bench").model_dump())
    subprocess.run([sys.executable, "-m", "openlora.trainer", str(run)], check=True, capture_output=True)
    steps = [e["step_time_s"] for e in read_events(RunDir(run).metrics) if e["event"] == "step"]
    return steps[len(steps) // 10 :]  # leave warm-up out


def main() -> None:
    import json

    from tests.fixtures.tiny_models import build_tiny_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--scrape-interval", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = build_tiny_model(root / "tiny", "llama")
        rows = [{"prompt": f"key {i}", "response": f"value {i * 7 % 13}"} for i in range(200)]
        data = root / "data.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        settings = {
            "base_model": str(base),
            "dataset": str(data),
            "max_steps": args.steps,
            "max_seq_len": 128,
            "batch_size": 8,
            "learning_rate": 1e-2,
            "save_every": 10**6,
            "eval_every": 50,
            "num_threads": 1,
        }
        alone = train(root / "quiet" / "run", settings)
        (root / "scraped").mkdir()
        server, _ = serve(root / "scraped", port=_free_port())
        port = server.server_address[1]
        stop = threading.Event()
        scrapes = []

        def scrape() -> None:
            while not stop.is_set():
                began = time.perf_counter()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
                scrapes.append(time.perf_counter() - began)
                stop.wait(args.scrape_interval)

        thread = threading.Thread(target=scrape, daemon=True)
        thread.start()
        scraped = train(root / "scraped" / "run", settings)
        stop.set()
        thread.join()
        server.shutdown()
    quiet_median, scraped_median = statistics.median(alone), statistics.median(scraped)
    ratio = scraped_median / quiet_median
    print(
        f"median step time alone {quiet_median * 1000:.2f} ms, while scraped {scraped_median * 1000:.2f} ms "
        f"({len(scrapes)} scrapes, median scrape {statistics.median(scrapes) * 1000:.1f} ms)"
    )
    print(f"ratio {ratio:.4f} → overhead {100 * (ratio - 1):+.2f} % (target < 2 %)")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
