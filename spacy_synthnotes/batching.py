"""Batches of similar-length rows for the models' forward passes (less padding)."""

from typing import Iterator, List, Sequence


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[List[int]]:
    """Row indices in batches of similar length, shortest first; each index once.

    A batch is padded to its longest row: on the demo notes (110-440 pieces, five
    rows per note) batches in note order were 66% padding, in length order 3%. The
    sort is stable: rows of equal length keep their order.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for begin in range(0, len(order), batch_size):
        yield order[begin : begin + batch_size]
