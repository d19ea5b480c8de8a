"""Body-part roles: what a bone follows among the 17 joints, and its world rotation per frame.

Owns the role definitions (``pelvis``, ``spine``, ``chest``, ``neck``, ``head``,
``upper_arm.L``, ``forearm.L``, ``thigh.L``, ``shin.L`` ... and the right side) and
:func:`role_rotations`. Each role yields, per frame, a world rotation ``D`` that takes the
role's segment of :data:`~.skeleton.TEMPLATE_POSE` (standing, facing -Y) to the lifted
segment:

* torso roles use a full frame (aim + a side line: hip line, shoulder line, nose);
* limb roles use their bend plane for twist (elbow / knee normal) and fall back to the
  minimal swing from their parent when the limb is nearly straight; the lower segment of
  a limb is that swing.

Also derives the limb table of the skeleton (:data:`LIMBS`: hip-knee-ankle and
shoulder-elbow-wrist with their template hinge axes), used by the knee/elbow limits in
``body.py`` and by the tests, so no other module re-types those indices.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .rotations import frame, normalize, slerp_matrix, swing
from .skeleton import (
    HEAD,
    HIP,
    LELB,
    LFOOT,
    LHIP,
    LKNEE,
    LSHO,
    LWRI,
    NOSE,
    RELB,
    RFOOT,
    RHIP,
    RKNEE,
    RSHO,
    RWRI,
    SPINE,
    TEMPLATE_POSE,
    THORAX,
)


@dataclass(frozen=True)
class Role:
    """How one target bone is driven by the 17 joints.

    ``aim`` is the segment (joint a -> joint b) the bone points along. ``kind``:
    ``"torso"`` builds a full frame from ``aim`` and the ``side`` vector (a weighted sum of
    joint differences); ``"limb"`` uses the bend plane with ``next`` (twist from the elbow or
    knee) and falls back to ``"swing"`` (minimal rotation from ``parent``'s result) when the
    limb is nearly straight; ``"foot"`` points along a heel -> toe direction given beside
    the joints (``motion.feet``), level across (no roll), ``aim`` being the ankle it hangs
    from. ``align`` rotates the rig's rest bone onto the template aim
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
FOOT_AIM = np.array([0.0, -1.0, 0.0])  # the template's feet point forward, flat
# A rig's foot bone stands flat at rest, whatever its own direction (ankle to toe, or a
# stub to the floor): a foot role turns it from there (no rest alignment).
ROLES.update({f"foot.{s}": Role(f"foot.{s}", (a, a), "foot", parent=f"shin.{s}")
              for s, a in (("L", LFOOT), ("R", RFOOT))})
FOOT_ROLES: tuple[str, ...] = ("foot.L", "foot.R")  # contact-column order
REQUIRED_ROLES: tuple[str, ...] = (
    "pelvis", "thigh.L", "shin.L", "thigh.R", "shin.R",
    "upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R",
)
OPTIONAL_ROLES: tuple[str, ...] = ("spine", "chest", "neck", "head", *FOOT_ROLES)
ALL_ROLES: tuple[str, ...] = REQUIRED_ROLES[:1] + OPTIONAL_ROLES + REQUIRED_ROLES[1:]

# The hands' parts a bone map may name (the fingers' bones, thumb first, and the hand bone
# that turns with the palm); the finger solve drives them (``retarget.fingers``), the
# body solve does not.
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
HAND_ROLES: tuple[str, ...] = tuple(
    [f"{f}.{k}.{s}" for s in "LR" for f in FINGERS for k in (1, 2, 3)]
    + ["hand.L", "hand.R"])

# The four limbs by their upper role: (left knee, right knee, left elbow, right elbow).
LIMB_ROLES: tuple[str, ...] = ("thigh.L", "thigh.R", "upper_arm.L", "upper_arm.R")
# (root, middle, end) joints of each limb, e.g. (LHIP, LKNEE, LFOOT).
LIMBS: tuple[tuple[int, int, int], ...] = tuple(
    (*ROLES[r].aim, ROLES[r].next[1]) for r in LIMB_ROLES)

# Bend weight: below LO the limb counts as straight (swing only), above HI the bend plane
# defines the twist fully.
BEND_LO, BEND_HI = np.radians(12.0), np.radians(35.0)


def template_aim(role: Role) -> np.ndarray:
    """The unit direction a role's bone points along in the template (feet: forward)."""
    if role.kind == "foot":
        return FOOT_AIM
    return normalize(segment(TEMPLATE_POSE, role.aim))


def segment(joints: np.ndarray, seg: tuple[int, int]) -> np.ndarray:
    """Vectors (..., 3) from joint ``seg[0]`` to joint ``seg[1]`` of joints (..., 17, 3)."""
    return joints[..., seg[1], :] - joints[..., seg[0], :]


def _side_vec(j: np.ndarray, side: Sequence[tuple[int, int, float]]) -> np.ndarray:
    return sum(w * segment(j, (a, b)) for a, b, w in side)


def _level_frame(aim: np.ndarray) -> np.ndarray:
    """Frames (..., 3, 3) along ``aim`` with X level (across, no roll)."""
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), np.shape(aim))
    return frame(aim, np.cross(aim, up))


def role_rotations(joints: np.ndarray, template: np.ndarray = TEMPLATE_POSE,
                   roles: Iterable[str] = ALL_ROLES, feet: np.ndarray | None = None
                   ) -> dict[str, np.ndarray]:
    """World rotations (N, 3, 3) per role taking the template's segment to each frame's.

    ``joints`` (N, 17, 3) and ``template`` (17, 3) must share axes (Z up, facing -Y at rest).
    Roles that ``roles`` needs as parents are solved too and returned with them. Foot
    roles need ``feet`` (N, 2, 3), heel -> toe directions (left, right); without them they
    are left out (a foot then follows its shin).
    """
    joints = np.asarray(joints, dtype=np.float64)
    t = np.asarray(template, dtype=np.float64)
    wanted = set(roles) - (set() if feet is not None else set(FOOT_ROLES))
    for name in list(wanted):  # parents needed for swing/limb roles
        while ROLES[name].parent:
            name = ROLES[name].parent
            wanted.add(name)
    out: dict[str, np.ndarray] = {}
    order = [r for r in ROLES.values() if r.name in wanted]
    order.sort(key=lambda r: {"torso": 0, "limb": 1, "swing": 2}.get(r.kind, 3))
    for role in order:
        if role.kind == "foot":
            aim = np.asarray(feet, np.float64)[:, FOOT_ROLES.index(role.name)]
            out[role.name] = _level_frame(aim) @ np.swapaxes(_level_frame(FOOT_AIM), -1, -2)
            continue
        aim_t, aim_T = segment(joints, role.aim), segment(t, role.aim)
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
        nxt = segment(joints, role.next)
        normal = np.cross(normalize(aim_t), normalize(nxt))
        bend = np.arcsin(np.clip(np.linalg.norm(normal, axis=-1), 0.0, 1.0))
        bend = np.where(np.sum(aim_t * nxt, axis=-1) < 0, np.pi - bend, bend)
        cur = frame(aim_t, normal)
        ref = frame(aim_T, np.asarray(role.bend_normal, dtype=np.float64))
        planar = cur @ np.swapaxes(ref, -1, -2)[None]
        w = np.clip((bend - BEND_LO) / (BEND_HI - BEND_LO), 0.0, 1.0)
        out[role.name] = slerp_matrix(fallback, planar, w)
    return out
