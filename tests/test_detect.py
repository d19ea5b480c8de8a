"""Detection (dgnet_core.detection.detect): the pose model path, the tracking detector with one
landmarker, and frames read ahead on a thread that stops."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import obs, write_clip

from dgnet_core.detection.detect import TASK_ENV, PoseObservation, default_task_path
from dgnet_core.detection.video import VideoReader
from dgnet_core.errors import LiftError, VideoError


def test_task_path_env_var(tmp_path, monkeypatch) -> None:
    task = tmp_path / "p.task"
    task.write_bytes(b"x")
    monkeypatch.setenv(TASK_ENV, str(task))
    assert default_task_path() == task
    monkeypatch.setenv(TASK_ENV, str(tmp_path / "missing.task"))
    with pytest.raises(LiftError, match=TASK_ENV):
        default_task_path()


# ------------------------------------------------------------- fast tracking (detector)


class _FakeLandmarker:
    """Stands in for ``PoseDetector``: returns the poses ``script[timestamp](num_poses)``
    gives for each frame (the frames themselves are blank)."""

    made: list[int] = []
    script: dict = {}

    def __init__(self, task_path, config) -> None:
        self.num_poses = config.num_poses
        _FakeLandmarker.made.append(config.num_poses)

    def detect(self, frame, timestamp_ms):
        people = _FakeLandmarker.script[timestamp_ms](self.num_poses)
        return people[: self.num_poses]

    def close(self) -> None:
        pass


def _scripted(det, t: int, poses) -> PoseObservation | None:
    """``det.observe`` on a blank frame whose landmarker answer is ``poses(num_poses)``."""
    _FakeLandmarker.script = {t: poses}
    return det.observe(np.zeros((8, 8, 3), np.uint8), t)


def test_tracking_detector_uses_one_pose_landmarker_and_never_jumps(monkeypatch) -> None:
    import dgnet_core.detection.detect as detect

    monkeypatch.setattr(detect, "PoseDetector", _FakeLandmarker)
    _FakeLandmarker.made = []
    cfg = detect.DetectorConfig(num_poses=2, steady_frames=5)
    tracked = []

    def frame(t, fast_sees_other=False):
        me, other = obs((0.3 + 0.002 * t, 0.5)), obs((0.8, 0.5), 0.25)

        def poses(num_poses):
            if num_poses == 1:  # the one-pose landmarker follows whoever it found first
                return [other] if fast_sees_other else [me]
            return [other, me]
        return t, poses

    crowded = []
    with detect.TrackingDetector(1000, 1000, None, cfg) as det:
        for t in range(12):
            tracked.append(_scripted(det, *frame(t)))
            crowded.append(det.crowded)
        assert _FakeLandmarker.made == [2, 1]   # full for 5 steady frames, then fast
        assert det.fast_frames == 7
        # the other person is seen while the full landmarker runs, not by the fast one
        assert crowded == [True] * 5 + [False] * 7
        # The fast landmarker latches onto the other person: the gate rejects it and the
        # frame goes through a fresh full landmarker, which finds our person.
        tracked.append(_scripted(det, *frame(12, fast_sees_other=True)))
        assert _FakeLandmarker.made == [2, 1, 2] and det.fast_frames == 7
        # A fresh fast one that picks the wrong person on its first frame doubles the wait.
        for t in range(13, 17):  # frames 12-16: five steady frames with the full one
            tracked.append(_scripted(det, *frame(t)))
        assert _FakeLandmarker.made == [2, 1, 2, 1]
        tracked.append(_scripted(det, *frame(17, fast_sees_other=True)))
        for t in range(18, 26):
            tracked.append(_scripted(det, *frame(t)))
        assert _FakeLandmarker.made == [2, 1, 2, 1, 2]  # still full: waits 10 frames now
        tracked.append(_scripted(det, *frame(26)))
        assert _FakeLandmarker.made == [2, 1, 2, 1, 2, 1]
    xs = [float(p.image[:, 0].mean()) for p in tracked]
    assert all(p is not None for p in tracked) and np.abs(np.diff(xs)).max() < 0.01


def test_tracking_detector_without_fast_tracking_keeps_one_landmarker(monkeypatch) -> None:
    import dgnet_core.detection.detect as detect

    monkeypatch.setattr(detect, "PoseDetector", _FakeLandmarker)
    _FakeLandmarker.made = []
    with detect.TrackingDetector(1000, 1000, None,
                                 detect.DetectorConfig(fast_tracking=False)) as det:
        for t in range(40):
            _scripted(det, t, lambda n: [obs((0.5, 0.5))])
            assert not det.crowded  # alone in the picture
    assert _FakeLandmarker.made == [2] and det.fast_frames == 0


def test_frames_are_read_ahead_on_a_thread_that_stops(tmp_path) -> None:
    import threading

    from dgnet_core.detection.detect import _Prefetch

    def readers():
        return [t for t in threading.enumerate() if t.name == "lift-video-decode"]

    write_clip(tmp_path / "c.avi", n=20)
    with VideoReader(tmp_path / "c.avi") as video:
        direct = [int(f[0, 0, 0]) for _, f in video.frames()]
    with VideoReader(tmp_path / "c.avi") as video:
        ahead = _Prefetch(video.frames(2, 15))
        got = [(i, int(f[0, 0, 0])) for i, f in ahead]
        ahead.close()
    assert [i for i, _ in got] == list(range(2, 15)) and [v for _, v in got] == direct[2:15]
    with VideoReader(tmp_path / "c.avi") as video:
        ahead = _Prefetch(video.frames())
        next(ahead)
        assert len(readers()) == 1
        ahead.close()  # stopped mid-clip: the thread ends
        assert readers() == []
    clip = (tmp_path / "c.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(clip[: len(clip) // 2])
    # A reader's error comes out of the prefetching iterator (a cut-off file lifts what
    # decodes, so the error here is a start past its last frame).
    with VideoReader(tmp_path / "cut.avi") as video, pytest.raises(VideoError,
                                                                   match="past the end"):
        list(_Prefetch(video.frames(25)))
    assert readers() == []


# ------------------------------------------------------------- MediaPipe without drawing

_DRAWING_LATER = r"""
import sys
from dgnet_core.detection import mediapipe_api
mp, _, vision = mediapipe_api.load()
assert "matplotlib" not in sys.modules, "drawing helpers imported with the landmarker"
from mediapipe.tasks.python.vision import drawing_styles
assert callable(vision.drawing_utils.draw_landmarks)
assert callable(drawing_styles.get_default_pose_landmarks_style)
assert "matplotlib" in sys.modules
print("OK")
"""


def test_mediapipe_drawing_helpers_are_imported_on_first_use() -> None:
    """``mediapipe_api.load`` skips MediaPipe's drawing helpers (matplotlib: start-up time
    and memory) but, with matplotlib installed, they work as before when used."""
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, "-c", _DRAWING_LATER], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr[-2000:]
