"""Finger angles from MediaPipe's 21 hand landmarks: what a rig's finger bones turn by.

Owns the hand's joint angles and how they move over a clip. Per frame and hand (0 the
person's left, 1 right), from MediaPipe's 21 hand landmarks in camera-like axes (x right,
y down, z away): its metric world landmarks (or, by ``HandMotionOptions.angles_from``,
its image landmarks in pixels; why not by default: there, and docs/BENCHMARKS.md):

- the palm frame: ``across`` (index knuckle -> little-finger knuckle), ``along`` (wrist ->
  middle knuckle, made orthogonal) and the palm ``normal`` pointing out of the palm's
  inner side (the side the fingers curl to) -- across x along for the person's left hand,
  turned for the right (checked on real hands: relaxed fingers measure as curled);
- per finger (thumb, index, middle, ring, little) three flexion angles, 0 straight,
  positive curling towards the palm: the base joint (knuckle; the thumb's CMC) measured
  about the palm's across axis from the metacarpal (wrist -> knuckle; the thumb's from
  the wrist), the middle and end joints as the bend between their two segments;
- per finger the spread at its base: the angle in the palm plane between the finger's
  first segment and the middle finger's metacarpal, positive away from the middle finger
  (towards the thumb for the index, towards the little finger's side for ring and little);
  the thumb's spread is its opening from the index's metacarpal;
- anatomical limits (``FingerLimits``) on every angle.

Over a clip (``hand_motion``): angles are held through frames without the hand, smoothed
(Savitzky-Golay over each run), and weighted by a per-frame confidence that eases to 0
over ``ease_s`` when the hand is lost and back to 1 when it returns, so the fingers relax
to the rest pose (all angles 0) instead of snapping or flickering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Landmark chains per finger: (base of the metacarpal, knuckle, middle, end, tip).
CHAINS: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12),
                                       (0, 13, 14, 15, 16), (0, 17, 18, 19, 20))
WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 5, 9, 17


# A relaxed hand in palm coordinates (across: index -> little finger, along: wrist ->
# fingers, normal: the palm's inner side), metres, for an adult hand about 19 cm long:
# fingers nearly straight (5 degrees at each joint), the thumb 35 degrees out from the
# index's metacarpal. Both hands share it (palm coordinates are the same for both).
_KNUCKLES = ((-0.030, 0.090), (-0.010, 0.095), (0.010, 0.090), (0.030, 0.080))
_PHALANGES = ((0.035, 0.030, 0.025), (0.040, 0.025, 0.020), (0.045, 0.028, 0.022),
              (0.042, 0.026, 0.021), (0.033, 0.020, 0.018))
REST_HAND_LENGTH = 0.19


def rest_hand(curl_deg: float = 5.0, thumb_out_deg: float = 35.0) -> np.ndarray:
    """(21, 3) points of a relaxed hand in palm coordinates (see ``_KNUCKLES``)."""
    pts = np.zeros((21, 3))
    index_dir = np.array([*_KNUCKLES[0], 0.0]) / np.linalg.norm(_KNUCKLES[0])
    a = np.radians(thumb_out_deg)
    thumb_dir = np.array([index_dir[0] * np.cos(a) - index_dir[1] * np.sin(a),
                          index_dir[0] * np.sin(a) + index_dir[1] * np.cos(a), 0.0])
    bases = [np.array([-0.025, 0.025, 0.0])] + [np.array([*k, 0.0]) for k in _KNUCKLES]
    for f, chain in enumerate(CHAINS):
        d0 = thumb_dir if f == 0 else bases[f] / np.linalg.norm(bases[f])
        axis = np.cross(d0, [0.0, 0.0, 1.0])        # curling towards the normal (+c)
        axis /= np.linalg.norm(axis)
        p, acc = bases[f], 0.0
        pts[chain[1]] = p
        for j, length in enumerate(_PHALANGES[f]):
            acc += np.radians(curl_deg)
            c, s_ = np.cos(acc), np.sin(acc)
            d = d0 * c + np.cross(axis, d0) * s_ + axis * (axis @ d0) * (1 - c)
            p = p + length * d
            pts[chain[j + 2]] = p
    return pts


@dataclass(frozen=True)
class FingerLimits:
    """Anatomical ranges (degrees) of flexion per joint (base, middle, end) and spread."""

    flex: tuple[tuple[float, float], ...] = ((-20, 90), (0, 110), (-5, 80))
    thumb_flex: tuple[tuple[float, float], ...] = ((-20, 50), (-10, 70), (-15, 85))
    spread: tuple[float, float] = (-25.0, 25.0)
    thumb_spread: tuple[float, float] = (-10.0, 70.0)


def palm_frame(points: np.ndarray, side: int) -> np.ndarray:
    """(..., 3, 3) rotation whose columns are the palm's across, along and inner normal
    (see the module docstring) from (..., 21, 3) hand points; ``side`` 0 left, 1 right."""
    p = np.asarray(points, np.float64)
    across = p[..., PINKY_MCP, :] - p[..., INDEX_MCP, :]
    along = p[..., MIDDLE_MCP, :] - p[..., WRIST, :]
    across = across / np.linalg.norm(across, axis=-1, keepdims=True).clip(1e-9)
    along = along - (along * across).sum(-1, keepdims=True) * across
    along = along / np.linalg.norm(along, axis=-1, keepdims=True).clip(1e-9)
    normal = np.cross(across, along) * (1.0 if side == 0 else -1.0)
    return np.stack([across, along, normal], axis=-1)


def _signed(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Angle from u to v about ``axis`` (radians, right-handed)."""
    return np.arctan2((np.cross(u, v) * axis).sum(-1), (u * v).sum(-1))


