"""Checkpoint commit protocol: atomic rename, verification, pruning, staging leftovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlora.trainer import checkpoints


def _writer(payload: bytes):
    def write(folder: Path) -> None:
        (folder / "weights.bin").write_bytes(payload)
        (folder / "nested").mkdir()
        (folder / "nested" / "state.json").write_text("{}", encoding="utf-8")

    return write


def test_commit_verify_and_newest(tmp_path):
    for step in (5, 10, 15):
        checkpoints.commit_checkpoint(tmp_path, step, _writer(bytes([step]) * 64))
    assert [c.step for c in checkpoints.list_checkpoints(tmp_path)] == [5, 10, 15]
    assert checkpoints.newest_complete(tmp_path).step == 15
    assert all(checkpoints.verify_checkpoint(c.path) is None for c in checkpoints.list_checkpoints(tmp_path))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: (p / checkpoints.MARKER).unlink(), "no COMPLETE marker"),
        (lambda p: (p / "weights.bin").write_bytes(b"torn"), "does not match"),
        (lambda p: (p / "nested" / "state.json").unlink(), "missing nested/state.json"),
        (lambda p: (p / checkpoints.MARKER).write_text("{", encoding="utf-8"), "unreadable"),
    ],
)
def test_damaged_newest_is_skipped_with_reason(tmp_path, damage, reason):
    checkpoints.commit_checkpoint(tmp_path, 1, _writer(b"a" * 10))
    newest = checkpoints.commit_checkpoint(tmp_path, 2, _writer(b"b" * 10))
    damage(newest.path)
    skipped: list[tuple[int, str]] = []
    found = checkpoints.newest_complete(tmp_path, on_skip=lambda c, why: skipped.append((c.step, why)))
    assert found.step == 1
    assert skipped[0][0] == 2 and reason in skipped[0][1]


def test_failed_write_leaves_nothing_and_prune_keeps_newest(tmp_path):
    def broken(folder: Path) -> None:
        (folder / "half.bin").write_bytes(b"x")
        raise OSError("disk full")

    with pytest.raises(OSError):
        checkpoints.commit_checkpoint(tmp_path, 3, broken)
    assert list(tmp_path.iterdir()) == []

    for step in range(1, 6):
        checkpoints.commit_checkpoint(tmp_path, step, _writer(b"z"))
    (tmp_path / ".staging-step-00000009-123").mkdir()  # left by a process killed mid-write
    checkpoints.prune_checkpoints(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000004", "step-00000005"]
