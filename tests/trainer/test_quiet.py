"""A quiet console: in-process model work sends library bars and warnings to the run's log."""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openlora.evaluation.engine import FormatChecks, evaluate_run
from openlora.trainer import rundir
from openlora.trainer.export.exporter import export_run
from openlora.trainer.quiet import quiet_libraries
from openlora.trainer.result import RunStatus
from openlora.trainer.rundir import RunDir
from tests.conftest import make_run

# What tqdm draws ("Loading weights:  50%|█████     | 1/2 [00:00<...]") and what warnings print.
NOISE = re.compile(r"\d+%\||it/s\]|Loading weights|de-quantizing|FutureWarning|UserWarning")


def _print_warning(*args: Any) -> None:
    """``warnings.showwarning`` as the interpreter's own: the formatted warning on stderr."""
    message, category, filename, lineno = args[:4]
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno))


@pytest.fixture
def console_warnings() -> Iterator[None]:
    """Warnings printed on stderr every time, as a plain ``python`` shows them (pytest records them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _print_warning
        yield


@pytest.fixture
def trained_run(tiny_llama: Path, kv_dataset: Path, tmp_path: Path, run_in_process) -> Path:
    run = make_run(tmp_path / "run", base_model=str(tiny_llama), dataset=str(kv_dataset), max_steps=4)
    assert run_in_process(run).status == RunStatus.COMPLETED
    return run


STEPS = {
    "export": lambda run: export_run(run, ["pt"]),
    "evaluate": lambda run: evaluate_run(run, True, 2, 4, FormatChecks()),
}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_in_process_step_prints_no_library_noise(step, trained_run, capfd, console_warnings):
    capfd.readouterr()  # the trainer's own step bar, drawn while the fixture trained in-process

    STEPS[step](trained_run)

    out, err = capfd.readouterr()
    assert not NOISE.search(out + err), (out + err)[-2000:]
    log = RunDir(trained_run).trainer_log.read_text(encoding="utf-8")
    assert f"{step}] FutureWarning" in log, "the library warning is kept in the run's log"


def test_own_warnings_and_errors_still_reach_the_console(tmp_path, capfd, console_warnings):
    import transformers

    log = tmp_path / "trainer.log"
    with pytest.raises(RuntimeError, match="our own failure"), quiet_libraries(log, "test"):
        warnings.warn_explicit("a warning of ours", UserWarning, rundir.__file__, 1)
        warnings.warn_explicit("a library's warning", FutureWarning, transformers.__file__, 1)
        raise RuntimeError("our own failure")
    err = capfd.readouterr().err
    assert "a warning of ours" in err and "a library's warning" not in err
    assert "a library's warning" in log.read_text(encoding="utf-8")


def test_switches_are_restored_and_the_gguf_bar_is_off_inside(capfd):
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    before = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity(), gguf_utils.tqdm)
    with quiet_libraries(None):
        assert not hf_logging.is_progress_bar_enabled()
        for _ in gguf_utils.tqdm(range(3), desc="Converting and de-quantizing GGUF tensors..."):
            pass
        hf_logging.get_logger("transformers.modeling_utils").warning("a transformers log record")
    err = capfd.readouterr().err
    assert not NOISE.search(err) and "a transformers log record" not in err
    assert (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity(), gguf_utils.tqdm) == before
