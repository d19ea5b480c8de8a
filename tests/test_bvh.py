"""BVH export (dgnet_core.bvh) read back by an independent reader and forward kinematics."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import posed_sequence
from scipy.spatial.transform import Rotation

from dgnet_core.bvh import CHILDREN, DFS_ORDER, write_bvh
from dgnet_core.skeleton import JOINT_NAMES, PARENTS


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
    assert [names.index(JOINT_NAMES[PARENTS[j]]) if PARENTS[j] >= 0 else -1
            for j in DFS_ORDER] == parents
    assert motion.shape == (25, 6 + 3 * 16) and dt == pytest.approx(1 / 25)
    assert len(channels[0]) == 6 and all(len(c) == 3 for c in channels[1:])
    # FK of the file (Y-up) reproduces the joints (Z-up): (x, y, z) -> (x, z, -y).
    pos = _fk(parents, offsets, motion)
    expect = joints[:, list(DFS_ORDER)][..., [0, 2, 1]] * [1, 1, -1]
    assert np.abs(pos - expect).max() < 2e-4
    assert sum(1 for c in CHILDREN if not c) == path.read_text().count("End Site")
