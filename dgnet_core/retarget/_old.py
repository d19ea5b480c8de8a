"""Retarget maths: lifted joint positions -> bone rotations for a target skeleton (no bpy).

Owns everything between ``LiftResult.joints_world`` and keyframe values, in plain numpy (no
scipy: this runs inside Blender, which ships only numpy):

* **Roles.** A target bone is driven by a *role* (``pelvis``, ``spine``, ``chest``, ``neck``,
  ``head``, ``upper_arm.L``, ``forearm.L``, ``thigh.L``, ``shin.L`` ... and ``*_own``
  variants for the add-on's own 17-joint armature). Each role yields, per frame, a world
  rotation ``D`` that takes the role's segment of :data:`~.skeleton.TEMPLATE_POSE` (standing,
  facing -Y) to the lifted segment. Torso roles use a full frame (aim + a side line: hip line,
  shoulder line, nose); limbs use their bend plane for twist (elbow / knee normal) and fall
  back to the minimal swing from their parent when the limb is nearly straight.
* **Rest differences.** Limb roles first rotate the rig's rest bone onto the template
  direction (minimal swing), so T-pose, A-pose and arms-down rigs all work; torso roles
  assume an upright torso at rest. The rig's facing (yaw) is measured from its rest hips /
  shoulders, and ``D`` is expressed in that frame.
* **Pose-bone values.** With ``D`` per bone (unmapped bones inherit their parent's),
  the local rotation is ``basis = R_rest^T D_parent^T D R_rest`` where ``R_rest`` is the
  bone's rest orientation in world space (``matrix_world @ bone.matrix_local``); the root
  bone also gets a location (root motion and grounding). Quaternions are (w, x, y, z), sign
  continuous over time.
* **Helpers.** Person scale (median bone lengths), a rest skeleton for a new armature,
  foot locking on contact frames, rig maps (Rigify metarig / generated rig, Mixamo, the
  add-on's own rig, alias matching for custom rigs), rig detection and JSON bone maps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .body import person_lengths, rest_joints, standing_pelvis_height  # noqa: F401 (re-exported)
from .errors import RigError
from .skeleton import FEET, JOINT_NAMES, NUM_JOINTS, PARENTS, TEMPLATE_POSE

EPS = 1e-9
# Joint indices (see skeleton.JOINT_NAMES).
HIP, RHIP, RKNEE, RFOOT, LHIP, LKNEE, LFOOT, SPINE, THORAX, NOSE, HEAD = range(11)
LSHO, LELB, LWRI, RSHO, RELB, RWRI = range(11, 17)

# --------------------------------------------------------------------------------------
# Small rotation toolkit (vectorised over leading axes)


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def frame(aim: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) whose Y column is ``aim`` and X column lies toward ``side``.

    Y is the bone axis in Blender; X = side made orthogonal to Y; Z = X x Y.
    """
    y = normalize(aim)
    x = normalize(side - np.sum(side * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def swing(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Minimal rotations (..., 3, 3) taking directions ``u`` to ``v`` (Rodrigues)."""
    u, v = np.broadcast_arrays(normalize(u), normalize(v))
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(u * v, axis=-1)
    # Opposite vectors: any axis perpendicular to u.
    alt = np.cross(u, np.array([1.0, 0.0, 0.0]))
    alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) < 1e-6,
                   np.cross(u, np.array([0.0, 1.0, 0.0])), alt)
    axis = np.where((s < 1e-9)[..., None], normalize(alt), axis / np.maximum(s, EPS)[..., None])
    angle = np.arctan2(s, c)
    return axis_angle_matrix(axis, angle)


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from unit axes (..., 3) and angles (...) in radians."""
    axis = normalize(np.asarray(axis, dtype=np.float64))
    angle = np.asarray(angle, dtype=np.float64)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    t = 1.0 - c
    m = np.stack([
        t * x * x + c, t * x * y - s * z, t * x * z + s * y,
        t * x * y + s * z, t * y * y + c, t * y * z - s * x,
        t * x * z - s * y, t * y * z + s * x, t * z * z + c,
    ], axis=-1)
    return m.reshape(m.shape[:-1] + (3, 3))


def rot_z(angle: float) -> np.ndarray:
    """Rotation matrix about +Z by ``angle`` radians."""
    return axis_angle_matrix(np.array([0.0, 0.0, 1.0]), np.asarray(angle))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) as (w, x, y, z) from rotation matrices (..., 3, 3)."""
    m = np.asarray(m, dtype=np.float64)
    # Robust form: q from the largest of four candidates.
    t = np.stack([
        1 + m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2],
        1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
        1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
        1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
    ], axis=-1)
    k = np.argmax(t, axis=-1)
    r = 0.5 * np.sqrt(np.maximum(np.take_along_axis(t, k[..., None], -1)[..., 0], EPS))
    f = 0.25 / r
    q = np.empty(m.shape[:-2] + (4,))
    cands = [
        (r, (m[..., 2, 1] - m[..., 1, 2]) * f, (m[..., 0, 2] - m[..., 2, 0]) * f,
         (m[..., 1, 0] - m[..., 0, 1]) * f),
        ((m[..., 2, 1] - m[..., 1, 2]) * f, r, (m[..., 0, 1] + m[..., 1, 0]) * f,
         (m[..., 0, 2] + m[..., 2, 0]) * f),
        ((m[..., 0, 2] - m[..., 2, 0]) * f, (m[..., 0, 1] + m[..., 1, 0]) * f, r,
         (m[..., 1, 2] + m[..., 2, 1]) * f),
        ((m[..., 1, 0] - m[..., 0, 1]) * f, (m[..., 0, 2] + m[..., 2, 0]) * f,
         (m[..., 1, 2] + m[..., 2, 1]) * f, r),
    ]
    for i, cand in enumerate(cands):
        sel = k == i
        q[sel] = np.stack([c[sel] for c in cand], axis=-1)
    q *= np.where(q[..., :1] < 0, -1.0, 1.0)
    return normalize(q)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from (w, x, y, z) quaternions (..., 4)."""
    w, x, y, z = np.moveaxis(normalize(np.asarray(q, dtype=np.float64)), -1, 0)
    m = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=-1)
    return m.reshape(m.shape[:-1] + (3, 3))


def slerp_matrix(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation between rotation matrices a (w=0) and b (w=1)."""
    qa, qb = matrix_to_quat(a), matrix_to_quat(b)
    dot = np.sum(qa * qb, axis=-1, keepdims=True)
    qb = np.where(dot < 0, -qb, qb)
    dot = np.abs(dot)
    w = np.asarray(w, dtype=np.float64)[..., None]
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    small = sin < 1e-6
    wa = np.where(small, 1 - w, np.sin((1 - w) * theta) / np.where(small, 1, sin))
    wb = np.where(small, w, np.sin(w * theta) / np.where(small, 1, sin))
    return quat_to_matrix(wa * qa + wb * qb)


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs along axis 0 (time) so neighbours have a positive dot product."""
    q = np.array(q, dtype=np.float64, copy=True)
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return q


# --------------------------------------------------------------------------------------
# Roles: what each target bone follows


@dataclass(frozen=True)
class Role:
    """How one target bone is driven by the 17 joints.

    ``aim`` is the segment (joint a -> joint b) the bone points along. ``kind``:
    ``"torso"`` builds a full frame from ``aim`` and the ``side`` vector (a weighted sum of
    joint differences); ``"limb"`` uses the bend plane with ``next`` (twist from the elbow or
    knee) and falls back to ``"swing"`` (minimal rotation from ``parent``'s result) when the
    limb is nearly straight. ``align`` rotates the rig's rest bone onto the template aim
    first (limbs: any rest pose); torso bones are assumed upright at rest.
    """

    name: str
    aim: tuple[int, int]
    kind: str
    side: tuple[tuple[int, int, float], ...] = ()
    next: tuple[int, int] | None = None
    bend_normal: tuple[float, float, float] = (1.0, 0.0, 0.0)  # template bend normal
    parent: str | None = None
    align: bool = False


def _limb(side: str, upper: tuple[int, int], lower: tuple[int, int], names: tuple[str, str],
          normal: tuple[float, float, float], parent: str) -> list[Role]:
    return [
        Role(f"{names[0]}.{side}", upper, "limb", next=lower, bend_normal=normal,
             parent=parent, align=True),
        Role(f"{names[1]}.{side}", lower, "swing", parent=f"{names[0]}.{side}", align=True),
    ]


_HIP_LINE = ((RHIP, LHIP, 1.0),)
_SHOULDER_LINE = ((RSHO, LSHO, 1.0),)
# Template bend normals (aim x next for a natural bend, arms hanging / legs standing):
# elbows flex forward (-Y) -> -X; knees flex backward (+Y) -> +X.
_ARM_N, _LEG_N = (-1.0, 0.0, 0.0), (1.0, 0.0, 0.0)

ROLES: dict[str, Role] = {r.name: r for r in [
    Role("pelvis", (HIP, SPINE), "torso", side=_HIP_LINE),
    Role("spine", (SPINE, THORAX), "torso", side=((RHIP, LHIP, 0.5), (RSHO, LSHO, 0.5))),
    Role("chest", (SPINE, THORAX), "torso", side=_SHOULDER_LINE),
    Role("neck", (THORAX, HEAD), "torso", side=_SHOULDER_LINE),
    # Head yaw/pitch from the nose: side = thorax->nose (forward) made orthogonal to the aim.
    Role("head", (THORAX, HEAD), "torso", side=((THORAX, NOSE, 1.0),)),
    *_limb("L", (LSHO, LELB), (LELB, LWRI), ("upper_arm", "forearm"), _ARM_N, "chest"),
    *_limb("R", (RSHO, RELB), (RELB, RWRI), ("upper_arm", "forearm"), _ARM_N, "chest"),
    *_limb("L", (LHIP, LKNEE), (LKNEE, LFOOT), ("thigh", "shin"), _LEG_N, "pelvis"),
    *_limb("R", (RHIP, RKNEE), (RKNEE, RFOOT), ("thigh", "shin"), _LEG_N, "pelvis"),
]}
REQUIRED_ROLES: tuple[str, ...] = (
    "pelvis", "thigh.L", "shin.L", "thigh.R", "shin.R",
    "upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R",
)
OPTIONAL_ROLES: tuple[str, ...] = ("spine", "chest", "neck", "head")
ALL_ROLES: tuple[str, ...] = REQUIRED_ROLES[:1] + OPTIONAL_ROLES + REQUIRED_ROLES[1:]

# Bend weight: below LO the limb counts as straight (swing only), above HI the bend plane
# defines the twist fully.
BEND_LO, BEND_HI = np.radians(12.0), np.radians(35.0)


def _side_vec(j: np.ndarray, side: Sequence[tuple[int, int, float]]) -> np.ndarray:
    return sum(w * (j[..., b, :] - j[..., a, :]) for a, b, w in side)


def _aim(j: np.ndarray, seg: tuple[int, int]) -> np.ndarray:
    return j[..., seg[1], :] - j[..., seg[0], :]


def role_rotations(joints: np.ndarray, template: np.ndarray = TEMPLATE_POSE,
                   roles: Iterable[str] = ALL_ROLES) -> dict[str, np.ndarray]:
    """World rotations (N, 3, 3) per role taking the template's segment to each frame's.

    ``joints`` (N, 17, 3) and ``template`` (17, 3) must share axes (Z up, facing -Y at rest).
    """
    joints = np.asarray(joints, dtype=np.float64)
    t = np.asarray(template, dtype=np.float64)
    wanted = set(roles)
    for name in list(wanted):  # parents needed for swing/limb roles
        while ROLES[name].parent:
            name = ROLES[name].parent
            wanted.add(name)
    out: dict[str, np.ndarray] = {}
    order = [r for r in ROLES.values() if r.name in wanted]
    order.sort(key=lambda r: 0 if r.kind == "torso" else 1 if r.kind == "limb" else 2)
    for role in order:
        aim_t, aim_T = _aim(joints, role.aim), _aim(t, role.aim)
        if role.kind == "torso":
            cur = frame(aim_t, _side_vec(joints, role.side))
            ref = frame(aim_T, _side_vec(t, role.side))
            out[role.name] = cur @ np.swapaxes(ref, -1, -2)[None]
            continue
        parent = out[role.parent]
        fallback = swing(np.einsum("nij,j->ni", parent, normalize(aim_T)), aim_t) @ parent
        if role.kind == "swing":
            out[role.name] = fallback
            continue
        nxt = _aim(joints, role.next)
        normal = np.cross(normalize(aim_t), normalize(nxt))
        bend = np.arcsin(np.clip(np.linalg.norm(normal, axis=-1), 0.0, 1.0))
        bend = np.where(np.sum(aim_t * nxt, axis=-1) < 0, np.pi - bend, bend)
        cur = frame(aim_t, normal)
        ref = frame(aim_T, np.asarray(role.bend_normal, dtype=np.float64))
        planar = cur @ np.swapaxes(ref, -1, -2)[None]
        w = np.clip((bend - BEND_LO) / (BEND_HI - BEND_LO), 0.0, 1.0)
        out[role.name] = slerp_matrix(fallback, planar, w)
    return out


# --------------------------------------------------------------------------------------
# Target rigs


@dataclass
class RigBone:
    """One bone of the target armature, rest data in WORLD space."""

    name: str
    parent: int  # index in RigSpec.bones (parents come first), -1 for none
    rest: np.ndarray  # (3, 3) orthonormal rest orientation (columns = bone X, Y, Z axes)
    head: np.ndarray  # (3,) rest head position
    tail: np.ndarray  # (3,) rest tail position
    role: str | None = None
    # World rotation relative to rest that this (unmapped) bone keeps whatever its parents
    # do, e.g. a Rigify limb parent copying the root's rotation; None = inherits.
    fixed_delta: np.ndarray | None = None


@dataclass
class RigSpec:
    """The target armature as the solver sees it."""

    bones: list[RigBone]
    root: int | None  # bone that receives location keys (root motion)
    scale: float = 1.0  # world units per armature unit (object scale, uniform)

    def index(self, name: str) -> int:
        for i, b in enumerate(self.bones):
            if b.name == name:
                return i
        raise KeyError(name)

    def role_bone(self, role: str) -> RigBone | None:
        """The first bone that plays ``role`` (parents come first: the top one)."""
        return next((b for b in self.bones if b.role == role), None)


@dataclass(frozen=True)
class RetargetOptions:
    """Options of :func:`retarget`."""

    root_motion: bool = True  # horizontal travel of the pelvis (else stays in place)
    scale_to_rig: bool = True  # scale root motion by rig size / person size
    foot_lock: bool = False  # pin feet during contacts (needs contacts)


@dataclass
class Retargeted:
    """Keyframe values for a RigSpec: per bone quaternions, plus root bone location."""

    quats: np.ndarray  # (N, B, 4) w, x, y, z local (pose-bone) rotations
    root_location: np.ndarray | None  # (N, 3) pose-bone location of RigSpec.root
    animated: list[int]  # indices of bones that get rotation keys (mapped bones)
    world_delta: dict[int, np.ndarray]  # bone index -> (N, 3, 3) world rotation vs rest
    # (mapped bones and their ancestors only)
    root_world: np.ndarray | None  # (N, 3) target world position of the root bone's head
    scale: float  # root-motion scale used (rig size / person size)


def rig_yaw(spec: RigSpec) -> float:
    """Angle (rad) about +Z from the template's facing to the rig's rest facing.

    Measured from the rest hip line (thigh heads) or shoulder line; the template's left
    (+X) maps to the rig's left.
    """
    for left, right in (("thigh.L", "thigh.R"), ("upper_arm.L", "upper_arm.R")):
        bl, br = spec.role_bone(left), spec.role_bone(right)
        if bl is not None and br is not None:
            v = bl.head - br.head
            if np.hypot(v[0], v[1]) > 1e-6:
                return float(np.arctan2(v[1], v[0]))
    return 0.0


def rig_floor_and_hip_height(spec: RigSpec) -> tuple[float, float]:
    """(floor z, rest hip-joint height above that floor) of the rig, in world units.

    The hip height is the mean of the thigh heads (the pelvis bone's head without thighs).
    """
    pts = np.array([p for b in spec.bones for p in (b.head, b.tail)])
    floor = float(pts[:, 2].min())
    pelvis = spec.role_bone("pelvis")
    thighs = [spec.role_bone(n) for n in ("thigh.L", "thigh.R")]
    if all(t is not None for t in thighs):
        hip_z = float(np.mean([t.head[2] for t in thighs]))
    elif pelvis is not None:
        hip_z = float(pelvis.head[2])
    else:
        hip_z = float(pts[:, 2].max()) * 0.53
    return floor, hip_z - floor


def retarget(joints_world: np.ndarray, spec: RigSpec, options: RetargetOptions | None = None,
             contacts: np.ndarray | None = None,
             rest_offsets: np.ndarray | None = None) -> Retargeted:
    """Solve local bone rotations (and the root location) that pose ``spec`` like the joints.

    ``joints_world`` (N, 17, 3) as in ``LiftResult.joints_world`` (Z up, floor at z=0,
    facing -Y when facing the camera). ``rest_offsets`` (``LiftResult.rest_offsets``, the
    clip's body) gives the person's standing pelvis height; without it the median bone
    lengths of the joints do (the two agree when the armature was built from the same).
    """
    options = options or RetargetOptions()
    j = np.asarray(joints_world, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3) or len(j) == 0:
        raise ValueError(f"expected joints (N, 17, 3) with N > 0, got {j.shape}")
    if options.foot_lock and contacts is not None:
        j = lock_feet(j, contacts)
    mapped = [i for i, b in enumerate(spec.bones) if b.role]
    if not mapped:
        raise RigError("no bone of the target is mapped to a body part")
    unknown = sorted({spec.bones[i].role for i in mapped} - set(ROLES))
    if unknown:
        raise RigError(f"unknown body part(s) in the bone map: {', '.join(unknown)}")
    yaw = rig_yaw(spec)
    y = rot_z(yaw)
    d0 = role_rotations(j, roles={spec.bones[i].role for i in mapped})
    n, nb = len(j), len(spec.bones)
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    # Deltas only where needed: mapped bones and every ancestor of one (big rigs have
    # hundreds of unrelated bones). Unmapped bones inherit their parent's delta.
    needed: set[int] = set()
    for i in mapped:
        while i >= 0 and i not in needed:
            needed.add(i)
            i = spec.bones[i].parent
    delta: dict[int, np.ndarray] = {}
    for i in sorted(needed):
        bone = spec.bones[i]
        if bone.role is None:
            if bone.fixed_delta is not None:
                delta[i] = np.broadcast_to(bone.fixed_delta, (n, 3, 3))
            else:
                delta[i] = delta[bone.parent] if bone.parent >= 0 else eye
            continue
        role = ROLES[bone.role]
        d = y @ d0[bone.role] @ y.T  # the same motion, expressed in the rig's facing
        if role.align:
            aim_T = y @ normalize(_aim(TEMPLATE_POSE, role.aim))
            d = d @ swing(bone.rest[:, 1], aim_T)
        delta[i] = d
    quats = np.zeros((n, nb, 4))
    quats[..., 0] = 1.0  # unmapped bones stay at rest
    for i in mapped:
        bone = spec.bones[i]
        dp = delta[bone.parent] if bone.parent >= 0 else eye
        basis = bone.rest.T @ np.swapaxes(dp, -1, -2) @ delta[i] @ bone.rest
        quats[:, i] = matrix_to_quat(basis)
    quats = continuous_quats(quats)

    root_loc = root_world = None
    scale = 1.0
    if spec.root is not None:
        root = spec.bones[spec.root]
        rest = rest_joints(person_lengths(j), rest_offsets)
        h_src = float(rest[HIP, 2])
        if options.scale_to_rig:
            _, h_rig = rig_floor_and_hip_height(spec)
            scale = h_rig / max(float(rest[[LHIP, RHIP], 2].mean()), EPS)
        pelvis = j[:, HIP]
        disp = np.zeros((n, 3))
        if options.root_motion:
            disp[:, :2] = pelvis[:, :2] - pelvis[:1, :2]
        disp[:, 2] = pelvis[:, 2] - h_src
        root_world = root.head[None] + (disp * scale) @ y.T
        root_loc = (root_world - root.head[None]) @ root.rest / spec.scale
    return Retargeted(quats=quats, root_location=root_loc, animated=mapped, world_delta=delta,
                      root_world=root_world, scale=scale)


# --------------------------------------------------------------------------------------
# Resampling, foot locking (person scale and rest skeleton: ``body.py``)


def resample(joints: np.ndarray, contacts: np.ndarray | None, ratio: float
             ) -> tuple[np.ndarray, np.ndarray | None]:
    """Joints (N, 17, 3) at video frames -> joints at whole scene frames.

    ``ratio`` = scene frames per video frame (scene fps / video fps). Scene frame k (from 0)
    is at video time k / ratio; joints are interpolated linearly, contacts taken from the
    nearest video frame. Ratio 1 returns the inputs unchanged.
    """
    j = np.asarray(joints, dtype=np.float64)
    if abs(ratio - 1.0) < 1e-9 or len(j) < 2:
        return j, contacts
    if ratio <= 0:
        raise ValueError(f"ratio must be positive, got {ratio}")
    m = int(np.floor((len(j) - 1) * ratio + 1e-9)) + 1
    t = np.arange(m) / ratio
    i0 = np.minimum(np.floor(t).astype(int), len(j) - 2)
    w = (t - i0)[:, None, None]
    out = (1 - w) * j[i0] + w * j[i0 + 1]
    c = None
    if contacts is not None:
        c = np.asarray(contacts)[np.minimum(np.rint(t).astype(int), len(j) - 1)]
    return out, c


def lock_feet(joints: np.ndarray, contacts: np.ndarray) -> np.ndarray:
    """Remove horizontal foot sliding during contacts by shifting the whole body.

    ``contacts`` (N, 2) bool is (left foot, right foot) as in ``LiftResult.contacts``.
    While a foot is in contact its horizontal motion is subtracted from the body's
    translation (both feet: their mean), so the planted foot stays where it landed and the
    body travels by the steps it takes.
    """
    j = np.array(joints, dtype=np.float64, copy=True)
    c = np.asarray(contacts, dtype=bool)
    if c.shape != (len(j), 2):
        raise ValueError(f"contacts must be (N, 2), got {c.shape}")
    feet = (LFOOT, RFOOT)
    offset = np.zeros(2)
    prev = j[0, list(feet), :2].copy()
    for t in range(1, len(j)):
        cur = j[t, list(feet), :2]
        moving = [cur[k] - prev[k] for k in range(2) if c[t, k] and c[t - 1, k]]
        if moving:
            offset -= np.mean(moving, axis=0)
        prev = cur.copy()
        j[t, :, :2] += offset
    return j


# --------------------------------------------------------------------------------------
# Rig maps: bone name -> role

RIG_TYPES: tuple[str, ...] = ("lift", "rigify_meta", "rigify", "mixamo", "custom")

LIFT_ROOT = JOINT_NAMES[HIP]


def lift_bone_parent(j: int) -> int:
    """Parent joint-bone of the add-on's own armature (bone j runs from joint j to its child).

    Shoulders hang off the Spine bone (which ends at the thorax), the thighs and the spine
    off the pelvis bone.
    """
    p = PARENTS[j]
    if p < 0:
        return -1
    if lift_primary_child(p) == j or PARENTS[p] < 0:
        return p
    return PARENTS[p]


def lift_primary_child(j: int) -> int | None:
    """The joint the bone of joint j points to (None: a leaf stub)."""
    kids = [c for c, p in enumerate(PARENTS) if p == j]
    if not kids:
        return None
    return SPINE if j == HIP else THORAX if j == SPINE else NOSE if j == THORAX else kids[0]


RIG_MAPS: dict[str, dict[str, str]] = {
    "lift": {
        "Hip": "pelvis", "Spine": "chest", "Thorax": "head", "Neck": "head",
        "LShoulder": "upper_arm.L", "LElbow": "forearm.L",
        "RShoulder": "upper_arm.R", "RElbow": "forearm.R",
        "LHip": "thigh.L", "LKnee": "shin.L", "RHip": "thigh.R", "RKnee": "shin.R",
    },
    "rigify_meta": {
        "spine": "pelvis", "spine.001": "spine", "spine.002": "spine", "spine.003": "chest",
        "spine.004": "neck", "spine.006": "head",
        **{f"{b}.{s}": f"{b}.{s}" for b in ("upper_arm", "forearm", "thigh", "shin")
           for s in "LR"},
    },
    "rigify": {
        "hips": "pelvis", "chest": "chest", "neck": "neck", "head": "head",
        **{f"{b}_fk.{s}": f"{b}.{s}" for b in ("upper_arm", "forearm", "thigh", "shin")
           for s in "LR"},
    },
    "mixamo": {
        "Hips": "pelvis", "Spine": "spine", "Spine1": "spine", "Spine2": "chest",
        "Neck": "neck", "Head": "head",
        "LeftArm": "upper_arm.L", "LeftForeArm": "forearm.L",
        "RightArm": "upper_arm.R", "RightForeArm": "forearm.R",
        "LeftUpLeg": "thigh.L", "LeftLeg": "shin.L", "RightUpLeg": "thigh.R", "RightLeg": "shin.R",
    },
}
RIG_ROOTS: dict[str, str] = {"lift": LIFT_ROOT, "rigify_meta": "spine", "rigify": "torso",
                             "mixamo": "Hips"}
RIG_LABELS: dict[str, str] = {
    "lift": "Lift Video armature", "rigify_meta": "Rigify metarig",
    "rigify": "Rigify rig (FK controls)", "mixamo": "Mixamo", "custom": "Custom bone map",
}

_MIXAMO_PREFIX = re.compile(r"^mixamorig\d*[:_]", re.IGNORECASE)


def strip_namespace(name: str) -> str:
    """Drop a Mixamo-style namespace (``mixamorig:Hips`` -> ``Hips``; also ``ns:Name``)."""
    name = _MIXAMO_PREFIX.sub("", name)
    return name.rsplit(":", 1)[-1]


@dataclass
class RigMap:
    """Bone name -> role, plus the bone that gets root motion. Saved as JSON."""

    bones: dict[str, str] = field(default_factory=dict)
    root: str | None = None
    rig_type: str = "custom"

    def to_json(self) -> str:
        return json.dumps({"format": "lift_video.bonemap/1", "rig_type": self.rig_type,
                           "root": self.root, "bones": self.bones}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RigMap:
        try:
            data = json.loads(text)
            bones = {str(k): str(v) for k, v in data["bones"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RigError(f"not a bone map file (expected JSON with 'bones'): {exc}") from None
        unknown = sorted(set(bones.values()) - set(ROLES))
        if unknown:
            raise RigError(f"bone map has unknown body parts: {', '.join(unknown)}; "
                           f"valid: {', '.join(ALL_ROLES)}")
        root = data.get("root")
        return cls(bones=bones, root=str(root) if root else None,
                   rig_type=str(data.get("rig_type", "custom")))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RigMap:
        path = Path(path)
        if not path.is_file():
            raise RigError(f"bone map file not found: {path}")
        return cls.from_json(path.read_text(encoding="utf-8"))


def _resolve(names: Sequence[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    hits = [n for n in names if strip_namespace(n) == wanted]
    return hits[0] if hits else None


def detect_rig_type(bone_names: Iterable[str]) -> str:
    """Best guess of the rig type from its bone names (one of :data:`RIG_TYPES`)."""
    names = list(bone_names)
    stripped = {strip_namespace(n) for n in names}
    have = set(names)
    if {"torso", "hips", "upper_arm_fk.L", "thigh_fk.L"} <= have:
        return "rigify"
    if {"spine", "spine.001", "upper_arm.L", "thigh.L", "shin.L"} <= have:
        return "rigify_meta"
    if {"Hips", "LeftUpLeg", "LeftArm", "RightForeArm"} <= stripped:
        return "mixamo"
    if set(JOINT_NAMES) <= have:
        return "lift"
    return "custom"


def preset_map(rig_type: str, bone_names: Sequence[str]) -> RigMap:
    """The preset map of a rig type resolved against real names (Mixamo namespaces)."""
    if rig_type == "custom":
        return alias_map(bone_names)
    if rig_type not in RIG_MAPS:
        raise RigError(f"unknown rig type {rig_type!r}; expected one of {', '.join(RIG_TYPES)}")
    bones = {}
    for bone, role in RIG_MAPS[rig_type].items():
        real = _resolve(bone_names, bone)
        if real is not None:
            bones[real] = role
        elif role in REQUIRED_ROLES:
            bones[bone] = role  # kept so validation names what is missing
    root = _resolve(bone_names, RIG_ROOTS[rig_type]) or RIG_ROOTS[rig_type]
    return RigMap(bones=bones, root=root, rig_type=rig_type)


# Alias table for custom rigs: normalised base names per role ("L"/"R" found separately).
ALIASES: dict[str, tuple[str, ...]] = {
    "pelvis": ("hips", "hip", "pelvis", "root_hips", "cog"),
    "spine": ("spine", "spine1", "spine01", "spine_01", "abdomen", "waist", "lowerback"),
    "chest": ("chest", "spine2", "spine02", "spine_02", "spine3", "upperchest", "thorax",
              "upperback"),
    "neck": ("neck", "neck1", "neck01", "neck_01"),
    "head": ("head",),
    "upper_arm": ("upperarm", "upper_arm", "arm", "uparm", "humerus"),
    "forearm": ("forearm", "lowerarm", "lower_arm", "elbow", "fore_arm"),
    "thigh": ("thigh", "upleg", "upperleg", "upper_leg", "femur"),
    "shin": ("shin", "calf", "leg", "lowerleg", "lower_leg", "knee", "tibia"),
}
_SIDE_PATTERNS = (
    (re.compile(r"(^|[._\s-])(l|left)($|[._\s-])|^left|left$"), "L"),
    (re.compile(r"(^|[._\s-])(r|right)($|[._\s-])|^right|right$"), "R"),
)


def _split_side(name: str) -> tuple[str | None, str]:
    """(side "L"/"R"/None, base name without side or separators), lower case."""
    n = strip_namespace(name).lower()
    n = re.sub(r"^(def|org|mch|drv|ctrl|fk|jnt|bip\d*|b)[._\s-]", "", n)
    side = None
    for pat, s in _SIDE_PATTERNS:
        if pat.search(n):
            side = s
            n = pat.sub(lambda m: m.group(1) if m.group(1) else "", n, count=1)
            break
    if side is None:  # CamelCase LeftArm / RightArm handled above; try trailing L/R
        m = re.match(r"^(.*?)[._\s-]?([lr])$", n)
        if m and m.group(1) and m.group(1).rstrip("._- ") in {a for v in ALIASES.values()
                                                              for a in v}:
            side, n = m.group(2).upper(), m.group(1)
    return side, re.sub(r"[._\s-]+", "", n)


def alias_map(bone_names: Sequence[str]) -> RigMap:
    """A bone map guessed from common names (Mixamo, Rigify, UE, CC, DAZ-like, custom)."""
    bones: dict[str, str] = {}
    taken: set[str] = set()
    for role in ALL_ROLES:
        base, _, side = role.partition(".")
        aliases = [re.sub(r"[._\s-]+", "", a) for a in ALIASES[base]]
        best = None
        for alias in aliases:
            for name in bone_names:
                if name in taken:
                    continue
                s, b = _split_side(name)
                if b == alias and (s or "") == side:
                    best = name
                    break
            if best is not None:
                break
        if best is not None:
            bones[best] = role
            taken.add(best)
    root = next((b for b, r in bones.items() if r == "pelvis"), None)
    return RigMap(bones=bones, root=root, rig_type="custom")


def check_map(rig_map: RigMap, bone_names: Iterable[str]) -> None:
    """Raise RigError naming missing bones / body parts the solver needs."""
    have = set(bone_names)
    missing_bones = sorted(b for b in rig_map.bones if b not in have)
    roles = {r for b, r in rig_map.bones.items() if b in have}
    missing_roles = [r for r in REQUIRED_ROLES if r not in roles]
    problems = []
    if missing_bones:
        problems.append(f"bones not in the armature: {', '.join(missing_bones)}")
    if missing_roles:
        problems.append(f"no bone mapped for: {', '.join(missing_roles)}")
    if rig_map.root and rig_map.root not in have:
        problems.append(f"root bone {rig_map.root!r} not in the armature")
    if problems:
        label = RIG_LABELS.get(rig_map.rig_type, rig_map.rig_type)
        raise RigError(f"the target does not fit the {label} map: " + "; ".join(problems))


def spec_from_rest(names: Sequence[str], parents: Sequence[int], rest: np.ndarray,
                   heads: np.ndarray, tails: np.ndarray, rig_map: RigMap,
                   scale: float = 1.0) -> RigSpec:
    """RigSpec from world-space rest data (parents first) and a checked RigMap."""
    check_map(rig_map, names)
    bones = [RigBone(name=n, parent=int(p), rest=np.asarray(r, dtype=np.float64),
                     head=np.asarray(h, dtype=np.float64), tail=np.asarray(t, dtype=np.float64),
                     role=rig_map.bones.get(n))
             for n, p, r, h, t in zip(names, parents, rest, heads, tails)]
    for i, b in enumerate(bones):
        if b.parent >= i:
            raise ValueError("bones must be ordered parents first")
    root = list(names).index(rig_map.root) if rig_map.root else None
    return RigSpec(bones=bones, root=root, scale=scale)


def lift_rest_bones(lengths: np.ndarray | None = None, offsets: np.ndarray | None = None
                    ) -> tuple[list[str], list[int], np.ndarray, np.ndarray]:
    """Layout of the add-on's own armature: names, parent indices, heads, tails (world).

    One bone per joint, named after it, from the joint to its primary child; leaf joints
    get short stubs (hands continue the forearm, feet point forward to the floor, the head
    points up). ``offsets`` (a ``body.Body``'s rest offsets) override ``lengths``.
    """
    j = rest_joints(lengths, offsets)
    names = list(JOINT_NAMES)
    parents = [lift_bone_parent(i) for i in range(NUM_JOINTS)]
    heads = j.copy()
    tails = np.empty_like(j)
    for i in range(NUM_JOINTS):
        child = lift_primary_child(i)
        if child is not None:
            tails[i] = j[child]
        elif i in FEET:
            tails[i] = j[i] + np.array([0.0, -0.6, -1.0]) * j[i, 2]  # toes on the floor
            tails[i, 2] = 0.0
        elif i == HEAD:
            tails[i] = j[i] + np.array([0.0, 0.0, 0.1]) * (j[HEAD, 2] / 1.72)
        else:  # wrists: continue the forearm
            p = PARENTS[i]
            tails[i] = j[i] + 0.4 * (j[i] - j[p])
    return names, parents, heads, tails
