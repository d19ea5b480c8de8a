"""The lift does not depend on where the person stands in the picture (shipped model,
through the product's path: ``Lifter.lift`` over a clip with the clip's intrinsics).

Held-out Human3.6M clips (S9, S11), each moved as a whole so that its mean pelvis sits at a
cell of the picture 5 m from the camera, projected with one lens (``position_bench``)."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.lifting.backend import load_lifter
from dgnet_core.lifting.lifter import Lifter
from dgnet_core.skeleton import flip_pose
from training.position_bench import FOCAL_PX

CLIPS = (("S9", "Directions 1", 0), ("S9", "Waiting 1", 1), ("S11", "Phoning 2", 2),
         ("S11", "Greeting", 3), ("S9", "Walking 1", 0))
CELLS = ((0.5, 0.5), (0.1, 0.5), (0.9, 0.5), (0.5, 0.3), (0.5, 0.7), (0.1, 0.3), (0.9, 0.7))
FRAMES = 60


@pytest.fixture(scope="module")
def clips(h36m_dir):
    from training import h36m

    data = h36m.load(h36m_dir, subjects=("S9", "S11"), detections=False)
    out = []
    for s, a, cam in CLIPS:
        c3 = data.camera_poses(s, a, cam)
        mid = len(c3) // 2
        out.append(c3[mid:mid + FRAMES].astype(np.float64))
    return out


def place_clip(c3: np.ndarray, fx: float, fy: float, w: int, h: int, depth: float = 5.0):
    """The clip moved so its mean pelvis is at pixel (fx w, fy h), ``depth`` m away."""
    target = np.array([(fx - 0.5) * w / FOCAL_PX, (fy - 0.5) * h / FOCAL_PX, 1.0]) * depth
    moved = c3 - c3[:, :1].mean(axis=0) + target
    px = moved[..., :2] / moved[..., 2:] * FOCAL_PX + np.array([w / 2, h / 2])
    K = np.array([[FOCAL_PX, 0, w / 2], [0, FOCAL_PX, h / 2], [0, 0, 1]])
    return px.astype(np.float32), moved - moved[:, :1], K


def p1_mm(lifter: Lifter, clips, fx: float, fy: float, w: int, h: int) -> float:
    errs = []
    for c3 in clips:
        px, rel, K = place_clip(c3, fx, fy, w, h)
        errs.append(np.linalg.norm(lifter.lift(px, None, w, h, intrinsics=K) - rel,
                                   axis=-1).mean())
    return float(np.mean(errs) * 1000)


@pytest.mark.parametrize("w,h", [(1920, 1080), (1080, 1920)])
def test_lift_holds_wherever_the_person_stands(clips, w, h) -> None:
    lifter = load_lifter(backend="onnx", flip_tta=False)
    p1 = {c: p1_mm(lifter, clips, *c, w, h) for c in CELLS}
    centre = p1[(0.5, 0.5)]
    worst = max(p1, key=p1.get)
    detail = ", ".join(f"{k}: {v:.0f}" for k, v in p1.items())
    assert centre < 70, detail
    assert p1[worst] <= 1.25 * centre, f"{w}x{h}: worst {worst} ({detail})"


def test_mirror_image_gives_the_mirrored_pose(clips) -> None:
    """A person on the left of the picture, mirrored, stands on the right: the lift of the
    mirror image, mirrored back, is the lift of the original (no flip TTA)."""
    lifter = load_lifter(backend="onnx", flip_tta=False)
    w, h = 1920, 1080
    dist = []
    for c3 in clips:
        px, _, K = place_clip(c3, 0.15, 0.4, w, h)
        a = lifter.lift(px, None, w, h, intrinsics=K)
        m = flip_pose(px)
        m[..., 0] += w  # x -> w - x
        b = flip_pose(lifter.lift(m, None, w, h, intrinsics=K))
        dist.append(np.linalg.norm(a - b, axis=-1).mean())
    assert np.mean(dist) * 1000 < 40


def test_grid_report_separates_cut_bodies_from_whole_ones() -> None:
    """The position table says which rows hold bodies cut by the picture's edge, and the
    worst cell among whole bodies."""
    from training.position_bench import PositionResult, position_markdown

    fr = (0.1, 0.5, 0.9)
    cells = {"16:9": np.array([[70.0, 60.0, 61.0], [50.0, 48.0, 52.0], [65.0, 55.0, 66.0]])}
    cut = {"16:9": np.array([[0.9, 0.9, 0.9], [0.0, 0.0, 0.02], [0.8, 0.8, 0.8]])}
    res = PositionResult(fr, cells, 10, cut)
    assert res.worst("16:9") == (70.0, 0.1, 0.1)
    assert res.worst("16:9", whole_only=True) == (52.0, 0.9, 0.5)
    md = position_markdown(res)
    assert "by row (mean over the row): y 10% 90%, y 50% 1%, y 90% 80%" in md
    assert "Whole bodies (cells with at most 5% of the poses cut): worst 52.0 mm at x 90%, " \
           "y 50% (1.08 x centre)" in md
