"""New body poses from Human3.6M's: random, anatomically bounded changes to 3D windows.

Human3.6M has 15 actions by 5 training subjects, so a lifter trained on it has seen few
crouches, deep bends or raised limbs and one family of body proportions. This module makes
new poses from each training window (in the spirit of PoseAug, Gong et al., CVPR 2021, but
random rather than learned):

- **bone lengths**: every bone scaled by a random factor, the same for its left and right
  twin (body proportions; also covers skeletons whose joints sit a little differently);
- **limb swing**: each thigh and upper arm rotated about its hip or shoulder by a random
  rotation (random axis, Gaussian angle), carrying the limb below it;
- **hinge flexion**: each knee and elbow bent or straightened about its own hinge axis,
  kept between straight and ``HINGE_MAX_DEG`` (a knee never bends backwards);
- **trunk bend**: the upper body rotated about the pelvis, mostly forwards (bending,
  crouching, picking things up), with a smaller sideways lean;
- **crouch**: a window whose thighs hang down becomes a squat or crouch: both hips flexed
  30-110°, the knees bent so the shins lean forward 0-45° (knees over the toes), the trunk
  leaning forward with it, and in half of them the arms raised forward 30-100° (the
  counterweight of a squat). Human3.6M has sitting but no squatting, and seen from the
  front the two differ mostly in depth: a lifter trained without squats reads a deep squat
  with the arms forward as sitting on the floor with the legs stretched toward the camera
  and the arms behind.
- **joint conventions** (``convention_prob``, independent of the pose changes): where the
  joints sit on the body differs between skeletons. Human3.6M's shoulder joints are 27 cm
  apart with the thorax 5-6 cm above the line between them; the joints this product builds
  from MediaPipe's landmarks (``dgnet_core.skeleton``) put the thorax on that line, and
  MediaPipe's shoulder landmarks on a real adult sit nearer the outside of the shoulder
  (32-41 cm apart). Other rigs and detectors place the hips, neck and head top
  differently again. A changed window gets wider or narrower shoulders and hips (each
  limb moved rigidly with its root joint), the thorax lowered anywhere between its own
  height and the shoulder line, and the neck/nose and head-top joints moved up or down.
  Bone lengths change with it; the pose does not.

One change is drawn per window and applied to all of its frames, so the motion inside the
window stays smooth. Everything works on bone vectors (child minus parent) in the skeleton's
tree, so rotations keep bone lengths exactly and the pelvis stays where it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from dgnet_core.rotations import normalize as _unit
from dgnet_core.skeleton import (
    HEAD,
    HIP,
    LEFT,
    LELB,
    LHIP,
    LKNEE,
    LSHO,
    NOSE,
    PARENTS,
    RELB,
    RHIP,
    RIGHT,
    RKNEE,
    RSHO,
    SPINE,
    SUBTREES,
    THORAX,
    bone_vectors,
    from_bone_vectors,
)

HINGE_MAX_DEG = 150.0  # the most a knee or elbow bends here (0 = straight)
_STRAIGHT_DEG = 10.0   # below this the hinge axis comes from the body, not the limb


@dataclass(frozen=True)
class PoseAugmentConfig:
    """How strongly ``augment_poses`` changes a window (all off at zero)."""

    prob: float = 0.0             # share of windows that are changed
    bone_scale: float = 0.0       # bone length factors uniform in 1 +- bone_scale
    limb_swing_deg: float = 0.0   # std of the thigh / upper-arm rotation angle
    hinge_deg: float = 0.0        # std of the change of knee / elbow flexion
    trunk_bend_deg: float = 0.0   # forward bend uniform in [-0.3, 1] x this; lean 1/3 of it
    crouch_prob: float = 0.0      # share of the changed windows with hanging thighs that
                                  # become a squat / crouch
    convention_prob: float = 0.0  # share of all windows whose joint conventions change


_SUBTREES = tuple(list(s) for s in SUBTREES)   # as lists, for fancy indexing


_CROUCH_HIP_DEG = (30.0, 110.0)   # hip flexion of a crouch
_CROUCH_SHIN_DEG = (0.0, 45.0)    # forward lean of its shins
_CROUCH_ARMS_DEG = (30.0, 100.0)  # shoulder flexion when the arms reach forward
_SHOULDER_WIDTH = (0.9, 1.4)      # factor on the shoulder width (Human3.6M 27 cm)
_HIP_WIDTH = (0.85, 1.2)          # factor on the hip width (Human3.6M 27 cm)
_NOSE_SHIFT_M = (-0.02, 0.05)     # neck/nose joint moved along the trunk's up axis
_HEAD_SHIFT_M = (-0.02, 0.05)     # head top moved further, on top of the nose's shift
_HANGING_DEG = 30.0               # thighs within this of straight down may crouch
_SWINGS = ((RHIP, RKNEE), (LHIP, LKNEE), (RSHO, RELB), (LSHO, LELB))  # (proximal, child)
# (hinge joint, child below it, +1 knee flexes backwards / -1 elbow flexes forwards)
_HINGES = ((RKNEE, RKNEE + 1, 1.0), (LKNEE, LKNEE + 1, 1.0),
           (RELB, RELB + 1, -1.0), (LELB, LELB + 1, -1.0))


def _rotate(bones: np.ndarray, joints: list[int], rotvec: np.ndarray) -> None:
    """Rotate the bone vectors of ``joints`` in every frame of each window, in place."""
    r = Rotation.from_rotvec(rotvec).as_matrix()                     # (B, 3, 3)
    bones[:, :, joints] = np.einsum("bik,btjk->btji", r, bones[:, :, joints])


def hanging_thighs(pose: np.ndarray) -> np.ndarray:
    """(B,) bool: poses (B, 17, 3) whose thighs both hang within ``_HANGING_DEG`` of the
    trunk's down direction (the windows the crouch may change)."""
    down = _unit(pose[:, HIP] - pose[:, THORAX])
    return np.all([np.degrees(np.arccos(np.sum(_unit(pose[:, knee] - pose[:, hip]) * down,
                                               -1).clip(-1, 1))) < _HANGING_DEG
                   for hip, knee in _SWINGS[:2]], axis=0)


