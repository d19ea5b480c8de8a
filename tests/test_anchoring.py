"""Root depth held to feet that stand still in the image (``dgnet_core.motion.anchoring``): a body
whose lifted size is misread frame by frame (a squat lifted as a standing body) must not
travel in depth while its feet stay on one spot. Synthetic pinhole views; no video, no model.
"""

from __future__ import annotations

import numpy as np

from dgnet_core.motion.anchoring import AnchorOptions, anchor_depth, still_feet
from dgnet_core.motion.camera import CAMERA_TO_WORLD_AXES, intrinsics, project
from dgnet_core.motion.place import MotionOptions, place
from dgnet_core.skeleton import FEET, TEMPLATE_POSE

FPS = 25.0


def _standing_view(n: int, distance: float = 4.0) -> np.ndarray:
    """(n, 17, 3) camera-axes joints of the template body standing still, facing a level
    camera ``distance`` metres away at 1.2 m height."""
    world = np.repeat(TEMPLATE_POSE[None], n, 0)
    return (world - [0.0, -distance, 1.2]) @ CAMERA_TO_WORLD_AXES


def _crouching_2d(cam: np.ndarray, K: np.ndarray, amount: float = 0.25) -> np.ndarray:
    """2D joints of a body that bobs down and up over planted feet (seen from the front, a
    crouch shrinks the body toward its ankles by up to ``amount``)."""
    bob = amount * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(len(cam)) / (1.6 * FPS)))
    ankle_y = cam[:, list(FEET), 1].mean(axis=1, keepdims=True)
    squeezed = cam.copy()
    squeezed[..., 1] = ankle_y + (cam[..., 1] - ankle_y) * (1 - bob[:, None])
    return project(squeezed, K)


def _travel(world: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(world[:, 0, :2], axis=0), axis=-1).sum())


def test_still_feet_finds_the_planted_foot_and_not_the_moving_one() -> None:
    rng = np.random.default_rng(0)
    n = 60
    K = intrinsics(640, 480)
    kp = project(_standing_view(n), K) + rng.normal(0, 0.7, (n, 17, 2))  # detector jitter
    left, right = FEET[1], FEET[0]
    kp[:, right, 0] += np.linspace(0, 120, n)    # the right ankle slides across the image
    still = still_feet(kp, np.ones((n, 17)), FPS)
    assert still[:, 1].mean() > 0.9              # left column: planted all along
    assert not still[:, 0].any()                 # right column: never still
    # A foot clearly raised in the image is not standing, however still it is.
    kp[:, left, 1] -= 30
    kp[:, right, 0] = kp[0, right, 0]
    assert not still_feet(kp, np.ones((n, 17)), FPS)[:, 1].any()
    # Unsure detections are not trusted.
    assert not still_feet(kp, np.full((n, 17), 0.3), FPS).any()


def test_anchor_depth_removes_breathing_on_a_long_stand_and_leaves_short_steps() -> None:
    n = 50
    truth = np.full(n, 4.0)
    breathing = truth + 0.6 * np.sin(np.arange(n) / 4)       # size-based depth
    pose = np.zeros((n, 17, 3))
    pose[:, list(FEET), 2] = 0.05                            # ankles a bit behind the root
    still = np.ones((n, 2), bool)
    fixed = anchor_depth(breathing, pose, still, FPS)
    assert np.ptp(fixed) < 1e-9                              # one depth while standing
    assert abs(fixed.mean() - np.median(breathing)) < 0.05
    # A 0.4 s stance (a walking step) is left to the size-based depth.
    short = np.zeros((n, 2), bool)
    short[10:20, 0] = True
    np.testing.assert_allclose(anchor_depth(breathing, pose, short, FPS), breathing)
    # No still foot at all: unchanged.
    np.testing.assert_allclose(anchor_depth(breathing, pose, np.zeros((n, 2), bool), FPS),
                               breathing)
    # Half trust at the middle of the ramp between none_s and full_s.
    o = AnchorOptions(none_s=0.5, full_s=1.5)
    mid = np.zeros((n, 2), bool)
    mid[:25, :] = True                                       # 1.0 s
    half = anchor_depth(breathing, pose, mid, FPS, o)
    c = np.median(breathing[:25] + 0.05)
    np.testing.assert_allclose(half[:25], breathing[:25] + 0.5 * ((c - 0.05) - breathing[:25]))


def test_place_keeps_a_crouch_lifted_as_a_stander_on_the_spot() -> None:
    """The lift reads a standing body while the image shows it crouching: the body's 2D
    size shrinks, so the size-based depth moves the person away and back; the feet do
    not move in the image, so the anchored root stays on its spot."""
    n = 60
    K = intrinsics(640, 480)
    cam = _standing_view(n)
    kp = _crouching_2d(cam, K)
    rel = cam - cam[:, :1]
    conf = np.ones((n, 17))
    held = place(rel, kp, conf, K, FPS)
    free = place(rel, kp, conf, K, FPS, options=MotionOptions(anchor_feet=False))
    assert _travel(free.joints_world) > 1.0                  # the depth breathes without it
    assert _travel(held.joints_world) < 0.15
    assert np.ptp(held.joints_camera[:, 0, 2]) < 0.1         # one depth (truth: 4 m)
