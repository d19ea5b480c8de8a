"""3D pose error metrics in NumPy (the field's protocols), shared by evaluation and demos.

All functions take predictions and targets of shape (..., J, 3) in the same units and
return the mean over every leading axis and joint:

- ``mpjpe`` (Protocol 1): mean Euclidean joint error.
- ``pa_mpjpe`` (Protocol 2): after a per-pose similarity (rotation, uniform scale,
  translation) Procrustes alignment of the prediction onto the target.
- ``n_mpjpe``: after the least-squares scale only (Rhodin et al.).
- ``mpjve``: mean error of the per-frame velocities (first differences over axis 0).
- ``accel_error``: mean error of the second differences over axis 0.
"""

from __future__ import annotations

import numpy as np


def mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint position error."""
    pred, target = _pair(pred, target)
    return float(np.linalg.norm(pred - target, axis=-1).mean())


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


def pa_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after per-pose similarity Procrustes alignment (Protocol 2)."""
    return mpjpe(procrustes_align(pred, target), target)


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after the per-pose least-squares scale of the prediction."""
    pred, target = _pair(pred, target)
    num = (pred * target).sum(axis=(-2, -1), keepdims=True)
    den = (pred * pred).sum(axis=(-2, -1), keepdims=True)
    return mpjpe(pred * num / np.maximum(den, 1e-12), target)


def mpjve(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint velocity error over consecutive frames (axis 0)."""
    pred, target = _pair(pred, target)
    return mpjpe(np.diff(pred, axis=0), np.diff(target, axis=0))


def accel_error(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean per-joint acceleration error (second differences over axis 0)."""
    pred, target = _pair(pred, target)
    return mpjpe(np.diff(pred, n=2, axis=0), np.diff(target, n=2, axis=0))


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape or pred.shape[-1] != 3:
        raise ValueError(f"shapes differ or are not (..., J, 3): {pred.shape} vs {target.shape}")
    return pred, target
