"""Motion filters (dgnet_core.motion.filters): slow motion kept, jitter removed."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.motion.filters import one_euro, savgol, smooth


def test_filters_keep_slow_motion_and_remove_jitter() -> None:
    fps = 30.0
    t = np.arange(300) / fps
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, (300, 3))  # 1 cm jitter of a still joint
    ramp = np.stack([t, 0.5 * t, 0 * t], -1)  # a joint moving at ~1.1 m/s
    for method in ("savgol", "one_euro"):
        out = smooth(noise, method, fps)
        assert out.shape == noise.shape
        assert np.sqrt((out[30:] ** 2).mean()) < 0.5 * np.sqrt((noise[30:] ** 2).mean())
        lag = np.linalg.norm(smooth(ramp, method, fps) - ramp, axis=-1)[30:].max()
        assert lag < (1e-9 if method == "savgol" else 0.04), method
    quad = (0.3 * t**2)[:, None]
    assert np.abs(savgol(quad, fps) - quad).max() < 1e-9  # polyorder 2 is exact on parabolas
    assert np.array_equal(smooth(noise, "none", fps), noise)
    const = np.full((50, 3), 2.5)
    assert np.allclose(one_euro(const, fps), 2.5)
    assert savgol(np.ones((3, 2)), fps).shape == (3, 2)  # shorter than the window
    with pytest.raises(ValueError, match="smoothing must be one of"):
        smooth(noise, "kalman", fps)
