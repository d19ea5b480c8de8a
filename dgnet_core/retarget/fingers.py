"""Finger angles -> a rig's finger bone rotations (no bpy).

Owns which bones are a rig's fingers and how they turn. A rig's fingers are found by name
(``finger_bones``: Rigify metarig and generated rig, Mixamo with any prefix); three bones
per finger, thumb first (the thumb's first bone is its metacarpal, the others' their first
phalanx), plus the hand bone whose head is the wrist.

The rig's own hand at rest is measured the same way as a detected hand: its rest bone
heads and tails make the 21 points of ``motion.hands`` (``rest_points``), so its palm
normal, each finger's own across axis and its rest angles come from one definition
(``motion.hands.finger_angles``). A bone then turns, relative to its rest and in its own
local frame, by the detected angle minus the rig's rest angle (times the hand's ease
weight: a lost hand relaxes to the rig's rest pose): the first bone by the spread about
the palm normal after the flexion about the finger's across axis, the other two by their
flexion. So a rig with curled or fanned fingers at rest is driven the same as a straight
one, for either hand.

The hand bone (``wrist_bone``) turns so that the rig's rest palm frame lands on the
detected palm frame (``wrist_quats``): the wrist's full orientation, roll included, which
17 body joints cannot give; eased towards following the forearm when the hand is lost,
and held within ``WRIST_LIMIT_DEG`` of it.
"""

from __future__ import annotations

import numpy as np

from ..motion.hands import CHAINS, FingerLimits, finger_angles, palm_frame
from ..roles import FINGERS
from ..rotations import (
    axis_angle_matrix,
    continuous_quats,
    matrix_rotvec,
    matrix_to_quat,
    rot_z,
    slerp_matrix,
)
from .solver import Retargeted, RigSpec, rig_yaw

_RIGIFY = {"thumb": "thumb", "index": "f_index", "middle": "f_middle", "ring": "f_ring",
           "pinky": "f_pinky"}
_MIXAMO = {"thumb": "Thumb", "index": "Index", "middle": "Middle", "ring": "Ring",
           "pinky": "Pinky"}
# No limits when measuring a rig's rest (its angles are what they are).
_OPEN = FingerLimits(flex=((-180, 180),) * 3, thumb_flex=((-180, 180),) * 3,
                     spread=(-180.0, 180.0), thumb_spread=(-180.0, 180.0))


def finger_bones(names: list[str], side: int, mapped: dict[str, str] | None = None
                 ) -> tuple[str, list[list[str]]] | None:
    """(hand bone, [[3 bones] per finger, thumb first]) of the person's ``side`` (0 left,
    1 right) among a rig's bone ``names``, or None when the rig has no full set.
    ``mapped``: a bone map's bone -> role (its hand roles, ``roles.HAND_ROLES``, first)."""
    have = set(names)
    s, side_word = ("L", "Left") if side == 0 else ("R", "Right")
    by_role = {r: b for b, r in (mapped or {}).items() if b in have}
    chains = [[by_role.get(f"{f}.{k}.{s}") for k in (1, 2, 3)] for f in FINGERS]
    if f"hand.{s}" in by_role and all(all(chain) for chain in chains):
        return by_role[f"hand.{s}"], chains
    rigify = [[f"{_RIGIFY[f]}.0{k}.{s}" for k in (1, 2, 3)] for f in FINGERS]
    if all(n in have for chain in rigify for n in chain):
        own = "LWrist" if side == 0 else "RWrist"   # the add-on's own armature
        for hand in (f"ORG-hand.{s}", f"hand_fk.{s}", f"hand.{s}", f"DEF-hand.{s}", own):
            if hand in have:
                return hand, rigify
    for name in names:  # Mixamo: "<prefix>LeftHand", fingers "<prefix>LeftHandIndex1".."3"
        if name.endswith(f"{side_word}Hand"):
            prefix = name[: -len(f"{side_word}Hand")]
            chains = [[f"{prefix}{side_word}Hand{_MIXAMO[f]}{k}" for k in (1, 2, 3)]
                      for f in FINGERS]
            if all(n in have for chain in chains for n in chain):
                return name, chains
    return None


def rest_points(wrist: np.ndarray, heads: np.ndarray, tails: np.ndarray) -> np.ndarray:
    """(21, 3) hand points of a rig at rest from the wrist (the hand bone's head) and the
    finger bones' heads and tails (5, 3, 3), in the rig's (armature) space."""
    p = np.zeros((21, 3))
    p[0] = wrist
    for f, chain in enumerate(CHAINS):
        p[chain[1]] = heads[f, 0]
        p[chain[2]] = tails[f, 0]
        p[chain[3]] = tails[f, 1]
        p[chain[4]] = tails[f, 2]
    return p


