"""Output files (dgnet_core.formats.results): written, read back, unknown formats rejected."""

from __future__ import annotations

import json

import numpy as np
import pytest
from engine_helpers import posed_sequence

from dgnet_core.errors import FormatError
from dgnet_core.formats.results import load_npz, parse_formats, save_outputs
from dgnet_core.motion.camera import intrinsics
from dgnet_core.pipeline import LiftResult
from dgnet_core.skeleton import JOINT_NAMES


def _result(n: int = 12) -> LiftResult:
    rng = np.random.default_rng(0)
    mp = rng.normal(size=(n, 33, 3)).astype(np.float32)
    mp[3] = np.nan
    det = np.ones(n, bool)
    det[3] = False
    return LiftResult(
        joints_world=posed_sequence(n).astype(np.float32),
        joints_camera=rng.normal(size=(n, 17, 3)).astype(np.float32),
        keypoints_2d=rng.uniform(0, 600, (n, 17, 2)).astype(np.float32),
        confidence=rng.uniform(0, 1, (n, 17)).astype(np.float32),
        mp_world=mp, mp_image=mp.copy(), contacts=rng.uniform(size=(n, 2)) > 0.5,
        detected=det, frame_indices=np.arange(10, 10 + n), fps=24.0, width=600, height=400,
        intrinsics=intrinsics(600, 400), gaps=[(3, 4)], source="/x/clip.mp4")


def test_outputs_write_and_read_back(tmp_path) -> None:
    res = _result()
    paths = save_outputs(res, tmp_path / "out", "npz, JSON,bvh")
    assert [p.name for p in paths] == ["clip.npz", "clip.json", "clip.bvh"]
    with np.load(paths[0]) as z:  # no pickle needed
        assert z["joints"].shape == (12, 17, 3) and float(z["fps"]) == 24.0
        assert list(z["joint_names"]) == list(JOINT_NAMES)
    back = load_npz(paths[0])
    for name in ("joints_world", "mp_world", "contacts", "detected", "frame_indices"):
        assert np.array_equal(getattr(back, name), getattr(res, name), equal_nan=name
                              in ("joints_world", "mp_world")), name
    assert back.gaps == [(3, 4)] and back.source == res.source and back.width == 600
    doc = json.loads(paths[1].read_text())
    assert doc["num_frames"] == 12 and doc["mp_world"][3][0] == [None, None, None]
    assert np.allclose(np.array(doc["joints"]), res.joints_world, atol=1e-5)
    assert doc["contacts"] == res.contacts.tolist()


def test_unknown_format_is_rejected() -> None:
    assert parse_formats("bvh,npz,bvh") == ["bvh", "npz"]
    with pytest.raises(FormatError, match="unknown output format 'fbx'"):
        parse_formats("npz,fbx")
    with pytest.raises(FormatError):
        parse_formats(" , ")
