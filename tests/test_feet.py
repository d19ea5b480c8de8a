"""Feet that point (dgnet_core.motion.feet and the solver's foot roles): heel -> toe from
MediaPipe's points, flat and steady while planted, driving the rig's foot bones."""

from __future__ import annotations

import numpy as np

from dgnet_core.motion.camera import CAMERA_TO_WORLD_AXES
from dgnet_core.motion.feet import HEEL_TOE, foot_directions
from dgnet_core.retarget.lift_rig import lift_spec
from dgnet_core.retarget.solver import RetargetOptions, retarget
from dgnet_core.rotations import normalize
from dgnet_core.skeleton import TEMPLATE_POSE

N, FPS = 40, 25.0


def _mp(dirs_cam: np.ndarray) -> np.ndarray:
    """MediaPipe world landmarks (N, 33, 3) whose heel -> toe vectors are ``dirs_cam``
    (N, 2, 3), camera axes; every other landmark at the origin."""
    mp = np.zeros((len(dirs_cam), 33, 3))
    for col, (heel, toe) in enumerate(HEEL_TOE):
        mp[:, heel] = [0.1 * (1 - 2 * col), 0.9, 0.0]
        mp[:, toe] = mp[:, heel] + 0.2 * dirs_cam[:, col]
    return mp


def test_feet_point_flat_and_steady_while_planted() -> None:
    t = np.linspace(0, 1, N)
    # toes toward the camera and down a little (camera axes: y down, z away), turning
    cam = np.stack([np.stack([0.3 * np.sin(3 * t), 0.3 + 0 * t, -np.ones(N)], -1)] * 2, 1)
    mp = _mp(cam)
    mp[10:13, HEEL_TOE[0][1]] = np.nan                      # a gap in the left toe
    contacts = np.zeros((N, 2), bool)
    contacts[20:30, 1] = True
    joints = np.repeat(TEMPLATE_POSE[None], N, axis=0)
    out = foot_directions(mp, CAMERA_TO_WORLD_AXES, contacts, joints, FPS)
    assert out.shape == (N, 2, 3) and np.isfinite(out).all()
    assert np.allclose(np.linalg.norm(out, axis=-1), 1.0)
    want = normalize(cam @ CAMERA_TO_WORLD_AXES.T)
    free = np.ones(N, bool)
    free[9:14] = False  # around the filled gap
    cos = np.sum(out[free, 0] * want[free, 0], -1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 5.0
    assert want[0, 0, 2] < -0.2                              # the toes point down here ...
    planted = out[20:30, 1]
    assert np.abs(planted[:, 2]).max() < 1e-9               # ... but a planted foot is flat
    assert np.allclose(planted, planted[0])                 # with one heading


def test_without_landmarks_the_feet_follow_the_knees() -> None:
    joints = np.repeat(TEMPLATE_POSE[None], 5, axis=0)
    mp = np.full((5, 33, 3), np.nan)
    out = foot_directions(mp, np.eye(3), np.zeros((5, 2), bool), joints, FPS)
    assert np.allclose(out, [0.0, -1.0, 0.0])                # forward, flat


def test_foot_bones_point_along_the_feet() -> None:
    joints = np.repeat(TEMPLATE_POSE[None], 6, axis=0)
    spec = lift_spec()
    feet = np.repeat(normalize(np.array([[0.3, -1.0, 0.2], [-0.2, -1.0, -0.3]]))[None], 6, 0)
    out = retarget(joints, spec, RetargetOptions(), feet=feet)
    for col, name in enumerate(("LFoot", "RFoot")):
        i = spec.index(name)
        assert i in out.animated
        # the foot bone turns from its flat rest (forward) onto the foot's direction
        got = out.world_delta[i] @ np.array([0.0, -1.0, 0.0])
        assert np.allclose(got, feet[:, col], atol=1e-6)
    flat = retarget(joints, spec, feet=np.repeat([[[0.0, -1.0, 0.0]] * 2], 6, 0))
    assert np.allclose(flat.world_delta[spec.index("LFoot")], np.eye(3), atol=1e-9)
    plain = retarget(joints, spec, RetargetOptions())       # no feet: the foot follows
    assert spec.index("LFoot") not in plain.animated
