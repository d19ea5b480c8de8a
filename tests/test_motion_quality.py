"""Motion an animator would not have to fix: one body per clip, limb
limits, per-clip root depth, the floor from contacts, foot locking and a BVH that matches
the joints. Synthetic rigid bodies seen by a pinhole camera; no video, no model."""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.transform import Rotation

from dgnet_core.formats.bvh import BVH_CHILDREN, BVH_PARENTS, DFS_ORDER, write_bvh
from dgnet_core.motion.body import (
    LIMBS,
    fit_body,
    limb_bend,
    limit_limbs,
    pose_body,
    template_body,
)
from dgnet_core.motion.camera import CAMERA_TO_WORLD_AXES, intrinsics, project
from dgnet_core.motion.contacts import LEFT_FOOT, RIGHT_FOOT
from dgnet_core.motion.place import MotionOptions, place
from dgnet_core.roles import ROLES
from dgnet_core.skeleton import (
    ANKLE_HEIGHT,
    BONES,
    TEMPLATE_POSE,
    bone_lengths,
)

FPS = 25.0


def _rx(a: float) -> np.ndarray:
    return Rotation.from_euler("x", a).as_matrix()


def _dance(n: int = 75, period_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """A rigid template body dancing in place: the pelvis still, one foot raised (hip and
    knee flexed) while the other stands. Returns world joints (n, 17, 3) and the true
    (left, right) stance flags."""
    t = np.arange(n) / FPS
    ph = 2 * np.pi * t / period_s
    lift = np.stack([np.clip(np.sin(ph), 0, None), np.clip(-np.sin(ph), 0, None)], 1) ** 2
    out = np.repeat(TEMPLATE_POSE[None], n, 0).copy()
    for col, (hip, knee, ankle) in enumerate(LIMBS[:2]):
        for i in range(n):
            a = 0.8 * lift[i, col]
            thigh = _rx(-a) @ (TEMPLATE_POSE[knee] - TEMPLATE_POSE[hip])
            shin = _rx(-a + 1.4 * lift[i, col]) @ (TEMPLATE_POSE[ankle] - TEMPLATE_POSE[knee])
            out[i, knee] = out[i, hip] + thigh
            out[i, ankle] = out[i, knee] + shin
    sw = 0.5 * np.sin(ph)  # arms swing forward and back
    for i in range(n):
        for (sho, elb, wri), s in zip(LIMBS[2:], (1.0, -1.0)):  # left arm, right arm
            r = _rx(-s * sw[i])
            out[i, elb] = out[i, sho] + r @ (TEMPLATE_POSE[elb] - TEMPLATE_POSE[sho])
            out[i, wri] = out[i, elb] + r @ _rx(-0.6) @ (TEMPLATE_POSE[wri] - TEMPLATE_POSE[elb])
    stance = lift < 1e-3
    return out, stance


def _view(world: np.ndarray, pitch_deg: float = 5.0, distance: float = 4.0,
          height: float = 1.3) -> np.ndarray:
    """World (Z up, person facing -Y) -> camera axes, camera at (0, -distance, height)
    pitched down by ``pitch_deg``."""
    down = Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix()
    return (world - [0.0, -distance, height]) @ CAMERA_TO_WORLD_AXES @ down.T


def _noisy_lift(cam: np.ndarray, seed: int = 0, lean_deg: float = 0.0) -> np.ndarray:
    """What a lifter gives: root-relative, each frame scaled by up to +-7 % (bone lengths
    vary ~14 % within the clip, so the per-frame depth breathes), joint noise, and an
    optional constant lean toward the camera."""
    rng = np.random.default_rng(seed)
    rel = cam - cam[:, :1]
    scale = 1 + 0.07 * np.sin(np.arange(len(rel)) * 1.3) + rng.normal(0, 0.02, len(rel))
    rel = rel * scale[:, None, None] + rng.normal(0, 0.004, rel.shape)
    lean = Rotation.from_euler("x", -lean_deg, degrees=True).as_matrix()  # top toward camera
    return (rel - rel[:, :1]) @ lean.T


def _travel(world: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(world[:, 0, :2], axis=0), axis=-1).sum())


