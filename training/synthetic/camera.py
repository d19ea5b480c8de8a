"""The synthetic camera: pinhole intrinsics, world-to-camera extrinsics, projection.

Owns the conversion between the render camera's description (position, look-at target,
focal length in mm on a sensor of given width) and the OpenCV-style matrices stored with
every clip: camera axes x right, y down, z forward, metres; ``X_cam = R @ (X_world - C)``
and ``u, v = K @ X_cam``. Blender's camera looks down its local -Z with +Y up, which is
``blender_rotation``. No Blender import here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraSpec:
    """A static pinhole camera looking at ``target`` (Z-up world, metres)."""

    location: tuple[float, float, float] = (0.0, -3.6, 1.1)
    target: tuple[float, float, float] = (0.0, 0.0, 0.85)
    focal_mm: float = 35.0
    sensor_mm: float = 36.0     # sensor width; the focal length in px follows the image width

    def focal_px(self, width: int) -> float:
        return self.focal_mm / self.sensor_mm * float(width)

    def intrinsics(self, width: int, height: int) -> np.ndarray:
        """(3, 3) pixel intrinsics; pixel (0, 0) is the top-left pixel's top-left corner."""
        f = self.focal_px(width)
        return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])

    def rotation(self) -> np.ndarray:
        """(3, 3) world-to-camera rotation R (rows: camera x right, y down, z forward)."""
        c = np.asarray(self.location, dtype=np.float64)
        fwd = np.asarray(self.target, dtype=np.float64) - c
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        if np.linalg.norm(right) < 1e-6:
            raise ValueError("camera looks straight up or down; move the target")
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return np.stack([right, down, fwd])

    def extrinsics(self) -> np.ndarray:
        """(3, 4) [R | t] with t = -R C, so that X_cam = R X_world + t."""
        r = self.rotation()
        return np.concatenate([r, -(r @ np.asarray(self.location))[:, None]], axis=1)

    def blender_matrix(self) -> np.ndarray:
        """(4, 4) Blender camera object matrix_world (local -Z forward, +Y up)."""
        r = self.rotation()
        m = np.eye(4)
        m[:3, :3] = np.stack([r[0], -r[1], -r[2]], axis=1)
        m[:3, 3] = self.location
        return m


def world_to_camera(points: np.ndarray, rotation: np.ndarray, centre) -> np.ndarray:
    """World points (..., 3) -> camera coordinates (x right, y down, z forward)."""
    return (np.asarray(points, dtype=np.float64) - np.asarray(centre)) @ np.asarray(rotation).T


def project(points_cam: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Camera points (..., 3) -> pixels (..., 2)."""
    p = np.asarray(points_cam, dtype=np.float64) @ np.asarray(intrinsics).T
    return p[..., :2] / p[..., 2:3]
