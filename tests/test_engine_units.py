"""Engine stages on synthetic data whose answer is known: gaps, filters, placement, BVH,
output files, tracking and the video reader's error handling."""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dgnet_core.bvh import CHILDREN, DFS_ORDER, write_bvh
from dgnet_core.detect import TASK_ENV, PersonTracker, PoseObservation, default_task_path
from dgnet_core.errors import FormatError, LiftError, NoPersonError, VideoError
from dgnet_core.filters import one_euro, savgol, smooth
from dgnet_core.gaps import detected_span, fill_gaps, find_gaps, runs
from dgnet_core.io_formats import load_npz, parse_formats, save_outputs
from dgnet_core.pipeline import LiftResult, PipelineOptions
from dgnet_core.placement import (
    ANKLE_HEIGHT,
    CAMERA_TO_WORLD_AXES,
    LEFT_FOOT,
    RIGHT_FOOT,
    MotionOptions,
    intrinsics,
    place,
    project,
)
from dgnet_core.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, TEMPLATE_POSE, bone_lengths
from dgnet_core.video import VideoReader

# ------------------------------------------------------------------------------ gaps


def test_runs_and_interior_gaps() -> None:
    det = np.array([0, 1, 1, 0, 0, 1, 0, 1, 0, 0], bool)
    assert runs(~det) == [(0, 1), (3, 5), (6, 7), (8, 10)]
    assert find_gaps(det) == [(3, 5), (6, 7)]  # the runs at either end are not gaps
    assert detected_span(det) == (1, 8)
    with pytest.raises(NoPersonError, match="any of the 3 frames"):
        detected_span(np.zeros(3, bool))


def test_fill_gaps_interpolates_and_reports() -> None:
    t = np.arange(30, dtype=np.float64)
    values = np.stack([np.stack([t * 2.0 + j, 5.0 - t + j], -1) for j in range(17)], 1)
    det = np.ones(30, bool)
    det[[4, 5, 6, 20]] = False
    holey = values.copy()
    holey[~det] = np.nan
    filled, gaps = fill_gaps(holey, det, max_gap=3)
    assert gaps == [(4, 7), (20, 21)]
    assert np.abs(filled - values).max() < 1e-9  # PCHIP reproduces a linear motion
    assert np.array_equal(filled[det], holey[det])  # detected frames untouched


def test_gap_longer_than_max_gap_names_the_source_frames() -> None:
    det = np.ones(20, bool)
    det[5:12] = False
    frames = np.arange(100, 120)
    with pytest.raises(NoPersonError, match=r"frames 105-111 \(7 frames, more than max_gap 6\)"):
        fill_gaps(np.zeros((20, 17, 2)), det, max_gap=6, frame_indices=frames)
    _, gaps = fill_gaps(np.zeros((20, 17, 2)), det, max_gap=7)
    assert gaps == [(5, 12)]


# ------------------------------------------------------------------------------ filters


def test_filters_keep_slow_motion_and_remove_jitter() -> None:
    fps = 30.0
    t = np.arange(300) / fps
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, (300, 3))  # 1 cm jitter of a still joint
    ramp = np.stack([t, 0.5 * t, 0 * t], -1)  # a joint moving at ~1.1 m/s
    for method in ("savgol", "one_euro"):
        out = smooth(noise, method, fps)
        assert out.shape == noise.shape
        assert np.sqrt((out[30:] ** 2).mean()) < 0.5 * np.sqrt((noise[30:] ** 2).mean())
        lag = np.linalg.norm(smooth(ramp, method, fps) - ramp, axis=-1)[30:].max()
        assert lag < (1e-9 if method == "savgol" else 0.04), method
    quad = (0.3 * t**2)[:, None]
    assert np.abs(savgol(quad, fps) - quad).max() < 1e-9  # polyorder 2 is exact on parabolas
    assert np.array_equal(smooth(noise, "none", fps), noise)
    const = np.full((50, 3), 2.5)
    assert np.allclose(one_euro(const, fps), 2.5)
    assert savgol(np.ones((3, 2)), fps).shape == (3, 2)  # shorter than the window
    with pytest.raises(ValueError, match="smoothing must be one of"):
        smooth(noise, "kalman", fps)


