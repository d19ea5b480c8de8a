"""Putting root-relative lifted poses into the scene: root trajectory, floor, foot contacts.

Owns the camera model (pinhole; default focal length from a 55 degree horizontal field of
view, principal point at the centre), the root trajectory, the camera -> world transform,
foot contacts, and the order of the motion clean-up (``MotionOptions``, all on by default;
``MotionOptions.legacy()`` is the frame-by-frame placement that came before it):

* One body per clip (``body.fit_body`` / ``pose_body``: fixed bone lengths, rigid pelvis
  and shoulders) and no hyperextended knees or elbows (``body.limit_limbs``).
* Root depth per clip (``clip_root_trajectory``): the per-frame fit below gives the depth
  from the 2D size of the (now fixed) 3D body; where a foot stands on one spot in the image
  for half a second or more, the depth is held so that foot keeps one depth
  (``anchoring``, ``anchor_feet``: a squat lifted as a standing body no longer travels);
  that depth is median-filtered and smoothed with a linear Savitzky-Golay fit over
  ``depth_window_s`` (walking toward the camera survives, frame-to-frame "breathing" does
  not), and x, y are re-solved for it.
* Floor from foot contacts over the whole clip (``fit_floor``): a robust plane through
  the ankles at the lower, slower foot samples, with a ridge prior; the floor height from
  the same samples. The prior's centre weighs two guesses of the camera's pitch and roll
  (``body_up_prior``): a level camera, and the lifted body's own up direction (which
  carries the model's lean toward the camera, but also a real high or low viewpoint).
  Where the feet cover ground the contacts decide; where someone stays on one spot, a
  level-camera prior alone put the floor 28 degrees off for a camera 28 degrees above.
* Upright stance (``upright_correction``): the lifted body's mean up direction (pelvis
  above the ankles, over frames with straight knees) is turned onto the floor normal by
  one rotation for the whole clip (at most ``max_upright_deg``), which removes the model's
  lean toward the camera.
* Contacts and foot locking with hysteresis and two-bone IK (``contacts.py``).

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
* Contacts (legacy): a foot is planted when its ankle is near rest height and nearly still.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .anchoring import AnchorOptions, anchor_depth, still_feet
from .body import LimitOptions, fit_body, limb_bend, limit_limbs, normalize, pose_body
from .contacts import ContactOptions, detect_contacts, lock_feet
from .numeric import median_filter, savgol_filter
from .rotations import axis_angle_matrix, swing
from .skeleton import ANKLE_HEIGHT, FEET

DEFAULT_FOV_DEG = 55.0
MIN_DEPTH = 0.5  # metres: no root nearer the camera than this
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
                    K: np.ndarray, min_depth: float = MIN_DEPTH) -> np.ndarray:
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


def foot_contacts(world: np.ndarray, fps: float, height_m: float = 0.05,
                  speed_mps: float = 0.5) -> np.ndarray:
    """(N, 2) bool (left, right): ankle within ``height_m`` of rest height and slower than
    ``speed_mps``; single-frame flickers are removed with a 3-frame median."""
    world = np.asarray(world, np.float64)
    out = np.zeros((len(world), 2), bool)
    for col, joint in enumerate((LEFT_FOOT, RIGHT_FOOT)):
        p = world[:, joint]
        speed = (np.linalg.norm(np.gradient(p, axis=0), axis=-1) * fps if len(p) > 1
                 else np.zeros(len(p)))
        c = (p[:, 2] - ANKLE_HEIGHT < height_m) & (speed < speed_mps)
        out[:, col] = median_filter(c.astype(np.uint8), 3) > 0 \
            if len(c) >= 3 else c
    return out


def _resolve_xy(P: np.ndarray, uv: np.ndarray, w: np.ndarray, K: np.ndarray,
                tz: np.ndarray) -> np.ndarray:
    """(N, 3) root with depth ``tz`` (N,) and x, y best matching the 2D joints."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    z = P[..., 2] + tz[:, None]
    tx = (((uv[..., 0] - cx) * z / fx - P[..., 0]) * w).sum(1) / w.sum(1)
    ty = (((uv[..., 1] - cy) * z / fy - P[..., 1]) * w).sum(1) / w.sum(1)
    return np.stack([tx, ty, tz], axis=1)


def clip_root_trajectory(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None,
                         K: np.ndarray, fps: float, window_s: float = 1.0,
                         min_depth: float = MIN_DEPTH,
                         anchor: AnchorOptions | None = None) -> np.ndarray:
    """(N, 3) camera-space root with the depth smoothed over the clip (see the module).

    The per-frame depth of ``root_trajectory`` is first held to the feet that stand still
    in the image (``anchoring``; skipped when ``anchor`` is None), then median-filtered over
    half the window and fitted by a moving straight line (Savitzky-Golay, order 1) over
    ``window_s``; x and y are re-solved for that depth (so the 2D fit stays exact sideways).
    """
    P = np.asarray(pose_rel, np.float64)
    n = len(P)
    T = root_trajectory(P, kp_px, conf, K, min_depth)
    z = T[:, 2]
    if anchor is not None:
        z = anchor_depth(z, P, still_feet(kp_px, conf, fps, anchor), fps, anchor)
    med = max(1, int(round(0.5 * window_s * fps)) | 1)
    if n >= 3 and med >= 3:
        z = median_filter(z, min(med, n if n % 2 else n - 1))
    win = max(3, int(round(window_s * fps)) | 1)
    win = min(win, n if n % 2 else n - 1)
    if win >= 3:
        z = savgol_filter(z, win, 1)
    z = np.maximum(z, min_depth)
    w = np.ones(P.shape[:2]) if conf is None else np.maximum(np.asarray(conf, np.float64), 0.1)
    return _resolve_xy(P, np.asarray(kp_px, np.float64), w, K, z)


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


