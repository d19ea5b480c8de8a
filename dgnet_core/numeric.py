"""numpy versions of the few SciPy routines the engine calls, so the extension ships no SciPy.

SciPy's wheel is the size of the rest of the engine's dependencies together (41 MB of the
linux zip, docs/BENCHMARKS.md), and the engine used four of its routines. They are
re-stated here with SciPy's conventions, and ``tests/test_numeric.py`` checks each against
SciPy (kept in the development venv for training and the tests):

- ``savgol_filter(x, window, polyorder)``: ``scipy.signal.savgol_filter(..., axis=0,
  mode="interp")``: a least-squares polynomial over each window, evaluated at its centre;
  the first and last half windows are the polynomial of the first / last full window.
- ``median_filter(x, size)``: ``scipy.ndimage.median_filter(..., size=(size, 1, ...),
  mode="nearest")``: a running median over axis 0 (edges repeated), every other axis apart.
- ``pchip_interpolate(t, y, tq)``: ``scipy.interpolate.PchipInterpolator(t, y, axis=0)(tq)``:
  monotone piecewise cubic Hermite interpolation with SciPy's end-point slopes.

Also ``runs(mask)``, the ``[start, end)`` stretches of True in a mask over time, which
gaps, contacts, anchoring and the early lifting all cut clips by.

The rotation conversions (``Rotation.from_rotvec`` etc.) are in ``dgnet_core.rotations``.
Everything is float64; axis 0 is time.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def savgol_projection(window: int, polyorder: int) -> np.ndarray:
    """(window, window) matrix P: ``P @ x`` is the degree-``polyorder`` least-squares fit of
    ``x`` (one window) evaluated at each of its samples."""
    if window < 1 or polyorder >= window:
        raise ValueError(f"polyorder {polyorder} must be less than the window {window}")
    pos = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
    vander = pos[:, None] ** np.arange(polyorder + 1)
    return vander @ np.linalg.pinv(vander)


def savgol_filter(x: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay smoothing along axis 0 (``window`` odd, at most ``len(x)``), float64."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if window % 2 == 0 or window > n:
        raise ValueError(f"window {window} must be odd and at most the length {n}")
    proj = savgol_projection(window, polyorder)
    half = window // 2
    out = np.empty_like(x)
    # Interior: the centre row of the projection over every full window.
    windows = sliding_window_view(x, window, axis=0)  # (n - window + 1, ..., window)
    out[half:n - half] = windows @ proj[half]
    # Edges: the first / last window's polynomial at the samples before / after its centre.
    out[:half] = np.tensordot(proj[:half], x[:window], axes=(1, 0))
    out[n - half:] = np.tensordot(proj[half + 1:], x[n - window:], axes=(1, 0))
    return out


def median_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Running median of ``size`` samples along axis 0, edges repeated (SciPy's "nearest").

    For an even ``size`` the window is ``[i - size // 2, i + size // 2 - 1]`` and the upper
    middle value is taken, as SciPy does. The dtype of ``x`` is kept.
    """
    x = np.asarray(x)
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    if size == 1 or len(x) == 0:
        return x.copy()
    before, after = size // 2, size - 1 - size // 2
    pad = [(before, after)] + [(0, 0)] * (x.ndim - 1)
    windows = sliding_window_view(np.pad(x, pad, mode="edge"), size, axis=0)
    return np.sort(windows, axis=-1)[..., size // 2]


def _pchip_edge(h0: float, h1: float, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
    """SciPy's one-sided three-point end slope, kept shape-preserving."""
    d = ((2.0 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    opposite = np.sign(d) != np.sign(m0)
    overshoot = (np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3.0 * np.abs(m0))
    return np.where(opposite, 0.0, np.where(overshoot, 3.0 * m0, d))


def pchip_slopes(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slopes (n, ...) at the knots ``t`` (n,) of the monotone cubic through ``y`` (n, ...)."""
    h = np.diff(t).reshape((-1,) + (1,) * (y.ndim - 1))
    m = np.diff(y, axis=0) / h
    if len(t) == 2:
        return np.concatenate([m, m], axis=0)
    flat = (m[1:] == 0) | (m[:-1] == 0) | (np.sign(m[1:]) != np.sign(m[:-1]))
    w1, w2 = 2.0 * h[1:] + h[:-1], h[1:] + 2.0 * h[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        whmean = (w1 / m[:-1] + w2 / m[1:]) / (w1 + w2)
        inner = np.where(flat, 0.0, 1.0 / whmean)
    first = _pchip_edge(h[0], h[1], m[0], m[1])
    last = _pchip_edge(h[-1], h[-2], m[-1], m[-2])
    return np.concatenate([first[None], inner, last[None]], axis=0)


def pchip_interpolate(t: np.ndarray, y: np.ndarray, tq: np.ndarray) -> np.ndarray:
    """Values (len(tq), ...) at ``tq`` of the PCHIP interpolant through (``t``, ``y``).

    ``t`` (n >= 2,) strictly increasing; ``y`` (n, ...); queries outside ``[t[0], t[-1]]``
    extrapolate the end pieces (as SciPy's default).
    """
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    tq = np.asarray(tq, dtype=np.float64)
    if len(t) < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("pchip needs at least two strictly increasing knots")
    d = pchip_slopes(t, y)
    i = np.clip(np.searchsorted(t, tq, side="right") - 1, 0, len(t) - 2)
    shape = (-1,) + (1,) * (y.ndim - 1)
    h = (t[i + 1] - t[i]).reshape(shape)
    s = ((tq - t[i]) / (t[i + 1] - t[i])).reshape(shape)
    h00 = (1.0 + 2.0 * s) * (1.0 - s) ** 2
    h10 = s * (1.0 - s) ** 2
    h01 = s * s * (3.0 - 2.0 * s)
    h11 = s * s * (s - 1.0)
    return h00 * y[i] + h10 * h * d[i] + h01 * y[i + 1] + h11 * h * d[i + 1]


def runs(mask: np.ndarray, offset: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` index ranges of the runs of True in a 1-D boolean array, shifted by
    ``offset``."""
    mask = np.asarray(mask, bool)
    if mask.size == 0:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a) + offset, int(b) + offset) for a, b in zip(edges[::2], edges[1::2])]