def finger_angles(points: np.ndarray, side: int, limits: FingerLimits | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Flexion (..., 5, 3) and spread (..., 5) in radians from (..., 21, 3) hand points of
    the person's ``side`` hand (0 left, 1 right), within ``limits``.

    Each finger on its own axes: its first segment's direction splits into the part in the
    palm plane and the part along the palm's normal. The spread is the angle in the plane
    from the finger's metacarpal (the thumb: from the index's) to that in-plane part; the
    base flexion is the angle out of the plane towards the palm's inner side; the middle
    and end joints bend about the finger's own axis (in the palm plane, across the finger).
    A rig turns the first bone by the spread about the palm normal after the flexion about
    its own across axis (``q_spread @ q_flex``), the other two by their flexion alone.
    """
    lim = limits or FingerLimits()
    p = np.asarray(points, np.float64)
    normal = palm_frame(p, side)[..., 2]
    thumbwards = 1.0 if side == 0 else -1.0   # turning about the normal towards the thumb
    flex = np.zeros(p.shape[:-2] + (5, 3))
    spread = np.zeros(p.shape[:-2] + (5,))

    def in_plane(v: np.ndarray) -> np.ndarray:
        return v - (v * normal).sum(-1, keepdims=True) * normal

    for f, chain in enumerate(CHAINS):
        seg = [p[..., b, :] - p[..., a, :] for a, b in zip(chain[:-1], chain[1:])]
        ref = in_plane(p[..., INDEX_MCP, :] - p[..., WRIST, :] if f == 0 else seg[0])
        flat = in_plane(seg[1])
        size = np.linalg.norm(flat, axis=-1)
        flex[..., f, 0] = np.arctan2((seg[1] * normal).sum(-1), size)
        axis = np.cross(flat, normal) / size[..., None].clip(1e-9)
        flex[..., f, 1] = _signed(seg[1], seg[2], axis)
        flex[..., f, 2] = _signed(seg[2], seg[3], axis)
        towards_thumb = _signed(ref, flat, normal) * thumbwards
        spread[..., f] = towards_thumb if f <= 2 else -towards_thumb
    return within_limits(flex, spread, lim)


def within_limits(flex: np.ndarray, spread: np.ndarray, limits: FingerLimits | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Flexion (..., 5, 3) and spread (..., 5), radians, clipped to ``limits``' ranges."""
    lim = limits or FingerLimits()
    flex, spread = np.array(flex, np.float64), np.array(spread, np.float64)
    for f in range(5):
        rows = lim.thumb_flex if f == 0 else lim.flex
        for j, (lo, hi) in enumerate(rows):
            flex[..., f, j] = np.clip(flex[..., f, j], np.radians(lo), np.radians(hi))
        lo, hi = lim.thumb_spread if f == 0 else lim.spread
        spread[..., f] = np.clip(spread[..., f], np.radians(lo), np.radians(hi))
    return flex, spread


@dataclass(frozen=True)
class HandMotionOptions:
    """How finger angles move over a clip (see the module docstring)."""

    ease_s: float = 0.3          # seconds to relax to rest when lost / to come back
    # Which of MediaPipe's hand landmarks the angles and the palm come from: "world"
    # (metres) or "image" (x, y in pixels, z on the x scale). On rendered hands with known
    # poses "image" measured closer (training.hands_bench, left hands held out: fingers
    # 17.9 against 22.5 degrees, palm median 10.9 against 26.0), but it does not carry to
    # real footage (training.diagnose hand-depth): there MediaPipe's image depth is
    # squeezed (depth spread 0.13-0.21 of the hand's 2D extent on the real clips, against
    # 0.53-0.86 for the world landmarks; 0.51 / 0.61 image / truth on the renders), and a
    # relaxed hanging hand reads as straight (curl 0 degrees, against 49 from the world).
    angles_from: str = "world"
    smooth_window_s: float = 0.25  # Savitzky-Golay window over each run of seen frames
    min_score: float = 0.5       # a hand scored below this counts as not seen


