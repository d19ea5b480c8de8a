"""Pose-error metrics (numpy): MPJPE (P1), P-MPJPE (P2), N-MPJPE, MPJVE, PCK and AUC.

All take predictions and targets of shape (N, J, 3) in the same units and return per-pose
errors (N,) unless stated; averaging over poses / actions is the caller's job.
"""

from __future__ import annotations

import numpy as np


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose mean Euclidean joint error (P1)."""
    return np.linalg.norm(pred - target, axis=-1).mean(-1)


def procrustes_align(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Similarity transform (rotation, uniform scale, translation) of pred onto target.

    Least-squares (Umeyama / Kabsch with reflection fix), per pose; returns aligned pred.
    """
    pred = np.asarray(pred, np.float64)
    target = np.asarray(target, np.float64)
    mu_p = pred.mean(-2, keepdims=True)
    mu_t = target.mean(-2, keepdims=True)
    p0, t0 = pred - mu_p, target - mu_t
    norm_p = np.sqrt((p0 ** 2).sum((-2, -1), keepdims=True))
    norm_t = np.sqrt((t0 ** 2).sum((-2, -1), keepdims=True))
    p0n, t0n = p0 / norm_p, t0 / norm_t
    h = np.swapaxes(p0n, -1, -2) @ t0n
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, -1, -2)
    r = v @ np.swapaxes(u, -1, -2)
    sign = np.sign(np.linalg.det(r))
    v[..., -1] *= sign[..., None]
    s[..., -1] *= sign
    r = v @ np.swapaxes(u, -1, -2)
    scale = s.sum(-1)[..., None, None] * norm_t / norm_p
    return scale * (p0 @ np.swapaxes(r, -1, -2)) + mu_t


def p_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after Procrustes alignment (P2)."""
    return mpjpe(procrustes_align(pred, target), np.asarray(target, np.float64))


def n_mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """MPJPE after the optimal uniform scale of pred (N-MPJPE, Rhodin et al.)."""
    num = (pred * target).sum((-2, -1), keepdims=True)
    den = (pred * pred).sum((-2, -1), keepdims=True).clip(min=1e-12)
    return mpjpe(num / den * pred, target)


def mpjve(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean per-joint velocity error over consecutive frames of ONE sequence (N-1,)."""
    return np.linalg.norm(np.diff(pred, axis=0) - np.diff(target, axis=0), axis=-1).mean(-1)


def pck(pred: np.ndarray, target: np.ndarray, threshold: float = 0.15) -> np.ndarray:
    """Per-pose fraction of joints within ``threshold`` (same units; 150 mm for 3DHP)."""
    return (np.linalg.norm(pred - target, axis=-1) <= threshold).mean(-1)


def auc(pred: np.ndarray, target: np.ndarray, max_threshold: float = 0.15,
        steps: int = 31) -> np.ndarray:
    """Per-pose area under the PCK curve for thresholds 0..max (MPI-INF-3DHP's AUC)."""
    ts = np.linspace(0, max_threshold, steps)
    return np.stack([pck(pred, target, t) for t in ts], -1).mean(-1)
