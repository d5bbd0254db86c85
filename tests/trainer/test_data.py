"""Tokenization, loss masks, packing isolation and data order."""

from __future__ import annotations

import json

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from openlora.trainer.data import (
    IGNORE_INDEX,
    Example,
    collate,
    epoch_order,
    pack_examples,
    split_validation,
    tokenize_file,
)
from openlora.trainer.data_files import ColumnMap
from tests.conftest import write_jsonl


def _decode_labels(tokenizer, example: Example) -> str:
    return tokenizer.decode([t for t in example.labels if t != IGNORE_INDEX])


def test_pairs_use_chat_template_and_only_response_carries_loss(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    data = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "key red", "response": "value apple"}])
    (example,), dropped = tokenize_file(data, tokenizer, 128, ColumnMap())
    assert dropped == 0
    text = tokenizer.decode(example.input_ids)
    assert text.startswith("<|im_start|>user\nkey red<|im_end|>\n<|im_start|>assistant\n")
    assert _decode_labels(tokenizer, example) == "value apple<|im_end|>\n"


def test_chat_messages_mask_every_non_assistant_turn(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "key red"},
        {"role": "assistant", "content": "value apple"},
        {"role": "user", "content": "key blue"},
        {"role": "assistant", "content": "value sky"},
    ]
    data = write_jsonl(tmp_path / "d.jsonl", [{"messages": messages}])
    (example,), _ = tokenize_file(data, tokenizer, 256, ColumnMap())
    assert _decode_labels(tokenizer, example) == "value apple<|im_end|>\nvalue sky<|im_end|>\n"


def test_instruction_input_output_without_template(tiny_gpt2, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_gpt2)
    row = {"instruction": "Summarise", "input": "alpha beta", "output": "gamma"}
    data = write_jsonl(tmp_path / "d.jsonl", [row])
    (example,), _ = tokenize_file(data, tokenizer, 256, ColumnMap())
    assert tokenizer.decode(example.input_ids).startswith("### User:\nSummarise\n\nalpha beta")
    assert _decode_labels(tokenizer, example) == "gamma\n\n<|endoftext|>"


def test_text_file_is_chunked_and_fully_supervised(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    data = tmp_path / "d.txt"
    data.write_text(("the quick brown fox " * 50) + "\n\n" + "alpha beta " * 5, encoding="utf-8")
    examples, _ = tokenize_file(data, tokenizer, 32, ColumnMap())
    assert len(examples) > 3
    assert all(len(e.input_ids) <= 32 for e in examples)
    assert all(e.labels == e.input_ids for e in examples)


def test_too_long_pairs_are_dropped_and_counted(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    rows = [{"prompt": "key red", "response": "value apple"}, {"prompt": "word " * 100, "response": "x"}]
    examples, dropped = tokenize_file(write_jsonl(tmp_path / "d.jsonl", rows), tokenizer, 48, ColumnMap())
    assert (len(examples), dropped) == (1, 1)


def test_packed_examples_do_not_attend_to_each_other(tiny_llama):
    """Logits of an example packed behind another equal its logits alone (block-diagonal mask)."""
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    first = Example(input_ids=[5, 6, 7, 8, 9], labels=[5, 6, 7, 8, 9], line=1)
    second = Example(input_ids=[10, 11, 12], labels=[10, 11, 12], line=2)
    (packed,) = pack_examples([first, second], max_len=16, packing=True)
    assert packed.segments == [5, 3]
    batch = collate([packed], pad_id=3)
    with torch.no_grad():
        together = model(
            input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False
        ).logits
        alone = model(input_ids=torch.tensor([second.input_ids]), use_cache=False).logits
    torch.testing.assert_close(together[0, 5:8], alone[0], rtol=1e-5, atol=1e-5)
    # The first token of each packed example is never a target.
    assert batch["labels"][0, 0] == IGNORE_INDEX and batch["labels"][0, 5] == IGNORE_INDEX


def test_packing_fills_sequences(tiny_llama):
    examples = [
        Example(input_ids=list(range(n)), labels=list(range(n)), line=i)
        for i, n in enumerate([6, 5, 4, 3, 2])
    ]
    packed = pack_examples(examples, max_len=10, packing=True)
    assert sorted(sum(p.segments) for p in packed) == [10, 10]
    assert len(pack_examples(examples, max_len=10, packing=False)) == 5


def test_data_order_and_split_are_deterministic():
    assert epoch_order(50, seed=3, epoch=1) == epoch_order(50, seed=3, epoch=1)
    assert epoch_order(50, seed=3, epoch=1) != epoch_order(50, seed=3, epoch=2)
    examples = [Example(input_ids=[i], labels=[i], line=i) for i in range(20)]
    train, val = split_validation(examples, 0.1, seed=1)
    _, again_val = split_validation(examples, 0.1, seed=1)
    assert len(val) == 2 and [e.line for e in val] == [e.line for e in again_val]
    assert {e.line for e in train} | {e.line for e in val} == set(range(20))
    assert split_validation(examples[:1], 0.5, seed=1) == (examples[:1], [])


def test_jsonl_records_keep_line_numbers_past_blank_lines(tiny_llama, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    data = tmp_path / "d.jsonl"
    row = json.dumps({"prompt": "a", "response": "b"})
    data.write_text(f"{row}\n\n{row}\n", encoding="utf-8")
    examples, _ = tokenize_file(data, tokenizer, 64, ColumnMap())
    assert [e.line for e in examples] == [1, 3]
