"""Turning records into packed, label-masked training sequences and deterministic batches.

Pairs and chats are rendered with the tokenizer's chat template where it has one (a plain
"### Instruction / ### Response" layout otherwise) and only response tokens carry loss; text is
cut into chunks. Examples are packed first-fit-decreasing into sequences of ``max_seq_len`` with
position ids restarting at each example, from which transformers builds a block-diagonal mask,
so packed examples never see each other. Batch order is a pure function of (seed, epoch),
which makes resume exact.
This module does not read files (see data_files) nor run the model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from openlora.trainer.data_files import ColumnMap, DataError, Record, read_records
from openlora.trainer.segment_attention import row_segments

IGNORE_INDEX = -100


@dataclass
class Example:
    """One tokenized example; ``labels`` is IGNORE_INDEX where no loss is taken."""

    input_ids: list[int]
    labels: list[int]
    line: int


@dataclass
class PackedSequence:
    """Several examples laid end to end; ``segments`` holds each example's length."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    segments: list[int]


@dataclass
class DatasetStats:
    """Figures about the prepared data, reported in ``metrics.jsonl`` and used by the agent."""

    train_examples: int
    val_examples: int
    dropped_too_long: int
    train_sequences: int
    val_sequences: int
    train_tokens: int
    label_tokens: int
    mean_example_tokens: float
    max_example_tokens: int


class ExampleTokenizer:
    """Renders records to token ids with the right loss mask for a given tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.has_template = bool(getattr(tokenizer, "chat_template", None))
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no EOS token; cannot delimit examples")
        self.eos = int(tokenizer.eos_token_id)

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _render(self, messages: list[dict[str, str]], generation_prompt: bool) -> str:
        if self.has_template:
            return self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=generation_prompt
            )
        parts = [f"### {m['role'].capitalize()}:\n{m['content']}\n\n" for m in messages]
        if generation_prompt:
            parts.append("### Assistant:\n")
        return "".join(parts)

    def encode(self, record: Record) -> Example:
        if record.kind == "text":
            ids = [*self._ids(record.text), self.eos]
            return Example(input_ids=ids, labels=list(ids), line=record.line)
        messages = record.messages or [
            {"role": "user", "content": record.prompt},
            {"role": "assistant", "content": record.response},
        ]
        input_ids: list[int] = []
        labels: list[int] = []
        for index, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prefix = self._ids(self._render(messages[:index], generation_prompt=True))
            upto = self._ids(self._render(messages[: index + 1], generation_prompt=False))
            # Templates normally render the prompt as a prefix of the full turn; if a tokenizer
            # merges across the boundary, only the shared prefix stays masked.
            prefix_len = _common_prefix(prefix, upto)
            # Tokens before this turn that are not yet in input_ids carry no loss.
            input_ids_new = upto[len(input_ids) :]
            masked = max(0, prefix_len - len(input_ids))
            labels.extend([IGNORE_INDEX] * masked + input_ids_new[masked:])
            input_ids = upto
        if not self.has_template:
            input_ids.append(self.eos)
            labels.append(self.eos)
        return Example(input_ids=input_ids, labels=labels, line=record.line)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def chunk_text_examples(examples: list[Example], max_len: int) -> list[Example]:
    """Cut text examples longer than ``max_len`` into consecutive chunks."""
    out: list[Example] = []
    for example in examples:
        for start in range(0, len(example.input_ids), max_len):
            ids = example.input_ids[start : start + max_len]
            if len(ids) >= 2:
                out.append(Example(input_ids=ids, labels=list(ids), line=example.line))
    return out


def tokenize_file(
    path: Path, tokenizer: Any, max_seq_len: int, columns: ColumnMap
) -> tuple[list[Example], int]:
    """Read and tokenize one file; returns (examples, number dropped as too long)."""
    from tqdm import tqdm

    records = read_records(path, columns)
    encoder = ExampleTokenizer(tokenizer)
    # A plain loop: a `datasets` table here cost more to import (over a second a trainer process) than
    # tokenizing takes for most files.
    examples = [
        encoder.encode(record)
        for record in tqdm(records, desc=f"tokenizing {path.name}", unit=" examples", mininterval=1.0)
    ]
    texts = [e for e, r in zip(examples, records, strict=True) if r.kind == "text"]
    pairs = [e for e, r in zip(examples, records, strict=True) if r.kind != "text"]
    kept = [e for e in pairs if len(e.input_ids) <= max_seq_len]
    dropped = len(pairs) - len(kept)
    if pairs and not kept and not texts:
        shortest = min(pairs, key=lambda e: len(e.input_ids))
        raise DataError(
            path,
            pairs[0].line,
            f"every example is longer than max_seq_len={max_seq_len} tokens "
            f"(shortest: line {shortest.line}, {len(shortest.input_ids)} tokens); raise max_seq_len",
            figures={
                "max_seq_len": max_seq_len,
                "shortest_example_tokens": len(shortest.input_ids),
                "longest_example_tokens": max(len(e.input_ids) for e in pairs),
            },
        )
    result = kept + chunk_text_examples(texts, max_seq_len)
    no_loss = [e for e in result if all(label == IGNORE_INDEX for label in e.labels[1:])]
    if len(no_loss) == len(result):
        raise DataError(path, result[0].line, "no example has any response token to learn from")
    return result, dropped


def split_validation(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out a seeded share of examples (at least one when there are two or more)."""
    if fraction <= 0 or len(examples) < 2:
        return examples, []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = min(len(examples) - 1, max(1, round(len(examples) * fraction)))
    val_idx = set(order[:n_val])
    train = [e for i, e in enumerate(examples) if i not in val_idx]
    val = [e for i, e in enumerate(examples) if i in val_idx]
    return train, val


