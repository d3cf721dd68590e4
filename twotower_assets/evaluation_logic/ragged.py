"""Ragged integer/value lists as (offsets, values) arrays: playlists of tracks, seeds, histories.

One small type so baselines, metrics and feature building share the same layout without a
sparse-matrix dependency (scipy is not in the environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Ragged:
    """Row i is `values[offsets[i]:offsets[i + 1]]`."""

    offsets: np.ndarray
    values: np.ndarray

    @property
    def rows(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, index: int) -> np.ndarray:
        return self.values[self.offsets[index] : self.offsets[index + 1]]

    def row_ids(self) -> np.ndarray:
        """The row index of every value."""
        return np.repeat(np.arange(self.rows), self.lengths)

    @classmethod
    def from_lists(cls, lists: Sequence[Sequence[object]], dtype: object = np.int64) -> Ragged:
        lengths = np.fromiter((len(item) for item in lists), dtype=np.int64, count=len(lists))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = [value for item in lists for value in item]
        return cls(offsets, np.asarray(flat, dtype=dtype))

    @classmethod
    def from_sorted_groups(cls, group: np.ndarray, values: np.ndarray, groups: int) -> Ragged:
        """Rows from values sorted by `group` (0..groups-1); empty groups give empty rows."""
        counts = np.bincount(np.asarray(group, dtype=np.int64), minlength=groups)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(offsets, np.asarray(values))

    @classmethod
    def from_arrow(cls, array: pa.Array | pa.ChunkedArray, dtype: object = None) -> Ragged:
        """A list array (NULL lists become empty rows)."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks() if array.num_chunks else pa.array([], array.type)
        array = array.fill_null([]) if array.null_count else array
        offsets = np.asarray(array.offsets, dtype=np.int64)
        values = array.values.slice(offsets[0], offsets[-1] - offsets[0])
        offsets = offsets - offsets[0]
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            flat = np.asarray(values.fill_null("").to_pylist(), dtype=object)
        else:
            flat = values.fill_null(0).to_numpy(zero_copy_only=False)
        if dtype is not None:
            flat = flat.astype(dtype)
        return cls(offsets, flat)

    def take_last(self, count: int) -> Ragged:
        """The last `count` values of every row (all of a shorter row), order kept."""
        lengths = np.minimum(self.lengths, count)
        starts = self.offsets[1:] - lengths
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        index = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Ragged(offsets, self.values[index])

    def padded(self, width: int, fill: object) -> np.ndarray:
        """[rows, width] array, rows cut to `width` (their first values) and padded at the end."""
        lengths = np.minimum(self.lengths, width)
        out = np.full((self.rows, width), fill, dtype=self.values.dtype)
        row = np.repeat(np.arange(self.rows), lengths)
        column = np.arange(int(lengths.sum())) - np.repeat(
            np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths
        )
        source = np.repeat(self.offsets[:-1], lengths) + column
        out[row, column] = self.values[source]
        return out

    def select(self, rows: np.ndarray) -> Ragged:
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        index = np.repeat(self.offsets[rows] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Ragged(offsets, self.values[index])