def _crouch(bones: np.ndarray, x: np.ndarray, left: np.ndarray, mid: int, prob: float,
            rng: np.random.Generator) -> None:
    """Turn windows whose thighs hang down into squats (see the module), in place."""
    b = len(bones)
    pick = hanging_thighs(x[:, mid]) & (rng.random(b) < prob)
    hip = np.radians(rng.uniform(*_CROUCH_HIP_DEG, size=b))
    shin = np.radians(rng.uniform(*_CROUCH_SHIN_DEG, size=b))
    trunk = hip * rng.uniform(0.2, 0.6, size=b)
    arms = np.where(rng.random(b) < 0.5, np.radians(rng.uniform(*_CROUCH_ARMS_DEG, size=b)),
                    0.0)
    side = np.radians(rng.normal(size=(b, 2)) * 8.0)           # a little asymmetry
    on = pick[:, None]
    for col, (_, knee) in enumerate(_SWINGS[:2]):              # thighs forward, knees bent
        flex = np.where(pick, hip + side[:, col], 0.0)
        _rotate(bones, _SUBTREES[knee], -left * flex[:, None])
        _rotate(bones, _SUBTREES[knee + 1], left * (flex + np.where(pick, shin, 0.0))[:, None])
    _rotate(bones, _SUBTREES[SPINE], np.where(on, left * trunk[:, None], 0.0))
    for _, elbow in _SWINGS[2:]:                               # arms forward
        _rotate(bones, _SUBTREES[elbow], np.where(on, -left * arms[:, None], 0.0))


def augment_poses(world: np.ndarray, cfg: PoseAugmentConfig,
                  rng: np.random.Generator) -> np.ndarray:
    """Changed copies of the 3D windows ``world`` (B, T, 17, 3), world axes with Z up.

    Windows not drawn (probability ``1 - cfg.prob``) come back unchanged; then a share
    ``cfg.convention_prob`` of all windows gets other joint conventions
    (``change_conventions``). Draws nothing from ``rng`` for a part whose probability is
    0, so a run without it keeps its random stream.
    """
    out = _change_poses(world, cfg, rng) if cfg.prob > 0 else world
    if cfg.convention_prob > 0:
        out = change_conventions(out, cfg.convention_prob, rng)
    return out


