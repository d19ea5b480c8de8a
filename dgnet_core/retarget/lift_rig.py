"""The add-on's own armature: one bone per joint of the skeleton, laid out on the clip's body.

Owns the layout (names, parents, heads, tails in world space) the add-on builds its new
armature from: bone j runs from joint j to its primary child, leaf joints get short stubs.
Its bone map is the ``"lift"`` preset of ``rigmaps.py``; ``lift_spec`` is that armature as
the solver sees it, without Blender (the BVH writer solves its rotations on it, so the
BVH file and the baked armature move alike).
"""

from __future__ import annotations

import numpy as np

from ..motion.body import rest_joints
from ..rotations import normalize
from ..skeleton import (
    CHILDREN,
    FEET,
    HEAD,
    HIP,
    JOINT_NAMES,
    NOSE,
    NUM_JOINTS,
    PARENTS,
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
