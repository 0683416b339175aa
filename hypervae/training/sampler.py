"""Batches of indices that depend on ``(seed, epoch)`` only, split over DDP ranks, and the
data loaders built on them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sized
from typing import Any

import torch

__all__ = ["EpochBatchSampler", "holds_graphs", "make_loader"]


class EpochBatchSampler:
    """Batches of indices, reshuffled per epoch from ``(seed, epoch)`` only.

    Each global batch of ``batch_size * world_size`` indices is cut into ``world_size``
    contiguous parts; rank ``r`` gets part ``r``. Batches are never empty: a short last
    global batch is padded from the start of the permutation.

    Examples:
        >>> s = EpochBatchSampler(5, 2, shuffle=False)
        >>> list(s)
        [[0, 1], [2, 3], [4]]
        >>> [list(EpochBatchSampler(4, 1, shuffle=False, rank=r, world_size=2)) for r in (0, 1)]
        [[[0], [2]], [[1], [3]]]
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if size < 1:
            msg = "the dataset is empty (need at least one example)"
            raise ValueError(msg)
        if batch_size < 1:
            msg = f"batch_size must be >= 1, got {batch_size}"
            raise ValueError(msg)
        self.n, self.batch_size, self.shuffle, self.seed = size, batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Selects the permutation of ``epoch``; iteration begins at batch ``start``."""
        self.epoch, self.start = int(epoch), int(start)

    def __len__(self) -> int:
        return math.ceil(self.n / (self.batch_size * self.world_size))

    def __iter__(self) -> Iterator[list[int]]:
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.n, generator=gen).tolist()
        else:
            order = list(range(self.n))
        size = self.batch_size * self.world_size
        for lo in range(self.start * size, self.n, size):
            chunk = order[lo : lo + size]
            while len(chunk) < self.world_size:
                chunk = chunk + order[: self.world_size - len(chunk)]
            per = len(chunk) // self.world_size
            extra = len(chunk) % self.world_size
            start = self.rank * per + min(self.rank, extra)
            yield chunk[start : start + per + (1 if self.rank < extra else 0)]


def holds_graphs(data: Sized) -> bool:
    """Whether ``data``'s items are torch_geometric graphs (batched by torch_geometric)."""
    if not hasattr(data, "__getitem__") or not len(data):
        return False
    from torch_geometric.data.data import BaseData

    return isinstance(data[0], BaseData)


def make_loader(
    data: Sized,
    sampler: EpochBatchSampler,
    workers: int,
    generator: torch.Generator | None,
    collate_fn: Callable[[Any], Any] | None,
) -> Any:
    """A DataLoader over ``data`` with ``sampler``: ``collate_fn`` when given; graphs are
    batched by torch_geometric; else the dataset's ``collate`` method, else torch's
    default collation."""
    if collate_fn is None and holds_graphs(data):
        from torch_geometric.loader import DataLoader as GraphLoader

        return GraphLoader(
            data,
            batch_sampler=sampler,
            num_workers=workers,
            generator=generator,
        )
    collate = collate_fn or getattr(data, "collate", None)
    if collate is None:
        from torch.utils.data import default_collate

        collate = default_collate
    return torch.utils.data.DataLoader(
        data,  # type: ignore[arg-type]
        batch_sampler=sampler,
        num_workers=workers,
        generator=generator,
        collate_fn=collate,
    )