def pack_examples(examples: list[Example], max_len: int, packing: bool) -> list[PackedSequence]:
    """First-fit-decreasing packing; with packing off, one example per sequence."""
    bins: list[list[Example]] = []
    if packing:
        space: list[int] = []
        for example in sorted(examples, key=lambda e: len(e.input_ids), reverse=True):
            size = len(example.input_ids)
            for index, free in enumerate(space):
                if free >= size:
                    bins[index].append(example)
                    space[index] -= size
                    break
            else:
                bins.append([example])
                space.append(max_len - size)
    else:
        bins = [[example] for example in examples]
    sequences = []
    for group in bins:
        input_ids: list[int] = []
        labels: list[int] = []
        positions: list[int] = []
        for example in group:
            input_ids.extend(example.input_ids)
            # The first token of an example is never predicted from the previous example.
            labels.extend([IGNORE_INDEX, *example.labels[1:]])
            positions.extend(range(len(example.input_ids)))
        sequences.append(PackedSequence(input_ids, labels, positions, [len(e.input_ids) for e in group]))
    return sequences


def epoch_order(num_sequences: int, seed: int, epoch: int) -> list[int]:
    """The shuffled sequence order for one epoch; the same (seed, epoch) always gives the same order."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(num_sequences, generator=generator).tolist()


def collate(sequences: list[PackedSequence], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence in the batch.

    No attention mask is returned on purpose: transformers derives a block-diagonal causal mask
    from position ids that restart at 0 (packed-sequence detection), which keeps packed examples
    apart on every attention backend. Padding gets position 0, so each pad token is its own
    segment and carries no loss.
    """
    length = max(len(s.input_ids) for s in sequences)
    batch = len(sequences)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((batch, length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        n = len(seq.input_ids)
        input_ids[row, :n] = torch.tensor(seq.input_ids)
        labels[row, :n] = torch.tensor(seq.labels)
        position_ids[row, :n] = torch.tensor(seq.position_ids)
    return {
        "input_ids": input_ids,
        "labels": labels,
        "position_ids": position_ids,
        "real_tokens": sum(len(s.input_ids) for s in sequences),
        # Each row's attention slices (its examples, then its padding), for per-example attention.
        "segments": [row_segments(s.segments, length) for s in sequences],
    }


def dataset_stats(
    train: list[Example],
    val: list[Example],
    dropped: int,
    train_seqs: list[PackedSequence],
    val_seqs: list[PackedSequence],
) -> DatasetStats:
    lengths = [len(e.input_ids) for e in train] or [0]
    return DatasetStats(
        train_examples=len(train),
        val_examples=len(val),
        dropped_too_long=dropped,
        train_sequences=len(train_seqs),
        val_sequences=len(val_seqs),
        train_tokens=sum(lengths),
        label_tokens=sum(sum(1 for x in e.labels[1:] if x != IGNORE_INDEX) for e in train),
        mean_example_tokens=round(sum(lengths) / max(1, len(train)), 2),
        max_example_tokens=max(lengths),
    )
