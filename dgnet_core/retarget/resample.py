"""Joint motion prepared for baking: joints at video frames -> joints at whole scene frames
(linear), contacts from the nearest video frame (``resample``)."""

from __future__ import annotations

import numpy as np


def resample(joints: np.ndarray, contacts: np.ndarray | None, ratio: float
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Joints (N, 17, 3) at video frames -> joints at whole scene frames.

    ``ratio`` = scene frames per video frame (scene fps / video fps). Scene frame k (from 0)
    is at video time k / ratio; joints are interpolated linearly, contacts taken from the
    nearest video frame. Ratio 1 returns the inputs unchanged.
    """
    j = np.asarray(joints, dtype=np.float64)
    if abs(ratio - 1.0) < 1e-9 or len(j) < 2:
        return j, contacts
    if ratio <= 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    m = int(np.floor((len(j) - 1) * ratio + 1e-9)) + 1
    t = np.arange(m) / ratio
    i0 = np.minimum(np.floor(t).astype(int), len(j) - 2)
    w = (t - i0)[:, None, None]
    out = (1 - w) * j[i0] + w * j[i0 + 1]
    c = None
    if contacts is not None:
        c = np.asarray(contacts)[np.minimum(np.rint(t).astype(int), len(j) - 1)]
    return out, c
