"""training.diagnose face: the head's rotation read from the face model (its pure parts),
the missing-model error, and (when the model has been built) a few frames of a real clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.diagnose import face
from training.diagnose.turns import wrap, yaw_pitch

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "data" / "asl_hands_520x480.mp4"


def _rotation(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Camera-axes rotation: about y (turn) after about x (nod)."""
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(b), -np.sin(b)], [0.0, np.sin(b), np.cos(b)]])
    return ry @ rx


def test_face_data_is_committed_and_small() -> None:
    folder = Path(face.CANONICAL_OBJ).parent
    names = {p.name for p in folder.iterdir()}
    assert {"canonical_face_model.obj", "geometry_pipeline_metadata_landmarks.pbtxt",
            "README.md"} <= names
    assert sum(p.stat().st_size for p in folder.iterdir()) < 200_000
    v = face.canonical_vertices()
    assert v.shape == (468, 3)
    # OpenCV object axes: the nose tip (vertex 4) is nearest the viewer (z < 0), the
    # forehead (10) above the chin (152) (y down)
    assert v[4, 2] < v[:, 2].mean() and v[10, 1] < v[152, 1]


@pytest.mark.parametrize(("yaw", "pitch"), [(0, 0), (35, 0), (-50, 10), (20, -25), (70, 15)])
def test_pnp_of_the_projected_canonical_face_returns_its_rotation(yaw: float,
                                                                 pitch: float) -> None:
    pytest.importorskip("cv2")
    canonical = face.canonical_vertices()
    k = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    rot = _rotation(yaw, pitch)
    cam = canonical @ rot.T + np.array([4.0, -3.0, 60.0])  # centimetres in front
    points = (cam @ k.T)[:, :2] / cam[:, 2:]
    got = face.pnp_facing(points, k, canonical)
    want = rot @ np.array([0.0, 0.0, -1.0])
    (gy, gp), (wy, wp) = (np.concatenate(yaw_pitch(f[None])) for f in (got, want))
    assert abs(wrap(gy - wy)) < 0.5 and abs(gp - wp) < 0.5


def test_matrix_facing_reads_the_opengl_matrix_in_camera_axes() -> None:
    # identity: the face looks along OpenGL's +z, at the camera: OpenCV's -z, yaw -90
    m = np.eye(4) * 3.0  # the matrix carries the face's scale
    np.testing.assert_allclose(face.matrix_facing(m), [0.0, 0.0, -1.0], atol=1e-12)
    gl = np.eye(4)
    gl[:3, :3] = face.GL_TO_CV @ _rotation(30, 10) @ face.GL_TO_CV
    yaw, pitch = yaw_pitch(face.matrix_facing(gl)[None])
    want = yaw_pitch((_rotation(30, 10) @ np.array([0.0, 0.0, -1.0]))[None])
    assert abs(yaw[0] - want[0][0]) < 1e-9 and abs(pitch[0] - want[1][0]) < 1e-9


def test_head_crop_is_centred_on_the_face_points() -> None:
    lm = np.zeros((33, 3))
    lm[0:11, :2] = [0.5, 0.2]
    lm[[11, 12], :2] = [0.5, 0.3]
    lm[[23, 24], :2] = [0.5, 0.7]
    x0, y0, side = face.head_crop(lm, 200, 100, 0.6)
    assert side == pytest.approx(0.6 * 40.0)
    assert (x0 + side / 2, y0 + side / 2) == pytest.approx((100.0, 20.0))


def test_a_missing_face_model_is_one_line_saying_how_to_build_it(tmp_path, capsys) -> None:
    from training.diagnose.__main__ import CHECKS, main

    missing = tmp_path / "face_landmarker.task"
    with pytest.raises(FileNotFoundError, match="bash scripts/build_face_task.sh"):
        face.face_task(missing)
    assert CHECKS["face"] == "face"
    assert main(["face", "--task", str(missing), "--real", str(CLIP)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert str(missing) in err and "build it with bash scripts/build_face_task.sh" in err


def test_the_built_face_model_finds_the_real_signer_facing_the_camera() -> None:
    if not face.DEFAULT_TASK.is_file():
        pytest.skip(f"needs {face.DEFAULT_TASK} (bash scripts/build_face_task.sh)")
    pytest.importorskip("cv2")
    pytest.importorskip("mediapipe")
    frames = face.read_frames(CLIP, np.arange(0, 60, 6))
    k = np.array([[499.0, 0.0, 260.0], [0.0, 499.0, 240.0], [0.0, 0.0, 1.0]])
    run = face.run_face(frames, None, k, face.FaceConfig(confidence=0.5))
    assert run.found.sum() >= 8
    for facing in (run.matrix, run.pnp):
        yaw, _ = yaw_pitch(facing[run.found])
        assert np.all(np.abs(wrap(yaw + 90.0)) < 20.0)  # towards the camera
