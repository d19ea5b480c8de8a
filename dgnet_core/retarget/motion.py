"""Joint motion prepared for baking: resampling to the scene's frame rate, bake foot lock.

Owns the two steps the add-on applies to ``LiftResult.joints_world`` before solving:

* :func:`resample`: joints at video frames -> joints at whole scene frames (linear),
  contacts from the nearest video frame;
* :func:`lock_feet`: the bake's optional foot lock, which shifts the whole body so that a
  foot in contact does not slide horizontally (the pipeline's own foot lock, with leg IK,
  is ``contacts.lock_feet``).
"""

from __future__ import annotations

import numpy as np

from ..skeleton import LFOOT, RFOOT


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


def lock_feet(joints: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """Remove horizontal foot sliding during contacts by shifting the whole body.

    ``contacts`` (N, 2) bool is (left foot, right foot) as in ``LiftResult.contacts``.
    While a foot is in contact its horizontal motion is subtracted from the body's
    translation (both feet: their mean), so the planted foot stays where it landed and the
    body travels by the steps it takes.
    """
    j = np.array(joints, dtype=np.float64, copy=True)
    c = np.asarray(contacts, dtype=bool)
    if c.shape != (len(j), 2):
        raise ValueError(f"contacts must be (N, 2), got {c.shape}")
    feet = [LFOOT, RFOOT]
    offset = np.zeros(2)
    prev = j[0, feet, :2].copy()
    for t in range(1, len(j)):
        cur = j[t, feet, :2]
        moving = [cur[k] - prev[k] for k in range(2) if c[t, k] and c[t - 1, k]]
        if moving:
            offset -= np.mean(moving, axis=0)
        prev = cur.copy()
        j[t, :, :2] += offset
    return j
