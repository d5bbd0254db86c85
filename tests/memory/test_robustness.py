"""Many writers at once, and a Chroma folder that went bad."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from openlora.memory.incidents import IncidentMemory, NewIncident
from openlora.memory.index import ChromaIndex
from openlora.memory.records import Diagnosis
from openlora.memory.signature import Symptom
from openlora.memory.store import MemoryStore

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from openlora.memory.incidents import IncidentMemory, NewIncident
    from openlora.memory.signature import Symptom
    from openlora.memory import embedder
    embedder.embed(["warm up"])
    worker, barrier = int(sys.argv[1]), Path(sys.argv[2])
    memory = IncidentMemory()
    (barrier / f"ready-{worker}").touch()
    while not (barrier / "go").exists():  # start together, once every writer is ready
        time.sleep(0.01)
    for i in range(25):
        diagnosis = "plateau" if i % 2 else "nan"
        memory.add(NewIncident(Symptom(diagnosis, "llama", [1.0, 0.9], note=f"w{worker} i{i}")))
    """
)


def _release_together(procs: list[subprocess.Popen], barrier: Path, timeout: float = 300) -> None:
    """Let the writers go at once, as soon as all of them have loaded the embedder and opened the memory."""
    deadline = time.monotonic() + timeout
    try:
        while len(list(barrier.glob("ready-*"))) < len(procs):
            exited = [p for p in procs if p.poll() is not None]
            if exited:
                raise AssertionError(f"a writer exited before the start: {exited[0].stderr.read()[-2000:]}")
            assert time.monotonic() < deadline, "the writers were not ready in time"
            time.sleep(0.05)
    finally:
        (barrier / "go").touch()  # never leave a writer waiting, even when the test fails here


@pytest.mark.long
def test_four_processes_writing_twenty_five_incidents_each(tmp_path):
    home = tmp_path / "home"
    MemoryStore(home)  # create the schema once, as the first run on a machine would
    env = {**os.environ, "OPENLORA_HOME": str(home)}
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(n), str(barrier)], env=env, stderr=subprocess.PIPE, text=True
        )
        for n in range(4)
    ]
    _release_together(procs, barrier)
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]

    memory = IncidentMemory(MemoryStore(home))
    ids = [r[0] for r in memory.store.db.execute("SELECT id FROM incidents")]
    assert len(ids) == 100 and len(set(ids)) == 100
    notes = {r[0].split(". ")[-1] for r in memory.store.db.execute("SELECT signature FROM incidents")}
    assert len(notes) == 100  # every (worker, i) exactly once
    assert memory.index.count() == 100 and memory.index.ids() == set(ids)
    assert memory.rebuilt_because is None


def _fill(home) -> IncidentMemory:
    memory = IncidentMemory(MemoryStore(home))
    memory.add_many(
        [
            NewIncident(
                Symptom("nan", "llama", [2.0, 1.5, None], note="loss became nan after the lr increase")
            ),
            NewIncident(
                Symptom("oom", "llama", [], error_tail="CUDA out of memory. Tried to allocate 2.00 GiB")
            ),
            NewIncident(Symptom("plateau", "gpt2", [3.0] * 30, note="loss flat for 30 steps")),
        ]
    )
    memory.index.close()
    return memory


def test_corrupted_chroma_folder_is_rebuilt_at_start(tmp_path):
    home = tmp_path / "home"
    _fill(home)
    chroma = home / "chroma"
    for file in chroma.rglob("*"):
        if file.is_file():
            file.write_bytes(b"\x00garbage" * 64)

    memory = IncidentMemory(MemoryStore(home))

    assert memory.rebuilt_because is not None
    assert memory.index.count() == 3
    assert memory.search("out of memory while allocating", k=1)[0].incident.diagnosis == Diagnosis.OOM
    assert memory.search("nan loss", k=1)[0].incident.diagnosis == Diagnosis.NAN


def test_missing_chroma_folder_is_rebuilt_and_the_cli_rebuilds_on_demand(tmp_path):
    import shutil

    home = tmp_path / "home"
    _fill(home)
    shutil.rmtree(home / "chroma")
    memory = IncidentMemory(MemoryStore(home))
    assert memory.rebuilt_because == "missing" and memory.index.count() == 3
    memory.index.close()

    cli = os.path.join(os.path.dirname(sys.executable), "openlora-agent")
    proc = subprocess.run(
        [cli, "memory", "rebuild"],
        env={**os.environ, "OPENLORA_HOME": str(home)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "3 incidents" in proc.stdout
    assert ChromaIndex(home / "chroma").count() == 3
