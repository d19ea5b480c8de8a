"""How a window of 2D joints is presented to the network, and how its 3D comes back.

Two input frames (``DGNetConfig.input_frame``):

* ``screen`` (the paper's): screen-normalised pixels ``x / w * 2 - [1, h / w]``
  (``lifting.normalize_screen``). Where the person stands in the picture, and the
  picture's width, are part of the input.
* ``root_ray``: each window is re-projected into a virtual camera that shares the real
  camera's centre and looks along the ray through the pelvis of the window's target frame
  (``T // 2``). The picture is what that rotated camera would have seen, so the person is
  always in its middle and the input no longer depends on where they stood, on the frame's
  width or its aspect; the coordinates are the rays' tangents times ``VIRTUAL_FOCAL``. The
  network predicts root-relative 3D in the virtual camera, and ``from_virtual`` turns it
  back into the real camera's axes with the same rotation. It needs the intrinsics (a
  guess when the user gives none; training draws its guesses off the true focal length).

Both take and give model units: inputs ``(B, T, J, C)`` in screen-normalised units with the
intrinsics ``cam`` ``(B, 4)`` = ``[fx, fy, cx, cy]`` in the same units
(``lifting.normalize_intrinsics``); the confidence channel, if any, is passed through.
"""

from __future__ import annotations

import numpy as np

from .config import INPUT_FRAMES

# Virtual camera's focal length in model units: a 53 degree field of view across the
# unit half-width, near the median of the cameras the networks were trained with.
VIRTUAL_FOCAL = 2.0
# A ray further than acos(MIN_COS) = 73 degrees from the pelvis ray (never a body joint in a
# picture) is held there, so no input can grow without bound.
MIN_COS = 0.3


def rays(xy: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """Screen-normalised points (B, ..., 2) and intrinsics (B, 4) -> camera rays (B, ..., 3)
    with z = 1."""
    cam = np.asarray(cam, np.float64)
    shape = (len(cam),) + (1,) * (xy.ndim - 2)
    f = cam[:, :2].reshape(shape + (2,))
    c = cam[:, 2:].reshape(shape + (2,))
    uv = (np.asarray(xy, np.float64) - c) / f
    return np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1)


def look_rotation(direction: np.ndarray) -> np.ndarray:
    """(B, 3) directions -> (B, 3, 3) rotations whose rows are the virtual camera's axes in
    the real camera: z along ``direction``, x level with the real camera's x-z plane (no
    roll), y completing a right-handed frame (x right, y down, z forward)."""
    z = np.asarray(direction, np.float64)
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x, axis=-1, keepdims=True).clip(min=1e-9)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


def to_virtual(x: np.ndarray, cam: np.ndarray, target_index: int, root: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Windows (B, T, J, C) in screen units -> the same windows seen by the virtual camera
    through the root of frame ``target_index``, and the (B, 3, 3) rotations used."""
    x = np.asarray(x, np.float32)
    r = rays(x[..., :2], cam)                                 # (B, T, J, 3)
    rot = look_rotation(r[:, target_index, root])
    v = np.einsum("bij,btkj->btki", rot, r)
    z = np.maximum(v[..., 2:], MIN_COS * np.linalg.norm(v, axis=-1, keepdims=True))
    out = x.copy()
    out[..., :2] = (v[..., :2] / z * VIRTUAL_FOCAL).astype(np.float32)
    return out, rot


def from_virtual(y: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Virtual-camera 3D (B, ..., 3) -> real camera axes (rotate by rot^T)."""
    rot = np.asarray(rot, np.float64)
    shape = (len(rot),) + (1,) * (y.ndim - 2) + (3, 3)
    return np.einsum("b...j,b...jk->b...k", np.asarray(y, np.float64),
                     rot.reshape(shape)).astype(np.float32)


def into_virtual(y: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Real-camera 3D (B, ..., 3) -> virtual camera axes (training targets)."""
    rot = np.asarray(rot, np.float64)
    shape = (len(rot),) + (1,) * (y.ndim - 2) + (3, 3)
    return np.einsum("b...kj,b...j->b...k", rot.reshape(shape),
                     np.asarray(y, np.float64)).astype(np.float32)


def encode(x: np.ndarray, cam: np.ndarray | None, input_frame: str, target_index: int
           ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Model input for windows ``x`` in screen units: unchanged for ``screen``, re-projected
    for ``root_ray`` (which needs ``cam``). Returns the input, the intrinsics in the frame
    the network sees (the virtual camera's for ``root_ray``) and the rotation (or None)."""
    if input_frame == "screen":
        return x, cam, None
    if input_frame != "root_ray":
        raise ValueError(f"input_frame must be one of {INPUT_FRAMES}, got {input_frame!r}")
    if cam is None:
        raise ValueError("a root_ray model needs the camera intrinsics")
    xv, rot = to_virtual(x, cam, target_index)
    cam_v = np.tile(np.array([VIRTUAL_FOCAL, VIRTUAL_FOCAL, 0.0, 0.0], np.float32),
                    (len(xv), 1))
    return xv, cam_v, rot


def decode(y: np.ndarray, rot: np.ndarray | None) -> np.ndarray:
    """Network output back in the real camera's axes (identity for ``screen``)."""
    return y if rot is None else from_virtual(y, rot)
