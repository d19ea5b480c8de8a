"""training.people_bench scoring on hand-made tracks, and training.synthetic.crowd's truth."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from dgnet_core.contract import LiftResult
from dgnet_core.skeleton import TEMPLATE_POSE, bone_lengths
from training.people_bench import (
    BenchConfig,
    Truth,
    count_switches,
    markdown,
    match_tracks,
    score_clip,
    track_summary,
    write_report,
)

T, W, H, F = 20, 640, 360, 600.0
K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1]])
HAS_BPY = importlib.util.find_spec("bpy") is not None


def _truth(xs=(-1.0, 1.0), depth=5.0) -> Truth:
    """People standing at camera x ``xs`` (metres), ``depth`` m away, all in view."""
    cam_pose = TEMPLATE_POSE[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0])  # y down, z fwd
    cam_pose = cam_pose - cam_pose[:1]
    jc = np.stack([np.broadcast_to(cam_pose + [x, 0.0, depth], (T, 17, 3)) for x in xs])
    jc = jc + np.linspace(0, 0.2, T)[None, :, None, None] * np.array([1.0, 0, 0])
    j2d = jc[..., :2] / jc[..., 2:] * F + K[:2, 2]
    # World: Z up, the camera at the origin looking along +Y.
    jw = np.stack([jc[..., 0], jc[..., 2], -jc[..., 1]], axis=-1)
    p = len(xs)
    return Truth(jw, jc, j2d, np.ones((p, T), bool), np.zeros((p, T), bool), K,
                 tuple("ABC"[:p]))


def _track(truth: Truth, who: np.ndarray, detected: np.ndarray | None = None,
           world_shift=(0.0, 0.0), world_rot_deg: float = 0.0) -> LiftResult:
    """A track showing person ``who[t]`` in frame t (exact joints; the world turned about Z
    and shifted, the same for every track: one shared world)."""
    idx = np.arange(T)
    jc = truth.joints_camera[who, idx]
    a = np.deg2rad(world_rot_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    jw = truth.joints_world[who, idx] @ rot.T + [*world_shift, 0.0]
    mp17 = jc - jc[:, :1]
    mp33 = np.einsum("kj,tjc->tkc", np.linalg.pinv(_mp_matrix()), mp17)
    det = np.ones(T, bool) if detected is None else detected
    return LiftResult(
        joints_world=jw, joints_camera=jc, keypoints_2d=truth.joints_2d[who, idx] + 1.5,
        confidence=np.ones((T, 17)), mp_world=np.where(det[:, None, None], mp33, np.nan),
        mp_image=np.zeros((T, 33, 3)), contacts=np.zeros((T, 2), bool), detected=det,
        frame_indices=idx, fps=25.0, width=W, height=H, intrinsics=K)


def _mp_matrix():
    from dgnet_core.skeleton import mediapipe_to_h36m_matrix

    return mediapipe_to_h36m_matrix()


def test_clean_pair_zero_switches_full_tracking_and_exact_joints():
    truth = _truth()
    tracks = [_track(truth, np.zeros(T, int)), _track(truth, np.ones(T, int))]
    s = score_clip(tracks, truth, "clean")
    assert [p.switches for p in s.people] == [0, 0] and s.switches == 0
    assert [p.tracked for p in s.people] == [1.0, 1.0]
    assert [p.tracks for p in s.people] == [[0], [1]]
    assert all(p.pa_mpjpe_mm < 1e-6 and p.depth_err_m < 1e-9 for p in s.people)
    assert all(np.isfinite(p.mediapipe_pa_mpjpe_mm) for p in s.people)
    assert s.pairs[0].frames == T and s.pairs[0].error_pct < 1e-6
    assert s.unmatched_tracks == 0


def test_swap_half_way_is_counted_for_both_people():
    truth = _truth()
    half = (np.arange(T) >= T // 2).astype(int)
    tracks = [_track(truth, half), _track(truth, 1 - half)]
    m = match_tracks(tracks, truth)
    assert (m.track[0, : T // 2] == 0).all() and (m.track[0, T // 2:] == 1).all()
    sw = count_switches(m)
    assert (sw >= 1).all()
    # Each person's track changes once, and a track jumps onto each of them once.
    assert sw.tolist() == [2, 2]


def test_a_person_coming_back_under_a_new_track_is_one_switch():
    truth = _truth()
    gone = (np.arange(T) >= 8) & (np.arange(T) < 12)
    truth.in_view[0, gone] = False
    first, later = np.arange(T) < 9, np.arange(T) >= 12   # seen one frame after leaving
    tracks = [_track(truth, np.zeros(T, int), first), _track(truth, np.ones(T, int)),
              _track(truth, np.zeros(T, int), later)]
    s = score_clip(tracks, truth, "back")
    assert s.people[0].switches == 1 and s.people[0].tracks == [0, 2]
    # The share counts the frames in view only (not the one seen while out of view).
    assert s.people[0].tracked == 1.0 and s.people[0].in_view == T - 4


def test_a_missed_stretch_lowers_the_tracked_share():
    truth = _truth()
    det = np.ones(T, bool)
    det[5:10] = False   # 5 of 20 frames filled, not seen
    tracks = [_track(truth, np.zeros(T, int), det), _track(truth, np.ones(T, int))]
    s = score_clip(tracks, truth, "missed")
    assert s.people[0].tracked == pytest.approx(0.75)
    assert s.people[1].tracked == 1.0
    assert s.people[0].switches == 0 and s.people[0].frames_compared == 15
    assert s.pairs[0].frames == 15


def test_gate_rejects_a_track_on_nobody():
    truth = _truth(xs=(-1.0,))
    far = _track(_truth(xs=(3.0,)), np.zeros(T, int))
    s = score_clip([_track(truth, np.zeros(T, int)), far], truth, "ghost")
    assert s.unmatched_tracks == 1 and s.people[0].tracks == [0]
    assert not match_tracks([far], truth).matched.any()
    strict = match_tracks([far], truth, BenchConfig(gate=10.0))
    assert strict.matched.all()   # the gate is what kept it out


def test_distance_error_on_a_known_example():
    truth = _truth(xs=(-1.0, 1.0))   # 2 m apart (+ the same drift for both)
    d_gt = np.linalg.norm(truth.joints_world[0, :, 0, :2] - truth.joints_world[1, :, 0, :2],
                          axis=-1)
    assert d_gt == pytest.approx(2.0)
    # Ours: person B placed 0.3 m further right; the shared world turned and shifted.
    far = Truth(truth.joints_world.copy(), truth.joints_camera, truth.joints_2d,
                truth.in_view, truth.occluded, K, truth.names)
    far.joints_world[1, ..., 0] += 0.3
    tracks = [_track(far, np.full(T, p), world_shift=(4.0, -2.0), world_rot_deg=37.0)
              for p in (0, 1)]
    s = score_clip(tracks, truth, "dist")
    pair = s.pairs[0]
    assert pair.pair == "A-B" and pair.frames == T
    assert pair.gt_distance_m == pytest.approx(2.0)
    assert pair.error_m == pytest.approx(0.3)
    assert pair.error_pct == pytest.approx(15.0)
    assert s.distance_errors() == pytest.approx((15.0, 0.3))


def test_report_and_track_summary(tmp_path):
    truth = _truth()
    det = np.ones(T, bool)
    det[4:6] = False
    tracks = [_track(truth, np.zeros(T, int), det), _track(truth, np.ones(T, int))]
    s = score_clip(tracks, truth, "clip")
    md = markdown([s])
    assert "| A |" in md and "| A-B |" in md and "target 0" in md
    md_path, js_path = write_report([s], tmp_path)
    data = json.loads(js_path.read_text())
    assert md_path.read_text() == md and data[0]["switches"] == 0
    assert data[0]["people"][0]["tracked"] == pytest.approx(0.9)
    summary = track_summary(tracks)
    assert "| 0 | 18 | 0 | 19 | 2 |" in summary and "| 1 | 20 | 0 | 19 | 1 |" in summary


# ----------------------------------------------------------------------- crowd scenarios
def test_walker_follows_its_path_with_a_rigid_body():
    from training.synthetic.crowd import SCENARIOS, walker_joints

    w = SCENARIOS["cross3"]().walkers[2]
    j = walker_joints(w, 90, 25.0)
    assert j.shape == (90, 17, 3)
    np.testing.assert_allclose(j[0, 0, :2], w.path[0], atol=1e-9)
    np.testing.assert_allclose(j[-1, 0, :2], w.path[-1], atol=1e-9)
    bones = bone_lengths(j)
    assert np.ptp(bones, axis=0).max() < 1e-6   # the same body in every frame
    assert j[..., 2].min() > 0.0


@pytest.mark.parametrize("name", ["cross2", "cross3"])
def test_scenario_truth_in_view_and_occlusion(name):
    from training.synthetic.crowd import SCENARIOS, scenario_truth
    from training.synthetic.render import SceneSpec

    sc = SCENARIOS[name]()
    gt = scenario_truth(sc, SceneSpec(width=640, height=360, camera=sc.camera))
    n_p, n_t = len(sc.walkers), sc.frames
    assert gt["joints_world"].shape == gt["joints_camera"].shape == (n_p, n_t, 17, 3)
    assert gt["joints_2d"].shape == (n_p, n_t, 17, 2)
    assert gt["in_view"].dtype == bool and gt["occluded"].shape == (n_p, n_t)
    assert list(gt["names"]) == [w.name for w in sc.walkers]
    height = np.ptp(gt["joints_2d"][..., 1], axis=-1)[gt["in_view"]]
    assert height.min() > 0.4 * 360   # big enough for MediaPipe
    # A (nearest) is never covered; B (furthest) is, for a few frames mid-clip.
    assert not gt["occluded"][0].any()
    occ = np.flatnonzero(gt["occluded"][1])
    assert 2 <= len(occ) <= 15 and n_t * 0.25 < occ.mean() < n_t * 0.75
    assert gt["in_view"][:2].all()
    if name == "cross3":   # C walks out on the right and comes back
        iv = gt["in_view"][2]
        assert iv[0] and iv[-1] and not iv[n_t // 2]
        assert (gt["joints_2d"][2, n_t // 2, :, 0] > 640).all()
        assert np.count_nonzero(np.diff(iv.astype(int))) == 2


@pytest.mark.slow  # renders with Cycles (a few seconds)
def test_render_tiny_cross2(tmp_path):
    if not HAS_BPY:
        pytest.skip("needs the bpy module")
    import cv2

    from training.synthetic.crowd import render_crowd

    out = render_crowd("cross2", tmp_path, width=192, height=108, frames=6, progress=False)
    cap = cv2.VideoCapture(str(out.video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert ok and frame.shape == (108, 192, 3) and n == 6
    with np.load(out.ground_truth) as gt:   # no pickles needed for any key
        data = {k: gt[k] for k in gt.files}
    assert data["joints_world"].shape == (2, 6, 17, 3)
    assert data["in_view"].all() and data["occluded"].dtype == bool
    assert data["names"].dtype.kind == "U" and int(data["width"]) == 192
    assert data["intrinsics"][0, 0] == pytest.approx(35.0 / 36.0 * 192)
    # Pixels of both shirts are in the first frame (the two people are drawn).
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).astype(int)
    blue = (rgb[..., 2] > rgb[..., 0] + 40).sum()
    red = (rgb[..., 0] > rgb[..., 2] + 60).sum()
    assert blue > 20 and red > 20


@pytest.mark.slow  # renders 80 frames with Cycles (~30 s) and lifts them (~6 s)
def test_two_rendered_people_crossing_end_to_end(tmp_path):
    """The product path on a rendered crossing (MediaPipe, the shipped model): both people
    followed without a switch, their distance apart within the issue's 15 %, and each
    lifted better than MediaPipe's own world landmarks."""
    if not HAS_BPY:
        pytest.skip("needs the bpy module")
    from dgnet_core.detection.detect import default_task_path
    from dgnet_core.errors import LiftError
    from training.people_bench import Truth, lift_people, score_clip
    from training.synthetic.crowd import render_crowd

    try:
        default_task_path()
    except LiftError as exc:
        pytest.skip(str(exc))
    out = render_crowd("cross2", tmp_path, progress=False)
    truth = Truth.load(out.ground_truth)
    results, _ = lift_people(out.video, float(truth.intrinsics[0, 0]))
    score = score_clip(results, truth, "cross2")
    assert score.switches == 0 and score.tracks == 2
    assert min(p.tracked for p in score.people) >= 0.8
    assert max(p.error_pct for p in score.pairs) <= 15.0
    for p in score.people:
        assert p.pa_mpjpe_mm < p.mediapipe_pa_mpjpe_mm, p
