"""One body per clip: the skeleton fit (bone lengths, rest offsets) and anatomical limits.

Owns the person's skeleton as the outputs share it (``Body``): the lifted joints, the BVH
file and the add-on's armature all use the same bone lengths and the same rest offsets.

* ``fit_body``: bone lengths as the median of each bone over the confident frames (both
  ends seen), left and right averaged; the two joints with several children (pelvis:
  hips + spine, thorax: neck + shoulders) get a rigid shape, the median of their
  children's positions in a local frame, mirrored symmetric. Rest offsets are expressed
  in the template's axes (Z up, facing -Y; ``skeleton.TEMPLATE_POSE``).
* ``pose_body``: every frame re-posed along the skeleton tree with those lengths: a bone
  keeps its direction, a cluster (pelvis, thorax) takes the rotation that best fits its
  children (Kabsch). The result is exactly what a BVH with these offsets can express.
* ``limb_bend`` / ``limit_limbs``: the signed bend of knees and elbows about their hinge
  axis (the template's hinge carried by the torso's rotation and the upper segment's
  swing); a bend past ``-margin`` (hyperextension) is fixed by reflecting the middle joint
  across the plane of the limb axis and the hinge, which keeps both bone lengths and the
  end effector (ankle, wrist) where they are.
* ``clip_body``: the one skeleton fit of a clip as every consumer takes it (the
  pipeline's ``rest_offsets`` when present, else ``fit_body``): the BVH writer's rest
  offsets, the add-on's new armature and the retarget's standing pelvis height.
* ``length_body``, ``rest_joints``, ``person_lengths``, ``standing_pelvis_height``: the
  template's directions at given lengths, a standing rest pose (lower ankle at
  ``skeleton.ANKLE_HEIGHT``, the one ankle height) and the person's size.

Limb and hinge tables come from ``roles.py``, rotations from ``rotations.py``.
Orientation-free (camera or world axes alike), no global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..roles import LIMB_ROLES, LIMBS, ROLES, role_rotations
from ..rotations import EPS, kabsch, normalize, swing
from ..skeleton import (
    ANKLE_HEIGHT,
    BONES,
    CHILDREN,
    FEET,
    FLIP_PERM,
    HIP,
    LHIP,
    LSHO,
    NOSE,
    NUM_JOINTS,
    RHIP,
    RSHO,
    SPINE,
    TEMPLATE_POSE,
    THORAX,
    bone_lengths,
)

# Clusters (a joint with several children): (joint, side pair (left, right), aim child).
CLUSTERS: tuple[tuple[int, tuple[int, int], int], ...] = (
    (HIP, (LHIP, RHIP), SPINE), (THORAX, (LSHO, RSHO), NOSE))
_BONE_INDEX = {b: i for i, b in enumerate(BONES)}
_MIRROR_BONE = np.array([_BONE_INDEX[(FLIP_PERM[p], FLIP_PERM[c])] for p, c in BONES])
# Limbs (``roles.LIMBS``: root, middle, end) with the torso role that carries their hinge
# and the template hinge (aim x next for a natural bend: knees flex backward -> +X, elbows
# forward -> -X, the same for both sides).
LIMB_NAMES: tuple[str, ...] = ("left knee", "right knee", "left elbow", "right elbow")
_HINGE = tuple(np.array(ROLES[r].bend_normal) for r in LIMB_ROLES)
_HINGE_TORSO = tuple(ROLES[r].parent for r in LIMB_ROLES)


@dataclass(frozen=True)
class Body:
    """A person's skeleton: rest offset of each joint from its parent (17, 3), template
    axes (Z up, facing -Y), the root's offset zero. Bone lengths are their norms."""

    offsets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """(16,) bone lengths in ``BONES`` order."""
        return np.linalg.norm(self.offsets[[c for _, c in BONES]], axis=-1)

    def rest_pose(self) -> np.ndarray:
        """(17, 3) joints of the rest pose, pelvis at the origin."""
        out = np.zeros((NUM_JOINTS, 3))
        for p, c in BONES:  # parents first
            out[c] = out[p] + self.offsets[c]
        return out


def template_body() -> Body:
    """The template person (``TEMPLATE_POSE``) as a ``Body``."""
    off = np.zeros((NUM_JOINTS, 3))
    for p, c in BONES:
        off[c] = TEMPLATE_POSE[c] - TEMPLATE_POSE[p]
    return Body(off)


