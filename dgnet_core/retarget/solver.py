"""The retarget solver: lifted joints -> local bone rotations (and root location) of a rig.

Owns the rig as the solver sees it (``RigSpec`` of ``RigBone``s, rest data in world space)
and :func:`retarget`:

* **Rest differences.** Limb roles first rotate the rig's rest bone onto the template
  direction (minimal swing), so T-pose, A-pose and arms-down rigs all work; torso roles
  assume an upright torso at rest. The rig's facing (yaw) is measured from its rest hips /
  shoulders, and the role rotations ``D`` (``roles.role_rotations``) are expressed in
  that frame.
* **Pose-bone values.** With ``D`` per bone (unmapped bones inherit their parent's),
  the local rotation is ``basis = R_rest^T D_parent^T D R_rest`` where ``R_rest`` is the
  bone's rest orientation in world space (``matrix_world @ bone.matrix_local``); the root
  bone also gets a location (root motion and grounding, measured against the clip's
  standing pelvis from ``body.clip_body``). Quaternions are (w, x, y, z), sign continuous
  over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RigError
from ..motion.body import clip_body, rest_joints
from ..roles import FOOT_ROLES, ROLES, role_rotations, template_aim
from ..rotations import EPS, continuous_quats, matrix_to_quat, rot_z, swing
from ..skeleton import HIP, LHIP, NUM_JOINTS, RHIP
from .grounding import ankle_paths, hold_contacts


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
        """Index of the bone called ``name`` (``KeyError`` when there is none)."""
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
    hold_contacts: bool = True  # planted feet stay planted on the rig (grounding.py)
    head: bool = True  # turn the bones mapped to the head; off: not keyed, they follow the body


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
    ankles: np.ndarray | None = None  # (N, 2, 3) the solve's ankles (left, right), world
    contact_weight: np.ndarray | None = None  # (N, 2) lock weight of each foot


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


def _world_deltas(spec: RigSpec, d0: dict[str, np.ndarray], mapped: list[int], y: np.ndarray,
                  n: int) -> dict[int, np.ndarray]:
    """World rotation vs rest (N, 3, 3) of the mapped bones and every ancestor of one (big
    rigs have hundreds of unrelated bones); other bones inherit their parent's."""
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    needed: set[int] = set()
    for i in mapped:
        while i >= 0 and i not in needed:
            needed.add(i)
            i = spec.bones[i].parent
    driven = set(mapped)
    delta: dict[int, np.ndarray] = {}
    for i in sorted(needed):
        bone = spec.bones[i]
        if i not in driven:
            if bone.fixed_delta is not None:
                delta[i] = np.broadcast_to(bone.fixed_delta, (n, 3, 3))
            else:
                delta[i] = delta[bone.parent] if bone.parent >= 0 else eye
            continue
        role = ROLES[bone.role]
        d = y @ d0[bone.role] @ y.T  # the same motion, expressed in the rig's facing
        if role.align:
            d = d @ swing(bone.rest[:, 1], y @ template_aim(role))
        delta[i] = d
    return delta


def retarget(joints_world: np.ndarray, spec: RigSpec, options: RetargetOptions | None = None,
             contacts: np.ndarray | None = None,
             rest_offsets: np.ndarray | None = None, fps: float = 30.0,
             feet: np.ndarray | None = None) -> Retargeted:
    """Solve local bone rotations (and the root location) that pose ``spec`` like the joints.

    ``joints_world`` (N, 17, 3) as in ``LiftResult.joints_world`` (Z up, floor at z=0,
    facing -Y when facing the camera). The person's standing pelvis height comes from the
    clip's body (``body.clip_body``: ``rest_offsets``, i.e. ``LiftResult.rest_offsets``,
    when given, else the fit of the joints), the same body the add-on's armature and the
    BVH file are built from. ``contacts`` (N, 2) (left, right), at ``fps``, are held on the
    rig's own legs and floor (``grounding.hold_contacts``) unless ``hold_contacts`` is off.
    ``feet`` (N, 2, 3), heel -> toe directions (``LiftResult.foot_dirs``), turn the bones
    mapped to feet; without them those bones follow their shins.
    """
    options = options or RetargetOptions()
    j = np.asarray(joints_world, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (NUM_JOINTS, 3) or len(j) == 0:
        raise ValueError(f"expected joints (N, 17, 3) with N > 0, got {j.shape}")
    mapped = [i for i, b in enumerate(spec.bones)
              if b.role and (feet is not None or b.role not in FOOT_ROLES)
              and (options.head or b.role != "head")]
    if not mapped:
        raise RigError("no bone of the target is mapped to a body part")
    unknown = sorted({spec.bones[i].role for i in mapped} - set(ROLES))
    if unknown:
        raise RigError(f"unknown body part(s) in the bone map: {', '.join(unknown)}")
    y = rot_z(rig_yaw(spec))
    d0 = role_rotations(j, roles={spec.bones[i].role for i in mapped}, feet=feet)
    n, nb = len(j), len(spec.bones)
    delta = _world_deltas(spec, d0, mapped, y, n)
    root_world = None
    scale = 1.0
    weight = None
    if spec.root is not None:
        root = spec.bones[spec.root]
        rest = rest_joints(offsets=clip_body(j, rest_offsets).offsets)
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
        if options.hold_contacts and contacts is not None:
            delta, root_world, weight = hold_contacts(spec, delta, root_world, contacts, fps)
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    quats = np.zeros((n, nb, 4))
    quats[..., 0] = 1.0  # unmapped bones stay at rest
    for i in mapped:
        bone = spec.bones[i]
        dp = delta[bone.parent] if bone.parent >= 0 else eye
        basis = bone.rest.T @ np.swapaxes(dp, -1, -2) @ delta[i] @ bone.rest
        quats[:, i] = matrix_to_quat(basis)
    quats = continuous_quats(quats)
    root_loc = None
    if root_world is not None:
        root = spec.bones[spec.root]
        root_loc = (root_world - root.head[None]) @ root.rest / spec.scale
    ankles = None if root_world is None else ankle_paths(spec, delta, root_world)
    return Retargeted(quats=quats, root_location=root_loc, animated=mapped, world_delta=delta,
                      root_world=root_world, scale=scale, ankles=ankles,
                      contact_weight=weight)
