"""The pipeline (dgnet_core.pipeline): lifting while detecting equals lifting afterwards,
closing stops the lifting thread, a balanced model gets the intrinsics."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import tiny_lifter

from dgnet_core.detection.observation import PoseObservation
from dgnet_core.motion.camera import intrinsics
from dgnet_core.motion.filters import smooth
from dgnet_core.pipeline import PipelineOptions
from dgnet_core.skeleton import bone_lengths


def _synthetic_detections(n: int, missing: list[int], width: int = 640, height: int = 480):
    """Poses of a person swaying across the frame, None in ``missing`` frames."""
    from dgnet_core.detection.detect import Detections

    shape = np.random.default_rng(1).uniform(-0.15, 0.15, (33, 2))
    poses = []
    for t in range(n):
        if t in missing:
            poses.append(None)
            continue
        img = np.concatenate([shape + [0.5 + 0.2 * np.sin(t / 9), 0.5 + 0.02 * np.cos(t / 5)],
                              np.zeros((33, 1))], 1).astype(np.float32)
        vis = np.full(33, 0.9, np.float32)
        poses.append(PoseObservation(img, vis, np.zeros((33, 3), np.float32)))
    nan = np.full((n, 33, 3), np.nan, np.float32)
    image, world = nan.copy(), nan.copy()
    visibility = np.zeros((n, 33), np.float32)
    for t, p in enumerate(poses):
        if p is not None:
            image[t], world[t], visibility[t] = p.image, p.world, p.visibility
    det = Detections(image, visibility, world, np.array([p is not None for p in poses]),
                     np.arange(n), 30.0, width, height, "synthetic.mp4")
    return poses, det


def _patch_detection(monkeypatch, poses, det, endless: bool = False):
    """Make ``iter_pipeline`` detect ``poses`` (calling on_frame) without a video."""
    import dgnet_core.pipeline as pipeline
    from dgnet_core.detection.video import VideoInfo

    def fake_iter_detect(video, start=0, end=None, task_path=None, config=None, chunk=4,
                         on_frame=None, workers=0):
        t = 0
        while True:
            for pose in poses:
                if on_frame is not None:
                    on_frame(pose)
                t += 1
                if t % chunk == 0:
                    yield t, len(poses)
            if not endless:
                return det

    info = VideoInfo("synthetic.mp4", 30.0, det.width, det.height, len(det))
    monkeypatch.setattr(pipeline, "probe_video", lambda video: info)
    monkeypatch.setattr(pipeline, "iter_detect_parallel", fake_iter_detect)


def _lift_threads(lifter):
    """Record which thread runs each model call."""
    import threading

    names: list[str] = []
    run = lifter.run_batch

    def recording(x, cam=None):
        names.append(threading.current_thread().name)
        return run(x, cam)

    lifter.run_batch = recording
    return names


def test_lifting_while_detecting_equals_lifting_afterwards(monkeypatch) -> None:
    from dgnet_core.pipeline import run_pipeline

    poses, det = _synthetic_detections(150, [0, 1, 50, 51, 52, 100, 149])
    lifter = tiny_lifter()
    raw = PipelineOptions(cleanup=False, foot_lock=False)  # placement's choices are discrete
    expected = run_pipeline("synthetic.mp4", raw, detections=det, lifter=lifter)
    _patch_detection(monkeypatch, poses, det)
    threads = _lift_threads(lifter)
    result = run_pipeline("synthetic.mp4", raw, lifter=lifter)
    assert "lift-video-lifting" in threads  # most frames were lifted on the worker thread
    assert len(result) == len(expected) == 147 and result.gaps == [(48, 51), (98, 99)]
    assert np.abs(result.joints_camera - expected.joints_camera).max() < 1e-5
    assert np.abs(result.joints_world - expected.joints_world).max() < 1e-5
    assert np.array_equal(result.keypoints_2d, expected.keypoints_2d)


def test_closing_the_pipeline_stops_the_lifting_thread(monkeypatch) -> None:
    import gc
    import threading

    from dgnet_core.pipeline import iter_pipeline

    poses, det = _synthetic_detections(64, [])
    _patch_detection(monkeypatch, poses, det, endless=True)

    def workers():
        return [t for t in threading.enumerate() if t.name == "lift-video-lifting"]

    assert workers() == []
    for how in ("close", "drop"):
        gen = iter_pipeline("synthetic.mp4", lifter=tiny_lifter())
        for _ in range(40):
            next(gen)
        assert len(workers()) == 1
        if how == "close":
            gen.close()
        else:
            del gen
            gc.collect()
        assert workers() == []


@pytest.mark.slow  # ONNX export and two pipeline runs
def test_balanced_model_gets_the_intrinsics(tmp_path) -> None:
    from dgnet_core.lifting.lifter import Lifter
    from dgnet_core.lifting.weights import export_onnx
    from dgnet_core.pipeline import run_pipeline

    lifter = tiny_lifter("balanced")
    kp = np.random.default_rng(2).uniform(100, 500, (9, 17, 2)).astype(np.float32)
    K1, K2 = intrinsics(640, 480, 55.0), intrinsics(640, 480, 90.0)
    # without intrinsics a camera model assumes the pipeline's default camera
    assert np.allclose(lifter.lift(kp, None, 640, 480),
                       lifter.lift(kp, None, 640, 480, intrinsics=K1))
    a = lifter.lift(kp, None, 640, 480, intrinsics=K1)
    b = lifter.lift(kp, None, 640, 480, intrinsics=K2)
    assert np.isfinite(a).all() and np.abs(a - b).max() > 1e-3  # the camera matters
    # onnxruntime takes the same ``cam`` input and gives the same answer.
    import torch

    onnx = Lifter.from_onnx(export_onnx(_balanced_model(), tmp_path / "b.onnx"))
    with torch.no_grad():
        ref = Lifter.from_model(_balanced_model()).lift(kp, None, 640, 480, intrinsics=K1)
    assert np.abs(onnx.lift(kp, None, 640, 480, intrinsics=K1) - ref).max() < 1e-4
    # The pipeline passes its intrinsics: the lifted poses follow fov_deg.
    _, det = _synthetic_detections(40, [])
    results = [run_pipeline("synthetic.mp4",
                            PipelineOptions(fov_deg=fov, cleanup=False, foot_lock=False),
                            detections=det, lifter=lifter) for fov in (55.0, 90.0)]
    expected = lifter.lift(results[0].keypoints_2d, results[0].confidence, 640, 480,
                           intrinsics=results[0].intrinsics)
    assert np.abs(bone_lengths(results[0].joints_camera)
                  - bone_lengths(smooth(expected, "savgol", 30.0))).max() < 1e-4
    assert np.abs(bone_lengths(results[0].joints_camera)
                  - bone_lengths(results[1].joints_camera)).max() > 1e-3


def _balanced_model():
    from dgnet_core.lifting.config import DGNetConfig
    from dgnet_core.lifting.weights import random_model

    return random_model(DGNetConfig(num_blocks=1, channels=32, importance_hidden=8,
                                    block_head_hidden=16, output="balanced"), seed=5)


def test_a_long_gap_splits_the_clip_into_segments(monkeypatch) -> None:
    """No clip is refused for a gap: a gap longer than max_gap splits the result into
    segments, each lifted on its own (as if it were its own clip) and placed on its own;
    the last pose is held through the gap, which counts as not detected."""
    from dgnet_core.pipeline import run_pipeline

    missing = list(range(30, 52))  # 22 frames, more than max_gap 15
    poses, det = _synthetic_detections(90, missing)
    lifter = tiny_lifter()
    _patch_detection(monkeypatch, poses, det)
    opts = PipelineOptions(max_gap=15)
    res = run_pipeline("synthetic.mp4", opts, lifter=lifter)
    assert res.segments == [(0, 30), (52, 90)]
    assert not res.detected[30:52].any() and res.detected[:30].all()
    assert np.isfinite(res.joints_world).all()
    assert np.allclose(res.joints_world[30:52], res.joints_world[29])   # held
    assert not res.contacts[30:52].any()
    warning = res.gap_warning()
    assert warning == ("no person in frames 30-51: lifted as 2 segments "
                       "(frames 0-29, 52-89)")
    # each segment lifted on its own: the second one equals lifting its frames alone
    _, second = _synthetic_detections(38, [])
    second.image[:], second.visibility[:] = det.image[52:], det.visibility[52:]
    alone = lifter.lift(*_kp_conf(second), 640, 480, intrinsics=res.intrinsics)
    assert np.allclose(res.joints_lifted[52:] - res.joints_lifted[52:, :1],
                       smooth(alone - alone[:, :1], "savgol", 30.0)
                       - smooth(alone - alone[:, :1], "savgol", 30.0)[:, :1], atol=1e-4)
    # one body for the whole clip: the same bone lengths in both segments
    lengths = bone_lengths(res.joints_world)
    assert np.allclose(lengths[0], lengths[-1], atol=1e-5)
    # the same clip with a larger max_gap is one piece, filled
    whole = run_pipeline("synthetic.mp4", PipelineOptions(max_gap=30), lifter=lifter)
    assert whole.segments is None and whole.gap_warning() is None


def _kp_conf(det):
    from dgnet_core.skeleton import mediapipe_to_h36m

    return mediapipe_to_h36m(det.pixels(), det.visibility)


def test_short_and_edge_clips_say_so(monkeypatch) -> None:
    """A person seen for 3 frames still lifts, with a line saying it is too short; a person
    partly out of the picture gets a line naming how many frames and the first one; so
    does somebody else coming into view."""
    from dgnet_core.pipeline import run_pipeline

    lifter = tiny_lifter()
    poses, det = _synthetic_detections(3, [])
    _patch_detection(monkeypatch, poses, det)
    short = run_pipeline("synthetic.mp4", PipelineOptions(), lifter=lifter)
    assert len(short) == 3 and np.isfinite(short.joints_world).all()
    assert short.warnings() == ["the person is seen in only 3 frames: too few for steady "
                                "motion (8 or more give the network its window)"]

    poses, det = _synthetic_detections(40, [])
    for t in range(10, 16):  # walks off the left edge for six frames
        det.image[t, :, 0] -= 0.7
        poses[t] = PoseObservation(det.image[t], det.visibility[t], det.world[t])
    _patch_detection(monkeypatch, poses, det)
    edge = run_pipeline("synthetic.mp4", PipelineOptions(), lifter=lifter)
    assert edge.warnings() == ["the person is partly out of the picture in 6 of 40 frames "
                               "(first at frame 10): the joints outside it are guessed"]
    inside = run_pipeline("synthetic.mp4", PipelineOptions(), lifter=lifter,
                          detections=_synthetic_detections(40, [])[1])
    assert inside.warnings() == []
    crowd = _synthetic_detections(40, [])[1]
    crowd.others = np.arange(40) >= 25  # somebody else walks in at frame 25
    crowded = run_pipeline("synthetic.mp4", PipelineOptions(), lifter=lifter,
                           detections=crowd)
    assert crowded.warnings() == ["more than one person in view (first at frame 25): one "
                                  "is lifted, the one followed from the start (--people "
                                  "all lifts everybody)"]
