"""Several people (``--people``): identities through a crossing and a return, the count
asked for, crops of a wide frame merged, one world for everybody, and the whole job from
a clip to one file set per person (a scripted landmarker, a tiny lifter)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from engine_helpers import tiny_lifter, write_clip
from test_tracking import FPS, H, Person, W, render

from dgnet_core.cli import main as cli_main
from dgnet_core.contract import LiftResult, PipelineOptions, parse_people
from dgnet_core.detection import people as people_mod
from dgnet_core.detection.observation import PoseObservation
from dgnet_core.detection.people import CropDetector, PeopleTracker, crop_boxes
from dgnet_core.formats.results import load_npz
from dgnet_core.people import camera_pose, depth_scale, one_world, run_people
from dgnet_core.skeleton import ANKLE_HEIGHT, LFOOT, RFOOT, TEMPLATE_POSE


def _follow(frames, wanted: int = 0, seed: int = 1):
    """Run a ``PeopleTracker`` over ``frames`` (lists of named ``Person``s, back to front);
    returns per frame {name: track index} and the untracked counts."""
    tracker = PeopleTracker(W, H, FPS, wanted)
    rng = np.random.default_rng(seed)
    out, left = [], []
    for people in frames:
        rgb = render([p for _, p in people], rng)
        owner, extra = tracker.observe([p.observation() for _, p in people], rgb)
        out.append({name: t for (name, _), t in zip(people, owner) if t >= 0})
        left.append(extra)
    return out, left, tracker


def _names_per_track(assigned) -> dict[int, set[str]]:
    tracks: dict[int, set[str]] = {}
    for frame in assigned:
        for name, t in frame.items():
            tracks.setdefault(t, set()).add(name)
    return tracks


def test_two_people_crossing_keep_their_identities() -> None:
    """A (red) walks right, B (blue) walks left in front of her and hides her for a few
    frames: two tracks, each only ever one person, and A found again after."""
    frames = []
    for t in range(44):
        a = Person(0.22 + 0.0125 * t, 0.72, 0.5)
        b = Person(0.80 - 0.0125 * t, 0.75, 0.55, shirt=(30, 60, 200))
        hidden = abs(a.x - b.x) < 0.06
        frames.append(([] if hidden else [("A", a)]) + [("B", b)])
    assigned, _, tracker = _follow(frames)
    assert len(tracker.tracks) == 2
    assert sorted(map(sorted, _names_per_track(assigned).values())) == [["A"], ["B"]]
    assert assigned[-1].keys() == {"A", "B"}


def test_a_person_who_leaves_and_comes_back_elsewhere_is_the_same_person() -> None:
    """A walks out on the right, is away 1.5 s, comes back on the far left (the position
    test alone would not have her); B stays in view. Somebody new in another shirt is a new
    person."""
    frames = []
    b = Person(0.5, 0.75, 0.5, shirt=(30, 60, 200))
    for t in range(90):
        people = [("B", b)]
        if t < 15:
            people.append(("A", Person(0.75 + 0.01 * t, 0.72, 0.3)))
        elif t >= 60:
            people.append(("A", Person(0.05 + 0.004 * (t - 60), 0.72, 0.3)))
        frames.append(people)
    assigned, _, tracker = _follow(frames)
    assert len(tracker.tracks) == 2, _names_per_track(assigned)
    assert assigned[14]["A"] == assigned[70]["A"]
    green = [f if i < 60 else [(n if n == "B" else "C", replace(p, shirt=(30, 160, 40))
                                if n == "A" else p) for n, p in f]
             for i, f in enumerate(frames)]
    assigned, _, tracker = _follow(green)
    assert len(tracker.tracks) == 3 and assigned[70]["C"] != assigned[14]["A"]


def test_only_as_many_people_as_asked_for() -> None:
    """Three people, two asked for: the two largest are followed, the third is counted as
    left to nobody in every frame."""
    frames = [[("S", Person(0.2, 0.6, 0.3, shirt=(30, 160, 40))), ("A", Person(0.5, 0.72, 0.5)),
               ("B", Person(0.8, 0.75, 0.55, shirt=(30, 60, 200)))] for _ in range(10)]
    assigned, left, tracker = _follow(frames, wanted=2)
    assert len(tracker.tracks) == 2
    assert all(f.keys() == {"A", "B"} for f in assigned)
    assert left == [1] * 10


def test_wide_frames_are_searched_in_three_overlapping_squares() -> None:
    assert crop_boxes(1920, 1080) == [(0, 0, 1080, 1080), (420, 0, 1080, 1080),
                                      (840, 0, 1080, 1080)]
    assert crop_boxes(1080, 1920) == [(0, 0, 1080, 1920)]
    assert crop_boxes(1000, 1000) == [(0, 0, 1000, 1000)]
    assert crop_boxes(640, 480) == [(0, 0, 640, 480)]


def _pose_at(x0: float, x1: float, y0: float = 0.2, y1: float = 0.9) -> PoseObservation:
    """33 landmarks filling the box (normalised), all visible."""
    g = np.random.default_rng(0).uniform(0, 1, (33, 2))
    img = np.concatenate([np.c_[x0 + g[:, 0] * (x1 - x0), y0 + g[:, 1] * (y1 - y0)],
                          np.zeros((33, 1))], 1).astype(np.float32)
    return PoseObservation(img, np.ones(33, np.float32), np.zeros((33, 3), np.float32))


class _CropLandmarker:
    """Each crop's landmarker: the poses its crop (by x offset) sees, in crop units."""

    def __init__(self, answers) -> None:
        self.answers = answers

    def detect(self, crop, timestamp_ms):
        return self.answers

    def close(self) -> None:
        pass