# ------------------------------------------------------------------------------ placement


def _walk(n: int = 120, fps: float = 30.0, start_y: float = 8.0, speed: float = 1.0):
    """World joints of a person walking toward the camera (-Y), alternating planted feet.

    Returns joints (n, 17, 3) and the true contacts (n, 2) (left, right), with frames at
    phase switches marked as unknown (-1)."""
    period = 20
    stride = speed * period / fps / 2  # each foot advances 2 * stride per swing
    rel = TEMPLATE_POSE - TEMPLATE_POSE[0]
    joints = np.zeros((n, NUM_JOINTS, 3))
    contact = np.zeros((n, 2), int)
    feet = {LEFT_FOOT: np.array([0.12, start_y, ANKLE_HEIGHT]),
            RIGHT_FOOT: np.array([-0.12, start_y - stride, ANKLE_HEIGHT])}
    for i in range(n):
        phase = i % period
        pos = {}
        for col, (foot, swing) in enumerate(((LEFT_FOOT, range(0, 10)),
                                             (RIGHT_FOOT, range(10, 20)))):
            base = feet[foot]
            if phase in swing:
                s = (phase - swing.start + 1) / 10
                p = base + np.array([0.0, -2 * stride * s, 0.12 * math.sin(math.pi * s)])
                if s == 1.0:
                    feet[foot] = p.copy()
                contact[i, col] = 0
            else:
                p = base.copy()
                contact[i, col] = 1
            if phase in (swing.start, swing.stop - 1, (swing.stop) % period,
                         (swing.start - 1) % period):
                contact[i, col] = -1
            pos[foot] = p
        pelvis = np.array([0.0, 0.5 * (pos[LEFT_FOOT][1] + pos[RIGHT_FOOT][1]), 0.95])
        joints[i] = pelvis + rel
        for foot, p in pos.items():
            joints[i, foot] = p
    return joints, contact


def _camera(world: np.ndarray, height: float, pitch_deg: float) -> np.ndarray:
    """World points -> camera axes for a camera at (0, 0, height) pitched down."""
    down = Rotation.from_euler("x", pitch_deg, degrees=True).as_matrix()
    return (world - [0.0, 0.0, height]) @ CAMERA_TO_WORLD_AXES @ down.T


@pytest.mark.parametrize("pitch", [0.0, 8.0])
def test_placement_recovers_root_floor_and_contacts(pitch: float) -> None:
    fps = 30.0
    world, truth = _walk(fps=fps)
    cam = _camera(world, 1.5, pitch)
    K = intrinsics(1280, 720, fov_deg=60)
    kp = project(cam, K)
    assert cam[..., 2].min() > 3.0
    rel = cam - cam[:, :1]
    out = place(rel, kp, None, K, fps, options=MotionOptions.legacy())  # per-frame placement
    assert np.abs(out.joints_camera - cam).max() < 1e-6  # exact 2D + 3D: exact trajectory
    planted = np.stack([out.joints_world[truth[:, c] == 1, f, 2]
                        for c, f in enumerate((LEFT_FOOT, RIGHT_FOOT))], 0)
    tol = 1e-3 if pitch == 0 else 0.03  # the ridge prior leaves a little of a real tilt
    assert np.abs(planted - ANKLE_HEIGHT).max() < tol  # floor at z=0, ankles at rest height
    assert abs(out.camera_height - 1.5) < (1e-3 if pitch == 0 else 0.05)
    up = out.camera_to_world.T @ [0, 0, 1.0]  # world up seen from the camera
    est_pitch = math.degrees(math.atan2(-up[2], -up[1]))
    assert abs(est_pitch - pitch) < 1.0
    known = truth >= 0
    assert np.mean(out.contacts[known] == (truth[known] == 1)) > 0.97
    assert out.contacts[truth == 1].mean() > 0.97 and not out.contacts[truth == 0].any()


