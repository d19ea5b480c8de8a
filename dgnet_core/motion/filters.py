"""Temporal smoothing of joint trajectories: Savitzky-Golay, One-Euro, or none.

Owns the filters applied to lifted poses and root trajectories over time (axis 0 of any
``(N, ...)`` array): ``savgol`` (zero-phase polynomial fit, ``numeric.savgol_filter``,
good for offline clips: keeps peaks, removes jitter), ``one_euro`` (Casiez et al. 2012
adaptive low-pass, causal: little lag when moving fast, strong smoothing when still) and
``none``.
Window and cut-off settings are in seconds / Hz so they mean the same at any frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..numeric import savgol_filter

METHODS = ("savgol", "one_euro", "none")


@dataclass(frozen=True)
class SavgolParams:
    window_s: float = 0.3    # window length in seconds (rounded to an odd frame count >= 5)
    polyorder: int = 2


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff: float = 1.0  # Hz, cut-off when still
    beta: float = 5.0        # Hz of cut-off added per unit/s of speed (metres: ~2.6 cm
    #                          lag at 1 m/s, at most 1 / (2 pi beta) = 3.2 cm)
    d_cutoff: float = 1.0    # Hz, cut-off of the speed estimate


def savgol(x: np.ndarray, fps: float, params: SavgolParams = SavgolParams()) -> np.ndarray:
    """Savitzky-Golay filter along axis 0 (window shrunk to the clip when it is short)."""
    x = np.asarray(x)
    n = len(x)
    window = max(5, int(round(params.window_s * fps)) | 1)
    if n < window:
        window = n if n % 2 else n - 1
    if window <= params.polyorder:
        return x.copy()
    return savgol_filter(x, window, params.polyorder).astype(x.dtype)


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


def one_euro(x: np.ndarray, fps: float, params: OneEuroParams = OneEuroParams()) -> np.ndarray:
    """One-Euro filter along axis 0, each element of the trailing axes independently."""
    x = np.asarray(x)
    if len(x) < 2:
        return x.copy()
    dt = 1.0 / fps
    out = np.empty(x.shape, np.float64)
    prev = x[0].astype(np.float64)
    d_prev = np.zeros_like(prev)
    a_d = _alpha(params.d_cutoff, dt)
    out[0] = prev
    for i in range(1, len(x)):
        xi = x[i].astype(np.float64)
        d = (xi - prev) / dt
        d_prev = d_prev + a_d * (d - d_prev)
        a = _alpha(params.min_cutoff + params.beta * np.abs(d_prev), dt)
        prev = prev + a * (xi - prev)
        out[i] = prev
    return out.astype(x.dtype)


def smooth(x: np.ndarray, method: str, fps: float) -> np.ndarray:
    """Apply the named filter (``savgol``, ``one_euro`` or ``none``) along axis 0."""
    if method == "savgol":
        return savgol(x, fps)
    if method == "one_euro":
        return one_euro(x, fps)
    if method == "none":
        return np.array(x, copy=True)
    raise ValueError(f"smoothing must be one of {', '.join(METHODS)}, got {method!r}")
