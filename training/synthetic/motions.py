"""Procedural 3D motions on the project skeleton: walk, wave, squat, turn, jump.

Owns the forward kinematics that turns per-frame joint angles into (T, 17, 3) world joint
sequences in the project's conventions (Z up, metres, floor at z = 0, the body facing -Y,
i.e. toward a camera on the -Y side, its left at +X), with segment lengths taken from
``dgnet_core.skeleton.TEMPLATE_POSE`` and scaled by ``BodyShape``. No Blender here.

    joints = make_motion("walk", frames=48, fps=25.0)          # (48, 17, 3) float64
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from dgnet_core.skeleton import ANKLE_HEIGHT, FEET, NUM_JOINTS, TEMPLATE_POSE

_T = TEMPLATE_POSE


@dataclass(frozen=True)
class BodyShape:
    """Body proportions: overall height scale and widths relative to the template body."""

    height: float = 1.75           # metres; the template body is 1.75 m
    shoulder_width: float = 1.0    # factor on the template's shoulder span
    hip_width: float = 1.0         # factor on the template's hip span
    leg_length: float = 1.0        # factor on thigh and shin length
    arm_length: float = 1.0        # factor on upper arm and forearm length

    @property
    def scale(self) -> float:
        return self.height / 1.75


def _seg(a: int, b: int) -> float:
    return float(np.linalg.norm(_T[b] - _T[a]))


@dataclass(frozen=True)
class _Dims:
    hip_x: float
    hip_drop: float
    thigh: float
    shin: float
    spine: float
    chest: float
    neck: np.ndarray
    head: np.ndarray
    shoulder_x: float
    upper_arm: float
    forearm: float

    @classmethod
    def of(cls, shape: BodyShape) -> _Dims:
        s = shape.scale
        leg, arm = s * shape.leg_length, s * shape.arm_length
        return cls(
            hip_x=s * shape.hip_width * float(_T[4, 0]),
            hip_drop=s * float(_T[0, 2] - _T[4, 2]),
            thigh=leg * _seg(4, 5), shin=leg * _seg(5, 6),
            spine=s * _seg(0, 7), chest=s * _seg(7, 8),
            neck=s * (_T[9] - _T[8]), head=s * (_T[10] - _T[8]),
            shoulder_x=s * shape.shoulder_width * float(_T[11, 0]),
            upper_arm=arm * _seg(11, 12), forearm=arm * _seg(12, 13),
        )


@dataclass
class Angles:
    """Per-frame pose parameters (radians; arrays of length T or scalars).

    Body frame: x = the body's left, y = its back, z = up (so forward is -y). Positive
    flexion swings a limb forward; positive abduction moves it away from the body's midline.
    ``root`` is the pelvis position before grounding (z is replaced by ``ground``).
    """

    root: np.ndarray                  # (T, 3)
    yaw: np.ndarray | float = 0.0     # heading about +Z; 0 faces -Y
    lean: np.ndarray | float = 0.0    # trunk pitch forward
    side_lean: np.ndarray | float = 0.0
    twist: np.ndarray | float = 0.0   # chest yaw relative to the pelvis
    pelvis_yaw: np.ndarray | float = 0.0
    head_pitch: np.ndarray | float = 0.0  # nodding down is positive
    head_yaw: np.ndarray | float = 0.0
    hip_flex: tuple = (0.0, 0.0)      # (left, right)
    hip_abd: tuple = (0.0, 0.0)
    knee: tuple = (0.0, 0.0)          # knee flexion (>= 0)
    sh_flex: tuple = (0.0, 0.0)       # shoulder flexion (arm forward)
    sh_abd: tuple = (0.1, 0.1)        # shoulder abduction (arm sideways)
    elbow: tuple = (0.15, 0.15)       # elbow flexion (>= 0), forearm swings forward
    forearm_dir: tuple = (None, None)  # optional (T, 3) forearm directions in the chest frame


def _rx(a):
    return Rotation.from_euler("x", a).as_matrix()


def _ry(a):
    return Rotation.from_euler("y", a).as_matrix()


def _rz(a):
    return Rotation.from_euler("z", a).as_matrix()


def _bc(x, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()


def _limb_dir(rot_base: np.ndarray, flex: np.ndarray, abd: np.ndarray, side: float
              ) -> np.ndarray:
    """Frames (T, 3, 3) of a limb hanging down, flexed forward, abducted to ``side`` (+1 = left)."""
    return rot_base @ _ry(-side * abd) @ _rx(-flex)


def forward_kinematics(a: Angles, shape: BodyShape | None = None) -> np.ndarray:
    """Joint positions (T, 17, 3) of ``Angles`` (pelvis at ``a.root``, not grounded)."""
    d = _Dims.of(shape or BodyShape())
    root = np.asarray(a.root, dtype=np.float64)
    n = len(root)
    down = np.array([0.0, 0.0, -1.0])
    r_yaw = _rz(_bc(a.yaw, n))
    r_pelvis = r_yaw @ _rz(_bc(a.pelvis_yaw, n))
    r_trunk = r_yaw @ _rx(_bc(a.lean, n)) @ _ry(_bc(a.side_lean, n)) @ _rz(_bc(a.twist, n))
    r_head = r_trunk @ _rz(_bc(a.head_yaw, n)) @ _rx(_bc(a.head_pitch, n))
    j = np.zeros((n, NUM_JOINTS, 3))
    j[:, 0] = root
    for side, hip, knee, ankle, k in ((+1, 4, 5, 6, 0), (-1, 1, 2, 3, 1)):
        j[:, hip] = root + r_pelvis @ np.array([side * d.hip_x, 0.0, -d.hip_drop])
        r_thigh = _limb_dir(r_pelvis, _bc(a.hip_flex[k], n), _bc(a.hip_abd[k], n), side)
        j[:, knee] = j[:, hip] + d.thigh * (r_thigh @ down)
        r_shin = r_thigh @ _rx(_bc(a.knee[k], n))
        j[:, ankle] = j[:, knee] + d.shin * (r_shin @ down)
    j[:, 7] = root + d.spine * (r_trunk @ np.array([0.0, 0.0, 1.0]))
    j[:, 8] = j[:, 7] + d.chest * (r_trunk @ np.array([0.0, 0.0, 1.0]))
    j[:, 9] = j[:, 8] + r_head @ d.neck
    j[:, 10] = j[:, 8] + r_head @ d.head
    for side, sh, el, wr, k in ((+1, 11, 12, 13, 0), (-1, 14, 15, 16, 1)):
        j[:, sh] = j[:, 8] + r_trunk @ np.array([side * d.shoulder_x, 0.0, 0.0])
        r_upper = _limb_dir(r_trunk, _bc(a.sh_flex[k], n), _bc(a.sh_abd[k], n), side)
        j[:, el] = j[:, sh] + d.upper_arm * (r_upper @ down)
        if a.forearm_dir[k] is not None:
            fd = np.broadcast_to(np.asarray(a.forearm_dir[k], dtype=np.float64), (n, 3))
            fd = fd / np.linalg.norm(fd, axis=-1, keepdims=True)
            j[:, wr] = j[:, el] + d.forearm * (r_trunk @ fd[..., None])[..., 0]
        else:
            r_fore = r_upper @ _rx(-_bc(a.elbow[k], n))
            j[:, wr] = j[:, el] + d.forearm * (r_fore @ down)
    return j


def ground(joints: np.ndarray, lift: np.ndarray | float = 0.0,
           shape: BodyShape | None = None) -> np.ndarray:
    """Shift every frame vertically so its lower ankle is at ankle height (+ ``lift``)."""
    s = (shape or BodyShape()).scale
    joints = np.array(joints, dtype=np.float64, copy=True)
    low = joints[:, list(FEET), 2].min(axis=1)
    joints[..., 2] += (ANKLE_HEIGHT * s + np.broadcast_to(lift, low.shape) - low)[:, None]
    return joints


def _time(frames: int, fps: float) -> np.ndarray:
    return np.arange(frames, dtype=np.float64) / float(fps)


def walk(frames: int, fps: float = 25.0, shape: BodyShape | None = None,
         speed: float = 1.0, heading_deg: float = 20.0, cadence_hz: float = 0.9
         ) -> np.ndarray:
    """Walking forward at ``speed`` m/s; heading 0 walks straight toward the camera (-Y)."""
    t = _time(frames, fps)
    ph = 2 * np.pi * cadence_hz * t
    yaw = np.deg2rad(heading_deg)
    direction = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    dist = speed * t
    start = -direction * speed * t[-1] / 2 if frames > 1 else np.zeros(3)
    root = start + dist[:, None] * direction
    swing_l = np.clip(np.sin(ph + np.pi / 2), 0, None)
    swing_r = np.clip(np.sin(ph - np.pi / 2), 0, None)
    a = Angles(
        root=root, yaw=yaw, lean=0.05, pelvis_yaw=0.08 * np.sin(ph),
        twist=-0.12 * np.sin(ph),
        hip_flex=(0.42 * np.sin(ph), -0.42 * np.sin(ph)),
        knee=(0.12 + 0.9 * swing_l ** 2, 0.12 + 0.9 * swing_r ** 2),
        sh_flex=(-0.45 * np.sin(ph), 0.45 * np.sin(ph)),
        sh_abd=(0.12, 0.12),
        elbow=(0.35 + 0.2 * np.sin(ph + np.pi), 0.35 + 0.2 * np.sin(ph)),
        head_pitch=0.05,
    )
    return ground(forward_kinematics(a, shape), shape=shape)


def wave(frames: int, fps: float = 25.0, shape: BodyShape | None = None,
         wave_hz: float = 1.5) -> np.ndarray:
    """Standing, raising the right arm and waving the hand side to side."""
    t = _time(frames, fps)
    up = np.clip(t / 0.6, 0, 1)                     # raise over the first 0.6 s
    up = up * up * (3 - 2 * up)
    osc = np.sin(2 * np.pi * wave_hz * t) * up
    # Right forearm in the chest frame: up (+z), swinging toward -x / +x (outward/inward).
    fore_r = np.stack([-0.15 - 0.55 * osc, -0.25 * np.ones_like(t), np.ones_like(t)], -1)
    fore_r = up[:, None] * fore_r + (1 - up[:, None]) * np.array([0.0, -0.4, -1.0])
    a = Angles(
        root=np.zeros((frames, 3)), yaw=0.0, side_lean=0.04 * up,
        head_yaw=-0.1 * up, hip_abd=(0.05, 0.05),
        sh_abd=(0.15, 0.15 + 1.25 * up), sh_flex=(0.05, 0.3 * up),
        elbow=(0.2, 0.0), forearm_dir=(None, fore_r),
    )
    return ground(forward_kinematics(a, shape), shape=shape)


def squat(frames: int, fps: float = 25.0, shape: BodyShape | None = None,
          period_s: float = 2.4) -> np.ndarray:
    """Deep squats with the arms raised forward for balance."""
    t = _time(frames, fps)
    s = 0.5 - 0.5 * np.cos(2 * np.pi * t / period_s)   # 0 standing -> 1 bottom
    knee = 1.7 * s
    hip = 1.25 * s
    a = Angles(
        root=np.zeros((frames, 3)), lean=0.55 * s, hip_flex=(hip, hip), knee=(knee, knee),
        hip_abd=(0.12 + 0.1 * s, 0.12 + 0.1 * s),
        sh_flex=(1.45 * s, 1.45 * s), sh_abd=(0.1, 0.1), elbow=(0.2, 0.2),
        head_pitch=-0.4 * s,
    )
    j = forward_kinematics(a, shape)
    # Keep the ankles planted: shank tilt moves the hips back, not the feet forward.
    j[..., :2] -= j[:, list(FEET), :2].mean(axis=1, keepdims=True) - j[:1, list(FEET), :2].mean(
        axis=1, keepdims=True)
    return ground(j, shape=shape)


def turn(frames: int, fps: float = 25.0, shape: BodyShape | None = None,
         degrees: float = 360.0, step_hz: float = 1.6) -> np.ndarray:
    """Turning on the spot by ``degrees`` (to the body's left) with small stepping."""
    t = _time(frames, fps)
    u = t / max(t[-1], 1e-9)
    yaw = np.deg2rad(degrees) * (u - np.sin(2 * np.pi * u) / (2 * np.pi))   # ease in / out
    ph = 2 * np.pi * step_hz * t
    lift_l = np.clip(np.sin(ph), 0, None)
    lift_r = np.clip(-np.sin(ph), 0, None)
    a = Angles(
        root=np.zeros((frames, 3)), yaw=yaw, hip_flex=(0.35 * lift_l, 0.35 * lift_r),
        knee=(0.7 * lift_l, 0.7 * lift_r), sh_abd=(0.25, 0.25), sh_flex=(0.1, 0.1),
        elbow=(0.6, 0.6), head_yaw=0.15,
    )
    return ground(forward_kinematics(a, shape), shape=shape)


def jump(frames: int, fps: float = 25.0, shape: BodyShape | None = None,
         period_s: float = 1.6, height: float = 0.3) -> np.ndarray:
    """Repeated counter-movement jumps: crouch with arms back, take off swinging up, land."""
    t = _time(frames, fps)
    u = (t % period_s) / period_s                   # phase in the jump cycle
    g = 9.81
    air_t = 2 * np.sqrt(2 * height / g)             # flight time for the apex height
    air_frac = air_t / period_s
    a0, a1 = 0.45, 0.45 + air_frac                  # take-off and landing phases
    crouch = np.sin(np.pi * np.clip(u / a0, 0, 1)) ** 2
    land = np.sin(np.pi * np.clip((u - a1) / (1 - a1), 0, 1)) ** 2
    bend = np.where(u < a0, crouch, np.where(u > a1, 0.6 * land, 0.0))
    tau = np.clip((u - a0) * period_s, 0, air_t)
    lift = np.where((u >= a0) & (u <= a1), 0.5 * g * tau * (air_t - tau), 0.0)
    in_air = (u >= a0) & (u <= a1)
    arm = np.where(u < a0, -0.8 * np.sin(np.pi * u / a0 / 2), 0.0)
    arm = np.where(in_air, 2.4 * np.sin(np.pi * np.clip((u - a0) / air_frac, 0, 1) / 2) - 0.2,
                   arm)
    arm = np.where(u > a1, 2.2 * (1 - np.clip((u - a1) / (1 - a1), 0, 1)), arm)
    a = Angles(
        root=np.zeros((frames, 3)), lean=0.45 * bend, hip_flex=(1.0 * bend, 1.0 * bend),
        knee=(1.4 * bend + 0.2 * in_air, 1.4 * bend + 0.2 * in_air),
        hip_abd=(0.08, 0.08), sh_flex=(arm, arm), sh_abd=(0.15, 0.15), elbow=(0.3, 0.3),
    )
    j = forward_kinematics(a, shape)
    j[..., :2] -= j[:, list(FEET), :2].mean(axis=1, keepdims=True) - j[:1, list(FEET), :2].mean(
        axis=1, keepdims=True)
    return ground(j, lift=lift, shape=shape)


MOTIONS: dict[str, Callable[..., np.ndarray]] = {
    "walk": walk, "wave": wave, "squat": squat, "turn": turn, "jump": jump,
}


def make_motion(name: str, frames: int, fps: float = 25.0, shape: BodyShape | None = None,
                **kw) -> np.ndarray:
    """(frames, 17, 3) world joints of a named procedural motion (see ``MOTIONS``)."""
    if name not in MOTIONS:
        raise ValueError(f"unknown motion {name!r}; choose from {', '.join(MOTIONS)}")
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    return MOTIONS[name](frames, fps, shape, **kw)


def load_joints(path: str, frames: int | None = None, start: int = 0) -> np.ndarray:
    """Read a (T, 17, 3) world sequence (.npy; Z up metres) and put its feet on the floor."""
    j = np.load(path)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{path}: expected (T, {NUM_JOINTS}, 3) joints, got {j.shape}")
    j = j[start:start + frames if frames else None].astype(np.float64)
    return place_on_floor(j)


def place_on_floor(joints: np.ndarray) -> np.ndarray:
    """Translate a whole sequence so its lowest ankle sits at ankle height and the pelvis
    path is centred on x = y = 0 (one shift for the whole clip, so jumps stay jumps)."""
    j = np.array(joints, dtype=np.float64, copy=True)
    j[..., 2] += ANKLE_HEIGHT - np.percentile(j[:, list(FEET), 2].min(axis=1), 5)
    j[..., :2] -= 0.5 * (j[:, 0, :2].min(axis=0) + j[:, 0, :2].max(axis=0))
    return j
