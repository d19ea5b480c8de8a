"""The floor and the upright stance: where the ground is under a placed clip.

* ``fit_floor``: a robust plane through the ankles at the lower, slower foot samples
  (``floor_samples``), with a ridge prior whose centre weighs two guesses of the camera's
  pitch and roll (``floor_prior``): a level camera, and the lifted body's own up direction
  (``body_up``). Where the feet cover ground the contacts decide; where someone stays on
  one spot the prior does.
* ``upright_correction``: the lifted body's mean up direction turned onto the floor normal
  by one rotation for the whole clip (capped), which removes the model's lean.
* ``ground_rotation`` / ``floor_offset``: the simpler floor of the per-frame placement (a
  plane through the lowest foot of each frame, the ankles put at rest height).
"""

from __future__ import annotations

import math

import numpy as np

from ..numeric import median_filter
from ..rotations import axis_angle_matrix, swing
from ..skeleton import ANKLE_HEIGHT, FEET
from .body import limb_bend, normalize
from .camera import CAMERA_TO_WORLD_AXES
from .contacts import LEFT_FOOT, RIGHT_FOOT


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
    return _levelling_rotation(a, b, max_tilt_deg)


def _levelling_rotation(a: float, b: float, max_tilt_deg: float) -> np.ndarray:
    """Rotation taking the plane z = a x + b y to horizontal, its tilt capped at
    ``max_tilt_deg``."""
    normal = np.array([-a, -b, 1.0])
    normal /= np.linalg.norm(normal)
    tilt = math.degrees(math.acos(min(1.0, normal[2])))
    if tilt > max_tilt_deg:
        horiz = normal[:2] / max(np.linalg.norm(normal[:2]), 1e-12)
        t = math.radians(max_tilt_deg)
        normal = np.array([*(horiz * math.sin(t)), math.cos(t)])
    return swing(normal, np.array([0.0, 0.0, 1.0]))


def floor_offset(world: np.ndarray, percentile: float = 20.0) -> float:
    """z shift that puts the ankles of the lower foot at ``ANKLE_HEIGHT`` (robustly)."""
    low = _lowest_feet(np.asarray(world, np.float64))[:, 2]
    return float(ANKLE_HEIGHT - np.percentile(low, percentile))


def _foot_speed(feet: np.ndarray, fps: float) -> np.ndarray:
    """(N, 2) speed (m/s) of the ankles (N, 2, 3), median-filtered over 3 frames."""
    if len(feet) < 2:
        return np.zeros(feet.shape[:2])
    v = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
    return median_filter(v, 3) if len(v) >= 3 else v


def floor_samples(world: np.ndarray, fps: float, lower_tol_m: float = 0.03,
                  slow_quantile: float = 40.0) -> np.ndarray:
    """(M, 3) ankle positions where a foot is the lower one (within ``lower_tol_m``) and
    among the slowest ``slow_quantile`` percent of those (feet on the floor)."""
    w = np.asarray(world, np.float64)
    feet = w[:, [LEFT_FOOT, RIGHT_FOOT]]
    low = feet[..., 2] <= feet[..., 2].min(axis=1, keepdims=True) + lower_tol_m
    speed = _foot_speed(feet, fps)
    if not low.any():
        return np.zeros((0, 3))
    slow = speed <= max(np.percentile(speed[low], slow_quantile), 0.05)
    return feet[low & slow]


def fit_floor(world: np.ndarray, fps: float, prior_m: float = 0.2,
              max_tilt_deg: float = 30.0,
              prior_slope: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, float]:
    """(rotation (3, 3) levelling the floor, floor height of the ankles after it) from the
    ``floor_samples`` of a clip: ``z = a x + b y + c`` with a ridge penalty of ``prior_m``
    metres of spread toward the slopes ``prior_slope`` (feet on one spot: that plane; (0, 0)
    is a level camera), re-weighted three times (Tukey, 4.7 robust sigmas, at least 1 cm)
    so swing feet and outliers drop out."""
    a0, b0 = prior_slope
    pts = floor_samples(world, fps)
    if len(pts) < 3:
        return (_levelling_rotation(a0, b0, max_tilt_deg),
                float(np.percentile(_lowest_feet(np.asarray(world))[:, 2], 20)))
    wts = np.ones(len(pts))
    a = b = 0.0
    for _ in range(4):
        sw = max(wts.sum(), 1e-9)
        mean = (wts[:, None] * pts).sum(0) / sw
        c = pts - mean
        lam = sw * prior_m**2
        cx, cy = c[:, 0] * wts, c[:, 1] * wts
        M = np.array([[cx @ c[:, 0] + lam, cx @ c[:, 1]], [cx @ c[:, 1], cy @ c[:, 1] + lam]])
        a, b = np.linalg.solve(M, [cx @ c[:, 2] + lam * a0, cy @ c[:, 2] + lam * b0])
        resid = c[:, 2] - a * c[:, 0] - b * c[:, 1]
        scale = max(1.4826 * np.median(np.abs(resid - np.median(resid))), 0.01) * 4.7
        wts = np.clip(1 - (resid / scale) ** 2, 0, None) ** 2
    R = _levelling_rotation(a, b, max_tilt_deg)
    heights = (pts @ R.T)[:, 2]
    return R, float(np.median(heights[wts > 0.5]) if (wts > 0.5).any() else np.median(heights))


def body_up(pose_rel: np.ndarray, straight_deg: float = 20.0,
            min_frames: int = 5) -> np.ndarray | None:
    """The body's mean up direction (unit, the pose's axes): pelvis minus the ankles'
    mid-point, median over frames where both knees bend less than ``straight_deg``; None
    with fewer than ``min_frames`` such frames (sitting, crouching)."""
    P = np.asarray(pose_rel, np.float64)
    knees = limb_bend(P)[:, :2]
    ok = np.all(np.abs(knees) < straight_deg, axis=1)
    if ok.sum() < min_frames:
        return None
    return normalize(np.median(normalize(P[ok, 0] - P[ok][:, list(FEET)].mean(axis=1)), axis=0))


def floor_prior(pose_rel: np.ndarray, weight: float) -> tuple[float, float]:
    """Slopes ``(a, b)`` of the floor prior's plane ``z = a x + b y`` in the camera's
    level world axes: ``weight`` of the way from a level camera (0, 0) to the plane normal
    to the lifted body's up (``body_up``; level when it has none). With equal doubt in the
    two guesses (the model's lean, the camera's pitch), the weight is 0.5."""
    up = body_up(pose_rel)
    if up is None or weight <= 0:
        return 0.0, 0.0
    u = CAMERA_TO_WORLD_AXES @ up
    if u[2] < 0.2:  # body not upright in a level world: no evidence worth a prior
        return 0.0, 0.0
    return -weight * u[0] / u[2], -weight * u[1] / u[2]


def upright_correction(pose_rel: np.ndarray, up: np.ndarray, max_deg: float = 25.0,
                       straight_deg: float = 20.0, min_frames: int = 5) -> np.ndarray:
    """(3, 3) rotation (about the pelvis) turning the body's mean up direction
    (``body_up``) onto ``up``; identity where it has none; the angle is capped at
    ``max_deg``.
    """
    m = body_up(pose_rel, straight_deg, min_frames)
    if m is None:
        return np.eye(3)
    target = normalize(np.asarray(up, np.float64))
    axis = np.cross(m, target)
    angle = min(math.atan2(np.linalg.norm(axis), float(m @ target)), math.radians(max_deg))
    if np.linalg.norm(axis) < 1e-9:
        return np.eye(3)
    return axis_angle_matrix(axis, np.asarray(angle))