def _spine_tilt(world: np.ndarray) -> float:
    spine = world[:, 8] - world[:, 0]
    c = spine[:, 2] / np.linalg.norm(spine, axis=-1)
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))).mean())


def test_one_body_per_clip_fixes_bone_lengths() -> None:
    world, _ = _dance(50)
    rel = _noisy_lift(_view(world))
    raw = bone_lengths(rel)
    assert (np.ptp(raw, axis=0) / raw.mean(0)).max() > 0.1  # the input really varies
    body = fit_body(rel)
    fitted = pose_body(rel, body)
    lengths = bone_lengths(fitted)
    assert np.ptp(lengths, axis=0).max() < 1e-9  # one set of bone lengths
    assert np.allclose(lengths[0], body.lengths)
    bone_of = {c: k for k, (_, c) in enumerate(BONES)}  # bone index by its child joint
    left_leg, right_leg = ([bone_of[j] for j in limb] for limb in LIMBS[:2])
    assert np.allclose(body.lengths[left_leg], body.lengths[right_leg])  # L == R legs
    # Directions are kept: each single-child bone points where it pointed.
    for p, c in (ROLES[r].aim for r in ("thigh.R", "shin.R", "upper_arm.L", "forearm.L")):
        d0 = rel[:, c] - rel[:, p]
        d1 = fitted[:, c] - fitted[:, p]
        cos = (d0 * d1).sum(-1) / np.linalg.norm(d0, axis=-1) / np.linalg.norm(d1, axis=-1)
        assert cos.min() > 1 - 1e-9
    # The template body comes back from its own poses.
    again = fit_body(np.repeat(TEMPLATE_POSE[None], 3, 0))
    assert np.allclose(again.offsets, template_body().offsets, atol=1e-9)


def test_limits_remove_knee_and_elbow_hyperextension() -> None:
    world, _ = _dance(40)
    bent = world.copy()
    middles = [m for _, m, _ in LIMBS]
    bent[:, middles] = world[:, middles]  # start from natural bends
    # Hyperextend: reflect the knees and elbows to the wrong side of their limb axis.
    for hip, knee, ankle in LIMBS:
        axis = bent[:, ankle] - bent[:, hip]
        proj = bent[:, hip] + ((bent[:, knee] - bent[:, hip]) * axis).sum(-1, keepdims=True) \
            / (axis * axis).sum(-1, keepdims=True) * axis
        bent[:, knee] = 2 * proj - bent[:, knee]
    before = limb_bend(bent)
    assert (before < -20).any(axis=0).all()  # every limb hyperextends somewhere
    fixed, flags = limit_limbs(bent)
    after = limb_bend(fixed)
    assert after[:, :2].min() >= -5.0 - 1e-6 and after[:, 2:].min() >= -10.0 - 1e-6
    assert flags.any(axis=0).all()
    assert np.allclose(bone_lengths(fixed), bone_lengths(bent), atol=1e-9)
    ends = [c for _, _, c in LIMBS]
    assert np.allclose(fixed[:, ends], bent[:, ends])  # end effectors stay
    assert np.abs(limb_bend(world) - limb_bend(limit_limbs(world)[0])).max() < 1e-9


def _skate_cm(world: np.ndarray, contacts: np.ndarray) -> float:
    """Largest horizontal ankle motion (cm/frame) between two contact frames."""
    worst = 0.0
    for col, foot in enumerate((LEFT_FOOT, RIGHT_FOOT)):
        both = contacts[1:, col] & contacts[:-1, col]
        step = np.linalg.norm(np.diff(world[:, foot, :2], axis=0), axis=-1)[both]
        worst = max(worst, float(step.max()) * 100 if len(step) else 0.0)
    return worst


