"""Root depth from feet that stand still in the image.

Owns one correction of the root trajectory. ``placement`` gets the root's depth from the 2D
size of the lifted body, so wherever the lift misreads a pose (a deep squat lifted as a
shorter standing body, a crouch foreshortened differently from the truth) the depth
"breathes" and a person squatting on one spot travels metres.

A foot whose ankle stays put in the image while it is the lower foot is standing on the
floor (for a camera that does not move), and a standing foot does not move in the camera's
space either. Over each such run of frames the root is therefore ``c - a_t``: ``a_t`` is the
lifted ankle relative to the root, ``c`` the ankle's one position (the median over the run
of the size-based ``root_t + a_t``). Only the depth is taken from it; x and y are re-solved
by ``placement`` so that the 2D fit stays exact. Where both feet stand the two estimates
are averaged; between runs the correction is interpolated, and before the first / after
the last run it is held. A clip without a standing foot (a panning camera, a jump) is left
as it was.

    z = anchor_depth(z, pose_rel, still_feet(kp_px, conf, fps), fps)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..numeric import runs
from ..skeleton import FEET


@dataclass(frozen=True)
class AnchorOptions:
    """When an ankle counts as standing still in the image."""

    radius_frac: float = 0.025   # stays within this share of the body's 2D height of where
    #                              it stood first (detector jitter stays inside) ...
    lower_frac: float = 0.03     # ... is no higher in the image than the other ankle by this
    min_conf: float = 0.5        # ... and is detected with at least this confidence
    none_s: float = 0.5          # ... for at least this long (a walking step is shorter);
    full_s: float = 1.5          # a run this long corrects fully, shorter ones less


def _still_runs(points: np.ndarray, candidate: np.ndarray, radius: float, min_frames: int
                ) -> list[tuple[int, int]]:
    """``[start, end)`` runs of ``candidate`` frames whose 2D ``points`` (N, 2) stay within
    ``radius`` of where the run began (the median of its first three points), greedy from
    the left: a slowly sliding foot leaves the circle, however small each step."""
    out = []
    n, t = len(points), 0
    while t < n:
        if not candidate[t]:
            t += 1
            continue
        s, e = t, t + 1
        while e < n and candidate[e] and np.linalg.norm(
                points[e] - np.median(points[s:min(e, s + 3)], axis=0)) < radius:
            e += 1
        if e - s >= min_frames:
            out.append((s, e))
        t = e
    return out


def still_feet(kp_px: np.ndarray, conf: np.ndarray | None, fps: float,
               options: AnchorOptions | None = None) -> np.ndarray:
    """(N, 2) bool, one column per foot of ``skeleton.FEET``: the ankle is the lower one
    (within ``lower_frac``) and stays on one spot in the image for ``none_s`` or longer."""
    o = options or AnchorOptions()
    kp = np.asarray(kp_px, np.float64)
    n = len(kp)
    min_frames = max(2, int(math.ceil(o.none_s * fps)))
    out = np.zeros((n, len(FEET)), bool)
    if n < min_frames:
        return out
    height = float(np.median(kp[..., 1].max(axis=1) - kp[..., 1].min(axis=1)))
    if not np.isfinite(height) or height <= 0:
        return out
    ankles = kp[:, list(FEET)]                                     # (N, 2, 2)
    lowest = ankles[..., 1].max(axis=1, keepdims=True)              # image y grows downward
    low = ankles[..., 1] >= lowest - o.lower_frac * height
    sure = np.ones((n, len(FEET)), bool) if conf is None else \
        np.asarray(conf, np.float64)[:, list(FEET)] >= o.min_conf
    for col in range(len(FEET)):
        for a, b in _still_runs(ankles[:, col], low[:, col] & sure[:, col],
                                o.radius_frac * height, min_frames):
            out[a:b, col] = True
    return out


def anchor_depth(depth: np.ndarray, pose_rel: np.ndarray, still: np.ndarray,
                 fps: float, options: AnchorOptions | None = None) -> np.ndarray:
    """(N,) root depth corrected so that each still foot keeps one camera-space depth.

    ``depth`` (N,) is the size-based root depth, ``pose_rel`` (N, 17, 3) the root-relative
    lifted joints (camera axes), ``still`` the (N, 2) mask of ``still_feet``, ``fps`` the
    clip's rate (a run's length in seconds sets how much it corrects).
    """
    o = options or AnchorOptions()
    z = np.asarray(depth, np.float64)
    P = np.asarray(pose_rel, np.float64)
    n = len(z)
    total = np.zeros(n)
    count = np.zeros(n)
    for col, foot in enumerate(FEET):
        a = P[:, foot, 2]
        for s, e in runs(still[:, col]):
            c = np.median(z[s:e] + a[s:e])        # the ankle's one depth over the run
            trust = np.clip(((e - s) / fps - o.none_s) / max(o.full_s - o.none_s, 1e-9), 0, 1)
            total[s:e] += trust * ((c - a[s:e]) - z[s:e])
            count[s:e] += 1
    known = count > 0
    if not known.any():
        return z.copy()
    frames = np.arange(n)
    delta = np.interp(frames, frames[known], total[known] / count[known])
    return z + delta
