"""Frames where the person was not detected: finding, trimming and filling them.

Owns the rule for missing detections: runs of missing frames at the start or end of the
range are trimmed away (the result starts at the first and ends at the last detection);
runs inside the clip of at most ``max_gap`` frames are filled by shape-preserving cubic
(PCHIP) interpolation between the detected frames; a longer run splits the clip into
segments (``split_segments``), each lifted and placed on its own, since inventing a second
of motion would be worse than leaving it out.
"""

from __future__ import annotations

import numpy as np

from ..errors import NoPersonError
from ..numeric import pchip_interpolate, runs


def detected_span(detected: np.ndarray) -> tuple[int, int]:
    """``[first, last + 1)`` of the detected frames; raises ``NoPersonError`` if none."""
    idx = np.flatnonzero(np.asarray(detected, bool))
    if idx.size == 0:
        raise NoPersonError(f"no person detected in any of the {len(detected)} frames")
    return int(idx[0]), int(idx[-1]) + 1


def find_gaps(detected: np.ndarray) -> list[tuple[int, int]]:
    """Interior runs of missing frames (between two detections), as ``[start, end)``."""
    detected = np.asarray(detected, bool)
    n = len(detected)
    return [(a, b) for a, b in runs(~detected) if a > 0 and b < n]


def check_gaps(detected: np.ndarray, max_gap: int, frame_indices: np.ndarray | None = None
               ) -> list[tuple[int, int]]:
    """The interior gaps; raises ``NoPersonError`` naming the first one longer than max_gap."""
    gaps = find_gaps(detected)
    for a, b in gaps:
        if b - a > max_gap:
            first, last = (a, b - 1) if frame_indices is None else (
                int(frame_indices[a]), int(frame_indices[b - 1]))
            raise NoPersonError(
                f"no person in frames {first}-{last} ({b - a} frames, more than max_gap "
                f"{max_gap}); raise max_gap or choose a frame range without them")
    return gaps


def split_segments(detected: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """``[start, end)`` stretches of a trimmed clip (detected at both ends) that no gap
    longer than ``max_gap`` frames interrupts; each starts and ends with a detection."""
    detected = np.asarray(detected, bool)
    bounds, start = [], 0
    for a, b in find_gaps(detected):
        if b - a > max_gap:
            bounds.append((start, a))
            start = b
    bounds.append((start, len(detected)))
    return bounds


def fill_gaps(values: np.ndarray, detected: np.ndarray, max_gap: int,
              frame_indices: np.ndarray | None = None
              ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Fill the interior gaps of ``values`` (N, ...) over time by PCHIP interpolation.

    Detected frames are returned unchanged; gaps longer than ``max_gap`` raise
    ``NoPersonError``. Missing frames at either end must have been trimmed (see
    ``detected_span``); they raise ``ValueError`` here.
    """
    values = np.asarray(values)
    detected = np.asarray(detected, bool)
    if len(values) != len(detected):
        raise ValueError(f"{len(values)} values but {len(detected)} detection flags")
    if len(detected) and not (detected[0] and detected[-1]):
        raise ValueError("trim missing frames at the ends before filling gaps")
    gaps = check_gaps(detected, max_gap, frame_indices)
    if not gaps:
        return values.copy(), gaps
    t = np.flatnonzero(detected)
    out = values.astype(np.float64, copy=True)
    missing = ~detected
    if len(t) == 1:
        out[missing] = out[t[0]]
    else:
        out[missing] = pchip_interpolate(t, out[t], np.flatnonzero(missing))
    return out.astype(values.dtype, copy=False), gaps
