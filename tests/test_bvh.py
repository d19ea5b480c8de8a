"""BVH export (dgnet_core.formats.bvh) read back by an independent reader and forward
kinematics."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import posed_sequence
from scipy.spatial.transform import Rotation

from dgnet_core.formats.bvh import (
    BVH_CHILDREN,
    BVH_PARENTS,
    DFS_ORDER,
    global_rotations,
    write_bvh,
)
from dgnet_core.motion.body import clip_body, rest_joints
from dgnet_core.skeleton import (
    HIP,
    JOINT_NAMES,
    LFOOT,
    LHIP,
    LKNEE,
    RELB,
    RSHO,
    RWRI,
    SPINE,
)


def _read_bvh(path):
    """Minimal BVH reader: joint names, parents, offsets, channel counts and motion."""
    tokens = path.read_text().split()
    names, parents, offsets, channels, stack = [], [], [], [], []
    i = 0
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif tok == "End":
            i += 2
            assert tokens[i] == "{" and tokens[i + 1] == "OFFSET"
            i += 6  # { OFFSET x y z }
            assert tokens[i - 1] == "}"
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets.append([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            k = int(tokens[i + 1])
            channels.append(tokens[i + 2:i + 2 + k])
            i += 2 + k
        else:
            i += 1
    assert tokens[i + 1] == "Frames:" and tokens[i + 3:i + 5] == ["Frame", "Time:"]
    n, dt = int(tokens[i + 2]), float(tokens[i + 5])
    values = np.array(tokens[i + 6:], float)
    width = sum(len(c) for c in channels)
    assert values.size == n * width
    return names, parents, np.array(offsets), channels, values.reshape(n, width), dt


def _fk(parents, offsets, motion) -> np.ndarray:
    """Positions (N, J, 3) from BVH channels (root XYZ position, then ZXY rotations)."""
    n = len(motion)
    pos = np.zeros((n, len(parents), 3))
    glob = [None] * len(parents)
    col = 0
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j] = motion[:, 0:3]
            col = 3
        rot = Rotation.from_euler("ZXY", motion[:, col:col + 3], degrees=True)
        col += 3
        if p >= 0:
            pos[:, j] = pos[:, p] + glob[p].apply(offsets[j])
            glob[j] = glob[p] * rot
        else:
            glob[j] = rot
    return pos


def test_bvh_round_trips_through_a_reader(tmp_path) -> None:
    joints = posed_sequence()
    path = write_bvh(tmp_path / "m.bvh", joints, fps=25.0)
    names, parents, offsets, channels, motion, dt = _read_bvh(path)
    assert names == [JOINT_NAMES[j] for j in DFS_ORDER] and len(names) == 17
    assert [names.index(JOINT_NAMES[BVH_PARENTS[j]]) if BVH_PARENTS[j] >= 0 else -1
            for j in DFS_ORDER] == parents
    assert motion.shape == (25, 6 + 3 * 16) and dt == pytest.approx(1 / 25)
    assert len(channels[0]) == 6 and all(len(c) == 3 for c in channels[1:])
    # FK of the file (Y-up) is the armature's pose: (x, y, z) -> (x, z, -y) of the rest
    # pose turned by the solver's rotations, bone by bone from the root.
    pos = _fk(parents, offsets, motion)
    body = clip_body(joints)
    rest, rots = rest_joints(offsets=body.offsets), global_rotations(joints, body.offsets)
    arm = np.zeros_like(joints)
    for j in DFS_ORDER:
        p = BVH_PARENTS[j]
        arm[:, j] = joints[:, 0] if p < 0 else arm[:, p] + rots[:, p] @ (rest[j] - rest[p])
    expect = arm[:, list(DFS_ORDER)][..., [0, 2, 1]] * [1, 1, -1]
    assert np.abs(pos - expect).max() < 2e-4
    # ... in which every limb and the spine point exactly where the joints do
    for a, b in ((LHIP, LKNEE), (LKNEE, LFOOT), (RSHO, RELB), (RELB, RWRI), (HIP, SPINE)):
        got = arm[:, b] - arm[:, a]
        want = joints[:, b] - joints[:, a]
        cos = np.sum(got * want, -1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(want, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.5
    assert sum(1 for c in BVH_CHILDREN if not c) == path.read_text().count("End Site")


def test_bvh_with_hands_carries_the_finger_angles(tmp_path) -> None:
    """With hands the file has fifteen finger joints per hand (named as the armature's
    finger bones); its forward kinematics shows the detected base and middle flexion."""
    from dgnet_core.contract import HandResult
    from dgnet_core.motion.hands import FingerLimits, finger_angles

    joints = posed_sequence(6)
    n = len(joints)
    rng = np.random.default_rng(5)
    flex = np.radians(rng.uniform(5, 70, (n, 2, 5, 3)))
    flex[..., 0, :] = np.radians(20.0)
    spread = np.zeros((n, 2, 5))
    hands = HandResult(np.full((n, 2, 21, 3), np.nan), np.ones((n, 2)), flex, spread,
                       np.ones((n, 2)), np.tile(np.eye(3), (n, 2, 1, 1)))
    path = write_bvh(tmp_path / "h.bvh", joints, fps=25.0, hands=hands)
    names, parents, offsets, _, motion, _ = _read_bvh(path)
    assert len(names) == 17 + 30 and "f_index.02.L" in names and "thumb.03.R" in names
    assert path.read_text().count("End Site") == sum(1 for c in BVH_CHILDREN if not c) - 2 + 10
    pos = _fk(parents, offsets, motion)[..., [0, 2, 1]] * [1, -1, 1]   # back to Z-up
    free = FingerLimits(flex=((-180, 180),) * 3)
    for side, s in ((0, "L"), (1, "R")):
        pts = np.zeros((n, 21, 3))
        pts[:, 0] = pos[:, names.index(JOINT_NAMES[13 if side == 0 else 16])]
        fingers = ("thumb", "f_index", "f_middle", "f_ring", "f_pinky")
        for f, finger in enumerate(fingers):
            c = list(range(1 + 4 * f, 5 + 4 * f))   # motion.hands.CHAINS without the wrist
            for k in range(3):
                pts[:, c[k]] = pos[:, names.index(f"{finger}.0{k + 1}.{s}")]
            pts[:, c[3]] = 2 * pts[:, c[2]] - pts[:, c[1]]   # the tip: not in the joints
        got, _ = finger_angles(pts, side, free)
        want = np.degrees(flex[:, side, 1:, :2])
        assert np.degrees(got[:, 1:, :2]) == pytest.approx(want, abs=1.0)
