"""Placement (dgnet_core.motion: camera, trajectory, floor, place) on a synthetic walk
whose answer is known: root, floor, contacts, rigidity, depth in front, and the intrinsics
from a field of view."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dgnet_core.motion.camera import CAMERA_TO_WORLD_AXES, intrinsics, project
from dgnet_core.motion.contacts import LEFT_FOOT, RIGHT_FOOT
from dgnet_core.motion.place import MotionOptions, place
from dgnet_core.pipeline import PipelineOptions
from dgnet_core.skeleton import ANKLE_HEIGHT, NUM_JOINTS, TEMPLATE_POSE, bone_lengths


def _walk(n: int = 120, fps: float = 30.0, start_y: float = 8.0, speed: float = 1.0):
    """World joints of a person walking toward the camera (-Y), alternating planted feet.

    Returns joints (n, 17, 3) and the true contacts (n, 2) (left, right), with frames at
    phase switches marked as unknown (-1)."""
    period = 20
    stride = speed * period / fps / 2  # each foot advances 2 * stride per swing
    rel = TEMPLATE_POSE - TEMPLATE_POSE[0]
    joints = np.zeros((n, NUM_JOINTS, 3))
    contact = np.zeros((n, 2), int)
    feet = {LEFT_FOOT: np.array([0.12, start_y, ANKLE_HEIGHT]),
            RIGHT_FOOT: np.array([-0.12, start_y - stride, ANKLE_HEIGHT])}
    for i in range(n):
        phase = i % period
        pos = {}
        for col, (foot, swing) in enumerate(((LEFT_FOOT, range(0, 10)),
                                             (RIGHT_FOOT, range(10, 20)))):
            base = feet[foot]
            if phase in swing:
                s = (phase - swing.start + 1) / 10
                p = base + np.array([0.0, -2 * stride * s, 0.12 * math.sin(math.pi * s)])
                if s == 1.0:
                    feet[foot] = p.copy()
                contact[i, col] = 0
            else:
                p = base.copy()
                contact[i, col] = 1
            if phase in (swing.start, swing.stop - 1, (swing.stop) % period,
                         (swing.start - 1) % period):
                contact[i, col] = -1
            pos[foot] = p
        pelvis = np.array([0.0, 0.5 * (pos[LEFT_FOOT][1] + pos[RIGHT_FOOT][1]), 0.95])
        joints[i] = pelvis + rel
        for foot, p in pos.items():
            joints[i, foot] = p
    return joints, contact


def _camera(world: np.ndarray, height: float, pitch_deg: float) -> np.ndarray:
    """World points -> camera axes for a camera at (0, 0, height) pitched down."""
    down = Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix()
    return (world - [0.0, 0.0, height]) @ CAMERA_TO_WORLD_AXES @ down.T


@pytest.mark.parametrize("pitch", [0.0, 8.0])
def test_placement_recovers_root_floor_and_contacts(pitch: float) -> None:
    fps = 30.0
    world, truth = _walk(fps=fps)
    cam = _camera(world, 1.5, pitch)
    K = intrinsics(1280, 720, fov_deg=60)
    kp = project(cam, K)
    assert cam[..., 2].min() > 3.0
    rel = cam - cam[:, :1]
    out = place(rel, kp, None, K, fps, options=MotionOptions.per_frame())  # per-frame placement
    assert np.abs(out.joints_camera - cam).max() < 1e-6  # exact 2D + 3D: exact trajectory
    planted = np.stack([out.joints_world[truth[:, c] == 1, f, 2]
                        for c, f in enumerate((LEFT_FOOT, RIGHT_FOOT))], 0)
    tol = 1e-3 if pitch == 0 else 0.03  # the ridge prior leaves a little of a real tilt
    assert np.abs(planted - ANKLE_HEIGHT).max() < tol  # floor at z=0, ankles at rest height
    assert abs(out.camera_height - 1.5) < (1e-3 if pitch == 0 else 0.05)
    up = out.camera_to_world.T @ [0, 0, 1.0]  # world up seen from the camera
    est_pitch = math.degrees(math.atan2(-up[2], -up[1]))
    assert abs(est_pitch - pitch) < 1.0
    known = truth >= 0
    assert np.mean(out.contacts[known] == (truth[known] == 1)) > 0.97
    assert out.contacts[truth == 1].mean() > 0.97 and not out.contacts[truth == 0].any()


def test_placement_keeps_the_pose_rigid_and_depth_in_front() -> None:
    rng = np.random.default_rng(1)
    rel = (TEMPLATE_POSE - TEMPLATE_POSE[0]) @ CAMERA_TO_WORLD_AXES  # world -> camera axes
    rel = np.repeat(rel[None] * 0.01, 12, 0)  # a degenerate, tiny lift
    kp = rng.uniform(300, 400, (12, 17, 2))
    out = place(rel, kp, np.ones((12, 17)), intrinsics(640, 480), 25.0)
    assert np.all(out.joints_camera[:, 0, 2] >= 0.5 - 1e-6)
    assert np.allclose(bone_lengths(out.joints_world), bone_lengths(rel), atol=1e-6)


def test_intrinsics_from_fov() -> None:
    K = intrinsics(1920, 1080, fov_deg=90)
    assert K[0, 0] == pytest.approx(960) and tuple(K[:2, 2]) == (960, 540)
    assert intrinsics(1920, 1080, focal_px=1000.0)[1, 1] == 1000.0
    for bad in (math.inf, math.nan, -5.0, 0.0):
        with pytest.raises(ValueError, match="focal length must be a finite, positive"):
            intrinsics(640, 480, focal_px=bad)
        with pytest.raises(ValueError, match="focal length must be a finite, positive"):
            PipelineOptions(focal_px=bad).check()
    with pytest.raises(ValueError, match=r"field of view must be in \[1, 179\] degrees"):
        PipelineOptions(fov_deg=math.nan).check()
