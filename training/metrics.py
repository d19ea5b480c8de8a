"""Pose-error metrics (numpy): MPJPE (P1), P-MPJPE (P2), N-MPJPE, MPJVE, PCK and AUC.

All take predictions and targets of shape (N, J, 3) in the same units and return per-pose
errors (N,) unless stated; averaging over poses / actions is the caller's job. The
similarity (Procrustes) alignment is ``dgnet_core.metrics.procrustes_align``; the whole-
array means used by the engine's demos are in ``dgnet_core.metrics``.
"""

from __future__ import annotations

import numpy as np

from dgnet_core.metrics import procrustes_align  # the one similarity alignment

__all__ = ["auc", "mpjpe", "mpjve", "n_mpjpe", "p_mpjpe", "pck", "procrustes_align"]


def mpjpe(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pose mean Euclidean joint error (P1)."""
    return np.linalg.norm(pred - target, axis=-1).mean(-1)


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
