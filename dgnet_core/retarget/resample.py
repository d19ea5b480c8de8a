"""Joint motion prepared for baking: joints at video frames -> joints at whole scene frames
(linear), contacts from the nearest video frame (``resample``); any other per-frame array
the same way (``resample_values``)."""

from __future__ import annotations

import numpy as np


def resample(joints: np.ndarray, contacts: np.ndarray | None, ratio: float
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Joints (N, 17, 3) at video frames -> joints at whole scene frames.

    ``ratio`` = scene frames per video frame (scene fps / video fps). Scene frame k (from 0)
    is at video time k / ratio (the last one at the last video frame: no frame is dropped);
    joints are interpolated linearly, contacts taken from the nearest video frame. Ratio 1
    returns the inputs unchanged.
    """
    j = np.asarray(joints, dtype=np.float64)
    if abs(ratio - 1.0) < 1e-9 or len(j) < 2:
        return j, contacts
    if ratio <= 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    m = int(np.ceil((len(j) - 1) * ratio - 1e-9)) + 1  # the last scene frame shows the
    t = np.minimum(np.arange(m) / ratio, len(j) - 1)       # last video frame: none dropped
    i0 = np.minimum(np.floor(t).astype(int), len(j) - 2)
    w = (t - i0)[:, None, None]
    out = (1 - w) * j[i0] + w * j[i0 + 1]
    c = None
    if contacts is not None:
        c = np.asarray(contacts)[np.minimum(np.rint(t).astype(int), len(j) - 1)]
    return out, c


def resample_values(values: np.ndarray | None, ratio: float) -> np.ndarray | None:
    """Per-frame values (N, ...) at video frames -> at whole scene frames, linearly (as
    ``resample`` moves the joints); None stays None."""
    if values is None:
        return None
    v = np.asarray(values, dtype=np.float64)
    return resample(v.reshape(len(v), -1, 1), None, ratio)[0].reshape((-1,) + v.shape[1:])
