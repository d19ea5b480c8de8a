"""Gap handling (dgnet_core.detection.gaps): interior gaps, interpolation, limits; the
runs of a mask (dgnet_core.numeric.runs)."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.detection.gaps import detected_span, fill_gaps, find_gaps, split_segments
from dgnet_core.errors import NoPersonError
from dgnet_core.numeric import runs


def test_runs_and_interior_gaps() -> None:
    det = np.array([0, 1, 1, 0, 0, 1, 0, 1, 0, 0], bool)
    assert runs(~det) == [(0, 1), (3, 5), (6, 7), (8, 10)]
    assert find_gaps(det) == [(3, 5), (6, 7)]  # the runs at either end are not gaps
    assert detected_span(det) == (1, 8)
    with pytest.raises(NoPersonError, match="any of the 3 frames"):
        detected_span(np.zeros(3, bool))


def test_fill_gaps_interpolates_and_reports() -> None:
    t = np.arange(30, dtype=np.float64)
    values = np.stack([np.stack([t * 2.0 + j, 5.0 - t + j], -1) for j in range(17)], 1)
    det = np.ones(30, bool)
    det[[4, 5, 6, 20]] = False
    holey = values.copy()
    holey[~det] = np.nan
    filled, gaps = fill_gaps(holey, det, max_gap=3)
    assert gaps == [(4, 7), (20, 21)]
    assert np.abs(filled - values).max() < 1e-9  # PCHIP reproduces a linear motion
    assert np.array_equal(filled[det], holey[det])  # detected frames untouched


def test_gap_longer_than_max_gap_names_the_source_frames() -> None:
    det = np.ones(20, bool)
    det[5:12] = False
    frames = np.arange(100, 120)
    with pytest.raises(NoPersonError, match=r"frames 105-111 \(7 frames, more than max_gap 6\)"):
        fill_gaps(np.zeros((20, 17, 2)), det, max_gap=6, frame_indices=frames)
    _, gaps = fill_gaps(np.zeros((20, 17, 2)), det, max_gap=7)
    assert gaps == [(5, 12)]


def test_long_gaps_split_the_clip_into_segments() -> None:
    det = np.ones(40, bool)
    det[5:7] = False          # short: filled inside its segment
    det[10:25] = False        # long: splits
    det[30:32] = False
    assert split_segments(det, max_gap=3) == [(0, 10), (25, 40)]
    assert split_segments(det, max_gap=20) == [(0, 40)]
    assert split_segments(np.ones(5, bool), max_gap=0) == [(0, 5)]
