"""Hands (``--hands``): finger angles recovered from hand landmarks posed by known angles
(both hands, palm turned any way), limits, the ease to rest when a hand is lost, crops
and side assignment by the body's wrists."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dgnet_core.detection.hands import HandConfig, HandDetector, HandFrames, hand_crop
from dgnet_core.detection.observation import PoseObservation
from dgnet_core.motion.hands import (
    CHAINS,
    FingerLimits,
    ease_weights,
    finger_angles,
    hand_motion,
    palm_frame,
)

# The person's LEFT hand raised towards the camera, palm facing it (-z), fingers up (-y):
# its thumb is towards the body's middle, -x in the picture (the right hand mirrors it).
_KNUCKLES = np.array([[-0.030, -0.090, 0.0], [-0.010, -0.095, 0.0], [0.010, -0.090, 0.0],
                      [0.030, -0.080, 0.0]])
_LENGTHS = (0.040, 0.025, 0.020)
_THUMB_BASE = np.array([-0.025, -0.025, 0.0])


def _rot(axis, deg: float) -> np.ndarray:
    return Rotation.from_rotvec(np.asarray(axis, float) * np.radians(deg)).as_matrix()


def posed_hand(flex_deg: np.ndarray, spread_deg: np.ndarray, side: int = 1,
               turn: np.ndarray | None = None) -> np.ndarray:
    """(21, 3) landmarks of a hand posed by flexion (5, 3) and spread (5,) in degrees
    (the conventions of ``finger_angles``: each finger spread in the palm plane from its
    metacarpal, the thumb from the index's, then flexed about its own across axis), the
    right hand mirrored, then turned by ``turn``."""
    normal = np.array([0.0, 0.0, -1.0])   # the palm faces the camera
    pts = np.zeros((21, 3))
    pts[1] = _THUMB_BASE
    for f, chain in enumerate(CHAINS):
        base = _THUMB_BASE if f == 0 else _KNUCKLES[f - 1]
        meta = _KNUCKLES[0] if f == 0 else base
        meta = meta / np.linalg.norm(meta)
        sign = 1.0 if f <= 2 else -1.0    # about the normal, + is towards the thumb (-x)
        d0 = _rot(normal, sign * spread_deg[f]) @ meta
        axis = np.cross(d0, normal)
        axis /= np.linalg.norm(axis)
        lengths = (0.035, 0.030, 0.025) if f == 0 else _LENGTHS
        acc, p = 0.0, base
        pts[chain[1]] = base
        for j in range(3):
            acc += flex_deg[f, j]
            p = p + lengths[j] * (_rot(axis, acc) @ d0)
            pts[chain[j + 2]] = p
    if side == 1:
        pts[:, 0] *= -1
    if turn is not None:
        pts = pts @ turn.T
    return pts


def test_palm_frame_faces_the_camera_for_both_hands() -> None:
    zero = np.zeros((5, 3)), np.zeros(5)
    left, right = posed_hand(*zero, side=0), posed_hand(*zero, side=1)
    # seen from the camera, a person's left hand (on the picture's right) has its thumb
    # towards the body's middle: left of its little finger in the picture
    assert left[4, 0] < left[20, 0] and right[4, 0] > right[20, 0]
    for side in (0, 1):
        frame = palm_frame(posed_hand(*zero, side=side), side)
        assert frame[:, 2] == pytest.approx([0, 0, -1], abs=1e-6)   # palm side: the camera
        assert frame[1, 1] < -0.95   # along the fingers: up


@pytest.mark.parametrize("side", [0, 1])
def test_known_finger_angles_come_back(side: int) -> None:
    rng = np.random.default_rng(side)
    for _ in range(20):
        flex = np.column_stack([rng.uniform(5, 60, 5), rng.uniform(5, 90, 5),
                                rng.uniform(5, 60, 5)])
        flex[0] = rng.uniform(5, 40, 3)
        spread = rng.uniform(-15, 15, 5)
        spread[0] = rng.uniform(5, 40)
        turn = Rotation.random(random_state=int(rng.integers(1 << 30))).as_matrix()
        got_flex, got_spread = finger_angles(posed_hand(flex, spread, side, turn), side)
        assert np.degrees(got_flex) == pytest.approx(flex, abs=0.5)
        assert np.degrees(got_spread) == pytest.approx(spread, abs=0.5)


def test_a_fist_curls_and_an_open_hand_is_straight() -> None:
    fist = np.tile([80.0, 100.0, 70.0], (5, 1))
    fist[0] = [30.0, 50.0, 60.0]
    f, _ = finger_angles(posed_hand(fist, np.zeros(5)), 1)
    assert (np.degrees(f[1:]) > 60).all()
    f, s = finger_angles(posed_hand(np.zeros((5, 3)), np.zeros(5)), 1)
    assert np.abs(np.degrees(f[1:])).max() < 1.0


def test_angles_stay_within_anatomical_limits() -> None:
    lim = FingerLimits()
    wild = np.tile([170.0, 170.0, 170.0], (5, 1))
    f, s = finger_angles(posed_hand(wild, np.full(5, 40.0)), 1, lim)
    assert np.degrees(f[1:, 1]).max() <= lim.flex[1][1] + 1e-6
    assert np.degrees(s[1:]).max() <= lim.spread[1] + 1e-6


def test_smoothed_angles_stay_within_the_limits() -> None:
    """A hand snapping from flat to a full spread and a bent-back end joint: the smoothing
    would overshoot the limits around the jump; the angles shown never leave them (the
    real signing clip had index and middle spread 42 degrees, past the 25 limit)."""
    lim = FingerLimits()
    flat = posed_hand(np.zeros((5, 3)), np.zeros(5))
    wide = posed_hand(np.tile([0.0, 0.0, -5.0], (5, 1)), np.array([70.0, 25, 25, 25, 25]))
    pts = np.array([flat] * 6 + [wide] * 6 + [flat] * 6)[:, None].repeat(2, axis=1)
    m = hand_motion(pts, np.full((18, 2), 0.9), fps=30.0, limits=lim)
    spread, flex = np.degrees(m.spread[:, 1]), np.degrees(m.flex[:, 1])
    assert spread[:, 1:].max() <= lim.spread[1] + 1e-6
    assert spread[:, 0].max() <= lim.thumb_spread[1] + 1e-6
    assert flex[:, 1:, 2].min() >= lim.flex[2][0] - 1e-6
    assert spread[8, 1] == pytest.approx(25.0, abs=0.5)   # the spread itself is shown


def test_a_lost_hand_eases_to_rest_and_back() -> None:
    seen = np.array([True] * 10 + [False] * 20 + [True] * 10)
    w = ease_weights(seen, 6.0)
    assert (w[:10] == 1).all() and (w[30:] == 1).all()
    assert w[15] == 0 and np.abs(np.diff(w)).max() <= 1 / 6 + 1e-9   # no step
    fist = np.tile([60.0, 80.0, 50.0], (5, 1))
    pts = np.repeat(posed_hand(fist, np.zeros(5))[None, None], 40, axis=0)
    pts = np.concatenate([pts, pts], axis=1)
    pts[~seen] = np.nan
    score = np.where(seen[:, None], 0.9, 0.0) * np.ones((1, 2))
    m = hand_motion(pts, score, fps=20.0)
    shown = np.degrees(m.flex[:, 1, 1, 1] * m.weight[:, 1])
    assert shown[5] == pytest.approx(80.0, abs=2.0)
    assert shown[18] == 0.0   # relaxed to rest while away
    assert 0 < shown[12] < 80.0 and np.abs(np.diff(shown)).max() < 15.0   # eased, no snap


def _body(wrists_px: dict[int, tuple[float, float]], w: int, h: int) -> PoseObservation:
    img = np.full((33, 3), 0.5, np.float32)
    vis = np.ones(33, np.float32)
    for side, (x, y) in wrists_px.items():
        elbow, wrist, pinky, index, thumb = ((13, 15, 17, 19, 21), (14, 16, 18, 20, 22))[side]
        img[wrist, :2] = (x / w, y / h)
        img[elbow, :2] = (x / w, (y + 80) / h)
        for k, dx in ((pinky, 8), (index, -8), (thumb, -12)):
            img[k, :2] = ((x + dx) / w, (y - 15) / h)
    return PoseObservation(img, vis, np.zeros((33, 3), np.float32))


def test_crops_sit_on_the_wrists_and_stay_in_the_frame() -> None:
    cfg = HandConfig()
    pose = _body({0: (600.0, 300.0), 1: (20.0, 300.0)}, 640, 480)
    x0, y0, s, size = hand_crop(pose, 0, 640, 480, cfg)
    assert x0 + s <= 640 and x0 <= 600 - 8 < x0 + s and y0 <= 285 < y0 + s
    assert hand_crop(pose, 1, 640, 480, cfg)[0] == 0
    pose.visibility[15] = 0.1
    assert hand_crop(pose, 0, 640, 480, cfg) is None


class _Landmark:
    def __init__(self, x: float, y: float, z: float = 0.0) -> None:
        self.x, self.y, self.z = x, y, z


class _Category:
    score = 0.9
    category_name = "Left"   # the hand model's own guess: ignored for the side


class _Result:
    def __init__(self, hands: list[np.ndarray]) -> None:
        self.hand_landmarks = [[_Landmark(*p) for p in h] for h in hands]
        self.hand_world_landmarks = [[_Landmark(0.0, 0.0) for _ in h] for h in hands]
        self.handedness = [[_Category()] for _ in hands]


class _CropLandmarker:
    """Finds, in any crop, the hands whose wrists are at the given frame pixels."""

    def __init__(self, wrists: list[tuple[float, float]], boxes: list) -> None:
        self.wrists, self.boxes = wrists, boxes

    def detect_for_video(self, image, timestamp_ms):
        x0, y0, s = self.boxes.pop(0)
        hands = []
        for x, y in self.wrists:
            u, v = (x - x0) / s, (y - y0) / s
            if 0 <= u <= 1 and 0 <= v <= 1:
                hands.append(np.array([[u, v, 0.0]] * 21))
        return _Result(hands)

    def close(self) -> None:
        pass


def test_hands_go_to_the_body_side_whose_wrist_they_sit_on() -> None:
    """Both hands in both (large) crops: each side takes the hand at its own wrist; with
    one hand hidden, the visible one goes to its own side only."""
    w, h = 640, 480
    pose = _body({0: (400.0, 240.0), 1: (250.0, 240.0)}, w, h)
    cfg = HandConfig()
    boxes = [hand_crop(pose, s, w, h, cfg)[:3] for s in (0, 1)]
    det = HandDetector.__new__(HandDetector)
    det.config = cfg
    det._mp = type("mp", (), {"Image": lambda **k: None,
                              "ImageFormat": type("F", (), {"SRGB": 0})})
    det._crops, det._ts = [None, None], 0

    def landmarkers(wrists):
        one = _CropLandmarker(wrists, list(boxes))
        return [one, one]   # the left side's crop first, then the right's

    det._landmarkers = landmarkers([(252.0, 241.0), (401.0, 239.0)])
    out = det.detect(np.zeros((h, w, 3), np.uint8), pose)
    assert out.score[0].tolist() == [pytest.approx(0.9)] * 2
    assert out.image[0, 0, 0, 0] * w == pytest.approx(401.0, abs=0.5)   # left wrist's
    assert out.image[0, 1, 0, 0] * w == pytest.approx(252.0, abs=0.5)
    det._landmarkers = landmarkers([(401.0, 239.0)])
    out = det.detect(np.zeros((h, w, 3), np.uint8), pose)
    assert out.score[0, 0] > 0 and out.score[0, 1] == 0
    assert isinstance(HandFrames.join([out, out]), HandFrames)


def _bone_frames(rest: np.ndarray, roll_seed: int) -> np.ndarray:
    """(5, 3, 3, 3) rest orientations of finger bones along a rest hand (Blender's
    convention: local Y along the bone) with an arbitrary roll about it."""
    rng = np.random.default_rng(roll_seed)
    out = np.zeros((5, 3, 3, 3))
    for f, chain in enumerate(CHAINS):
        for j in range(3):
            y = rest[chain[j + 2]] - rest[chain[j + 1]]
            y /= np.linalg.norm(y)
            x = np.cross(y, rng.normal(size=3))
            x /= np.linalg.norm(x)
            out[f, j] = np.column_stack([x, y, np.cross(x, y)])
    return out


def _fk(rest: np.ndarray, frames: np.ndarray, quats: np.ndarray) -> np.ndarray:
    """Posed hand points from rest points, bone rest frames and local rotations (one
    frame), as Blender chains connected bones."""
    from dgnet_core.rotations import quat_to_matrix

    pts = rest.copy()
    for f, chain in enumerate(CHAINS):
        posed_parent, rest_parent = np.eye(3), np.eye(3)
        head = rest[chain[1]]
        for j in range(3):
            length = np.linalg.norm(rest[chain[j + 2]] - rest[chain[j + 1]])
            posed = posed_parent @ rest_parent.T @ frames[f, j] @ quat_to_matrix(quats[f, j])
            head = head + posed @ np.array([0.0, length, 0.0])
            pts[chain[j + 2]] = head
            posed_parent, rest_parent = posed, frames[f, j]
    return pts


@pytest.mark.parametrize("side", [0, 1])
def test_finger_bones_turned_by_the_quats_show_the_detected_angles(side: int) -> None:
    """A rig whose hand rests slightly curled and fanned, bones rolled any way: posed by
    ``finger_quats`` its fingers show the detected angles; weight 0 is its rest pose."""
    from dgnet_core.retarget.fingers import finger_quats

    rest_flex = np.tile([8.0, 12.0, 6.0], (5, 1))
    rest = posed_hand(rest_flex, np.array([30.0, 4.0, 0.0, 3.0, 6.0]), side)
    frames = _bone_frames(rest, side)
    rng = np.random.default_rng(7 + side)
    flex = np.radians(np.column_stack([rng.uniform(0, 70, 5), rng.uniform(0, 90, 5),
                                       rng.uniform(0, 60, 5)]))
    flex[0] = np.radians(rng.uniform(0, 45, 3))   # within the thumb's limits
    spread = np.radians(rng.uniform(-12, 12, 5))
    spread[0] = np.radians(25.0)
    q = finger_quats(rest, frames, side, flex[None], spread[None], np.ones(1))
    got_flex, got_spread = finger_angles(_fk(rest, frames, q[0]), side)
    assert np.degrees(got_flex) == pytest.approx(np.degrees(flex), abs=1.0)
    assert np.degrees(got_spread) == pytest.approx(np.degrees(spread), abs=1.0)
    q0 = finger_quats(rest, frames, side, flex[None], spread[None], np.zeros(1))
    assert _fk(rest, frames, q0[0]) == pytest.approx(rest, abs=1e-9)


def test_finger_bones_are_found_by_name() -> None:
    from dgnet_core.retarget.fingers import finger_bones

    rigify = ["hand_fk.L", "ORG-hand.L"] + [f"{f}.0{k}.L" for f in (
        "thumb", "f_index", "f_middle", "f_ring", "f_pinky") for k in (1, 2, 3)]
    hand, chains = finger_bones(rigify, 0)
    assert hand == "ORG-hand.L" and chains[0] == ["thumb.01.L", "thumb.02.L", "thumb.03.L"]
    assert finger_bones(rigify, 1) is None   # no right hand in this rig
    mixamo = ["mixamorig1:RightHand"] + [f"mixamorig1:RightHand{f}{k}" for f in (
        "Thumb", "Index", "Middle", "Ring", "Pinky") for k in (1, 2, 3)]
    hand, chains = finger_bones(mixamo, 1)
    assert hand == "mixamorig1:RightHand" and chains[4][2] == "mixamorig1:RightHandPinky3"
    assert finger_bones(mixamo[:-1], 1) is None   # a finger bone missing: no fingers


def test_relaxed_real_hands_curl_towards_the_palm() -> None:
    """The shared two-people clip: the man's hands hang relaxed, fingers slightly curled
    (as the points drawn on the frames show); both hands must measure as curled, not bent
    backwards (a wrong palm side gives minus the angles)."""
    from pathlib import Path

    from dgnet_core.detection.detect import DetectorConfig, default_task_path, detect_video
    from dgnet_core.detection.hands import default_hand_task_path
    from dgnet_core.errors import LiftError
    from dgnet_core.motion.hands import FingerLimits, HandMotionOptions, angle_points

    clip = Path(__file__).resolve().parents[2] / "shared/data/videos/two_people_1080p.avi"
    if not clip.is_file():
        pytest.skip(f"needs the shared clip {clip}")
    try:
        default_task_path(), default_hand_task_path()
    except LiftError as exc:
        pytest.skip(str(exc))
    d = detect_video(clip, 0, 30, config=DetectorConfig(hands=True))
    free = FingerLimits(flex=((-180, 180),) * 3, thumb_flex=((-180, 180),) * 3)
    pts = angle_points(d.hands, d.width, d.height, HandMotionOptions().angles_from)
    for side in (0, 1):
        found = d.hands.score[:, side] > 0
        assert found.mean() > 0.5
        flex, _ = finger_angles(pts[found, side], side, free)
        assert np.degrees(np.median(flex[:, 1:, :2])) > 10.0, side


def test_angle_points_are_the_world_landmarks_or_the_image_ones_in_pixels() -> None:
    from dgnet_core.motion.hands import angle_points

    frames = HandFrames.empty(1)
    frames.image[:] = 0.5
    frames.world[:] = 0.01
    assert np.allclose(angle_points(frames, 640, 480, "image")[0, 0, 0], [320, 240, 320])
    assert np.allclose(angle_points(frames, 640, 480, "world"), 0.01)
    with pytest.raises(ValueError, match="angles_from"):
        angle_points(frames, 640, 480, "pixels")


def test_a_crop_is_held_while_the_hand_stays_near_its_middle() -> None:
    """The landmarker follows a hand without a new palm search only in a still crop."""
    det = HandDetector.__new__(HandDetector)
    det.config, det._crops = HandConfig(), [None, None]
    assert det._held(0, (100, 100, 200)) == (100, 100, 200)
    assert det._held(0, (120, 90, 210)) == (100, 100, 200)   # 20 px off: kept
    assert det._held(0, (160, 100, 200)) == (160, 100, 200)  # 60 px off: moved
    assert det._held(0, (160, 100, 320)) == (160, 100, 320)  # much bigger: moved
    assert det._held(1, (0, 0, 50)) == (0, 0, 50)             # each side its own


def test_a_custom_bone_map_names_the_finger_bones() -> None:
    """A JSON bone map may name finger bones and the hand bone: the finger solve finds
    them there (whatever the rig calls them), the body solve leaves them alone."""
    import json

    from dgnet_core.retarget.fingers import finger_bones, wrist_bone
    from dgnet_core.retarget.rigmaps import RigMap, spec_from_rest
    from dgnet_core.roles import FINGERS

    bones = {"pelvis_b": "pelvis", "thigh_l": "thigh.L", "shin_l": "shin.L",
             "thigh_r": "thigh.R", "shin_r": "shin.R", "arm_l": "upper_arm.L",
             "fore_l": "forearm.L", "arm_r": "upper_arm.R", "fore_r": "forearm.R",
             "Palm_L": "hand.L"}
    bones.update({f"Fing_{f}_{k}_L": f"{f}.{k}.L" for f in FINGERS for k in (1, 2, 3)})
    rig_map = RigMap.from_json(json.dumps({"bones": bones}))
    names = list(bones)
    hand, chains = finger_bones(names, 0, rig_map.bones)
    assert hand == "Palm_L" and chains[1] == ["Fing_index_1_L", "Fing_index_2_L",
                                              "Fing_index_3_L"]
    assert wrist_bone(names, 0, rig_map.bones) == "Palm_L"
    assert finger_bones(names, 1, rig_map.bones) is None   # no right hand mapped
    n = len(names)
    spec = spec_from_rest(names, [-1] * n, np.tile(np.eye(3), (n, 1, 1)), np.zeros((n, 3)),
                          np.ones((n, 3)), rig_map)
    roles = {b.name: b.role for b in spec.bones}
    assert roles["Palm_L"] is None and roles["Fing_thumb_1_L"] is None
    assert roles["fore_l"] == "forearm.L"
    with pytest.raises(Exception, match="unknown body parts: index.4.L"):
        RigMap.from_json(json.dumps({"bones": {"x": "index.4.L"}}))


def test_hands_seen_rarely_or_never_are_one_warning_line() -> None:
    from test_io_formats import _result

    from dgnet_core.contract import HandResult

    r = _result(100)

    def warn(left: int, right: int) -> str | None:
        score = np.zeros((100, 2))
        score[:left, 0], score[:right, 1] = 0.9, 0.9
        r.hands = HandResult(np.full((100, 2, 21, 3), np.nan), score,
                             np.zeros((100, 2, 5, 3)), np.zeros((100, 2, 5)), score > 0,
                             np.tile(np.eye(3), (100, 2, 1, 1)))
        return r.hands_warning()

    assert warn(60, 40) is None and warn(10, 100) is None   # a tenth of the frames is enough
    assert warn(0, 0) == "no hand found in any frame: the fingers stay at rest"
    assert warn(50, 0) == "the right hand was not found in any frame: its fingers stay at rest"
    assert warn(2, 80) == ("the left hand was found in only 2 of 100 frames (too small or "
                           "hidden?): the fingers rest where none is found")
    assert warn(0, 3) == ("the left hand was not found in any frame; the right hand was found "
                          "in only 3 of 100 frames (too small or hidden?): the fingers rest "
                          "where none is found")
    assert r.hands_warning() in r.warnings()
