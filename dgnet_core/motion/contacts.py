"""Foot contacts and foot locking on placed (world, Z-up, floor z = 0) joints.

Owns when a foot is planted and keeping it planted:

* ``detect_contacts``: per foot, a hysteresis on the ankle's height above its rest height
  and its horizontal speed (enter below the tight thresholds, stay while under the loose
  ones), plus "the clearly lower foot is the standing foot" (someone dancing in place lifts
  one foot well above the other even when the depth estimate jitters). Contacts shorter
  than ``min_frames`` are dropped and gaps of one frame closed.
* ``lock_feet``: during each contact the ankle is held at one spot (``lock_targets``: the
  median of its positions, at rest height), blending back to the free motion over
  ``blend_s`` around the contact. The leg follows with a two-bone IK (``two_bone_ik``) that
  keeps the thigh and shin lengths and the knee's bend plane; where the spot is out of the
  leg's reach the whole body shifts horizontally by the shortfall. The retarget holds the
  same contacts on a target rig's legs with the same two pieces
  (``retarget.grounding``).

Plain numpy, no global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numeric import median_filter, runs
from ..roles import LIMBS
from ..skeleton import ANKLE_HEIGHT, FEET

LEFT_FOOT, RIGHT_FOOT = FEET[1], FEET[0]   # contact columns are (left, right)
LEGS = LIMBS[:2]  # (hip, knee, ankle) per contact column: left leg, right leg


@dataclass(frozen=True)
class ContactOptions:
    height_on_m: float = 0.05    # enter a contact below this height above rest height ...
    speed_on_mps: float = 0.35   # ... and below this horizontal speed
    height_off_m: float = 0.10   # leave it above this height ...
    speed_off_mps: float = 0.8   # ... or above this speed
    lower_by_m: float = 0.08     # the foot this much lower than the other one is standing
    min_frames: int = 3          # shorter contacts are dropped
    blend_s: float = 0.12        # lock blends in/out over this time around a contact


def _speed(p: np.ndarray, fps: float) -> np.ndarray:
    """Horizontal speed (N,) in m/s of positions (N, 3), lightly median-filtered."""
    if len(p) < 2:
        return np.zeros(len(p))
    v = np.linalg.norm(np.gradient(p[:, :2], axis=0), axis=-1) * fps
    return median_filter(v, 3) if len(v) >= 3 else v


def _clean(c: np.ndarray, min_frames: int) -> np.ndarray:
    c = c.copy()
    for a, b in runs(~c):  # close one-frame gaps inside a contact
        if b - a == 1 and a > 0 and b < len(c):
            c[a:b] = True
    for a, b in runs(c):
        if b - a < min_frames:
            c[a:b] = False
    return c


def detect_contacts(world: np.ndarray, fps: float, options: ContactOptions | None = None
                    ) -> np.ndarray:
    """(N, 2) bool (left, right) contacts of world joints (N, 17, 3), floor at z = 0."""
    o = options or ContactOptions()
    w = np.asarray(world, np.float64)
    n = len(w)
    height = np.stack([w[:, f, 2] - ANKLE_HEIGHT for f in (LEFT_FOOT, RIGHT_FOOT)], 1)
    speed = np.stack([_speed(w[:, f], fps) for f in (LEFT_FOOT, RIGHT_FOOT)], 1)
    lower = height - height[:, ::-1] < -o.lower_by_m   # clearly the standing foot
    enter = ((height < o.height_on_m) | lower) & (speed < o.speed_on_mps)
    stay = ((height < o.height_off_m) | lower) & (speed < o.speed_off_mps)
    out = np.zeros((n, 2), bool)
    for col in range(2):
        on = False
        for t in range(n):
            on = bool(stay[t, col]) if on else bool(enter[t, col])
            out[t, col] = on
        out[:, col] = _clean(out[:, col], o.min_frames)
    return out


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, target: np.ndarray, upper: float,
                lower: float) -> tuple[np.ndarray, np.ndarray]:
    """(knee, ankle) (M, 3) reaching ``target`` from ``hip`` with bone lengths kept; the
    knee stays in the plane of hip, target and the old ``knee`` (same side). Out of reach:
    the ankle stops at the reachable point closest to the target."""
    d = target - hip
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    e = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(upper - lower) + 1e-6, upper + lower - 1e-6)
    x = (upper**2 - lower**2 + dist**2) / (2 * dist)
    r = np.sqrt(np.maximum(upper**2 - x**2, 0.0))
    pole = knee - hip
    pole = pole - np.sum(pole * e, -1, keepdims=True) * e
    pn = np.linalg.norm(pole, axis=-1, keepdims=True)
    fallback = np.cross(e, [1.0, 0.0, 0.0])  # knee forward-ish when the leg is straight
    pole = np.where(pn > 1e-6, pole / np.maximum(pn, 1e-9),
                    fallback / np.maximum(np.linalg.norm(fallback, axis=-1, keepdims=True),
                                          1e-9))
    return hip + x * e + r * pole, hip + dist * e


def lock_targets(feet: np.ndarray, contacts: np.ndarray, fps: float,
                 options: ContactOptions | None = None, ground: float = ANKLE_HEIGHT
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per foot (N, 2, 3) lock spot and (N, 2) weight in [0, 1] (1 during a contact,
    smooth fall-off over ``blend_s`` either side), for ankle positions ``feet`` (N, 2, 3)
    in contact-column order (left, right): the median of the ankle over the contact, at
    height ``ground`` (the ankle's standing height: the skeleton's, or a rig's)."""
    o = options or ContactOptions()
    f = np.asarray(feet, np.float64)
    n = len(f)
    blend = max(1, int(round(o.blend_s * fps)))
    spot = np.zeros((n, 2, 3))
    weight = np.zeros((n, 2))
    t = np.arange(n)
    for col in range(2):
        best = np.full(n, np.inf)
        for a, b in runs(contacts[:, col]):
            p = np.median(f[a:b, col], axis=0)
            p[2] = ground
            gap = np.maximum(np.maximum(a - t, t - (b - 1)), 0)  # frames outside [a, b)
            s = np.clip(1.0 - gap / (blend + 1), 0.0, 1.0)
            s = s * s * (3 - 2 * s)
            take = (s > weight[:, col]) | ((s == weight[:, col]) & (gap < best) & (s > 0))
            weight[take, col] = s[take]
            spot[take, col] = p
            best[take] = gap[take]
    return spot, weight