def test_crops_give_each_person_once_in_frame_coordinates() -> None:
    """A person inside the left and the middle crop is returned once (from the crop that
    holds them whole), at the right place in the frame; a person only the right crop sees
    is returned too."""
    det = CropDetector.__new__(CropDetector)
    det.width, det.height = 1920, 1080
    det.boxes = crop_boxes(1920, 1080)
    # person P spans frame x 500-700 px; the left crop (0-1080) sees it at 0.46-0.65, the
    # middle crop (420-1500) at 0.07-0.26; Q is at frame x 1600-1800 (right crop 840-1920)
    det._detectors = [_CropLandmarker([_pose_at(500 / 1080, 700 / 1080)]),
                      _CropLandmarker([_pose_at(80 / 1080, 280 / 1080)]),
                      _CropLandmarker([_pose_at(760 / 1080, 960 / 1080)])]
    poses = det.detect(np.zeros((1080, 1920, 3), np.uint8), 0)
    assert len(poses) == 2
    spans = sorted((float(p.image[:, 0].min() * 1920), float(p.image[:, 0].max() * 1920))
                   for p in poses)
    assert spans[0] == pytest.approx((500, 700), abs=25)
    assert spans[1] == pytest.approx((1600, 1800), abs=25)


def _standing(root_cam: np.ndarray, seen: np.ndarray, rot: np.ndarray, height: float,
              n: int = 12, scale: float = 1.0) -> LiftResult:
    """A person standing still (the template) as the camera ``seen`` (world = seen @ cam)
    shows them, root at ``root_cam`` in camera axes, the whole body ``scale`` x as big and
    as far (the same picture), placed with camera pose (rot, height); both feet planted."""
    rel_world = TEMPLATE_POSE - TEMPLATE_POSE[0]
    rel_cam = rel_world @ seen
    cam = np.repeat((rel_cam + root_cam)[None], n, 0) * scale
    world = cam @ rot.T
    world[..., 2] += height
    z = np.zeros((n, 17), np.float32)
    return LiftResult(
        joints_world=world.astype(np.float32), joints_camera=cam.astype(np.float32),
        keypoints_2d=np.zeros((n, 17, 2), np.float32), confidence=z + 1,
        mp_world=np.zeros((n, 33, 3), np.float32), mp_image=np.zeros((n, 33, 3), np.float32),
        contacts=np.ones((n, 2), bool), detected=np.ones(n, bool),
        frame_indices=np.arange(n), fps=25.0, width=640, height=480,
        intrinsics=np.eye(3), foot_dirs=np.tile(np.array([0.0, -1.0, 0.0]), (n, 2, 1)),
        rest_offsets=scale * (TEMPLATE_POSE - TEMPLATE_POSE[0]))


def _camera(pitch_deg: float) -> np.ndarray:
    """world = R @ cam for a camera looking along +Y, pitched down by ``pitch_deg``."""
    base = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # cam x right, y down, z forward
    a = np.radians(pitch_deg)
    tilt = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return tilt @ base


def test_one_world_puts_everybody_on_the_first_persons_floor_at_the_right_distance() -> None:
    """A (seen longest) was placed with the true camera; B with a wrong floor tilt, lifted
    30 % too big and so 30 % too far (the same picture). After ``one_world`` B shares A's
    camera, stands on the floor, is where the truth has him and has his true size."""
    rot, height = _camera(10.0), 1.4
    lift = (TEMPLATE_POSE[0] - TEMPLATE_POSE[list((LFOOT, RFOOT))].mean(0))[2]
    # the true roots: both standing on the floor (pelvis at ankle height + lift)
    def root_at(x: float, y: float) -> np.ndarray:
        world = np.array([x, y, ANKLE_HEIGHT + lift])
        return rot.T @ (world - [0, 0, height])
    a = _standing(root_at(-0.5, 4.0), rot, rot, height, n=20)
    truth_b = root_at(1.0, 6.0)
    b = _standing(truth_b, rot, _camera(4.0), 1.1, n=12, scale=1.3)
    own_b, _ = camera_pose(b)
    from dgnet_core.contract import HandResult

    palm = np.tile(np.eye(3), (12, 2, 1, 1))   # the palms, in B's own world
    b.hands = HandResult(np.zeros((12, 2, 21, 3)), np.ones((12, 2)), np.zeros((12, 2, 5, 3)),
                         np.zeros((12, 2, 5)), np.ones((12, 2)), palm)
    assert camera_pose(a)[0] == pytest.approx(rot, abs=1e-5)
    assert depth_scale(b, rot, height) == pytest.approx(1 / 1.3, rel=0.02)
    one_world([a, b])
    assert camera_pose(b)[0] == pytest.approx(rot, abs=1e-4)
    assert b.joints_world[:, [LFOOT, RFOOT], 2] == pytest.approx(ANKLE_HEIGHT, abs=0.01)
    assert b.joints_camera[0, 0] == pytest.approx(truth_b, abs=0.02)
    assert b.rest_offsets == pytest.approx(TEMPLATE_POSE - TEMPLATE_POSE[0], abs=0.005)
    gap = np.linalg.norm(a.joints_world[0, 0, :2] - b.joints_world[0, 0, :2])
    assert gap == pytest.approx(np.hypot(1.5, 2.0), rel=0.02)
    # where B's feet point is turned into the shared world the same way
    want = (np.array([0.0, -1.0, 0.0]) @ own_b) @ rot.T
    assert b.foot_dirs[0, 0] == pytest.approx(want, abs=1e-5)
    # ... and where its palms face
    assert b.hands.palm[0, 1] == pytest.approx(rot @ own_b.T, abs=1e-5)