def test_dancing_in_place_stays_put_with_planted_feet() -> None:
    world, stance = _dance(100)
    cam = _view(world)
    K = intrinsics(640, 640, fov_deg=50)
    kp = project(cam, K)
    rel = _noisy_lift(cam, seed=3)
    old = place(rel, kp, None, K, FPS, options=MotionOptions.per_frame())
    new = place(rel, kp, None, K, FPS)
    assert _travel(old.joints_world) > 1.0  # frame-by-frame depth breathes
    assert _travel(new.joints_world) < 0.35
    assert np.ptp(new.joints_world[:, 0, :2], axis=0).max() < 0.12
    c = new.contacts
    assert c[:, 0].any() and c[:, 1].any()
    assert c[stance].mean() > 0.8  # standing feet are found ...
    raised = world[:, [LEFT_FOOT, RIGHT_FOOT], 2] > 0.2
    assert not (c & raised).any()  # ... raised ones not
    assert _skate_cm(new.joints_world, c) < 1.0
    assert np.ptp(bone_lengths(new.joints_world), axis=0).max() < 1e-5


def test_upright_body_and_floor_from_a_tilted_camera() -> None:
    # Standing upright, gliding slowly around a loop over 2 x 2.5 m of floor, seen by a
    # camera pitched 12 degrees down; the lifter leans the body 10 degrees toward it.
    u = np.linspace(0, 2 * np.pi, 200)
    path = np.stack([np.sin(u), 1.25 * (1 - np.cos(u)) - 0.8, 0 * u], 1)
    world = TEMPLATE_POSE[None] + path[:, None]
    cam = _view(world, pitch_deg=12.0, distance=5.0, height=1.6)
    K = intrinsics(800, 800, fov_deg=60)
    kp = project(cam, K)
    rel = _noisy_lift(cam, seed=5, lean_deg=10.0)
    old = place(rel, kp, None, K, FPS, options=MotionOptions.per_frame())
    new = place(rel, kp, None, K, FPS)
    up = new.camera_to_world.T @ [0, 0, 1.0]  # world up seen from the camera
    pitch = math.degrees(math.atan2(-up[2], -up[1]))
    assert abs(pitch - 12.0) < 1.5
    assert _spine_tilt(old.joints_world) > 6.0
    assert _spine_tilt(new.joints_world) < 3.0
    feet = new.joints_world[:, [LEFT_FOOT, RIGHT_FOOT], 2]
    assert np.abs(np.median(feet) - ANKLE_HEIGHT) < 0.02
    assert np.abs(feet - ANKLE_HEIGHT).max() < 0.06


