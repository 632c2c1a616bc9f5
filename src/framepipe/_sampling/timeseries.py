"""Keras ``TimeseriesGenerator`` index math over frames (:mod:`framepipe.sampling`, documented there)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util.checks import check_int

__all__ = ["TimeseriesWindows", "timeseries_windows"]


# --- Keras TimeseriesGenerator ------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeseriesWindows:
    """Keras ``TimeseriesGenerator`` index math over ``num_frames`` frames.

    ``len(tw)`` batches; ``tw.batch_rows(i)`` the target rows of batch ``i``; ``tw.window(rows)`` the frame
    indices of each row's window, shape (len(rows), ceil(length / sampling_rate)), reversed in time if
    ``reverse``. Same parameter names and meaning as ``keras.preprocessing.sequence.TimeseriesGenerator``.

    Attributes:
        num_frames: frames in the video.
        length: frames a window spans (before ``sampling_rate``).
        sampling_rate: every ``sampling_rate``-th frame of the span is in the window.
        stride: rows between two windows' targets.
        start_index: the first target row.
        end_index: the last target row (inclusive); None: the last frame.
        shuffle: draw the rows of each batch at random.
        reverse: windows in reverse time order.
        batch_size: rows a batch.
    """

    num_frames: int
    length: int
    sampling_rate: int = 1
    stride: int = 1
    start_index: int = 0
    end_index: int | None = None
    shuffle: bool = False
    reverse: bool = False
    batch_size: int = 128

    def __post_init__(self) -> None:
        check_int("num_frames", self.num_frames, minimum=1)
        check_int("length", self.length, minimum=1)
        check_int("sampling_rate", self.sampling_rate, minimum=1)
        check_int("stride", self.stride, minimum=1)
        check_int("start_index", self.start_index, minimum=0)
        check_int("batch_size", self.batch_size, minimum=1)
        if self.end_index is not None:
            check_int("end_index", self.end_index, minimum=0)
            if self.end_index >= self.num_frames:
                raise ValueError(f"end_index must be < num_frames ({self.num_frames}), got {self.end_index}")
        if self.first_row > self.last_row:
            raise ValueError(
                f"start_index + length = {self.first_row} > end_index = {self.last_row}: no window "
                f"fits (num_frames={self.num_frames})"
            )

    @property
    def first_row(self) -> int:
        return self.start_index + self.length

    @property
    def last_row(self) -> int:
        return self.num_frames - 1 if self.end_index is None else self.end_index

    def __len__(self) -> int:
        span = self.batch_size * self.stride
        return (self.last_row - self.first_row + span) // span

    def batch_rows(self, index: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
        """Target rows of batch ``index``; with ``shuffle``, ``batch_size`` rows drawn with replacement."""
        index = check_int("index", index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        index %= len(self)
        if self.shuffle:
            gen = rng if rng is not None else np.random.default_rng()
            return gen.integers(self.first_row, self.last_row + 1, size=self.batch_size)
        i = self.first_row + self.batch_size * self.stride * index
        return np.arange(i, min(i + self.batch_size * self.stride, self.last_row + 1), self.stride)

    def window(self, rows: np.ndarray) -> np.ndarray:
        """Frame indices of each row's window: ``range(row - length, row, sampling_rate)``."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        offsets = np.arange(-self.length, 0, self.sampling_rate)
        out = rows[:, None] + offsets[None, :]
        return out[:, ::-1] if self.reverse else out


def timeseries_windows(
    num_frames: int,
    *,
    length: int,
    sampling_rate: int = 1,
    stride: int = 1,
    start_index: int = 0,
    end_index: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every Keras window in order: (windows (N, ceil(length / sampling_rate)), target rows (N,)).

    >>> w, t = timeseries_windows(10, length=3, stride=2)
    >>> w.tolist(), t.tolist()
    ([[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]], [3, 5, 7, 9])
    """
    tw = TimeseriesWindows(num_frames, length, sampling_rate, stride, start_index, end_index)
    rows = np.arange(tw.first_row, tw.last_row + 1, stride, dtype=np.int64)
    return tw.window(rows), rows


# --- friendlier samplers ------------------------------------------------------------------------------