def _change_poses(world: np.ndarray, cfg: PoseAugmentConfig,
                  rng: np.random.Generator) -> np.ndarray:
    pick = np.flatnonzero(rng.random(len(world)) < cfg.prob)
    if len(pick) == 0:
        return world
    x = world[pick].astype(np.float64)
    b, t = x.shape[:2]
    mid = t // 2
    bones = bone_vectors(x)

    if cfg.bone_scale > 0:
        factor = rng.uniform(1 - cfg.bone_scale, 1 + cfg.bone_scale, size=(b, len(PARENTS)))
        factor[:, list(RIGHT)] = factor[:, list(LEFT)]   # left/right twins alike
        factor[:, HIP] = 1.0
        bones *= factor[:, None, :, None]

    # body axes at the window's middle frame: the person's left and up
    left = _unit(x[:, mid, LHIP] - x[:, mid, RHIP])
    up = _unit(x[:, mid, THORAX] - x[:, mid, HIP])
    forward = _unit(np.cross(left, up))

    if cfg.crouch_prob > 0:
        _crouch(bones, x, left, mid, cfg.crouch_prob, rng)

    if cfg.hinge_deg > 0:
        for joint, child, sign in _HINGES:
            upper, lower = bones[:, mid, joint], bones[:, mid, child]
            cos = np.sum(_unit(upper) * _unit(lower), -1).clip(-1, 1)
            bend = np.degrees(np.arccos(cos))                         # 0 = straight
            axis = np.cross(upper, lower)
            straight = bend < _STRAIGHT_DEG
            axis[straight] = sign * left[straight]
            new = np.clip(bend + rng.normal(size=b) * cfg.hinge_deg, 0.0, HINGE_MAX_DEG)
            delta = np.where(straight, np.maximum(new - bend, 0.0), new - bend)
            _rotate(bones, _SUBTREES[child], _unit(axis) * np.radians(delta)[:, None])

    if cfg.limb_swing_deg > 0:
        for _, child in _SWINGS:
            axis = _unit(rng.normal(size=(b, 3)))
            angle = np.clip(rng.normal(size=b), -2, 2) * np.radians(cfg.limb_swing_deg)
            _rotate(bones, _SUBTREES[child], axis * angle[:, None])

    if cfg.trunk_bend_deg > 0:
        bend = rng.uniform(-0.3, 1.0, size=b) * np.radians(cfg.trunk_bend_deg)
        lean = rng.normal(size=b) * np.radians(cfg.trunk_bend_deg) / 3
        rotvec = left * bend[:, None] + forward * lean[:, None]
        _rotate(bones, _SUBTREES[SPINE], rotvec)

    out = world.copy()
    out[pick] = from_bone_vectors(bones).astype(world.dtype)
    return out


def spread_joints(x: np.ndarray, centre: int, pair: tuple[int, int],
                  factor: np.ndarray) -> None:
    """Move the joints ``pair`` of poses ``x`` (..., 17, 3) away from (``factor`` > 1) or
    toward the point between them, or joint ``centre`` when it is >= 0, carrying each
    one's subtree rigidly; in place. ``factor`` broadcasts against ``x[..., 0, 0]``."""
    mid = x[..., centre, :] if centre >= 0 else x[..., list(pair), :].mean(axis=-2)
    for joint in pair:
        shift = (x[..., joint, :] - mid) * (np.asarray(factor)[..., None] - 1.0)
        x[..., _SUBTREES[joint], :] += shift[..., None, :]


def change_conventions(world: np.ndarray, prob: float, rng: np.random.Generator
                       ) -> np.ndarray:
    """Copies of the windows ``world`` (B, T, 17, 3) with a share ``prob`` of them given
    other joint conventions (see the module): shoulder and hip widths, thorax height,
    neck/nose and head-top height. One draw per window, the same in all of its frames.
    The pelvis and the pose of every limb stay as they were."""
    pick = np.flatnonzero(rng.random(len(world)) < prob)
    if len(pick) == 0:
        return world
    x = world[pick].astype(np.float64)
    b = len(x)
    shoulders = rng.uniform(*_SHOULDER_WIDTH, size=b)
    hips = rng.uniform(*_HIP_WIDTH, size=b)
    thorax = rng.uniform(0.0, 1.0, size=b)              # share of its offset kept
    nose = rng.uniform(*_NOSE_SHIFT_M, size=b)
    head = nose + rng.uniform(*_HEAD_SHIFT_M, size=b)
    spread_joints(x, -1, (LSHO, RSHO), shoulders[:, None])
    spread_joints(x, HIP, (LHIP, RHIP), hips[:, None])
    up = _unit(x[:, :, THORAX] - x[:, :, HIP])          # (B, T, 3) per frame
    line = x[:, :, [LSHO, RSHO]].mean(axis=2)
    above = np.sum((x[:, :, THORAX] - line) * up, -1, keepdims=True)
    x[:, :, THORAX] -= up * above * (1.0 - thorax[:, None, None])
    x[:, :, NOSE] += up * nose[:, None, None]
    x[:, :, HEAD] += up * head[:, None, None]
    out = world.copy()
    out[pick] = x.astype(world.dtype)
    return out