def _read_bvh(path) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(parents in file order, offsets (J, 3), motion (N, C)) of a BVH file."""
    parents, offsets, stack = [], [], []
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    i = 0
    while lines[i] != "MOTION":
        tok = lines[i].split()
        if tok[0] in ("ROOT", "JOINT"):
            parents.append(stack[-1] if stack else -1)
            stack.append(len(parents) - 1)
            offsets.append([float(x) for x in lines[i + 2].split()[1:4]])
            i += 3
            continue
        if tok[0] == "End":
            i += 4
            continue
        if tok[0] == "}":
            stack.pop()
        i += 1
    motion = np.array([[float(x) for x in ln.split()] for ln in lines[i + 3:] if ln])
    return parents, np.array(offsets), motion


def _fk(parents: list[int], offsets: np.ndarray, motion: np.ndarray) -> np.ndarray:
    """World positions (N, J, 3) in BVH (Y-up) axes; rotations Z X Y intrinsic, degrees."""
    n, j = len(motion), len(parents)
    pos = np.zeros((n, j, 3))
    glob: list = [None] * j
    for k in range(j):
        ch = motion[:, 3 + 3 * k: 6 + 3 * k]
        local = Rotation.from_euler("ZXY", ch, degrees=True)
        if parents[k] < 0:
            glob[k] = local
            pos[:, k] = motion[:, :3]
        else:
            glob[k] = glob[parents[k]] * local
            pos[:, k] = pos[:, parents[k]] + glob[parents[k]].apply(offsets[k])
    return pos


def test_bvh_forward_kinematics_matches_the_joints(tmp_path) -> None:
    world, _ = _dance(60)
    cam = _view(world)
    K = intrinsics(640, 640, fov_deg=50)
    placed = place(_noisy_lift(cam, seed=7), project(cam, K), None, K, FPS)
    joints = placed.joints_world.astype(np.float64)
    for name, offsets in (("shared", placed.rest_offsets), ("refit", None)):
        path = write_bvh(tmp_path / f"{name}.bvh", joints, FPS, offsets=offsets)
        parents, off, motion = _read_bvh(path)
        assert parents == [list(DFS_ORDER).index(BVH_PARENTS[j]) if BVH_PARENTS[j] >= 0
                           else -1 for j in DFS_ORDER]
        pos = _fk(parents, off, motion)
        expect = joints[:, list(DFS_ORDER)][..., [0, 2, 1]] * [1, 1, -1]  # Z-up -> Y-up
        err = np.linalg.norm(pos - expect, axis=-1)
        # the file is the armature: head and shoulders follow their torso frames
        assert err.max() < 0.025, (name, err.max())  # within 2.5 cm everywhere
        assert err.mean() < 0.004
    assert sum(1 for c in BVH_CHILDREN if not c) == 5
    # A raw lift (bone lengths varying) cannot be matched like that: the fit is what helps.
    raw = _noisy_lift(cam, seed=7) @ CAMERA_TO_WORLD_AXES.T + [0, 0, 1.0]
    path = write_bvh(tmp_path / "raw.bvh", raw, FPS)
    parents, off, motion = _read_bvh(path)
    pos = _fk(parents, off, motion)
    expect = raw[:, list(DFS_ORDER)][..., [0, 2, 1]] * [1, 1, -1]
    assert np.linalg.norm(pos - expect, axis=-1).max() > 0.01


def _pitch(placed) -> float:
    up = placed.camera_to_world.T @ [0, 0, 1.0]  # world up seen from the camera
    return math.degrees(math.atan2(-up[2], -up[1]))


def test_floor_prior_weighs_a_level_camera_against_the_lifted_body() -> None:
    # Standing on one spot (the feet never cover ground, so contacts cannot give the
    # floor's tilt), seen from 28 degrees above. The lifted body's up carries that pitch;
    # a level-camera prior alone ignores it and then tilts the body by the whole angle.
    n = 90
    sway = 0.03 * np.sin(np.linspace(0, 4 * np.pi, n))
    world = TEMPLATE_POSE[None] + np.stack([sway, 0 * sway, 0 * sway], 1)[:, None]
    world[:, [LEFT_FOOT, RIGHT_FOOT]] = TEMPLATE_POSE[[LEFT_FOOT, RIGHT_FOOT]]
    cam = _view(world, pitch_deg=28.0, distance=4.0, height=3.1)
    K = intrinsics(800, 800, fov_deg=60)
    kp = project(cam, K)
    rel = _noisy_lift(cam, seed=2)
    truth = cam - cam[:, :1]

    def run(weight: float):
        out = place(rel, kp, None, K, FPS, options=MotionOptions(body_up_prior=weight))
        got = out.joints_camera - out.joints_camera[:, :1]
        return _pitch(out), float(np.linalg.norm(got - truth, axis=-1).mean())

    level, half, body = run(0.0), run(0.5), run(1.0)
    assert abs(level[0]) < 2.0                 # the level camera's guess
    assert abs(body[0] - 28.0) < 3.0           # the body's (the template stands 2 deg off)
    assert abs(half[0] - body[0] / 2) < 1.5    # half way between the two
    assert body[1] < half[1] < level[1]        # the tilt forced onto the pose shrinks
