"""The root trajectory: where the lifted (root-relative, metric) body is in camera space.

* ``root_trajectory``: per frame, the translation T that makes the projection of the
  lifted pose best match the detected 2D joints, i.e. the person's distance follows from
  their pixel size against their lifted metric size. The pinhole equations
  ``u - cx = f (X + Tx) / (Z + Tz)`` are linear in T once multiplied out; they are solved
  by confidence-weighted least squares per frame (closed form, vectorised).
* ``clip_root_trajectory``: that depth held to feet that stand still in the image
  (``anchoring``: a squat lifted as a standing body no longer travels), median-filtered
  and smoothed with a linear Savitzky-Golay fit over ``window_s`` (walking toward the
  camera survives, frame-to-frame "breathing" does not); x, y re-solved for it.
"""

from __future__ import annotations

import numpy as np

from ..numeric import median_filter, savgol_filter
from .anchoring import AnchorOptions, anchor_depth, still_feet

MIN_DEPTH = 0.5  # metres: no root nearer the camera than this


def root_trajectory(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None,
                    K: np.ndarray, min_depth: float = MIN_DEPTH) -> np.ndarray:
    """(N, 3) camera-space root position that best explains the 2D joints.

    ``pose_rel`` (N, 17, 3) root-relative metres in camera axes, ``kp_px`` (N, 17, 2),
    ``conf`` (N, 17) weights (floored at 0.1 so interpolated frames still count).
    Depth is clamped to ``min_depth`` (a degenerate lift must not put the person behind
    the camera); x and y are then re-solved for that depth.
    """
    P = np.asarray(pose_rel, np.float64)
    uv = np.asarray(kp_px, np.float64)
    n, j = P.shape[:2]
    w = np.ones((n, j)) if conf is None else np.maximum(np.asarray(conf, np.float64), 0.1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    du, dv = uv[..., 0] - cx, uv[..., 1] - cy
    X, Y, Z = P[..., 0], P[..., 1], P[..., 2]
    A = np.zeros((n, 2 * j, 3))
    A[:, :j, 0], A[:, :j, 2] = fx, -du
    A[:, j:, 1], A[:, j:, 2] = fy, -dv
    b = np.concatenate([du * Z - fx * X, dv * Z - fy * Y], axis=1)
    ww = np.concatenate([w, w], axis=1)
    AtA = np.einsum("nki,nk,nkj->nij", A, ww, A)
    Atb = np.einsum("nki,nk,nk->ni", A, ww, b)
    T = np.linalg.solve(AtA + 1e-9 * np.eye(3), Atb[..., None])[..., 0]
    low = T[:, 2] < min_depth
    if low.any():
        T[low, 2] = min_depth
        tz = T[low, 2][:, None]
        wl = w[low]
        T[low, 0] = ((du[low] * (Z[low] + tz) / fx - X[low]) * wl).sum(1) / wl.sum(1)
        T[low, 1] = ((dv[low] * (Z[low] + tz) / fy - Y[low]) * wl).sum(1) / wl.sum(1)
    return T


def _resolve_xy(P: np.ndarray, uv: np.ndarray, w: np.ndarray, K: np.ndarray,
                tz: np.ndarray) -> np.ndarray:
    """(N, 3) root with depth ``tz`` (N,) and x, y best matching the 2D joints."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    z = P[..., 2] + tz[:, None]
    tx = (((uv[..., 0] - cx) * z / fx - P[..., 0]) * w).sum(1) / w.sum(1)
    ty = (((uv[..., 1] - cy) * z / fy - P[..., 1]) * w).sum(1) / w.sum(1)
    return np.stack([tx, ty, tz], axis=1)


def clip_root_trajectory(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None,
                         K: np.ndarray, fps: float, window_s: float = 1.0,
                         min_depth: float = MIN_DEPTH,
                         anchor: AnchorOptions | None = None) -> np.ndarray:
    """(N, 3) camera-space root with the depth smoothed over the clip (see the module).

    The per-frame depth of ``root_trajectory`` is first held to the feet that stand still
    in the image (``anchoring``; skipped when ``anchor`` is None), then median-filtered over
    half the window and fitted by a moving straight line (Savitzky-Golay, order 1) over
    ``window_s``; x and y are re-solved for that depth (so the 2D fit stays exact sideways).
    """
    P = np.asarray(pose_rel, np.float64)
    n = len(P)
    T = root_trajectory(P, kp_px, conf, K, min_depth)
    z = T[:, 2]
    if anchor is not None:
        z = anchor_depth(z, P, still_feet(kp_px, conf, fps, anchor), fps, anchor)
    med = max(1, int(round(0.5 * window_s * fps)) | 1)
    if n >= 3 and med >= 3:
        z = median_filter(z, min(med, n if n % 2 else n - 1))
    win = max(3, int(round(window_s * fps)) | 1)
    win = min(win, n if n % 2 else n - 1)
    if win >= 3:
        z = savgol_filter(z, win, 1)
    z = np.maximum(z, min_depth)
    w = np.ones(P.shape[:2]) if conf is None else np.maximum(np.asarray(conf, np.float64), 0.1)
    return _resolve_xy(P, np.asarray(kp_px, np.float64), w, K, z)
