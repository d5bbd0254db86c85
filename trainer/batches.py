"""A run's prepared data and the order its micro-batches come in.

For: tokenizing and packing the config's dataset (and validation set, or a seeded split of the
dataset) into sequences with their figures, the number of optimizer steps the run will take, and
the ``index``-th micro-batch of the whole run as a pure function of seed and index, so a resumed
run sees exactly the batches it would have seen. Not for: reading files or packing rules
(``data_files``, ``data``), collating tensors (``data.collate``) or running the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlora.trainer.config import TrainConfig
from openlora.trainer.data import (
    DatasetStats,
    PackedSequence,
    dataset_stats,
    epoch_order,
    pack_examples,
    split_validation,
    tokenize_file,
)
from openlora.trainer.data_files import ColumnMap


@dataclass
class PreparedData:
    """Packed training and validation sequences and the figures reported about them."""

    train_seqs: list[PackedSequence]
    val_seqs: list[PackedSequence]
    stats: DatasetStats
    batches_per_epoch: int


def prepare_data(config: TrainConfig, tokenizer: Any, world: int = 1) -> PreparedData:
    """Tokenize and pack the config's data; raises DataError naming the file and line. Under DDP an
    epoch's batches are global ones (``batch_size`` sequences for each of the ``world`` ranks)."""
    columns = ColumnMap(config.prompt_column, config.response_column, config.text_column)
    examples, dropped = tokenize_file(Path(config.dataset), tokenizer, config.max_seq_len, columns)
    if config.val_dataset:
        train = examples
        val, dropped_val = tokenize_file(Path(config.val_dataset), tokenizer, config.max_seq_len, columns)
        dropped += dropped_val
    else:
        train, val = split_validation(examples, config.val_fraction, config.seed)
    train_seqs = pack_examples(train, config.max_seq_len, config.packing)
    val_seqs = pack_examples(val, config.max_seq_len, config.packing)
    return PreparedData(
        train_seqs=train_seqs,
        val_seqs=val_seqs,
        stats=dataset_stats(train, val, dropped, train_seqs, val_seqs),
        batches_per_epoch=math.ceil(len(train_seqs) / (config.batch_size * world)),
    )


def total_steps(config: TrainConfig, batches_per_epoch: int) -> int:
    """Optimizer steps in the run: ``max_steps``, else the epochs' micro-batches over ``grad_accum``."""
    if config.max_steps:
        return config.max_steps
    micro = math.ceil(config.epochs * batches_per_epoch)
    return max(1, math.ceil(micro / config.grad_accum))


class MicroBatchOrder:
    """The run's micro-batches by index: epoch ``e`` is a seeded shuffle of the training sequences.

    Under DDP, micro-batch ``index`` is a global batch of ``batch_size * world`` sequences and rank
    ``r`` takes the ``r``-th slice of it, so the ranks together see what one process with the global
    batch would see, in the same order. The last batch of an epoch may leave a rank an empty slice.
    """

    def __init__(self, data: PreparedData, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.sequences = data.train_seqs
        self.batches_per_epoch = data.batches_per_epoch
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world = world
        self._cache: tuple[int, list[int]] | None = None

    def _global(self, index: int) -> list[int]:
        epoch, within = divmod(index, self.batches_per_epoch)
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, epoch_order(len(self.sequences), self.seed, epoch))
        size = self.batch_size * self.world
        return self._cache[1][within * size : (within + 1) * size]

    def __call__(self, index: int) -> list[PackedSequence]:
        """This rank's share of the ``index``-th micro-batch of the whole run (maybe empty under DDP)."""
        bs = self.batch_size
        share = self._global(index)[self.rank * bs : (self.rank + 1) * bs]
        return [self.sequences[i] for i in share]

    def filler(self, index: int) -> list[PackedSequence]:
        """A sequence of the ``index``-th global batch, for a rank whose share is empty: it runs forward
        and backward with zero weight, so the gradient all-reduce still has every rank."""
        return [self.sequences[self._global(index)[0]]]