@dataclass(frozen=True)
class MotionOptions:
    """The motion clean-up steps of ``place`` (all on by default)."""

    fit_body: bool = True          # one set of bone lengths / rigid pelvis and shoulders
    limits: bool = True            # no hyperextended knees or elbows
    limit: LimitOptions = LimitOptions()
    clip_depth: bool = True        # root depth smoothed over the clip
    depth_window_s: float = 1.0
    anchor_feet: bool = True       # ... and held to feet standing still in the image
    anchor: AnchorOptions = AnchorOptions()
    floor_from_contacts: bool = True
    upright: bool = True           # the body's mean up onto the floor normal
    max_upright_deg: float = 25.0
    body_up_prior: float = 0.5     # floor prior: 0 level camera .. 1 the lifted body's up
    foot_lock: bool = True         # hold planted feet (two-bone IK)
    contact: ContactOptions = ContactOptions()

    @classmethod
    def legacy(cls) -> MotionOptions:
        """The frame-by-frame placement from before the clean-up (for comparisons)."""
        return cls(fit_body=False, limits=False, clip_depth=False, floor_from_contacts=False,
                   upright=False, foot_lock=False)


@dataclass
class Placement:
    joints_camera: np.ndarray    # (N, 17, 3) camera axes, metres, root trajectory included
    joints_world: np.ndarray     # (N, 17, 3) Z-up world, floor z = 0
    contacts: np.ndarray         # (N, 2) bool (left, right)
    camera_to_world: np.ndarray  # (3, 3) rotation; world = R @ cam + (0, 0, camera_height)
    camera_height: float         # metres above the floor
    rest_offsets: np.ndarray | None = None  # (17, 3) the clip's body (``body.Body.offsets``)


def _legacy_place(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None,
                  K: np.ndarray, fps: float, smooth_fn=None) -> Placement:
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


def place(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None, K: np.ndarray,
          fps: float, smooth_fn=None, options: MotionOptions | None = None) -> Placement:
    """Body, root trajectory, camera -> world, floor, contacts and locking for a lifted clip.

    ``pose_rel`` (N, 17, 3) root-relative camera axes. ``smooth_fn`` (array -> array along
    time) smooths the root's x, y (and its depth too when ``clip_depth`` is off).
    """
    o = options or MotionOptions()
    pose_rel = np.asarray(pose_rel, np.float64)
    if o == MotionOptions.legacy():
        return _legacy_place(pose_rel, kp_px, conf, K, fps, smooth_fn)
    offsets = None
    if o.fit_body:
        body = fit_body(pose_rel, conf)
        pose_rel = pose_body(pose_rel, body)
        offsets = body.offsets
    if o.limits:
        pose_rel = limit_limbs(pose_rel, o.limit)[0]

    def locate(p: np.ndarray) -> np.ndarray:
        if o.clip_depth:
            root = clip_root_trajectory(p, kp_px, conf, K, fps, o.depth_window_s,
                                        anchor=o.anchor if o.anchor_feet else None)
            if smooth_fn is not None:
                root[:, :2] = smooth_fn(root[:, :2])
            return p + root[:, None, :]
        root = root_trajectory(p, kp_px, conf, K)
        return p + (smooth_fn(root) if smooth_fn is not None else root)[:, None, :]

    prior = floor_prior(pose_rel, o.body_up_prior)  # the lift's own evidence, uncorrected

    def level(cam: np.ndarray) -> tuple[np.ndarray, float]:
        world = cam @ CAMERA_TO_WORLD_AXES.T
        if o.floor_from_contacts:
            rot, floor = fit_floor(world, fps, prior_slope=prior)
            return rot @ CAMERA_TO_WORLD_AXES, ANKLE_HEIGHT - floor
        R = ground_rotation(world) @ CAMERA_TO_WORLD_AXES
        return R, floor_offset(cam @ R.T)

    cam = locate(pose_rel)
    R, dz = level(cam)
    if o.upright:
        fix = upright_correction(pose_rel, R.T @ [0.0, 0.0, 1.0], o.max_upright_deg)
        if not np.allclose(fix, np.eye(3)):
            pose_rel = pose_rel @ fix.T
            cam = locate(pose_rel)
            R, dz = level(cam)
    world = cam @ R.T
    world[..., 2] += dz
    contacts = detect_contacts(world, fps, o.contact)
    if o.foot_lock:
        world = lock_feet(world, contacts, fps, o.contact)
        if o.limits:  # IK on a nearly straight leg can bend the knee either way
            world = limit_limbs(world, o.limit)[0]
        cam = (world - [0.0, 0.0, dz]) @ R  # the same motion in camera axes
        short = np.maximum(MIN_DEPTH - cam[:, 0, 2], 0.0)  # a shift must not pass the camera
        if short.any():
            cam[..., 2] += short[:, None]
            world = cam @ R.T
            world[..., 2] += dz
    return Placement(cam.astype(np.float32), world.astype(np.float32), contacts, R, dz,
                     offsets)
