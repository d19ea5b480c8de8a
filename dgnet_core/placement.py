"""Putting root-relative lifted poses into the scene: root trajectory, floor, foot contacts.

Owns the camera model (pinhole; default focal length from a 55 degree horizontal field of
view, principal point at the centre), the root trajectory, the camera -> world transform
and foot contacts:

* Root trajectory: per frame, the translation T that makes the projection of the lifted
  pose (root-relative, metric) best match the detected 2D joints, i.e. the person's
  distance follows from their pixel size vs their lifted metric size. The pinhole equations
  ``u - cx = f (X + Tx) / (Z + Tz)`` are linear in T once multiplied out; they are solved
  by confidence-weighted least squares per frame (closed form, vectorised).
* World: camera axes (x right, y down, z forward) -> Z-up world with x = camera x,
  y = camera depth, z = up, so a person facing the camera faces -Y. The camera's pitch and
  roll are estimated from the plane through the lowest foot of each frame (a ridge fit
  that stays level unless the feet cover ground), and the floor is put at z = 0 with the
  ankles (the skeleton's "Foot" joints) at their rest height above it.
* Contacts: a foot is planted when its ankle is near rest height and nearly still.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .skeleton import FEET, TEMPLATE_POSE

DEFAULT_FOV_DEG = 55.0
ANKLE_HEIGHT = float(TEMPLATE_POSE[list(FEET), 2].mean())  # ankle above the floor, metres
CAMERA_TO_WORLD_AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
LEFT_FOOT, RIGHT_FOOT = FEET[1], FEET[0]  # contact columns are (left, right)


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


def root_trajectory(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None,
                    K: np.ndarray, min_depth: float = 0.5) -> np.ndarray:
    """(N, 3) camera-space root position that best explains the 2D joints.

    ``pose_rel`` (N, 17, 3) root-relative metres in camera axes, ``kp_px`` (N, 17, 2),
    ``conf`` (N, 17) weights (floored at 0.1 so interpolated frames still count).
    Depth is clamped to ``min_depth`` (a degenerate lift must not put the person behind
    the camera); x and y are then re-solved for that depth.
    """
    P = np.asarray(pose_rel, np.float64)
    uv = np.asarray(kp_px, np.float64)
    n, j = P.shape[:2]
    w = np.ones((n, j)) if conf is None else np.maximum(np.asarray(conf, np.float64), 0.1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    du, dv = uv[..., 0] - cx, uv[..., 1] - cy
    X, Y, Z = P[..., 0], P[..., 1], P[..., 2]
    A = np.zeros((n, 2 * j, 3))
    A[:, :j, 0], A[:, :j, 2] = fx, -du
    A[:, j:, 1], A[:, j:, 2] = fy, -dv
    b = np.concatenate([du * Z - fx * X, dv * Z - fy * Y], axis=1)
    ww = np.concatenate([w, w], axis=1)
    AtA = np.einsum("nki,nk,nkj->nij", A, ww, A)
    Atb = np.einsum("nki,nk,nk->ni", A, ww, b)
    T = np.linalg.solve(AtA + 1e-9 * np.eye(3), Atb[..., None])[..., 0]
    low = T[:, 2] < min_depth
    if low.any():
        T[low, 2] = min_depth
        tz = T[low, 2][:, None]
        wl = w[low]
        T[low, 0] = ((du[low] * (Z[low] + tz) / fx - X[low]) * wl).sum(1) / wl.sum(1)
        T[low, 1] = ((dv[low] * (Z[low] + tz) / fy - Y[low]) * wl).sum(1) / wl.sum(1)
    return T


def _lowest_feet(world: np.ndarray) -> np.ndarray:
    """(N, 3) the lower ankle of each frame."""
    feet = world[:, list(FEET)]
    return feet[np.arange(len(world)), np.argmin(feet[..., 2], axis=1)]


def ground_rotation(world: np.ndarray, prior_m: float = 0.2, max_tilt_deg: float = 30.0
                    ) -> np.ndarray:
    """(3, 3) rotation levelling the plane through the lowest foot of each frame.

    Fits ``z = a x + b y + c`` to those points with a ridge penalty whose strength equals
    ``prior_m`` metres of spread: feet that stay on one spot give no tilt, feet walking
    over metres of floor give nearly the full fit. One refit drops points that sit more than
    the 75th percentile above the first plane (jumps, swing phases).
    """
    from scipy.spatial.transform import Rotation

    pts = _lowest_feet(np.asarray(world, np.float64))
    if len(pts) < 3:
        return np.eye(3)
    keep = np.ones(len(pts), bool)
    a = b = 0.0
    for _ in range(2):
        p = pts[keep]
        c = p - p.mean(axis=0)
        lam = len(p) * prior_m**2
        M = np.array([[c[:, 0] @ c[:, 0] + lam, c[:, 0] @ c[:, 1]],
                      [c[:, 0] @ c[:, 1], c[:, 1] @ c[:, 1] + lam]])
        a, b = np.linalg.solve(M, [c[:, 0] @ c[:, 2], c[:, 1] @ c[:, 2]])
        resid = pts[:, 2] - (pts[:, 0] - p[:, 0].mean()) * a - (pts[:, 1] - p[:, 1].mean()) * b
        keep = resid <= np.percentile(resid, 75)
    normal = np.array([-a, -b, 1.0])
    normal /= np.linalg.norm(normal)
    tilt = math.degrees(math.acos(min(1.0, normal[2])))
    if tilt > max_tilt_deg:
        horiz = normal[:2] / max(np.linalg.norm(normal[:2]), 1e-12)
        t = math.radians(max_tilt_deg)
        normal = np.array([*(horiz * math.sin(t)), math.cos(t)])
    rot, _ = Rotation.align_vectors([[0.0, 0.0, 1.0]], [normal])
    return rot.as_matrix()


def floor_offset(world: np.ndarray, percentile: float = 20.0) -> float:
    """z shift that puts the ankles of the lower foot at ``ANKLE_HEIGHT`` (robustly)."""
    low = _lowest_feet(np.asarray(world, np.float64))[:, 2]
    return float(ANKLE_HEIGHT - np.percentile(low, percentile))


def foot_contacts(world: np.ndarray, fps: float, height_m: float = 0.05,
                  speed_mps: float = 0.5) -> np.ndarray:
    """(N, 2) bool (left, right): ankle within ``height_m`` of rest height and slower than
    ``speed_mps``; single-frame flickers are removed with a 3-frame median."""
    from scipy.ndimage import median_filter

    world = np.asarray(world, np.float64)
    out = np.zeros((len(world), 2), bool)
    for col, joint in enumerate((LEFT_FOOT, RIGHT_FOOT)):
        p = world[:, joint]
        speed = (np.linalg.norm(np.gradient(p, axis=0), axis=-1) * fps if len(p) > 1
                 else np.zeros(len(p)))
        c = (p[:, 2] - ANKLE_HEIGHT < height_m) & (speed < speed_mps)
        out[:, col] = median_filter(c.astype(np.uint8), size=3, mode="nearest") > 0 \
            if len(c) >= 3 else c
    return out


@dataclass
class Placement:
    joints_camera: np.ndarray    # (N, 17, 3) camera axes, metres, root trajectory included
    joints_world: np.ndarray     # (N, 17, 3) Z-up world, floor z = 0
    contacts: np.ndarray         # (N, 2) bool (left, right)
    camera_to_world: np.ndarray  # (3, 3) rotation; world = R @ cam + (0, 0, camera_height)
    camera_height: float         # metres above the floor


def place(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None, K: np.ndarray,
          fps: float, smooth_fn=None) -> Placement:
    """Root trajectory, camera -> world, floor and contacts for a lifted clip.

    ``smooth_fn`` (array -> array along time) is applied to the root trajectory, which is
    noisier than the pose (depth comes from the person's pixel size).
    """
    pose_rel = np.asarray(pose_rel, np.float64)
    root = root_trajectory(pose_rel, kp_px, conf, K)
    if smooth_fn is not None:
        root = smooth_fn(root)
    cam = pose_rel + root[:, None, :]
    world = cam @ CAMERA_TO_WORLD_AXES.T
    level = ground_rotation(world)
    R = level @ CAMERA_TO_WORLD_AXES
    world = cam @ R.T
    dz = floor_offset(world)
    world[..., 2] += dz
    return Placement(cam.astype(np.float32), world.astype(np.float32),
                     foot_contacts(world, fps), R, dz)
