"""Append-only frame buffers for streaming stages (detection, 2D keypoints).

Owns ``GrowingArray``: a float32 buffer of fixed row shape whose capacity doubles when
full, so a stage can collect per-frame rows of an unknown-length video without a list of
small arrays; rows appended as ``None`` stay NaN (no detection in that frame).
"""

from __future__ import annotations

import numpy as np


class GrowingArray:
    """Append-only float32 buffer that doubles its capacity (no list of small arrays)."""

    def __init__(self, shape: tuple[int, ...], capacity: int) -> None:
        self.data = np.full((max(capacity, 16),) + shape, np.nan, np.float32)
        self.n = 0

    def append(self, value: np.ndarray | None) -> None:
        """Add one row (``None``: a row of NaN), growing the buffer when it is full."""
        if self.n == len(self.data):
            grown = np.full((2 * len(self.data),) + self.data.shape[1:], np.nan, np.float32)
            grown[: self.n] = self.data
            self.data = grown
        if value is not None:
            self.data[self.n] = value
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def view(self) -> np.ndarray:
        """The filled rows (a view: valid until the next ``append``)."""
        return self.data[: self.n]

    def array(self) -> np.ndarray:
        """A copy of the filled rows."""
        return self.data[: self.n].copy()