def length_body(lengths: np.ndarray | None = None) -> Body:
    """The template's bone directions at ``lengths`` (16, ``BONES`` order); the template
    itself when None."""
    body = template_body()
    if lengths is None:
        return body
    off = body.offsets.copy()
    for k, (_, c) in enumerate(BONES):
        off[c] = normalize(off[c]) * float(lengths[k])
    return Body(off)


def _cluster_frame(vecs: np.ndarray, side: tuple[int, int], aim: int, kids: tuple[int, ...]
                   ) -> np.ndarray:
    """(..., 3, 3) frames (columns x = left-right, y = aim, z = x cross y) of a cluster
    from its children's offsets ``vecs`` (..., K, 3) in ``kids`` order."""
    x = normalize(vecs[..., kids.index(side[0]), :] - vecs[..., kids.index(side[1]), :])
    a = vecs[..., kids.index(aim), :]
    y = normalize(a - np.sum(a * x, axis=-1, keepdims=True) * x)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


def _confident(conf: np.ndarray | None, n: int, joints: tuple[int, ...], min_conf: float,
               min_frames: int = 5) -> np.ndarray:
    if conf is None:
        return np.ones(n, bool)
    ok = np.asarray(conf)[:, list(joints)].min(axis=1) >= min_conf
    return ok if ok.sum() >= min_frames else np.ones(n, bool)


def fit_body(joints: np.ndarray, conf: np.ndarray | None = None, min_conf: float = 0.5
             ) -> Body:
    """The clip's one body from joints (N, 17, 3) (any axes) and optional (N, 17) confidences.

    Single-child bones: median length over frames where both ends have ``conf >= min_conf``
    (all frames when fewer than 5 qualify), left/right averaged. Clusters: median of the
    children's coordinates in the cluster's own frame, left/right mirrored, placed in the
    template's cluster frame.
    """
    j = np.asarray(joints, np.float64)
    n = len(j)
    raw = bone_lengths(j)
    lengths = np.empty(len(BONES))
    for k, (p, c) in enumerate(BONES):
        lengths[k] = np.median(raw[_confident(conf, n, (p, c), min_conf), k])
    off = length_body(0.5 * (lengths + lengths[_MIRROR_BONE])).offsets.copy()
    for joint, side, aim in CLUSTERS:
        kids = CHILDREN[joint]
        vec = j[:, list(kids)] - j[:, joint:joint + 1]
        ok = _confident(conf, n, (joint, *kids), min_conf)
        fr = _cluster_frame(vec[ok], side, aim, kids)
        local = np.median(np.einsum("nij,nki->nkj", fr, vec[ok]), axis=0)
        # Symmetric: the left child is the mirror (x -> -x) of the right one, the aim child
        # sits on the mid-plane.
        li, ri, ai = kids.index(side[0]), kids.index(side[1]), kids.index(aim)
        mirrored = local[ri] * [-1.0, 1.0, 1.0]
        local[li] = 0.5 * (local[li] + mirrored)
        local[ri] = local[li] * [-1.0, 1.0, 1.0]
        local[ai, 0] = 0.0
        ref = _cluster_frame(off[list(kids)], side, aim, kids)
        off[list(kids)] = local @ ref.T
    return Body(off)


def pose_body(joints: np.ndarray, body: Body) -> np.ndarray:
    """Joints (N, 17, 3) re-posed with ``body``: root kept, bone directions kept, lengths
    and cluster shapes the body's. A zero-length bone keeps the rest direction."""
    j = np.asarray(joints, np.float64)
    out = np.empty_like(j)
    out[:, 0] = j[:, 0]
    for joint in range(NUM_JOINTS):  # parents come first in the H36M order
        kids = CHILDREN[joint]
        if len(kids) > 1:
            rot = kabsch(body.offsets[list(kids)], j[:, list(kids)] - j[:, joint:joint + 1])
            out[:, list(kids)] = out[:, joint:joint + 1] + np.einsum(
                "nij,kj->nki", rot, body.offsets[list(kids)])
        elif kids:
            c = kids[0]
            d = j[:, c] - j[:, joint]
            norm = np.linalg.norm(d, axis=-1, keepdims=True)
            d = np.where(norm > EPS, d / np.maximum(norm, EPS), normalize(body.offsets[c]))
            out[:, c] = out[:, joint] + d * np.linalg.norm(body.offsets[c])
    return out