def test_people_option_spelling() -> None:
    assert parse_people("all") == 0 and parse_people("ALL") == 0 and parse_people("3") == 3
    with pytest.raises(ValueError, match="number or 'all'"):
        parse_people("some")
    with pytest.raises(ValueError, match="people"):
        PipelineOptions(people=7)
    assert PipelineOptions().people == 1


class _TwoWalkers:
    """The landmarker for the whole job: two people in every frame, one walking right and
    one walking left, well apart (a scripted stand-in for MediaPipe)."""

    def __init__(self, task_path, config) -> None:
        pass

    def detect(self, rgb, timestamp_ms):
        t = timestamp_ms / 40.0
        a = Person(0.25 + 0.004 * t, 0.72, 0.5).observation()
        b = Person(0.75 - 0.002 * t, 0.78, 0.6, shirt=(30, 60, 200)).observation()
        return [a, b]

    def close(self) -> None:
        pass


def test_the_whole_job_lifts_each_person_into_one_world(tmp_path, monkeypatch) -> None:
    clip = tmp_path / "two.avi"
    write_clip(clip, n=30, size=(W, H))
    monkeypatch.setattr(people_mod, "PoseDetector", _TwoWalkers)
    res = run_people(clip, PipelineOptions(people=0), lifter=tiny_lifter())
    assert [r.person for r in res] == [1, 2] and all(len(r) == 30 for r in res)
    assert camera_pose(res[0])[0] == pytest.approx(camera_pose(res[1])[0], abs=1e-3)
    # the job itself asked for one person, two in view: the larger one, and one line
    one = run_people(clip, PipelineOptions(people=1), lifter=tiny_lifter())
    assert len(one) == 1
    assert one[0].keypoints_2d[0, 0, 0] > W / 2   # the larger walker starts on the right
    assert one.warnings()[0].startswith("more people in view than asked for (up to 2")


def test_the_command_line_writes_one_file_set_per_person(tmp_path, monkeypatch, capsys
                                                         ) -> None:
    clip = tmp_path / "two.avi"
    write_clip(clip, n=30, size=(W, H))
    monkeypatch.setattr(people_mod, "PoseDetector", _TwoWalkers)
    monkeypatch.setattr("dgnet_core.people.make_lifter", lambda opts: tiny_lifter())
    monkeypatch.setattr("dgnet_core.lifting.backend.resolve_runtime", lambda *a: None)
    out = tmp_path / "out"
    assert cli_main(["lift", str(clip), "-o", str(out), "--people", "all", "--formats",
                     "npz", "-q"]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["two_person1.npz", "two_person2.npz"]
    assert [load_npz(out / f).person for f in files] == [1, 2]
    assert "person 2: 30 frames" in capsys.readouterr().out


class _OneHand:
    """Stands in for ``HandDetector``: the person's left hand found in every frame, the
    right one never; counts the detectors made."""

    made = 0

    def __init__(self, *args) -> None:
        _OneHand.made += 1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def detect(self, rgb, pose):
        from dgnet_core.detection.hands import HandFrames

        out = HandFrames.empty(1)
        if pose is not None:
            out.world[0, 0] = np.random.default_rng(0).normal(scale=0.03, size=(21, 3))
            out.image[0, 0] = 0.5
            out.score[0, 0] = 0.9
        return out


def test_each_person_gets_their_own_hands(tmp_path, monkeypatch) -> None:
    clip = tmp_path / "two.avi"
    write_clip(clip, n=30, size=(W, H))
    monkeypatch.setattr(people_mod, "PoseDetector", _TwoWalkers)
    monkeypatch.setattr(people_mod, "HandDetector", _OneHand)
    _OneHand.made = 0
    res = run_people(clip, PipelineOptions(people=0, hands=True), lifter=tiny_lifter())
    assert _OneHand.made == 2   # one per person: each keeps its own crops
    for r in res:
        assert (r.hands.score[:, 0] > 0).all() and (r.hands.score[:, 1] == 0).all()
        assert r.warnings()[-1] == "the right hand was not found in any frame: its " \
            "fingers stay at rest"
