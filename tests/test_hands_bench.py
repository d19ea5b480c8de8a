"""training.hands_bench scoring on made-up hands, training.synthetic.hands' set-up without
Blender, and one rendered hand found by MediaPipe (slow)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dgnet_core.motion.hands import rest_hand
from training.hands_bench import (
    GROUPINGS,
    Detection,
    ImageScore,
    flexion_errors,
    palm_angle_deg,
    score_folder,
    score_image,
    summarise,
    write_report,
)
from training.synthetic.camera import CameraSpec
from training.synthetic.hands import (
    ASSETS,
    MP_JOINTS,
    POSES,
    HandRenderSpec,
    HandSet,
    blender_camera_matrix,
    look_rotation,
    shot_distance,
)

REPO = Path(__file__).resolve().parents[1]
HAS_BPY = importlib.util.find_spec("bpy") is not None
W = H = 400
F = 50.0 / 36.0 * W


def _rotation(axis, deg: float) -> np.ndarray:
    a = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    t = np.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def _hand(side: int, curl: float = 20.0, turn: float = 30.0) -> np.ndarray:
    """(21, 3) camera points (metres, 0.5 m away) of a hand curled by ``curl`` degrees at
    every joint. The palm coordinates are mirrored for the right hand, so that the
    fingers curl to the side ``palm_frame`` calls the palm's inner side."""
    p = rest_hand(curl) * ([1.0, 1.0, 1.0] if side == 0 else [1.0, 1.0, -1.0])
    p = p @ _rotation([1.0, 0.4, 0.2], turn).T
    return p - p.mean(0) + [0.02, -0.01, 0.5]


def _truth(points: list[np.ndarray], sides: list[int]) -> dict[str, np.ndarray]:
    """A truth dict as ``training.synthetic.hands`` writes it. The 2D points are the weak
    perspective projection (every point at the hand's mean depth), so that image landmarks
    built the same way are exact."""
    pc = np.stack(points)
    z0 = pc[:, :, 2].mean(1, keepdims=True)
    uv = pc[..., :2] * F / z0[..., None] + [W / 2, H / 2]
    n = len(points)
    hands = np.array(["left", "right"])[sides]
    return dict(key=np.array([f"{h}_{i}" for i, h in enumerate(hands)]),
                image=np.array([f"{i}.png" for i in range(n)]), hand=hands,
                side=np.array(sides), pose=np.array(["open"] * n), roll_deg=np.zeros(n),
                shot=np.array(["close"] * n), view=np.array(["palm"] * n),
                points_camera=pc, points_2d=uv, width=np.int64(W), height=np.int64(H))


def _perfect(truth: dict[str, np.ndarray], i: int, label: str | None = None) -> Detection:
    """What a perfect hand landmarker would return for image ``i``."""
    pc = truth["points_camera"][i]
    z0 = pc[:, 2].mean()
    image = np.concatenate([truth["points_2d"][i],
                            ((pc[:, 2] - pc[0, 2]) * F / z0)[:, None]], 1) / [W, H, W]
    return Detection(label or str(truth["hand"][i]).title(), 0.99, image, pc - pc.mean(0))


@pytest.mark.parametrize("side", [0, 1])
def test_perfect_detection_scores_zero(side):
    truth = _truth([_hand(side)], [side])
    s = score_image(truth, 0, _perfect(truth, 0))
    assert s.detected and s.label_ok and s.hand == ("left", "right")[side]
    for name in ("fingers_world", "fingers_image", "thumb_world", "thumb_image",
                 "palm_world", "palm_image", "uv_err"):
        assert getattr(s, name) == pytest.approx(0.0, abs=1e-4), name
    # The hand is curled: the truth's finger angles are not zero.
    assert np.mean(np.asarray(s.truth_flex)[1:]) > 10.0


@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize("deg", [10.0, 35.0, 120.0])
def test_a_turned_palm_gives_the_turn_and_no_flexion_error(side, deg):
    true = _hand(side)
    turned = (true - true[0]) @ _rotation([0.3, -1.0, 0.5], deg).T + true[0]
    assert palm_angle_deg(turned, true, side) == pytest.approx(deg, abs=1e-6)
    assert np.abs(flexion_errors(turned, true, side)).max() < 1e-6


def test_flexion_error_is_the_difference_in_curl():
    for side in (0, 1):
        err = flexion_errors(_hand(side, curl=35.0), _hand(side, curl=15.0), side)
        assert err[1:] == pytest.approx(np.full((4, 3), 20.0), abs=0.5)