def test_placement_keeps_the_pose_rigid_and_depth_in_front() -> None:
    rng = np.random.default_rng(1)
    rel = (TEMPLATE_POSE - TEMPLATE_POSE[0]) @ CAMERA_TO_WORLD_AXES  # world -> camera axes
    rel = np.repeat(rel[None] * 0.01, 12, 0)  # a degenerate, tiny lift
    kp = rng.uniform(300, 400, (12, 17, 2))
    out = place(rel, kp, np.ones((12, 17)), intrinsics(640, 480), 25.0)
    assert np.all(out.joints_camera[:, 0, 2] >= 0.5 - 1e-6)
    assert np.allclose(bone_lengths(out.joints_world), bone_lengths(rel), atol=1e-6)


def test_intrinsics_from_fov() -> None:
    K = intrinsics(1920, 1080, fov_deg=90)
    assert K[0, 0] == pytest.approx(960) and tuple(K[:2, 2]) == (960, 540)
    assert intrinsics(1920, 1080, focal_px=1000.0)[1, 1] == 1000.0
    for bad in (math.inf, math.nan, -5.0, 0.0):
        with pytest.raises(ValueError, match="focal length must be a finite, positive"):
            intrinsics(640, 480, focal_px=bad)
        with pytest.raises(ValueError, match="focal length must be a finite, positive"):
            PipelineOptions(focal_px=bad).check()
    with pytest.raises(ValueError, match=r"field of view must be in \[1, 179\] degrees"):
        PipelineOptions(fov_deg=math.nan).check()


def test_preflight_checks_name_the_users_paths(tmp_path) -> None:
    from dgnet_core.errors import OutputError, WeightsError
    from dgnet_core.preflight import check_device, check_model_file, check_output_dir

    taken = tmp_path / "taken"
    taken.write_text("user data")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(OutputError, match=f"output folder is an existing file: {taken}$"):
        check_output_dir(taken)
    with pytest.raises(OutputError, match=f"under a file: {taken}$"):
        check_output_dir(taken / "sub" / "dir")
    assert taken.read_text() == "user data"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with pytest.raises(WeightsError, match=rf"must end in \.safetensors or \.onnx: {notes}$"):
        check_model_file(notes)
    with pytest.raises(WeightsError, match=f"model file not found: {tmp_path / 'm.onnx'}$"):
        check_model_file(tmp_path / "m.onnx")
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    assert check_model_file(onnx) == onnx
    with pytest.raises(WeightsError, match=f"{onnx} is an ONNX model; the torch back-end"):
        check_model_file(onnx, backend="torch")
    st = tmp_path / "w.safetensors"
    st.write_bytes(b"x")
    with pytest.raises(WeightsError, match=f"{st} has no ONNX export beside it"):
        check_model_file(st, backend="onnx")
    check_device("cpu")
    check_device("auto")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(WeightsError, match="the CUDA device is not available"):
            check_device("cuda")


# ------------------------------------------------------------------------------ BVH


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


def _posed_sequence(n: int = 25) -> np.ndarray:
    """World joints posed by FK from the template with random rotations (rigid bones)."""
    rng = np.random.default_rng(3)
    rest = TEMPLATE_POSE
    out = np.zeros((n, NUM_JOINTS, 3))
    for t in range(n):
        glob = [None] * NUM_JOINTS
        out[t, 0] = [0.1 * t, 2.0 - 0.05 * t, 0.95]
        for j in range(NUM_JOINTS):
            local = Rotation.from_rotvec(rng.normal(0, 0.4, 3))
            p = PARENTS[j]
            glob[j] = local if p < 0 else glob[p] * local
            if p >= 0:
                out[t, j] = out[t, p] + glob[p].apply(rest[j] - rest[p])
    return out


def test_bvh_round_trips_through_a_reader(tmp_path) -> None:
    joints = _posed_sequence()
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


# ------------------------------------------------------------------------------ files


