"""The measured out-of-memory repair's choices, on planted probe findings (the probe itself runs in
tests/agent/test_supervisor.py), and the share of examples a shorter length leaves out."""

from __future__ import annotations

from openlora.agent.evidence import DataFacts
from openlora.agent.oom_probe import _length_fix, lengths_up_to
from openlora.agent.records import Action

CONFIG = {"batch_size": 4, "grad_accum": 2, "max_seq_len": 4096, "gradient_checkpointing": False}


def _probed(fitting_up_to: int | None, tried: tuple[int, ...], key: str, **trial) -> dict:
    """A probe's findings as the memory probe writes them: ``tried`` values of ``key`` in order, each
    fitting up to ``fitting_up_to`` (None: not even the first), stopped at the first that does not."""
    trials = []
    for value in tried:
        fits = fitting_up_to is not None and value <= fitting_up_to
        trials.append({**trial, key: value, "fits": fits, "peak_gib": 0.1})
        if not fits:
            break
    return {"trials": trials}


def _found(fitting_up_to: int | None) -> dict:
    return _probed(fitting_up_to, (512, 1024, 2048, 4096), "tokens", batch_size=1)


def _batches(fitting_up_to: int | None) -> dict:
    return _probed(fitting_up_to, (1, 2, 4, 8, 16, 32, 64), "batch_size", tokens=37)


def test_the_lengths_halve_from_the_configured_one_down_to_32_tokens_shortest_first():
    assert lengths_up_to(4096) == [32, 64, 128, 256, 512, 1024, 2048, 4096]
    assert lengths_up_to(32768) == [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]  # at most 8
    assert lengths_up_to(100) == [50, 100] and lengths_up_to(16) == [16]


def test_the_whole_length_fitting_with_checkpointing_is_checkpointing_at_batch_1():
    candidate, fixes = _length_fix(CONFIG, _found(4096), None)
    assert fixes and candidate.action == Action.GRADIENT_CHECKPOINTING
    args = candidate.call.args
    assert (args["batch_size"], args["grad_accum"], args["gradient_checkpointing"]) == (1, 8, True)
    assert "max_seq_len" not in args  # nothing is cut


def test_a_shorter_length_takes_one_length_of_headroom_and_says_what_is_left_out():
    pairs = DataFacts(
        rows=100,
        mean_bytes=3000,
        length_deciles=(10,) * 11,
        whole_rows=100,
        whole_deciles=(400, 800, 1200, 1600, 2000, 2400, 2800, 3200, 3600, 4000, 6000),
    )
    candidate, fixes = _length_fix(CONFIG, _found(2048), pairs)
    assert fixes and candidate.action == Action.SHORTEN_SEQUENCES
    assert candidate.call.args["max_seq_len"] == 1024 and candidate.call.args["gradient_checkpointing"]
    assert (
        "one length of headroom" in candidate.why
        and "of the examples are longer and left out" in candidate.why
    )
    text = DataFacts(rows=100, mean_bytes=3000, length_deciles=(6000,) * 11, whole_rows=0)
    candidate, _ = _length_fix(CONFIG, _found(2048), text)  # plain text is chunked: nothing is left out
    assert "left out" not in candidate.why


def test_nothing_fitting_at_the_shortest_length_is_a_stop_that_says_so():
    candidate, fixes = _length_fix(CONFIG, _found(None), None)
    assert not fixes and candidate.action == Action.STOP
    assert "not even 512 tokens fit" in candidate.why


def test_plain_text_rows_are_never_counted_as_dropped():
    mixed = DataFacts(
        rows=10, mean_bytes=500, length_deciles=(100,) * 10 + (9000,), whole_rows=5, whole_deciles=(100,) * 11
    )
    assert mixed.share_longer_than(512) == 0.0  # the long row is text: chunked, not dropped
    legacy = DataFacts(rows=10, mean_bytes=500, length_deciles=(100,) * 10 + (9000,))
    assert legacy.share_longer_than(512) > 0.0  # without the split every row counts, as before


def test_a_lossless_shorter_length_comes_with_the_batch_measured_at_it():
    from openlora.agent.oom_probe import _shorter_batch_fix

    config = {"batch_size": 64, "grad_accum": 1, "max_seq_len": 256}
    candidate = _shorter_batch_fix(config, _batches(16), 64)
    assert candidate.action == Action.SHORTEN_SEQUENCES
    args = candidate.call.args
    assert (args["max_seq_len"], args["batch_size"], args["grad_accum"]) == (64, 8, 8)  # headroom below 16
    assert "still holds every example whole" in candidate.why and "one size of headroom" in candidate.why
    whole = _shorter_batch_fix(config, _batches(64), 64)  # every size fitted: the batch stays
    assert (whole.call.args["batch_size"], whole.call.args["grad_accum"]) == (64, 1)
    assert "headroom" not in whole.why
    assert _shorter_batch_fix(config, _batches(None), 64) is None


def test_only_a_shortening_that_cuts_no_example_is_lossless():
    from openlora.agent.candidates import relaunch
    from openlora.agent.oom_probe import _lossless_shortening
    from openlora.agent.records import Diagnosis, Finding

    data = DataFacts(
        rows=100,
        mean_bytes=60,
        length_deciles=(40,) * 10 + (80,),
        whole_rows=100,
        whole_deciles=(40,) * 10 + (80,),
    )
    fits = relaunch(Action.SHORTEN_SEQUENCES, "holds every example", max_seq_len=128)
    cuts = relaunch(Action.SHORTEN_SEQUENCES, "halve", max_seq_len=32)
    assert _lossless_shortening(Finding(diagnosis=Diagnosis.OOM, candidates=[cuts, fits]), data) is fits
    assert _lossless_shortening(Finding(diagnosis=Diagnosis.OOM, candidates=[cuts]), data) is None
    assert _lossless_shortening(Finding(diagnosis=Diagnosis.OOM, candidates=[fits]), None) is None
