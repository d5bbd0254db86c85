"""The rank group's collectives on two real gloo processes, the launcher setting, and how a
torchrun run's ending becomes one result (``ddp_launch.merge_outcome``)."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch.multiprocessing as mp

from openlora.trainer import ddp_launch
from openlora.trainer.batches import MicroBatchOrder, PreparedData
from openlora.trainer.config import ConfigError, LauncherConfig, parse_config
from openlora.trainer.ranks import RankGroup, from_env
from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank: int, port: int, out: Path) -> None:
    import os

    import torch

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    group = from_env()
    group.start(use_cuda=False, timeout_s=60)
    cpu = torch.device("cpu")
    loss = math.nan if rank == 1 else 2.0  # a NaN on one rank only
    summed = group.sum([loss, 10.0 * (rank + 1)], cpu)
    stop = group.any(rank == 0, cpu)
    patch = group.broadcast({"patch_id": "p", "learning_rate": 0.5} if rank == 0 else "ignored")
    gathered = group.gather(rank * 7)
    group.stop()
    (out / f"rank{rank}.json").write_text(json.dumps([summed, stop, patch, gathered]))  # NaN allowed


def test_two_gloo_processes_agree_a_nan_anywhere_is_a_nan_everywhere(tmp_path):
    mp.spawn(_rank_main, args=(_free_port(), tmp_path), nprocs=2, join=True)
    seen = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for summed, stop, patch, gathered in seen:
        assert math.isnan(summed[0]) and summed[1] == 30.0
        assert stop is True  # only rank 0 asked to stop: both stop
        assert patch == {"patch_id": "p", "learning_rate": 0.5}  # rank 0's patch on both
        assert gathered == [0, 7]


def test_single_process_collectives_are_identities():
    group = RankGroup()
    assert not group.distributed and group.is_main
    import torch

    assert group.sum([1.5, 2.0], torch.device("cpu")) == [1.5, 2.0]
    assert group.broadcast("x") == "x" and group.gather(3) == [3]
    assert from_env({}).world == 1
    with pytest.raises(RuntimeError, match="WORLD_SIZE"):
        from_env({"RANK": "3", "WORLD_SIZE": "2"})


def test_ranks_take_slices_of_the_global_batch_and_a_rank_left_empty_gets_a_filler():
    data = PreparedData(train_seqs=list(range(10)), val_seqs=[], stats=None, batches_per_epoch=3)  # type: ignore[arg-type]
    one = MicroBatchOrder(data, batch_size=4, seed=1)
    one.batches_per_epoch = 3
    ranks = [MicroBatchOrder(data, batch_size=2, seed=1, rank=r, world=2) for r in (0, 1)]
    for index in range(6):  # two epochs of ceil(10 / 4) = 3 global batches
        assert ranks[0](index) + ranks[1](index) == one(index)
    assert ranks[1](2) == [] and ranks[1].filler(2) == [one(2)[0]]


def test_launcher_setting_is_validated_with_the_field_named():
    assert parse_config({"dataset": "d.jsonl"}, "t").launcher.kind == "process"
    assert LauncherConfig(kind="torchrun").processes() == 1  # auto on a machine without a GPU
    assert LauncherConfig(kind="torchrun", nproc_per_node=3).processes() == 3
    for bad in ({"nproc_per_node": 0}, {"kind": "slurm"}, {"timeout_s": 10}, {"nprocs": 2}):
        with pytest.raises(ConfigError, match="launcher"):
            parse_config({"dataset": "d.jsonl", "launcher": bad}, "goal.yaml")


def _write(rd: RunDir, rank: int, result: RunResult) -> None:
    result.write(rd.result if rank == 0 else rd.rank_result(rank))


def test_a_rank_failing_on_its_own_is_the_run_result_naming_the_rank(tmp_path):
    rd = RunDir(tmp_path)
    _write(rd, 0, RunResult(RunStatus.ERROR, "a collective failed", 7, evidence={"kind": "distributed"}))
    _write(rd, 1, RunResult(RunStatus.OOM, "out of memory at step 8", 7, evidence={"batch_size": 8}))
    failures = {0: SimpleNamespace(exitcode=1), 1: SimpleNamespace(exitcode=1)}
    merged = ddp_launch.merge_outcome(rd, 2, failures)
    assert merged.status == RunStatus.OOM
    assert merged.message == "rank 1: out of memory at step 8" and merged.evidence["rank"] == 1


def test_a_rank_that_died_without_a_word_is_an_error_naming_it(tmp_path):
    rd = RunDir(tmp_path)
    _write(rd, 0, RunResult(RunStatus.ERROR, "a collective failed", 4, evidence={"kind": "distributed"}))
    merged = ddp_launch.merge_outcome(
        rd, 2, {1: SimpleNamespace(exitcode=-9), 0: SimpleNamespace(exitcode=1)}
    )
    assert merged.status == RunStatus.ERROR and merged.evidence["kind"] == "rank_died"
    assert merged.message.startswith("rank 1 was killed by SIGKILL at step 5")
    _write(rd, 0, RunResult(RunStatus.NAN, "non-finite loss at step 5", 5))  # rank 0's own status stands
    assert ddp_launch.merge_outcome(rd, 2, {1: SimpleNamespace(exitcode=1)}).status == RunStatus.NAN


def test_threads_are_shared_out_unless_the_caller_set_them():
    assert ddp_launch.threads_per_rank(2, {"OMP_NUM_THREADS": "3"}) == "3"
    assert int(ddp_launch.threads_per_rank(64, {})) == 1
