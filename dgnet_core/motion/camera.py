"""The camera model: a pinhole with its principal point at the picture's centre, the default
focal length (a 55 degree horizontal field of view) when the user gives none, projection,
and the fixed turn from camera axes (x right, y down, z forward) to the Z-up world (x =
camera x, y = camera depth, z = up: a person facing the camera faces -Y).
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_FOV_DEG = 55.0
CAMERA_TO_WORLD_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def intrinsics(width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG,
               focal_px: float | None = None) -> np.ndarray:
    """(3, 3) pinhole matrix: focal from ``focal_px`` or the horizontal FOV, centred."""
    if focal_px is None:
        if not (math.isfinite(fov_deg) and 1.0 <= fov_deg <= 179.0):
            raise ValueError(f"field of view must be in [1, 179] degrees, got {fov_deg}")
        focal_px = 0.5 * width / math.tan(math.radians(fov_deg) / 2.0)
    if not (math.isfinite(focal_px) and focal_px > 0):
        raise ValueError(f"focal length must be a finite, positive number of pixels, "
                         f"got {focal_px}")
    return np.array([[focal_px, 0.0, width / 2.0], [0.0, focal_px, height / 2.0],
                     [0.0, 0.0, 1.0]])


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-space points (..., 3) to pixels (..., 2)."""
    p = np.asarray(points_cam, np.float64)
    z = np.maximum(p[..., 2:3], 1e-6)
    return p[..., :2] / z * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])