def test_wrong_label_no_detection_and_the_side_split(tmp_path):
    truth = _truth([_hand(1), _hand(0), _hand(1, curl=40.0)], [1, 0, 1])
    scores = [score_image(truth, 0, _perfect(truth, 0)),
              score_image(truth, 1, _perfect(truth, 1, label="Right")),   # wrong label
              score_image(truth, 2, None)]
    assert not scores[1].label_ok and not scores[2].detected
    assert np.isnan(scores[2].fingers_world) and len(scores[2].truth_flex) == 5
    overall = {g.side: g for g in summarise(scores)}
    assert set(overall) == {"all", "right", "left"}
    a, r, le = overall["all"], overall["right"], overall["left"]
    assert (a.images, a.detected, a.label_ok) == (3, 2, 1)
    assert (r.images, r.detected, r.label_ok) == (2, 1, 1)
    assert (le.images, le.detected, le.label_ok) == (1, 1, 0)
    assert r.fingers_world == pytest.approx(0.0, abs=1e-4) and r.flips_world == 0
    by_pose = summarise(scores, ("pose", "shot", "view"))
    assert by_pose[0].group == {"pose": "open", "shot": "close", "view": "palm"}
    md, js = write_report(scores, tmp_path, {"images": 3})
    text = md.read_text()
    assert "Overall and by side" in text and "By pose, shot and view" in text
    assert "(wrong)" in text
    data = json.loads(js.read_text())          # strict JSON: NaN written as null
    assert data["images"][2]["fingers_world"] is None
    assert set(data["groups"]) == {" x ".join(by) or "all" for by in GROUPINGS}
    assert ImageScore(**{**data["images"][0], "fingers_world": 0.0}).hand == "right"


def test_hand_set_sizes_and_names():
    assert len(HandSet()) == 2 * 2 * 2 * (len(POSES) + 2)         # open at 3 rolls: 56
    assert len(HandSet(rolled_poses=None)) == 2 * 2 * 2 * 3 * len(POSES)  # 120
    one = HandSet(hands=("right",), poses=("open",), rolls=(0,), shots=("close",),
                  views=("palm",))
    assert len(one) == 1
    with pytest.raises(ValueError, match="pose"):
        HandSet(poses=("wave",))
    assert len(MP_JOINTS) == 21 and MP_JOINTS[0] == "wrist"
    assert MP_JOINTS[4] == "thumb-tip" and MP_JOINTS[20] == "pinky-finger-tip"
    assert all(p.angles().shape == (5, 4) for p in POSES.values())


def test_the_hand_camera_matches_the_scene_camera_conventions():
    spec = CameraSpec(location=(0.3, -2.0, 1.2), target=(0.0, 0.5, 0.9))
    fwd = np.subtract(spec.target, spec.location)
    rot = look_rotation(fwd, [0.0, 0.0, 1.0])
    assert rot == pytest.approx(spec.rotation())
    assert blender_camera_matrix(rot, np.array(spec.location)) == pytest.approx(
        spec.blender_matrix())
    # A hand length at the shot's distance spans that share of the picture height.
    r = HandRenderSpec(size=W)
    d = shot_distance(0.2, 0.5, r)
    k = r.intrinsics()
    top, bottom = k @ [0, -0.1, d], k @ [0, 0.1, d]
    assert (bottom[1] / bottom[2] - top[1] / top[2]) / W == pytest.approx(0.5)


def test_assets_and_their_licence():
    for name in ("left.glb", "right.glb"):
        data = (ASSETS / name).read_bytes()
        assert data[:4] == b"glTF" and 90_000 < len(data) < 100_000
    licence = (ASSETS / "LICENSE-generic-hand.md").read_text()
    assert "Copyright (c) 2019 Amazon" in licence and "MIT License" in licence
    readme = (ASSETS / "README.md").read_text()
    assert "c5356912d0c3bc43c6db8aa3926d8951a7716449" in readme


def test_the_hands_command_line():
    from training.synthetic.__main__ import _parse

    args = _parse(["hands", "--out", "x", "--poses", "open,fist", "--rolls", "0",
                   "--all-rolls"])
    assert args.poses == ("open", "fist") and args.rolls == ("0",) and args.all_rolls
    assert args.hands == ("right", "left") and args.size == HandRenderSpec.size


@pytest.mark.blender  # renders one 256 px hand with Cycles (a few seconds) and detects it
def test_one_rendered_hand_is_found_with_its_fingers(tmp_path):
    if not HAS_BPY:
        pytest.skip("needs the bpy module")
    from dgnet_core.detection.hands import default_hand_task_path
    from dgnet_core.errors import LiftError

    try:
        default_hand_task_path()
    except LiftError as exc:
        pytest.skip(str(exc))
    # Blender renders in its own process: bpy and MediaPipe stay apart.
    run = subprocess.run([sys.executable, "-m", "training.synthetic", "hands", "--out",
                          str(tmp_path), "--hands", "right", "--poses", "open", "--rolls",
                          "0", "--shots", "close", "--views", "palm", "--size", "256",
                          "--samples", "8"], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    with np.load(tmp_path / "truth.npz") as z:      # plain arrays, no pickles
        assert z["points_camera"].shape == (1, 21, 3) and z["hand"][0] == "right"
        assert (z["points_camera"][0, :, 2] > 0.2).all()
        assert ((z["points_2d"] > 0) & (z["points_2d"] < 256)).all()
    (s,) = score_folder(tmp_path, progress=False)
    assert s.detected and s.label_ok, s
    assert s.uv_err < 0.15, s
    # The feasibility runs: about 15 degrees (world) and 6 (image) for this image.
    assert s.fingers_world < 30.0 and s.fingers_image < 20.0, s
    assert s.palm_world < 45.0 and s.palm_image < 45.0, s