def _result(n: int = 12) -> LiftResult:
    rng = np.random.default_rng(0)
    mp = rng.normal(size=(n, 33, 3)).astype(np.float32)
    mp[3] = np.nan
    det = np.ones(n, bool)
    det[3] = False
    return LiftResult(
        joints_world=_posed_sequence(n).astype(np.float32),
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


# ------------------------------------------------------------------------------ tracking


def _obs(centre: tuple[float, float], size: float = 0.3) -> PoseObservation:
    shape = np.random.default_rng(0).uniform(-0.5, 0.5, (33, 2))
    pts = np.array(centre) + shape * size
    img = np.concatenate([pts, np.zeros((33, 1))], 1).astype(np.float32)
    return PoseObservation(img, np.ones(33, np.float32), np.zeros((33, 3), np.float32))


def test_tracker_follows_one_person_and_never_jumps() -> None:
    tracker = PersonTracker(1000, 1000)
    small, big = _obs((0.8, 0.5), 0.1), _obs((0.3, 0.5), 0.3)
    assert tracker.choose([small, big]) is big  # starts with the largest person
    xs = []
    for t in range(30):  # the two swap order in MediaPipe's list and drift past each other
        a, b = _obs((0.3 + 0.01 * t, 0.5)), _obs((0.8 - 0.01 * t, 0.5), 0.1)
        chosen = tracker.choose([b, a] if t % 2 else [a, b])
        xs.append(float(chosen.image[:, 0].mean()))
    assert np.abs(np.diff(xs)).max() < 0.03
    assert tracker.choose([_obs((0.95, 0.5), 0.1)]) is None  # only someone far away is left
    assert tracker.choose([]) is None


def test_task_path_env_var(tmp_path, monkeypatch) -> None:
    task = tmp_path / "p.task"
    task.write_bytes(b"x")
    monkeypatch.setenv(TASK_ENV, str(task))
    assert default_task_path() == task
    monkeypatch.setenv(TASK_ENV, str(tmp_path / "missing.task"))
    with pytest.raises(LiftError, match=TASK_ENV):
        default_task_path()


# ------------------------------------------------------------------------------ video


def _write_clip(path, n: int = 20, size=(160, 120)) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    rng = np.random.default_rng(0)
    for i in range(n):
        frame = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        frame[:10, :10] = i * 10
        writer.write(frame)
    writer.release()


def test_video_reader_range_and_errors(tmp_path) -> None:
    clip = tmp_path / "c.avi"
    _write_clip(clip)
    with VideoReader(clip) as reader:
        assert (reader.info.width, reader.info.height, reader.info.frame_count) == (160, 120, 20)
        assert reader.info.fps == pytest.approx(25.0)
        got = [(i, f.shape) for i, f in reader.frames(5, 9)]
    assert got == [(i, (120, 160, 3)) for i in range(5, 9)]
    data = clip.read_bytes()
    (tmp_path / "t.avi").write_bytes(data[: len(data) // 2])
    with VideoReader(tmp_path / "t.avi") as r:  # a cut-off file: what decodes is the video
        got = [i for i, _ in r.frames()]
        assert r.info.frame_count == 20 and 0 < len(got) < 20 and r.frames_read == len(got)
    assert got == list(range(len(got)))
    with pytest.raises(VideoError, match=rf"start frame 25 is past the end .*\({len(got)} "
                       r"frames\)"), VideoReader(tmp_path / "t.avi") as r:
        list(r.frames(25))
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(VideoError, match="cannot open"):
        VideoReader(tmp_path / "junk.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        VideoReader(tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="not found"):
        VideoReader(tmp_path / "nope.mp4")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to "
                    "make a stream-copy cut (apt-get install ffmpeg)")
def test_stream_copy_cut_reads_the_frames_that_decode(tmp_path) -> None:
    # A stream-copy cut keeps the whole stream behind an edit list: the container announces
    # every frame, fewer decode (measured: 60 announced, 34 decode). Issue 12.
    src, cut = tmp_path / "src.mp4", tmp_path / "cut.mp4"
    ff = ["ffmpeg", "-loglevel", "error", "-y"]
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=20", "-frames:v",
                    "60", "-c:v", "mpeg4", "-g", "1000", str(src)], check=True, timeout=60)
    subprocess.run([*ff, "-ss", "1.3", "-i", str(src), "-c", "copy", str(cut)], check=True,
                   timeout=60)
    with VideoReader(cut) as r:
        decoded = [i for i, _ in r.frames()]
        announced = r.info.frame_count
    assert announced == 60 and 20 < len(decoded) < announced
    assert decoded == list(range(len(decoded)))
    with VideoReader(cut) as r:
        tail = [i for i, _ in r.frames(len(decoded) - 3)]
    assert tail == decoded[-3:]


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
    import dgnet_core.detect as detect

    monkeypatch.setattr(detect, "PoseDetector", _FakeLandmarker)
    _FakeLandmarker.made = []
    cfg = detect.DetectorConfig(num_poses=2, steady_frames=5)
    tracked = []

    def frame(t, fast_sees_other=False):
        me, other = _obs((0.3 + 0.002 * t, 0.5)), _obs((0.8, 0.5), 0.25)

        def poses(num_poses):
            if num_poses == 1:  # the one-pose landmarker follows whoever it found first
                return [other] if fast_sees_other else [me]
            return [other, me]
        return t, poses

    with detect.TrackingDetector(1000, 1000, None, cfg) as det:
        for t in range(12):
            tracked.append(_scripted(det, *frame(t)))
        assert _FakeLandmarker.made == [2, 1]   # full for 5 steady frames, then fast
        assert det.fast_frames == 7
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
    import dgnet_core.detect as detect

    monkeypatch.setattr(detect, "PoseDetector", _FakeLandmarker)
    _FakeLandmarker.made = []
    with detect.TrackingDetector(1000, 1000, None,
                                 detect.DetectorConfig(fast_tracking=False)) as det:
        for t in range(40):
            _scripted(det, t, lambda n: [_obs((0.5, 0.5))])
    assert _FakeLandmarker.made == [2] and det.fast_frames == 0


# ---------------------------------------------------- lifting while detecting (pipeline)


def _tiny_lifter(output: str = "xyz"):
    from dgnet_core.config import DGNetConfig
    from dgnet_core.lifting import Lifter
    from dgnet_core.weights import random_model

    cfg = DGNetConfig(num_blocks=1, channels=32, importance_hidden=8, block_head_hidden=16,
                      output=output)
    return Lifter.from_model(random_model(cfg))


def _synthetic_detections(n: int, missing: list[int], width: int = 640, height: int = 480):
    """Poses of a person swaying across the frame, None in ``missing`` frames."""
    from dgnet_core.detect import Detections

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
    from dgnet_core.video import VideoInfo

    def fake_iter_detect(video, start=0, end=None, task_path=None, config=None, chunk=4,
                         on_frame=None):
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
    monkeypatch.setattr(pipeline, "iter_detect", fake_iter_detect)


def _drive(gen):
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


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
    from dgnet_core.pipeline import iter_pipeline

    poses, det = _synthetic_detections(150, [0, 1, 50, 51, 52, 100, 149])
    lifter = _tiny_lifter()
    raw = PipelineOptions(cleanup=False, foot_lock=False)  # placement's choices are discrete
    expected = _drive(iter_pipeline("synthetic.mp4", raw, detections=det, lifter=lifter))
    _patch_detection(monkeypatch, poses, det)
    threads = _lift_threads(lifter)
    result = _drive(iter_pipeline("synthetic.mp4", raw, lifter=lifter))
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
        gen = iter_pipeline("synthetic.mp4", lifter=_tiny_lifter())
        for _ in range(40):
            next(gen)
        assert len(workers()) == 1
        if how == "close":
            gen.close()
        else:
            del gen
            gc.collect()
        assert workers() == []


def test_balanced_model_gets_the_intrinsics(tmp_path) -> None:
    from dgnet_core.lifting import Lifter
    from dgnet_core.pipeline import iter_pipeline
    from dgnet_core.weights import export_onnx

    lifter = _tiny_lifter("balanced")
    kp = np.random.default_rng(2).uniform(100, 500, (9, 17, 2)).astype(np.float32)
    with pytest.raises(ValueError, match="intrinsics"):
        lifter.lift(kp, None, 640, 480)
    K1, K2 = intrinsics(640, 480, 55.0), intrinsics(640, 480, 90.0)
    a = lifter.lift(kp, None, 640, 480, intrinsics=K1)
    b = lifter.lift(kp, None, 640, 480, intrinsics=K2)
    assert np.isfinite(a).all() and np.abs(a - b).max() > 1e-3  # the camera matters
    # onnxruntime takes the same ``cam`` input and gives the same answer.
    import torch

    onnx = Lifter.from_onnx(export_onnx(_balanced_model(), tmp_path / "b.onnx"))
    with torch.no_grad():
        ref = Lifter.from_model(_balanced_model()).lift(kp, None, 640, 480, intrinsics=K1)
    assert np.abs(onnx.lift(kp, None, 640, 480, intrinsics=K1) - ref).max() < 1e-4
    with pytest.raises(ValueError, match="intrinsics"):
        onnx.lift(kp, None, 640, 480)
    # The pipeline passes its intrinsics: the lifted poses follow fov_deg.
    _, det = _synthetic_detections(40, [])
    results = [_drive(iter_pipeline("synthetic.mp4", PipelineOptions(fov_deg=fov,
                                                                     cleanup=False,
                                                                     foot_lock=False),
                                    detections=det, lifter=lifter)) for fov in (55.0, 90.0)]
    expected = lifter.lift(results[0].keypoints_2d, results[0].confidence, 640, 480,
                           intrinsics=results[0].intrinsics)
    assert np.abs(bone_lengths(results[0].joints_camera)
                  - bone_lengths(smooth(expected, "savgol", 30.0))).max() < 1e-4
    assert np.abs(bone_lengths(results[0].joints_camera)
                  - bone_lengths(results[1].joints_camera)).max() > 1e-3


def _balanced_model():
    from dgnet_core.config import DGNetConfig
    from dgnet_core.weights import random_model

    return random_model(DGNetConfig(num_blocks=1, channels=32, importance_hidden=8,
                                    block_head_hidden=16, output="balanced"), seed=5)


def test_flip_tta_in_one_call_averages_the_mirrored_prediction() -> None:
    from dgnet_core.lifting import flip_input
    from dgnet_core.skeleton import FLIP_PERM

    lifter = _tiny_lifter()
    lifter.flip_tta = True  # asked for (the default is on only for left/right-symmetric nets)
    kp = np.random.default_rng(3).uniform(100, 500, (21, 17, 2)).astype(np.float32)
    calls = []
    run = lifter.run_batch
    lifter.run_batch = lambda x, cam=None: (calls.append(len(x)), run(x, cam))[1]
    lifter.batch_size = 16
    y = lifter.lift(kp, None, 640, 480)
    assert calls == [16, 16, 10]  # 8 + 8 mirrored windows per call, last 5 + 5
    lifter.flip_tta = False
    plain = lifter.lift(kp, None, 640, 480)
    mirrored_px = kp[:, list(FLIP_PERM)].copy()
    mirrored_px[..., 0] = 640 - mirrored_px[..., 0]
    m = lifter.lift(mirrored_px, None, 640, 480)[:, list(FLIP_PERM)]
    m[..., 0] *= -1
    assert np.abs(y - 0.5 * (plain + m)).max() < 1e-5
    assert flip_input(np.zeros((1, 17, 2))).shape == (1, 17, 2)


def test_frames_are_read_ahead_on_a_thread_that_stops(tmp_path) -> None:
    import threading

    from dgnet_core.detect import _Prefetch

    def readers():
        return [t for t in threading.enumerate() if t.name == "lift-video-decode"]

    _write_clip(tmp_path / "c.avi", n=20)
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
