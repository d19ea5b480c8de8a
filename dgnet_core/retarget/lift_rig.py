"""The add-on's own armature: one bone per joint of the skeleton, laid out on the clip's body.

Owns the layout (names, parents, heads, tails in world space) the add-on builds its new
armature from: bone j runs from joint j to its primary child, leaf joints get short stubs.
With hands, fifteen finger bones per wrist, named as Rigify names them, so the finger
solve finds them like a Rigify rig's. Its bone map is the ``"lift"`` preset of
``rigmaps.py``; ``lift_spec`` is that armature as
the solver sees it, without Blender (the BVH writer solves its rotations on it, so the
BVH file and the baked armature move alike).
"""

from __future__ import annotations

import numpy as np

from ..motion.body import rest_joints
from ..motion.hands import CHAINS, rest_hand
from ..rotations import normalize
from ..skeleton import (
    CHILDREN,
    FEET,
    HEAD,
    HIP,
    JOINT_NAMES,
    LELB,
    LWRI,
    NOSE,
    NUM_JOINTS,
    PARENTS,
    RELB,
    RWRI,
    SPINE,
    THORAX,
)
from .rigmaps import preset_map, spec_from_rest


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
    kids = CHILDREN[j]
    if not kids:
        return None
    return SPINE if j == HIP else THORAX if j == SPINE else NOSE if j == THORAX else kids[0]


FOREARM_LENGTH = 0.26   # an adult's, for the rest hand's size (``motion.hands.rest_hand``)
FINGER_NAMES = ("thumb", "f_index", "f_middle", "f_ring", "f_pinky")   # Rigify's


def hand_bones(joints: np.ndarray, side: int, first: int
               ) -> tuple[list[str], list[int], np.ndarray, np.ndarray]:
    """Finger bones of the person's ``side`` hand (0 left, 1 right) on a rest body
    ``joints`` (17, 3): three per finger, named as Rigify names them (``f_index.01.L``),
    on a relaxed hand sized to the forearm, hanging with the palm to the thigh and the
    thumb forward. Parents index the whole armature (the wrist bone is the joint's own;
    a finger's first bone is ``first`` + 3 x finger)."""
    wrist_j, elbow_j = (LWRI, LELB) if side == 0 else (RWRI, RELB)
    wrist, elbow = joints[wrist_j], joints[elbow_j]
    along = normalize(wrist - elbow)
    inward = np.array([-1.0 if side == 0 else 1.0, 0.0, 0.0])
    normal = normalize(inward - (inward @ along) * along)
    across = np.cross(along, normal) if side == 0 else np.cross(normal, along)
    scale = float(np.linalg.norm(wrist - elbow)) / FOREARM_LENGTH
    p = wrist + scale * rest_hand() @ np.stack([across, along, normal])
    suffix = ".L" if side == 0 else ".R"
    names, parents, heads, tails = [], [], [], []
    for f, chain in enumerate(CHAINS):
        for k in range(3):
            names.append(f"{FINGER_NAMES[f]}.0{k + 1}{suffix}")
            parents.append(wrist_j if k == 0 else first + 3 * f + k - 1)
            heads.append(p[chain[k + 1]])
            tails.append(p[chain[k + 2]])
    return names, parents, np.array(heads), np.array(tails)


def lift_rest_bones(lengths: np.ndarray | None = None, offsets: np.ndarray | None = None,
                    hands: bool = False) -> tuple[list[str], list[int], np.ndarray, np.ndarray]:
    """Layout of the add-on's own armature: names, parent indices, heads, tails (world).

    One bone per joint, named after it, from the joint to its primary child; leaf joints
    get short stubs (hands continue the forearm, feet point forward to the floor, the head
    points up). ``offsets`` (a ``body.Body``'s rest offsets) override ``lengths``.
    ``hands``: fifteen finger bones on each wrist bone too (``hand_bones``).
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
    if hands:
        for side in (0, 1):
            n, par, h, t = hand_bones(j, side, len(names))
            names += n
            parents += par
            heads = np.concatenate([heads, h])
            tails = np.concatenate([tails, t])
    return names, parents, heads, tails


def lift_spec(offsets: np.ndarray | None = None, lengths: np.ndarray | None = None):
    """The add-on's own armature on the clip's body (``offsets``, else ``lengths``) as a
    ``solver.RigSpec`` with the ``"lift"`` bone map; each bone's rest frame has its Y axis
    along the bone (the solver's world rotations do not depend on the roll)."""
    names, parents, heads, tails = lift_rest_bones(lengths, offsets)
    rest = np.stack([_bone_frame(t - h) for h, t in zip(heads, tails)])
    return spec_from_rest(names, parents, rest, heads, tails, preset_map("lift", names))


def _bone_frame(direction: np.ndarray) -> np.ndarray:
    """(3, 3) rest frame (columns X, Y, Z) with Y along ``direction`` and no roll."""
    y = normalize(np.asarray(direction, np.float64))
    ref = np.array([0.0, 0.0, 1.0]) if abs(y[2]) < 0.9 else np.array([0.0, -1.0, 0.0])
    x = normalize(np.cross(y, ref))
    return np.stack([x, y, np.cross(x, y)], axis=1)
