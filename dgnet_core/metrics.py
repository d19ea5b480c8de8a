"""3D pose error metrics in NumPy (the field's protocols): the one place they are defined.

One contract for all of them: predictions and targets of shape (..., J, 3) in the same
units; the result is **one error per pose**, shape (...) (the mean over joints), and the
caller averages over poses, frames or actions as its protocol says.

- ``mpjpe`` (Protocol 1, P1): mean Euclidean joint error.
- ``pa_mpjpe`` (Protocol 2, P2): after a per-pose similarity (rotation, uniform scale,
  translation) Procrustes alignment of the prediction onto the target.
- ``n_mpjpe``: after the least-squares scale only (Rhodin et al.).
- ``mpjve``: error of the velocities (first differences over axis 0): (N - 1, ...).
- ``accel_error``: error of the accelerations (second differences over axis 0).
- ``pck`` / ``auc``: share of joints within a threshold, and its area over thresholds
  (MPI-INF-3DHP's protocol).
"""

from __future__ import annotations

import numpy as np


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose mean joint position error."""
    pred, target = _pair(pred, target)
    return np.linalg.norm(pred - target, axis=-1).mean(axis=-1)


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity-align every pose of ``pred`` (..., J, 3) onto ``target``; returns the result."""
    pred, target = _pair(pred, target)
    mu_p = pred.mean(axis=-2, keepdims=True)
    mu_t = target.mean(axis=-2, keepdims=True)
    p0, t0 = pred - mu_p, target - mu_t
    norm_p = np.sqrt((p0**2).sum(axis=(-2, -1), keepdims=True))
    norm_t = np.sqrt((t0**2).sum(axis=(-2, -1), keepdims=True))
    p0 = p0 / np.maximum(norm_p, 1e-12)
    t0 = t0 / np.maximum(norm_t, 1e-12)
    h = np.swapaxes(p0, -1, -2) @ t0
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    # Reflection fix: flip the last singular vector where det(R) < 0.
    sign = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))
    v[..., :, -1] *= sign[..., None]
    s[..., -1] *= sign
    rot = v @ np.swapaxes(u, -1, -2)
    scale = s.sum(axis=-1)[..., None, None] * norm_t / np.maximum(norm_p, 1e-12)
    return scale * (pred - mu_p) @ np.swapaxes(rot, -1, -2) + mu_t


def pa_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose MPJPE after similarity Procrustes alignment (Protocol 2)."""
    return mpjpe(procrustes_align(pred, target), target)


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose MPJPE after the least-squares scale of the prediction."""
    pred, target = _pair(pred, target)
    num = (pred * target).sum(axis=(-2, -1), keepdims=True)
    den = (pred * pred).sum(axis=(-2, -1), keepdims=True)
    return mpjpe(pred * num / np.maximum(den, 1e-12), target)


def mpjve(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-step velocity error over consecutive frames (axis 0 is time): (N - 1, ...)."""
    pred, target = _pair(pred, target)
    return mpjpe(np.diff(pred, axis=0), np.diff(target, axis=0))


def accel_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-step acceleration error (second differences over axis 0): (N - 2, ...)."""
    pred, target = _pair(pred, target)
    return mpjpe(np.diff(pred, n=2, axis=0), np.diff(target, n=2, axis=0))


def pck(pred: np.ndarray, target: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """Per-pose share of joints within ``threshold`` (same units; 150 mm for 3DHP)."""
    pred, target = _pair(pred, target)
    return (np.linalg.norm(pred - target, axis=-1) <= threshold).mean(axis=-1)


def auc(pred: np.ndarray, target: np.ndarray, max_threshold: float = 0.15,
        steps: int = 31) -> np.ndarray:
    """Per-pose area under the PCK curve for thresholds 0..max (MPI-INF-3DHP's AUC)."""
    ts = np.linspace(0, max_threshold, steps)
    return np.stack([pck(pred, target, t) for t in ts], -1).mean(-1)


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.shape[-1] != 3:
        raise ValueError(f"shapes differ or are not (..., J, 3): {pred.shape} vs {target.shape}")
    return pred, target
