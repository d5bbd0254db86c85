"""The dataset files people bring: JSON arrays, Parquet, ShareGPT chats, other CSV delimiters, dirty text."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from openlora.tools import registry
from openlora.tools.context import ToolContext
from openlora.trainer.data import tokenize_file
from openlora.trainer.data_files import ColumnMap, DataError, read_records, read_records_with_report
from tests.conftest import write_jsonl

CHAT = [
    {"from": "system", "value": "be brief"},
    {"from": "human", "value": "key red"},
    {"from": "gpt", "value": "value apple"},
]
MESSAGES = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "key red"},
    {"role": "assistant", "content": "value apple"},
]


def _read(path: Path) -> list:
    return read_records(path, ColumnMap())


def _error(path: Path) -> DataError:
    with pytest.raises(DataError) as caught:
        _read(path)
    return caught.value


def test_alpaca_json_array_reads_as_pairs_with_the_input_joined(tmp_path):
    rows = [
        {"instruction": "Summarise", "input": "alpha beta", "output": "gamma"},
        {"instruction": "Say hi", "input": "", "output": "hi"},
    ]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")

    first, second = _read(path)

    assert (first.kind, first.line, first.prompt, first.response) == (
        "pair",
        1,
        "Summarise\n\nalpha beta",
        "gamma",
    )
    assert (second.line, second.prompt, second.response) == (2, "Say hi", "hi")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"data": rows}), encoding="utf-8")
    assert _read(wrapped) == [first, second]


def test_json_that_is_not_an_array_of_records_is_refused_naming_what_it_holds(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"prompt": "key red", "response": "value apple"}), encoding="utf-8")

    error = _error(path)

    assert (error.path, error.line) == (str(path), 1)
    assert error.reason == "a JSON object with keys ['prompt', 'response']; expected an array of records"
    path.write_text('"just text"', encoding="utf-8")
    assert _error(path).reason == "a JSON string; expected an array of records"


def test_a_broken_record_in_a_json_array_is_named_by_its_index(tmp_path):
    rows = [{"prompt": f"key {i}", "response": f"value {i}"} for i in range(4)]
    rows[2] = {"prompt": "key 2"}
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")

    error = _error(path)

    assert error.line == 3 and error.reason.startswith("record 3: missing column")
    assert str(error).startswith(f"{path}:3: record 3: ")


def test_parquet_rows_are_mapped_like_jsonl_objects(tmp_path):
    path = tmp_path / "train.parquet"
    table = {"prompt": ["key red", "key blue"], "response": ["value apple", "value sky"], "id": [1, 2]}
    pq.write_table(pa.table(table), path)

    records = _read(path)

    assert [(r.kind, r.line, r.prompt, r.response) for r in records] == [
        ("pair", 1, "key red", "value apple"),
        ("pair", 2, "key blue", "value sky"),
    ]
    pq.write_table(pa.table({"prompt": ["key red", None], "response": ["value apple", "x"]}), path)
    error = _error(path)
    assert error.line == 2 and error.reason == "row 2: column 'prompt' must be text, got NoneType"


def test_sharegpt_conversations_map_onto_chat_messages(tmp_path):
    path = write_jsonl(
        tmp_path / "chat.jsonl",
        [
            {"id": "a", "conversations": CHAT},
            {"messages": [{"from": "user", "value": "hi"}, {"from": "model", "value": "yo"}]},
        ],
    )

    first, second = _read(path)

    assert first.kind == "chat" and first.messages == MESSAGES
    assert second.messages == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    assert _read(write_jsonl(tmp_path / "plain.jsonl", [{"messages": MESSAGES}]))[0].messages == MESSAGES


def test_an_unknown_sharegpt_role_is_refused_naming_it_and_the_known_roles(tmp_path):
    turns = [{"from": "human", "value": "hi"}, {"from": "narrator", "value": "it was dark"}]
    path = write_jsonl(tmp_path / "chat.jsonl", [{"conversations": CHAT}, {"conversations": turns}])

    error = _error(path)

    assert error.line == 2
    assert error.reason.startswith("conversations[1].from 'narrator' is not a known role (")
    assert "human" in error.reason and "gpt" in error.reason and "system" in error.reason


def test_semicolon_and_tab_csv_are_sniffed_and_tsv_is_tab_separated(tmp_path):
    semicolon = tmp_path / "semi.csv"
    semicolon.write_text(
        "prompt;response\nkey red, please;value apple\nkey blue;value sky\n", encoding="utf-8"
    )
    tab = tmp_path / "tab.csv"
    tab.write_text("prompt\tresponse\nkey red, please\tvalue apple\nkey blue\tvalue sky\n", encoding="utf-8")
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("question\tanswer\nkey red; please\tvalue apple\n", encoding="utf-8")

    for path in (semicolon, tab):
        assert [(r.line, r.prompt, r.response) for r in _read(path)] == [
            (2, "key red, please", "value apple"),
            (3, "key blue", "value sky"),
        ], path.name
    assert [(r.prompt, r.response) for r in _read(tsv)] == [("key red; please", "value apple")]


def test_a_header_without_the_columns_names_the_delimiter_and_the_header(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("question;label\nwhat;a\nwho;b\n", encoding="utf-8")
    comma_tsv = tmp_path / "commas.tsv"
    comma_tsv.write_text("prompt,response\nkey red,value apple\n", encoding="utf-8")

    error = _error(path)
    tsv_error = _error(comma_tsv)

    assert error.line == 2 and error.reason.startswith("missing column")
    assert "semicolon-separated (';'), header 'question;label'" in error.reason
    assert "tab-separated ('\\t'), header 'prompt,response'" in tsv_error.reason


def test_control_characters_are_removed_counted_and_shown_by_inspect_dataset(tmp_path):
    rows = [{"prompt": f"key {i}", "response": f"value {i}"} for i in range(20)]
    rows[3] = {"prompt": "key\x00 3", "response": "value\x1b[0m 3\x7f"}
    rows[7] = {"prompt": "key\t7\r\n", "response": "val\x00\x00ue 7"}
    path = write_jsonl(tmp_path / "dirty.jsonl", rows)
    with path.open("a", encoding="utf-8") as out:  # a raw NUL inside a JSON string, not an escape
        out.write('{"prompt": "key\x00 20", "response": "value 20"}\n')

    records, report = read_records_with_report(path, ColumnMap())

    assert (records[3].prompt, records[3].response) == ("key 3", "value[0m 3")
    assert (records[7].prompt, records[7].response) == ("key\t7\r\n", "value 7")
    assert records[20].prompt == "key 20"
    assert (report.control_chars_removed, report.rows_cleaned) == (6, 3)
    text = tmp_path / "notes.txt"
    text.write_bytes(b"first\x00 paragraph\n\nsecond\x0cparagraph\n")
    records, report = read_records_with_report(text, ColumnMap())
    assert [r.text for r in records] == ["first paragraph", "secondparagraph"]
    assert (report.control_chars_removed, report.rows_cleaned) == (2, 2)

    found = registry.invoke(
        "inspect_dataset", ToolContext(tmp_path, {"train": path}), {"dataset_id": "train"}
    )

    assert "6 control characters (NUL etc.) removed from 3 rows" in found["problems"]
    assert not found["blocking"] and found["control_chars_removed"] == 6
    only_nul = write_jsonl(tmp_path / "nul.jsonl", [{"prompt": "key", "response": "\x00"}])
    assert _error(only_nul).reason == "the response is empty once its control characters are removed"


def test_a_huge_value_in_an_error_is_echoed_cut_short(tmp_path):
    huge = "x" * 50_000
    chat = write_jsonl(tmp_path / "chat.jsonl", [{"conversations": [{"from": huge, "value": "hi"}]}])
    keys = write_jsonl(tmp_path / "keys.jsonl", [{huge: "value"}])
    header = tmp_path / "header.csv"
    header.write_text(f"{huge};label\nwhat;a\n", encoding="utf-8")

    for path in (chat, keys, header):
        message = str(_error(path))
        assert len(message) < 1000 and "x" * 100 not in message, (path.name, len(message))
    assert "'" + "x" * 78 + "…" in str(_error(chat))


def test_unsupported_suffix_lists_every_supported_one(tmp_path):
    path = tmp_path / "data.xml"
    path.write_text("<rows/>", encoding="utf-8")
    assert (
        _error(path).reason == "unsupported file type '.xml'; use .txt, .jsonl, .json, .csv, .tsv, .parquet"
    )


def test_the_trainer_tokenizes_the_new_formats_unchanged(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    path = tmp_path / "chat.parquet"
    pq.write_table(pa.table({"conversations": [CHAT]}), path)
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(
        json.dumps([{"instruction": "key", "input": "red", "output": "value apple"}]), encoding="utf-8"
    )

    (chat,), _ = tokenize_file(path, tokenizer, 256, ColumnMap())
    (pair,), _ = tokenize_file(alpaca, tokenizer, 256, ColumnMap())

    assert "<|im_start|>system\nbe brief<|im_end|>" in tokenizer.decode(chat.input_ids)
    assert tokenizer.decode(pair.input_ids).startswith("<|im_start|>user\nkey\n\nred<|im_end|>")