def lock_feet(world: np.ndarray, contacts: np.ndarray, fps: float,
              options: ContactOptions | None = None) -> np.ndarray:
    """World joints (N, 17, 3) with each planted foot held at its spot (see the module)."""
    w = np.array(world, np.float64, copy=True)
    c = np.asarray(contacts, bool)
    if c.shape != (len(w), 2):
        raise ValueError(f"contacts must be (N, 2), got {c.shape}")
    if not c.any():
        return w
    spot, weight = lock_targets(w[:, [LEFT_FOOT, RIGHT_FOOT]], c, fps, options)
    goal = np.stack([w[:, f] for _, _, f in LEGS], 1)
    goal = goal + weight[..., None] * (spot - goal)
    lengths = [(float(np.median(np.linalg.norm(w[:, k] - w[:, h], axis=-1))),
                float(np.median(np.linalg.norm(w[:, f] - w[:, k], axis=-1)))) for h, k, f in LEGS]
    for _ in range(2):  # second pass after shifting the body by what the legs cannot reach
        short = np.zeros((len(w), 3))
        count = np.zeros((len(w), 1))
        for col, (h, k, f) in enumerate(LEGS):
            knee, ankle = two_bone_ik(w[:, h], w[:, k], goal[:, col], *lengths[col])
            w[:, k], w[:, f] = knee, ankle
            miss = goal[:, col] - ankle
            miss[:, 2] = 0.0
            on = weight[:, col:col + 1] > 0
            short += np.where(on, miss, 0.0)
            count += on
        shift = short / np.maximum(count, 1)
        if np.abs(shift).max() < 1e-6:
            break
        w += shift[:, None, :]
        goal += (1.0 - weight[..., None]) * shift[:, None, :]  # free feet move with the body
    return w
