"""Where the feet point: heel -> toe directions from MediaPipe's heel and toe points.

The 17 joints end at the ankles, so a rig's feet would otherwise stay rigid with the
shins and stab the floor whenever a shin leans. MediaPipe's world landmarks carry a heel
and a toe (``foot_index``) per foot, in hip-centred camera axes; ``foot_directions`` turns
their difference into the placed world (``camera_to_world``) and cleans it up:

* a planted foot (``contacts``) lies flat, pointing where it pointed on average over the
  contact (one heading per contact: a planted foot does not turn);
* a frame without the landmarks (a filled gap, a hidden foot) takes its foot's nearest
  known direction; a clip without any falls back to the shin's heading, flat;
* the result is smoothed over time (Savitzky-Golay over about 0.2 s).

Returned unit vectors (N, 2, 3) are in contact-column order (left, right), Z-up world.
"""

from __future__ import annotations

import numpy as np

from ..numeric import runs, savgol_filter
from ..rotations import normalize
from ..skeleton import LFOOT, LKNEE, MP_NAMES, RFOOT, RKNEE

_MP = {n: i for i, n in enumerate(MP_NAMES)}
HEEL_TOE = ((_MP["left_heel"], _MP["left_foot_index"]),
            (_MP["right_heel"], _MP["right_foot_index"]))  # contact columns: left, right
SHINS = ((LKNEE, LFOOT), (RKNEE, RFOOT))
UP = np.array([0.0, 0.0, 1.0])


def _flat(v: np.ndarray) -> np.ndarray:
    return normalize(v * np.array([1.0, 1.0, 0.0]))


def shin_headings(joints_world: np.ndarray) -> np.ndarray:
    """(N, 2, 3) the feet pointing where the knees face, flat: the fallback direction."""
    j = np.asarray(joints_world, np.float64)
    out = []
    for (knee, ankle), (other_knee, _) in zip(SHINS, SHINS[::-1]):
        across = j[:, knee] - j[:, other_knee]             # from the other knee to this one
        along = j[:, ankle] - j[:, knee]
        fwd = np.cross(along, across) * (1.0 if knee == LKNEE else -1.0)
        out.append(_flat(fwd))
    return np.stack(out, 1)


def foot_directions(mp_world: np.ndarray, camera_to_world: np.ndarray,
                    contacts: np.ndarray, joints_world: np.ndarray, fps: float
                    ) -> np.ndarray:
    """(N, 2, 3) heel -> toe unit vectors in the world (see the module)."""
    mp = np.asarray(mp_world, np.float64)
    fallback = shin_headings(joints_world)
    n = len(mp)
    out = np.empty((n, 2, 3))
    c = np.asarray(contacts, bool)
    for col, (heel, toe) in enumerate(HEEL_TOE):
        v = (mp[:, toe] - mp[:, heel]) @ np.asarray(camera_to_world, np.float64).T
        ok = np.isfinite(v).all(-1) & (np.linalg.norm(np.nan_to_num(v), axis=-1) > 1e-4)
        if not ok.any():
            out[:, col] = fallback[:, col]
            continue
        v = normalize(np.where(ok[:, None], v, 0.0) + (~ok)[:, None] * fallback[:, col])
        known = np.flatnonzero(ok)
        nearest = known[np.clip(np.searchsorted(known, np.arange(n)), 0, len(known) - 1)]
        v = np.where(ok[:, None], v, v[nearest])
        win = min(max(3, int(round(0.2 * fps)) | 1), n if n % 2 else n - 1)
        if win >= 3:
            v = normalize(savgol_filter(v, win, 2))
        for a, b in runs(c[:, col]):
            v[a:b] = _flat(np.mean(_flat(v[a:b]), axis=0))[None]
        out[:, col] = v
    return out
