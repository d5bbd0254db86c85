"""Every bad dataset ends with status data_error naming the file and the line, and nothing else written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openlora.trainer.result import RunResult, RunStatus
from openlora.trainer.rundir import RunDir
from tests.conftest import make_run


def _write(path: Path, content: bytes | str) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


GOOD = json.dumps({"prompt": "key red", "response": "value apple"}) + "\n"

CASES = {
    "empty": ("data.jsonl", "\n  \n", 1, "empty"),
    "undecodable": (
        "data.jsonl",
        GOOD.encode() * 2 + b'{"prompt": "caf\xe9", "response": "x"}\n',
        3,
        "UTF-8",
    ),
    "broken_json_line": (
        "data.jsonl",
        GOOD * 3 + '{"prompt": "key", "response": \n' + GOOD,
        4,
        "broken JSON",
    ),
    "missing_column": ("data.jsonl", GOOD * 4 + json.dumps({"prompt": "only a prompt"}) + "\n", 5, "missing"),
    "csv_missing_column": ("data.csv", "question,label\nwhat,a\nwho,b\n", 2, "missing column"),
    "csv_empty": ("data.csv", "", 1, "empty"),
    "txt_undecodable": ("data.txt", b"first paragraph\n\nsecond \xff\xfe paragraph\n", 3, "UTF-8"),
    "all_rows_too_long": (
        "data.jsonl",
        "".join(json.dumps({"prompt": "word " * 200, "response": f"answer {i}"}) + "\n" for i in range(4)),
        1,
        "longer than max_seq_len",
    ),
    "not_an_object": ("data.jsonl", GOOD + "[1, 2, 3]\n", 2, "JSON object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_dataset_names_file_and_line(case, tiny_llama, tmp_path, run_in_process):
    name, content, line, reason = CASES[case]
    data = _write(tmp_path / name, content)
    run = make_run(tmp_path / "run", base_model=str(tiny_llama), dataset=str(data), max_steps=3)

    result = run_in_process(run)

    assert result.status == RunStatus.DATA_ERROR
    assert result.message.startswith(f"{data}:{line}: "), result.message
    assert reason in result.message
    located = {"file": str(data), "line": line, "reason": result.message.split(": ", 1)[1]}
    figures = {k: v for k, v in result.evidence.items() if k not in located}
    assert {k: result.evidence[k] for k in located} == located
    if case == "all_rows_too_long":  # the numbers behind the reason, for the supervisor
        assert figures["max_seq_len"] == 64
        assert figures["longest_example_tokens"] >= figures["shortest_example_tokens"] > 64
    else:
        assert figures == {}
    assert sorted(p.name for p in run.iterdir()) == ["result.json", "spec.json"]
    assert RunResult.read(RunDir(run).result).status == RunStatus.DATA_ERROR


def test_mapped_csv_columns_train(tiny_llama, tmp_path, run_in_process):
    rows = "".join(f'"what is {i}?","it is {i}"\n' for i in range(20))
    data = _write(tmp_path / "qa.csv", "question_text,answer_text\n" + rows)
    run = make_run(
        tmp_path / "run",
        base_model=str(tiny_llama),
        dataset=str(data),
        max_steps=3,
        prompt_column="question_text",
        response_column="answer_text",
    )
    assert run_in_process(run).status == RunStatus.COMPLETED
