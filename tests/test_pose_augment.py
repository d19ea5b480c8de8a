"""New body poses for training (training/pose_augment.py): bounded, smooth, tree-consistent."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.skeleton import (
    BONES,
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
    TEMPLATE_POSE,
    THORAX,
)
from training import h36m
from training.config import TrainConfig, make_config
from training.fake_h36m import write_fake_h36m
from training.pose_augment import (
    HINGE_MAX_DEG,
    PoseAugmentConfig,
    augment_poses,
    change_conventions,
)
from training.reproject import AugmentConfig, ReprojectSampler


def _standing(batch: int = 64, frames: int = 4) -> np.ndarray:
    """Upright people facing -Y in a Z-up world (the template pose, arms hanging)."""
    world = np.asarray(TEMPLATE_POSE, np.float64) - TEMPLATE_POSE[HIP]
    return np.broadcast_to(world, (batch, frames, 17, 3)).copy()


def _lengths(x: np.ndarray) -> np.ndarray:
    return np.stack([np.linalg.norm(x[..., c, :] - x[..., p, :], axis=-1) for p, c in BONES],
                    -1)


def _bend_deg(x: np.ndarray, joint: int) -> np.ndarray:
    upper = x[..., joint, :] - x[..., joint - 1, :]
    lower = x[..., joint + 1, :] - x[..., joint, :]
    cos = np.sum(upper * lower, -1) / np.linalg.norm(upper, axis=-1) / np.linalg.norm(
        lower, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def test_template_is_upright_and_faces_forward() -> None:
    x = _standing(1, 1)[0, 0]
    assert x[HEAD, 2] > 0.7 and x[RFOOT, 2] < -0.8          # head up, feet down (metres)
    assert x[1, 0] < x[4, 0]                                 # left hip at +X: faces -Y


def test_off_returns_input_and_draws_nothing() -> None:
    world = _standing()
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    assert augment_poses(world, PoseAugmentConfig(), rng) is world
    assert rng.bit_generator.state == before


def test_rotations_keep_bone_lengths_pelvis_and_window_consistency() -> None:
    world = _standing()
    world[:, 1:] += np.linspace(0, 0.05, 3)[None, :, None, None]  # a little motion
    cfg = PoseAugmentConfig(prob=1.0, limb_swing_deg=30, hinge_deg=40, trunk_bend_deg=45)
    out = augment_poses(world, cfg, np.random.default_rng(0))
    np.testing.assert_allclose(_lengths(out), _lengths(world), atol=1e-9)
    np.testing.assert_allclose(out[:, :, HIP], world[:, :, HIP], atol=1e-12)
    assert np.abs(out - world).max() > 0.1                   # poses really changed
    # one change per window: frames that were equal stay equal up to their translation
    same = _standing(8, 4)
    o = augment_poses(same, cfg, np.random.default_rng(1))
    np.testing.assert_allclose(o[:, 1:], np.broadcast_to(o[:, :1], o[:, 1:].shape),
                               atol=1e-12)


def test_bone_scale_is_bounded_and_left_right_symmetric() -> None:
    world = _standing(200)
    out = augment_poses(world, PoseAugmentConfig(prob=1.0, bone_scale=0.1),
                        np.random.default_rng(0))
    ratio = _lengths(out) / _lengths(world)
    assert ratio.min() >= 0.9 - 1e-9 and ratio.max() <= 1.1 + 1e-9
    assert ratio.std() > 0.03
    child = [c for _, c in BONES]
    for left, right in ((5, 2), (6, 3), (12, 15), (13, 16), (4, 1), (11, 14)):
        np.testing.assert_allclose(ratio[..., child.index(left)],
                                   ratio[..., child.index(right)])


def test_hinges_stay_anatomical() -> None:
    """Knees bend backwards and elbows forwards, never past straight or HINGE_MAX_DEG."""
    world = _standing(400)
    out = augment_poses(world, PoseAugmentConfig(prob=1.0, hinge_deg=60),
                        np.random.default_rng(0))
    for j in (RKNEE, LKNEE, RELB, LELB):
        bend = _bend_deg(out[:, 0], j)
        assert bend.max() <= HINGE_MAX_DEG + 1e-6 and bend.max() > 60
    for foot, knee in ((RFOOT, RKNEE), (LFOOT, LKNEE)):      # ankle behind the knee (+Y)
        assert (out[:, 0, foot, 1] - out[:, 0, knee, 1]).min() > -1e-9
    for wrist, elbow in ((RWRI, RELB), (LWRI, LELB)):        # hand in front of the elbow
        assert (out[:, 0, wrist, 1] - out[:, 0, elbow, 1]).max() < 1e-9
    # a bent knee is bent further or straightened about its own axis, still backwards
    bent = augment_poses(world, PoseAugmentConfig(prob=1.0, hinge_deg=60),
                         np.random.default_rng(1))
    again = augment_poses(bent, PoseAugmentConfig(prob=1.0, hinge_deg=60),
                          np.random.default_rng(2))
    assert _bend_deg(again[:, 0], RKNEE).max() <= HINGE_MAX_DEG + 1e-6
    assert (again[:, 0, RFOOT, 1] - again[:, 0, RKNEE, 1]).min() > -1e-9


def test_trunk_bends_mostly_forwards_and_prob_is_a_share() -> None:
    world = _standing(2000)
    out = augment_poses(world, PoseAugmentConfig(prob=0.5, trunk_bend_deg=60),
                        np.random.default_rng(0))
    moved = np.abs(out - world).max(axis=(1, 2, 3)) > 1e-9
    assert 0.45 < moved.mean() < 0.55
    forward = -out[moved, 0, HEAD, 1]
    assert (forward > 0).mean() > 0.6 and forward.max() > 0.5  # head well in front


def test_crouch_makes_squats_from_hanging_thighs_only() -> None:
    """Thighs forward, knees ahead of the ankles, trunk leaning forward, lengths kept; a
    window whose thighs do not hang down (sitting) is left alone."""
    world = _standing(300)
    out = augment_poses(world, PoseAugmentConfig(prob=1.0, crouch_prob=1.0),
                        np.random.default_rng(0))
    np.testing.assert_allclose(_lengths(out), _lengths(world), atol=1e-9)
    f = out[:, 0]
    for hip, knee, foot in ((1, RKNEE, RFOOT), (4, LKNEE, LFOOT)):
        thigh = f[:, knee] - f[:, hip]
        flex = np.degrees(np.arctan2(-thigh[:, 1], -thigh[:, 2]))  # forward is -Y
        assert flex.min() > 30 - 3 * 8 - 5 and flex.max() < 110 + 3 * 8 + 5
        assert np.median(flex) > 50
        assert (f[:, foot, 1] > f[:, knee, 1]).all()               # ankle behind the knee
        assert (_bend_deg(f, knee) <= 180).all()
    assert (f[:, HEAD, 1] < world[:, 0, HEAD, 1]).all()            # trunk leans forward
    down = f[:, HIP] - f[:, THORAX]                                # arms forward in half
    arm = f[:, RELB] - f[:, RSHO]
    lift = np.degrees(np.arccos(np.sum(arm * down, -1) / np.linalg.norm(arm, axis=-1)
                                / np.linalg.norm(down, axis=-1)))
    assert 0.35 < (lift > 25).mean() < 0.65 and lift.max() < 110
    sitting = out.copy()                                           # thighs now forward
    again = augment_poses(sitting, PoseAugmentConfig(prob=1.0, crouch_prob=1.0),
                          np.random.default_rng(1))
    np.testing.assert_allclose(again, sitting, atol=1e-12)


def _width(x: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(x[..., a, :] - x[..., b, :], axis=-1)


def test_conventions_move_joints_not_the_pose() -> None:
    """Shoulder / hip widths, thorax, nose and head-top heights change within their ranges,
    the same in every frame of a window; limbs move rigidly; the pelvis stays."""
    rng = np.random.default_rng(11)
    world = _standing(200)
    world[..., THORAX, 2] += 0.056                   # Human3.6M: thorax above the shoulders
    world += rng.normal(size=(200, 4, 1, 3)) * 0.05  # a little motion between frames
    out = change_conventions(world, 1.0, rng)
    assert out.shape == world.shape and not np.shares_memory(out, world)
    np.testing.assert_allclose(out[..., HIP, :], world[..., HIP, :])
    for parent, child in ((LSHO, LELB), (LELB, LWRI), (RSHO, RELB), (RELB, RWRI),
                          (LHIP, LKNEE), (LKNEE, LFOOT), (RHIP, RKNEE), (RKNEE, RFOOT)):
        np.testing.assert_allclose(out[..., child, :] - out[..., parent, :],
                                   world[..., child, :] - world[..., parent, :], atol=1e-12)
    shoulders = _width(out, LSHO, RSHO) / _width(world, LSHO, RSHO)
    hips = _width(out, LHIP, RHIP) / _width(world, LHIP, RHIP)
    assert 0.9 <= shoulders.min() and shoulders.max() <= 1.4 and shoulders.std() > 0.1
    assert 0.85 <= hips.min() and hips.max() <= 1.2
    np.testing.assert_allclose(shoulders, shoulders[:, :1] * np.ones(4), atol=1e-9)
    above = out[..., THORAX, 2] - out[..., [LSHO, RSHO], 2].mean(-1)
    assert above.min() >= -1e-9 and above.max() <= 0.056 + 1e-9 and above.std() > 0.01
    nose = out[..., NOSE, 2] - world[..., NOSE, 2]
    head = out[..., HEAD, 2] - world[..., HEAD, 2]
    assert -0.02 <= nose.min() and nose.max() <= 0.05 and (head - nose).min() >= -0.02
    np.testing.assert_allclose(nose, nose[:, :1] * np.ones(4), atol=1e-9)


def test_conventions_prob_is_a_share_and_zero_is_off() -> None:
    world = _standing(400)
    rng = np.random.default_rng(2)
    out = change_conventions(world, 0.25, rng)
    changed = np.abs(out - world).max(axis=(1, 2, 3)) > 1e-9
    assert 0.15 < changed.mean() < 0.35
    before = rng.bit_generator.state
    cfg = PoseAugmentConfig(prob=0.0, convention_prob=0.0)
    assert augment_poses(world, cfg, rng) is world and rng.bit_generator.state == before
    assert augment_poses(world, PoseAugmentConfig(convention_prob=1.0), rng) is not world


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    return h36m.load(write_fake_h36m(tmp_path_factory.mktemp("fake_h36m")))


def test_sampler_uses_it_only_when_asked(fake_data) -> None:
    idx = np.arange(16)
    plain = ReprojectSampler(fake_data, ["S1"], cfg=AugmentConfig())
    posed = ReprojectSampler(fake_data, ["S1"], cfg=AugmentConfig(
        pose_prob=1.0, pose_swing_deg=30, pose_hinge_deg=30, pose_trunk_deg=30))
    a = plain.batch(idx, np.random.default_rng(5))
    b = posed.batch(idx, np.random.default_rng(5))
    assert a["x"].shape == b["x"].shape and a["y"].shape == b["y"].shape
    assert np.abs(a["y"] - b["y"]).max() > 0.05
    again = plain.batch(idx, np.random.default_rng(5))
    np.testing.assert_array_equal(a["x"], again["x"])


def test_config_round_trip_and_old_configs_load() -> None:
    cfg = make_config("default", augment_sets=["pose_prob=0.5", "pose_trunk_deg=40"])
    back = TrainConfig.from_json(cfg.to_json())
    assert back.augment.pose_augment() == PoseAugmentConfig(prob=0.5, trunk_bend_deg=40)
    conv = make_config("default", augment_sets=["convention_prob=0.5"])
    assert TrainConfig.from_json(conv.to_json()).augment.pose_augment().convention_prob == 0.5
    old = cfg.to_json().replace('"pose_prob": 0.5,', "").replace('"init_from": "",', "")
    assert "pose_prob" not in old
    assert TrainConfig.from_json(old).augment.pose_prob == 0.0
