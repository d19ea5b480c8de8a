"""The one skeleton definition and its adapters (MediaPipe-33, Stacked-Hourglass-16)."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core import skeleton as sk


def test_tree_and_symmetry_are_consistent() -> None:
    assert len(sk.JOINT_NAMES) == len(sk.PARENTS) == sk.NUM_JOINTS == 17
    assert sk.PARENTS[sk.ROOT] == -1
    assert all(p < c for c, p in enumerate(sk.PARENTS) if p >= 0)  # parents come first
    assert len(sk.BONES) == 16
    perm = np.array(sk.FLIP_PERM)
    assert np.array_equal(perm[perm], np.arange(17))  # an involution
    for left, right in sk.SYMMETRIC_PAIRS:
        assert sk.JOINT_NAMES[left][0] == "L" and sk.JOINT_NAMES[right][0] == "R"
        assert sk.JOINT_NAMES[left][1:] == sk.JOINT_NAMES[right][1:]


def test_adjacency() -> None:
    a = sk.adjacency(self_loops=False)
    assert np.array_equal(a, a.T) and a.sum() == 2 * 16
    assert sk.adjacency(symmetric_links=True).sum() == 2 * 16 + 17 + 2 * 6
    n = sk.normalized_adjacency(sk.adjacency())
    assert np.allclose(n, n.T)
    assert np.all(np.linalg.eigvalsh(n) <= 1 + 1e-6)


def test_flip_pose_mirrors_template() -> None:
    body = sk.TEMPLATE_POSE
    assert np.allclose(sk.flip_pose(body), body, atol=1e-9)  # the template is symmetric
    with pytest.raises(KeyError, match="valid"):
        sk.joint_index("Tail")


def test_mediapipe_adapter_choices() -> None:
    m = sk.mediapipe_to_h36m_matrix()
    assert np.allclose(m.sum(axis=1), 1.0)  # affine: translations carry over
    rng = np.random.default_rng(0)
    lm = rng.normal(size=(5, 33, 3))
    vis = rng.uniform(size=(5, 33))
    joints, conf = sk.mediapipe_to_h36m(lm, vis)
    idx = {n: i for i, n in enumerate(sk.MP_NAMES)}
    assert np.allclose(joints[:, 0], 0.5 * (lm[:, idx["left_hip"]] + lm[:, idx["right_hip"]]))
    assert np.allclose(joints[:, 13], lm[:, idx["left_wrist"]])
    assert np.allclose(joints[:, 16], lm[:, idx["right_wrist"]])
    assert np.allclose(conf[:, 0], np.minimum(vis[:, idx["left_hip"]], vis[:, idx["right_hip"]]))
    # the head joint sits above the ears when the face is upright (image y grows down)
    face = np.zeros((33, 2))
    for name, xy in {"left_ear": (1, 0), "right_ear": (-1, 0), "left_eye": (0.4, 0),
                     "right_eye": (-0.4, 0), "mouth_left": (0.3, 1), "mouth_right": (-0.3, 1),
                     "nose": (0, 0.5)}.items():
        face[idx[name]] = xy
    j, _ = sk.mediapipe_to_h36m(face)
    assert j[10, 1] < 0 < j[9, 1]  # head above the eye line, neck/nose below
    with pytest.raises(ValueError, match="33"):
        sk.mediapipe_to_h36m(np.zeros((17, 2)))


def test_stacked_hourglass_mapping() -> None:
    sh = np.arange(16 * 2, dtype=np.float32).reshape(16, 2)
    out, conf = sk.sh16_to_h36m(sh)
    for j, s in enumerate(sk.SH16_TO_H36M17):
        if s is not None:
            assert sk.SH16_NAMES[s] == sk.JOINT_NAMES[j] or (j == 10 and sk.SH16_NAMES[s] == "Head")
            assert np.array_equal(out[j], sh[s])
    assert np.allclose(out[9], 0.5 * (out[8] + out[10])) and conf[9] == 0.5
    out0, conf0 = sk.sh16_to_h36m(sh, neck="missing")
    assert conf0[9] == 0 and conf0.sum() == 16
    assert np.allclose(out0[9], out[9])  # a stand-in on the body, never pixel (0, 0)