@dataclass
class HandMotion:
    """Per frame and hand (0 left, 1 right): ``flex`` (N, 2, 5, 3) and ``spread`` (N, 2, 5)
    radians (held through frames without the hand), ``weight`` (N, 2) 0..1 how much of
    them to show (eased to 0, the rest pose, while the hand is lost); ``palm`` (N, 2, 3, 3)
    the palm frame in the hand landmarks' axes (camera-like: x right, y down, z away),
    identity where never seen."""

    flex: np.ndarray
    spread: np.ndarray
    weight: np.ndarray
    palm: np.ndarray


def _nearest_seen(seen: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per frame the nearest seen frame (the later one on a tie) and how far it is; None
    when no frame is seen."""
    idx = np.flatnonzero(seen)
    if idx.size == 0:
        return None
    t = np.arange(len(seen))
    pos = np.searchsorted(idx, t)
    prev = idx[np.clip(pos - 1, 0, idx.size - 1)]
    after = idx[np.clip(pos, 0, idx.size - 1)]
    pick = np.where(np.abs(prev - t) < np.abs(after - t), prev, after)
    return pick, np.abs(pick - t)


def _hold(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Values (N, ...) with the unseen frames taken from the nearest seen frame."""
    near = _nearest_seen(seen)
    return np.zeros_like(values) if near is None else values[near[0]]


def ease_weights(seen: np.ndarray, frames: float) -> np.ndarray:
    """(N,) 0..1: 1 while seen, falling linearly to 0 over ``frames`` after the hand is
    lost and rising over ``frames`` before it is seen again (never a step)."""
    near = _nearest_seen(np.asarray(seen, bool))
    if near is None:
        return np.zeros(len(seen))
    return np.clip(1.0 - near[1] / max(frames, 1.0), 0.0, 1.0)


def hand_motion(points: np.ndarray, score: np.ndarray, fps: float,
                options: HandMotionOptions | None = None,
                limits: FingerLimits | None = None) -> HandMotion:
    """Finger angles over a clip from (N, 2, 21, 3) hand points (``angle_points``; NaN
    where a hand was not found) and their (N, 2) scores."""
    from .filters import SavgolParams, savgol

    o = options or HandMotionOptions()
    params = SavgolParams(window_s=o.smooth_window_s)
    pts = np.asarray(points, np.float64)
    n = len(pts)
    flex = np.zeros((n, 2, 5, 3))
    spread = np.zeros((n, 2, 5))
    weight = np.zeros((n, 2))
    palm = np.tile(np.eye(3), (n, 2, 1, 1))
    for side in (0, 1):
        seen = (np.asarray(score[:, side]) >= o.min_score) & np.isfinite(
            pts[:, side]).all(axis=(1, 2))
        if not seen.any():
            continue
        filled = _hold(np.nan_to_num(pts[:, side]), seen)
        f, s = finger_angles(filled, side, limits)
        # smoothing may overshoot a limit (at a clip's ends, fast changes): clip again
        f, s = within_limits(savgol(f, fps, params), savgol(s, fps, params), limits)
        w = ease_weights(seen, o.ease_s * fps)
        flex[:, side] = f
        spread[:, side] = s
        weight[:, side] = w
        palm[:, side] = palm_frame(filled, side)
    return HandMotion(flex, spread, weight, palm)


def angle_points(frames, width: int, height: int, source: str = "world") -> np.ndarray:
    """(N, 2, 21, 3) hand points the angles are measured on (see ``HandMotionOptions``):
    the image landmarks in pixels (z on the x scale), or the world landmarks."""
    if source == "world":
        return np.asarray(frames.world, np.float64)
    if source != "image":
        raise ValueError(f"angles_from must be 'image' or 'world', not {source!r}")
    return np.asarray(frames.image, np.float64) * np.array([width, height, width], np.float64)


def solve_hands(frames, fps: float, camera_to_world: np.ndarray, width: int, height: int,
                options: HandMotionOptions | None = None):
    """A ``contract.HandResult`` from detected ``detection.hands.HandFrames`` (the result's
    frames, in a ``width`` x ``height`` picture): finger angles over the clip and the palm
    frames turned into the world."""
    from ..contract import HandResult

    o = options or HandMotionOptions()
    m = hand_motion(angle_points(frames, width, height, o.angles_from), frames.score, fps, o)
    palm = np.einsum("ij,nsjk->nsik", np.asarray(camera_to_world, np.float64), m.palm)
    return HandResult(np.asarray(frames.world, np.float32),
                      np.asarray(frames.score, np.float32), m.flex.astype(np.float32),
                      m.spread.astype(np.float32), m.weight.astype(np.float32),
                      palm.astype(np.float32), np.asarray(frames.image, np.float32))
