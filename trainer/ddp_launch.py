"""Run one training attempt on several processes with torchrun, and make its ending one result.

``python -m openlora.trainer.ddp_launch RUN_DIR`` is what ``launch_run`` starts when the config says
``launcher: {kind: torchrun}``. It runs exactly ``torchrun --standalone --nproc_per_node N -m
openlora.trainer RUN_DIR`` (through torch's own ``torch.distributed.run``, in this process, so torchrun
reports which rank failed and how) with ``OMP_NUM_THREADS`` set to the cores each rank gets, then
writes the run's ``result.json`` when the ranks did not leave a true one:

- rank 0 writes ``result.json`` as a single process does; it stands unless it only says that a
  collective failed because a peer went away;
- a rank that fails on its own (out of memory, a data error, a NaN it raised) writes
  ``rank-N.result.json``; that becomes the run's result, its message naming the rank;
- a rank killed by a signal (or exiting without a word) becomes status ``error`` with evidence
  ``{"kind": "rank_died", "rank": N, ...}``.

Bounded: torchrun notices a dead rank within its monitor interval and stops the others (SIGTERM, then
SIGKILL after 30 s); a rank that hangs instead is bounded by ``launcher.timeout_s`` on collectives.
Not guarded: torchrun's own death — the ranks ask Linux to kill them with it (``ranks.die_with_parent``),
and the missing result is what the supervisor sees, as for any killed trainer.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

from openlora.trainer import checkpoints
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir, read_events

COLLATERAL = "distributed"  # evidence kind of a rank whose collective failed because a peer went away
MONITOR_INTERVAL_S = 0.2


def torchrun_args(run_dir: Path, nproc: int) -> list[str]:
    """torchrun's arguments for one attempt on this machine."""
    return [
        "--standalone",
        f"--nproc-per-node={nproc}",
        f"--monitor-interval={MONITOR_INTERVAL_S}",
        "-m",
        "openlora.trainer",
        str(run_dir),
    ]


def threads_per_rank(nproc: int, env: dict[str, str]) -> str:
    """``OMP_NUM_THREADS`` for each rank: the caller's, else this machine's cores shared out."""
    if env.get("OMP_NUM_THREADS"):
        return env["OMP_NUM_THREADS"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return str(max(1, cores // nproc))


def launch(run_dir: Path) -> RunResult:
    """Train ``run_dir`` under torchrun and return (and write) the run's result."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser
    from torch.distributed.run import run as torchrun

    from openlora.trainer.config import ConfigError
    from openlora.trainer.main import load_spec

    rd = RunDir(run_dir)
    try:
        nproc = load_spec(rd).launcher.processes()
    except ConfigError as exc:
        result = RunResult(RunStatus.ERROR, str(exc), evidence={"kind": "config"})
        result.write(rd.result)
        return result
    rd.result.unlink(missing_ok=True)
    for stale in run_dir.glob("rank-*.result.json"):
        stale.unlink()
    os.environ["OMP_NUM_THREADS"] = threads_per_rank(nproc, dict(os.environ))
    failures: dict[int, Any] = {}
    try:
        torchrun(get_args_parser().parse_args(torchrun_args(run_dir, nproc)))
    except ChildFailedError as exc:
        failures = dict(exc.failures)
    except Exception as exc:  # torchrun's SignalException and the like: the ranks were stopped
        failures = {-1: exc}
    result = merge_outcome(rd, nproc, failures)
    result.write(rd.result)
    return result


def merge_outcome(rd: RunDir, nproc: int, failures: dict[int, Any]) -> RunResult:
    """The run's result from what rank 0 wrote, the failed ranks' own results and torchrun's failures."""
    ranks: dict[int, RunResult] = {}
    for rank in range(nproc):
        path = rd.result if rank == 0 else rd.rank_result(rank)
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError, TypeError):
            ranks[rank] = RunResult.read(path)
    main = ranks.get(0)
    if main is not None and main.status == RunStatus.COMPLETED:
        return main
    for rank, result in sorted(ranks.items()):  # a rank that failed on its own is the cause
        if result.evidence.get("kind") != COLLATERAL:
            return _named(result, rank)
    for rank, failure in sorted(failures.items()):  # a rank that died without a word
        if rank >= 0 and rank not in ranks:
            return _rank_died(rd, rank, failure, main)
    if main is not None:
        return main
    return RunResult(
        RunStatus.ERROR, "torchrun ended and no rank wrote a result", evidence={"kind": "rank_died"}
    )


def _named(result: RunResult, rank: int) -> RunResult:
    if rank > 0:
        result.message = f"rank {rank}: {result.message}"
        result.evidence = {**result.evidence, "rank": rank}
    return result


def _rank_died(rd: RunDir, rank: int, failure: Any, main: RunResult | None) -> RunResult:
    exitcode = int(getattr(failure, "exitcode", 1))
    how = (
        f"was killed by {signal.Signals(-exitcode).name}" if exitcode < 0 else f"exited with code {exitcode}"
    )
    steps = [int(e["step"]) for e in read_events(rd.metrics) if e.get("event") == "step" and "step" in e]
    step = max([main.step if main is not None else 0, *steps])  # the last step rank 0 finished
    good = checkpoints.newest_complete(rd.checkpoints)
    return RunResult(
        RunStatus.ERROR,
        f"rank {rank} {how} at step {step + 1}; torchrun stopped the other ranks",
        step=step,
        evidence={
            "kind": "rank_died",
            "rank": rank,
            "exitcode": exitcode,
            "peer_error": main.message[:300] if main is not None else None,
        },
        final_metrics=main.final_metrics if main is not None else {},
        checkpoint=str(good.path) if good else None,
    )


def main(argv: list[str] | None = None) -> int:
    from openlora.trainer.main import run_dir_cli

    return run_dir_cli(argv, "openlora.trainer.ddp_launch", launch)


if __name__ == "__main__":
    raise SystemExit(main())