def _hinges(joints: np.ndarray) -> np.ndarray:
    """(N, 4, 3) hinge axes of the LIMBS: the template hinge turned by the torso (pelvis
    frame for legs, shoulder frame for arms) and by the upper segment's swing from the
    torso-carried template direction."""
    torso = role_rotations(joints, roles=set(_HINGE_TORSO))
    out = np.empty((len(joints), len(LIMBS), 3))
    for k, (a, b, _) in enumerate(LIMBS):
        rot = torso[_HINGE_TORSO[k]]
        rest_dir = rot @ normalize(TEMPLATE_POSE[b] - TEMPLATE_POSE[a])
        hinge = rot @ _HINGE[k]
        out[:, k] = np.einsum("nij,nj->ni", swing(rest_dir, joints[:, b] - joints[:, a]), hinge)
    return out


def limb_bend(joints: np.ndarray) -> np.ndarray:
    """(N, 4) signed bend in degrees of (left knee, right knee, left elbow, right elbow):
    positive = natural flexion about the hinge, negative = hyperextension."""
    j = np.asarray(joints, np.float64)
    h = _hinges(j)
    out = np.empty(h.shape[:2])
    for k, (a, b, c) in enumerate(LIMBS):
        u, v = normalize(j[:, b] - j[:, a]), normalize(j[:, c] - j[:, b])
        out[:, k] = np.degrees(np.arctan2(np.sum(np.cross(u, v) * h[:, k], -1),
                                          np.sum(u * v, -1)))
    return out


@dataclass(frozen=True)
class LimitOptions:
    knee_margin_deg: float = 5.0   # hyperextension allowed before a knee is reflected
    elbow_margin_deg: float = 10.0


def limit_limbs(joints: np.ndarray, options: LimitOptions | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Fix hyperextended knees and elbows; returns (joints (N, 17, 3), fixed (N, 4) bool).

    The middle joint is reflected across the plane holding the limb axis (root -> end) and
    the hinge, so the bend becomes a natural one of the same size; root and end joints and
    both bone lengths stay as they were.
    """
    opts = options or LimitOptions()
    j = np.array(joints, np.float64, copy=True)
    bend = limb_bend(j)
    h = _hinges(j)
    margins = (opts.knee_margin_deg,) * 2 + (opts.elbow_margin_deg,) * 2
    fixed = np.zeros(bend.shape, bool)
    for k, (a, b, c) in enumerate(LIMBS):
        axis = j[:, c] - j[:, a]
        f = np.cross(axis, h[:, k])
        ok = (bend[:, k] < -margins[k]) & (np.linalg.norm(f, axis=-1) > 1e-6)
        if not ok.any():
            continue
        f = normalize(f[ok])
        d = j[ok, b] - j[ok, a]
        j[ok, b] -= 2.0 * np.sum(d * f, -1, keepdims=True) * f
        fixed[ok, k] = True
    # Elbows hang off the shoulders, wrists off the elbows: nothing below moved.
    return j, fixed


# ------------------------------------------------------- the clip's body, rest pose, size


def clip_body(joints: np.ndarray, rest_offsets: np.ndarray | None = None) -> Body:
    """The clip's one skeleton fit, shared by the BVH writer, the add-on's new armature and
    the retarget's standing height: the pipeline's body (``LiftResult.rest_offsets``) when
    the result has one, else ``fit_body(joints)``."""
    if rest_offsets is not None:
        return Body(np.asarray(rest_offsets, np.float64))
    return fit_body(joints)


def person_lengths(joints: np.ndarray) -> np.ndarray:
    """Bone lengths (16,) of the person in joints (N, 17, 3): ``fit_body(joints).lengths``
    (medians over frames, left/right averaged, ``BONES`` order)."""
    return fit_body(np.asarray(joints, np.float64).reshape(-1, NUM_JOINTS, 3)).lengths


def rest_joints(lengths: np.ndarray | None = None, offsets: np.ndarray | None = None
                ) -> np.ndarray:
    """Standing rest pose (17, 3), pelvis at x=y=0, the lower ankle at ``ANKLE_HEIGHT``.

    ``offsets`` (17, 3) (a ``Body``'s, template axes) give the shape; otherwise the
    template's directions scaled to ``lengths`` (``length_body``; the template when None).
    """
    body = length_body(lengths) if offsets is None else Body(np.asarray(offsets, np.float64))
    out = body.rest_pose()
    out[:, 2] += ANKLE_HEIGHT - out[list(FEET), 2].min()
    return out


def standing_pelvis_height(lengths: np.ndarray) -> float:
    """Height of the pelvis above the floor when standing, for these bone lengths."""
    return float(rest_joints(lengths)[HIP, 2])