def finger_quats(rest: np.ndarray, rest_rot: np.ndarray, side: int, flex: np.ndarray,
                 spread: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Local rotations (N, 5, 3, 4) (w, x, y, z) of the finger bones.

    ``rest`` (21, 3) the rig's ``rest_points``; ``rest_rot`` (5, 3, 3, 3) each bone's
    rest orientation in the same space (columns: the bone's local axes); ``flex`` (N, 5, 3),
    ``spread`` (N, 5) radians and ``weight`` (N,) from ``motion.hands``.
    """
    rest_flex, rest_spread = finger_angles(rest, side, _OPEN)
    normal = palm_frame(rest, side)[:, 2]
    thumbwards = 1.0 if side == 0 else -1.0
    w = np.asarray(weight, np.float64)[:, None]
    n = len(w)
    out = np.zeros((n, 5, 3, 4))
    for f, chain in enumerate(CHAINS):
        first = rest[chain[2]] - rest[chain[1]]
        flat = first - first @ normal * normal
        across = np.cross(flat, normal)
        across /= max(float(np.linalg.norm(across)), 1e-9)
        d_flex = (np.asarray(flex, np.float64)[:, f] - rest_flex[f]) * w
        d_spread = (np.asarray(spread, np.float64)[:, f] - rest_spread[f]) * w[:, 0]
        towards = thumbwards * (1.0 if f <= 2 else -1.0)
        for j in range(3):
            to_local = rest_rot[f, j].T
            m = axis_angle_matrix(np.broadcast_to(to_local @ across, (n, 3)), d_flex[:, j])
            if j == 0:
                m = axis_angle_matrix(np.broadcast_to(to_local @ normal, (n, 3)),
                                      towards * d_spread) @ m
            out[:, f, j] = continuous_quats(matrix_to_quat(m))
    return out


WRIST_LIMIT_DEG = 100.0   # the hand turns at most this far from following its forearm


def wrist_bone(names: list[str], side: int, mapped: dict[str, str] | None = None
               ) -> str | None:
    """The bone that turns the person's ``side`` hand on a rig (0 left, 1 right): a
    generated Rigify rig's FK hand control, a metarig's hand, the add-on's own wrist bone,
    Mixamo's hand, or a bone map's ``hand.L`` / ``hand.R``; None if none."""
    s, side_word = ("L", "Left") if side == 0 else ("R", "Right")
    have = set(names)
    custom = next((b for b, r in (mapped or {}).items() if r == f"hand.{s}" and b in have),
                  None)
    if custom is not None:
        return custom
    for name in (f"hand_fk.{s}", f"hand.{s}", "LWrist" if side == 0 else "RWrist"):
        if name in have:
            return name
    return next((n for n in names if n.endswith(f"{side_word}Hand")), None)


def _inherited(spec: RigSpec, out: Retargeted, index: int, n: int) -> np.ndarray:
    """World rotation vs rest (N, 3, 3) of bone ``index`` when it is not keyed itself: its
    own fixed rotation, else its parent's, up to a bone the solve turned."""
    bone = spec.bones[index]
    if index in out.world_delta:
        return out.world_delta[index]
    if bone.fixed_delta is not None:
        return np.broadcast_to(bone.fixed_delta, (n, 3, 3))
    if bone.parent < 0:
        return np.broadcast_to(np.eye(3), (n, 3, 3))
    return _inherited(spec, out, bone.parent, n)


def wrist_delta(parent: np.ndarray, palm_rest: np.ndarray, palm: np.ndarray,
                weight: np.ndarray) -> np.ndarray:
    """World rotations vs rest (N, 3, 3) of a hand bone that turn the rest palm frame
    ``palm_rest`` (3, 3) onto the palm frames ``palm`` (N, 3, 3, same world), eased by
    ``weight`` (N,) between following its forearm (``parent``, the hand bone's world
    rotation when it is not keyed) and the palm, within ``WRIST_LIMIT_DEG`` of the
    forearm."""
    target = np.asarray(palm, np.float64) @ np.asarray(palm_rest, np.float64).T
    rel = np.swapaxes(parent, -1, -2) @ target        # from following the forearm
    angle = np.linalg.norm(matrix_rotvec(rel), axis=-1)
    limit = np.radians(WRIST_LIMIT_DEG)
    keep = np.where(angle > limit, limit / np.maximum(angle, 1e-9), 1.0)
    return slerp_matrix(parent, target, keep * np.asarray(weight, np.float64))


def wrist_quats(spec: RigSpec, out: Retargeted, hand: str, palm_rest: np.ndarray,
                palm: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Local rotations (N, 4) of the hand bone ``hand`` of a solved rig (``wrist_delta``
    with the rig's rest palm frame ``palm_rest`` (3, 3, world) and the detected palm frames
    ``palm`` (N, 3, 3, the person's world) turned into the rig's facing)."""
    n = len(palm)
    i = spec.index(hand)
    bone = spec.bones[i]
    parent = _inherited(spec, out, bone.parent, n) if bone.parent >= 0 else \
        np.broadcast_to(np.eye(3), (n, 3, 3))
    y = rot_z(rig_yaw(spec))
    delta = wrist_delta(parent, palm_rest, y @ np.asarray(palm, np.float64), weight)
    basis = bone.rest.T @ np.swapaxes(parent, -1, -2) @ delta @ bone.rest
    return continuous_quats(matrix_to_quat(basis))
