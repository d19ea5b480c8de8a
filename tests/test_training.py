"""Training package, fast parts: metrics, loaders, data/augmentation geometry, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from dgnet_core import metrics
from dgnet_core.lifting.config import DGNetConfig
from dgnet_core.lifting.lifter import (
    clamp_to_frame,
    model_input,
    normalize_intrinsics,
    normalize_screen,
)
from dgnet_core.lifting.model import DGNet
from dgnet_core.skeleton import FLIP_PERM, TEMPLATE_POSE
from training import h36m
from training.config import ABLATIONS, PRESETS, TrainConfig, make_config
from training.data import build_windows, check_windows_match_core, normalize_px
from training.fake_h36m import write_fake_h36m
from training.other_datasets import (
    MPI3DHP_NAMES,
    humaneva15_to_h36m,
    load_3dhp_sequence,
    load_humaneva,
    read_mat,
)
from training.reproject import AugmentConfig, ReprojectSampler
from training.train import _TrainForward, train_step


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs torch on one thread (the fixture lives in conftest.py)."""


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    return write_fake_h36m(tmp_path_factory.mktemp("fake_h36m"))


@pytest.fixture(scope="module")
def fake_data(fake_dir):
    return h36m.load(fake_dir)


# -------------------------------------------------------------------------- metrics
def test_mpjpe_hand_computed() -> None:
    gt = np.zeros((1, 17, 3))
    pred = gt.copy()
    pred[0, 0] = [3.0, 4.0, 0.0]  # one joint off by 5
    assert metrics.mpjpe(pred, gt)[0] == pytest.approx(5 / 17)


def test_procrustes_recovers_rotation_scale_translation() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 17, 3))
    rot = Rotation.random(3, random_state=1).as_matrix()
    pred = 1.7 * np.einsum("nij,nkj->nki", rot, gt) + np.array([0.3, -2.0, 5.0])
    assert metrics.mpjpe(pred, gt).min() > 0.5
    assert np.allclose(metrics.procrustes_align(pred, gt), gt, atol=1e-9)
    assert metrics.pa_mpjpe(pred, gt).max() < 1e-9


def test_procrustes_does_not_reflect() -> None:
    gt = np.random.default_rng(2).normal(size=(1, 17, 3))
    mirror = gt * np.array([-1.0, 1.0, 1.0])
    # a mirror image is not a rotation: the aligned error must stay clearly above zero
    assert metrics.pa_mpjpe(mirror, gt)[0] > 0.1


def test_n_mpjpe_and_velocity_and_pck() -> None:
    gt = np.random.default_rng(3).normal(size=(5, 17, 3))
    assert metrics.n_mpjpe(0.5 * gt, gt).max() < 1e-9
    assert metrics.mpjpe(0.5 * gt, gt).min() > 0.1
    shifted = gt + np.array([0.1, 0.0, 0.0])  # constant offset: zero velocity error
    assert np.allclose(metrics.mpjve(shifted, gt), 0.0)
    moved = gt.copy()
    moved[1:] += 0.2 * np.array([0.0, 0.0, 1.0])  # jump between frame 0 and 1
    assert metrics.mpjve(moved, gt)[0] == pytest.approx(0.2)
    assert metrics.pck(shifted, gt, 0.15).mean() == 1.0
    assert metrics.pck(shifted, gt, 0.05).mean() == 0.0
    assert 0.3 < metrics.auc(shifted, gt, 0.15).mean() < 0.4  # 0.1 of a 0.15 range


# --------------------------------------------------------------------------- loaders
def test_fake_files_round_trip(fake_dir, fake_data) -> None:
    assert set(fake_data.poses) == {"S1", "S9"}
    p = fake_data.poses["S1"]["Walking"]
    assert p.shape == (120, 17, 3) and p.dtype == np.float32
    assert h36m.action_group("Directions 1") == "Directions"
    assert fake_data.sequences(["S9"], ["Directions"]) == [("S9", "Directions 1")]
    # detections: 16 SH joints mapped back, neck interpolated with confidence 0.5
    det = fake_data.detections["S1"]["Walking"][2]
    conf = fake_data.det_conf["S1"]["Walking"][2]
    gt = fake_data.gt_2d("S1", "Walking", 2)
    err = np.linalg.norm(det - gt, axis=-1)
    assert err[:, [0, 1, 2, 3, 8, 10, 13, 16]].mean() < 8.0 and conf[0, 9] == 0.5


def test_camera_convention(fake_data) -> None:
    cam = fake_data.cameras["S1"][0]
    world = fake_data.poses["S1"]["Walking"]
    c = cam.to_camera(world)
    assert (c[..., 2] > 2).all()  # in front of the camera
    assert (c[:, 10, 1] < c[:, 0, 1]).all()  # head above pelvis: y down
    px = cam.project(c)
    assert np.allclose(px, c[..., :2] / c[..., 2:] * cam.f + cam.c)


def test_window_dataset_matches_lifting_conventions(fake_data) -> None:
    assert check_windows_match_core(9, 4) and check_windows_match_core(3, 5)
    ds = build_windows(fake_data, ["S1"], source="gt", in_channels=3)
    s, a, ci = ds.keys[1]
    cam = fake_data.cameras[s][ci]
    start = int(np.flatnonzero(ds.seq_of_frame == 1)[0])
    px = fake_data.gt_2d(s, a, ci)
    ref = model_input(px, None, cam.width, cam.height, DGNetConfig(in_channels=3))
    assert np.allclose(ds.inputs[start:start + len(px)], ref, atol=1e-5)
    b = ds.batch(np.array([start, start + 5]))
    assert b["x"].shape == (2, 4, 17, 3)
    assert np.allclose(b["x"][1, 2], ref[5], atol=1e-5)  # target frame at T // 2
    assert np.allclose(b["x"][0, 0], ref[0], atol=1e-5)  # edge padding
    assert np.allclose(b["y"][:, 0], 0.0) and np.abs(b["y"]).max() < 1.2
    assert np.allclose(b["cam"][0], normalize_intrinsics(*cam.f, *cam.c, cam.width, cam.height))


def test_flip_augmentation_is_consistent(fake_data) -> None:
    ds = build_windows(fake_data, ["S1"], source="gt")
    idx = np.arange(0, 40, 7)
    plain = ds.batch(idx)
    flipped = ds.batch(idx, np.random.default_rng(0), flip_prob=1.0)
    x = plain["x"][..., list(FLIP_PERM), :] * np.array([-1, 1])
    y = plain["y"][..., list(FLIP_PERM), :] * np.array([-1, 1, 1])
    assert np.allclose(flipped["x"], x) and np.allclose(flipped["y"], y)


def test_reproject_sampler_geometry(fake_data) -> None:
    clean = AugmentConfig(real_camera_prob=0.0, flip_prob=0.0, noise_frac=(0, 0),
                          offset_frac=0.0, drop_prob=0.0, outlier_prob=0.0, strides=(1,))
    s = ReprojectSampler(fake_data, ["S1"], cfg=clean)
    rng = np.random.default_rng(0)
    b = s.batch(np.arange(0, 200, 5), rng)
    x, y, cam = b["x"], b["y"], b["cam"]
    assert x.shape == (40, 4, 17, 3) and np.all(x[..., 2] > 0.3)
    assert (y[:, 10, 1] < y[:, 0, 1]).mean() > 0.95  # upright in camera space
    # 2D is the projection of a 3D pose whose root-relative part is y: the 2D direction
    # between two joints follows the 3D one up to perspective (check hip-to-head sign)
    assert np.mean(np.sign(x[:, 2, 10, 1] - x[:, 2, 0, 1]) == np.sign(y[:, 10, 1])) > 0.95
    lengths = np.linalg.norm(y[:, 10] - y[:, 0], axis=-1)
    ref = np.linalg.norm(TEMPLATE_POSE[10] - TEMPLATE_POSE[0])
    assert np.allclose(lengths, ref, atol=0.02)  # rigid transforms keep bone lengths
    assert np.all(cam[:, 0] > 0)


def test_reproject_sampler_corruption_and_flip(fake_data) -> None:
    cfg = AugmentConfig(drop_prob=1.0, flip_prob=1.0)
    s = ReprojectSampler(fake_data, ["S1", "S9"], cfg=cfg)
    b = s.batch(np.arange(64), np.random.default_rng(1))
    conf = b["x"][..., 2]
    assert ((conf == 0).sum(axis=(1, 2)) > 0).all()  # every sample has dropped joints
    assert np.isfinite(b["x"]).all() and np.isfinite(b["y"]).all()
    two = ReprojectSampler(fake_data, ["S1"], cfg=AugmentConfig(in_channels=2))
    assert two.batch(np.arange(4), np.random.default_rng(0))["x"].shape[-1] == 2


def _sampler_windows(s: ReprojectSampler, idx: np.ndarray) -> np.ndarray:
    g = s.frames[idx]
    t = s.num_frames
    return np.clip(g[:, None] + np.arange(t) - t // 2, s.starts[g, None], s.ends[g, None] - 1)


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_reproject_sampler_detector_residuals(fake_data, flip) -> None:
    """On a real camera with no other corruption, the input is exactly that camera's
    detection (mirrored with the scene when flipped), not the projected ground truth."""
    cfg = AugmentConfig(real_camera_prob=1.0, flip_prob=flip, noise_frac=(0, 0),
                        offset_frac=0.0, drop_prob=0.0, outlier_prob=0.0, strides=(1,),
                        det_residual_prob=1.0)
    s = ReprojectSampler(fake_data, ["S1"], cfg=cfg)
    idx = np.arange(0, 200, 7)
    x = s.batch(idx, np.random.default_rng(3))["x"][..., :2]
    win = _sampler_windows(s, idx)
    dets, gts = [], []
    for ci, cam in enumerate(s.cams[0]):
        det = np.concatenate([fake_data.detections["S1"][a][ci] for _, a in s.keys])
        gt = np.concatenate([fake_data.gt_2d("S1", a, ci) for _, a in s.keys])
        w, h = cam.width, cam.height
        if flip:
            det = np.stack([w - det[..., 0], det[..., 1]], -1)[:, list(FLIP_PERM)]
            gt = np.stack([w - gt[..., 0], gt[..., 1]], -1)[:, list(FLIP_PERM)]
        dets.append(normalize_px(det[win], w, h))
        gts.append(normalize_px(gt[win], w, h))
    err_det = np.min([np.abs(x - d).max(axis=(1, 2, 3)) for d in dets], axis=0)
    err_gt = np.min([np.abs(x - g).max(axis=(1, 2, 3)) for g in gts], axis=0)
    assert err_det.max() < 2e-3            # the detection itself (float16 residuals)
    assert err_gt.min() > 5e-3             # ... which is not the ground truth
    plain = ReprojectSampler(fake_data, ["S1"], cfg=AugmentConfig())
    assert plain.resid is None             # off by default: detections are never read


def test_normalize_px_matches_core() -> None:
    px = np.random.default_rng(0).uniform(0, 1000, size=(3, 4, 17, 2)).astype(np.float32)
    w, h = np.array([1000, 1920, 720]), np.array([1002, 1080, 1280])
    out = normalize_px(px, w, h)
    for i in range(3):
        assert np.allclose(out[i], normalize_screen(px[i], w[i], h[i]), atol=1e-6)
        inside = (px[i, ..., 0] <= 1.25 * w[i]).all(-1) & (px[i, ..., 1] <= 1.25 * h[i]).all(-1)
        ref = model_input(px[i], None, w[i], h[i], DGNetConfig())  # the product's input
        assert np.allclose(out[i][inside], ref[inside], atol=1e-6)


def test_joints_far_outside_the_picture_are_missing() -> None:
    """A joint more than a quarter of the picture outside it is held at that margin with
    confidence 0 (the engine and the training sampler alike)."""
    px = np.array([[[100.0, 50.0], [-400.0, 50.0], [500.0, 700.0], [250.0, -10.0]]])
    kp, conf = clamp_to_frame(px, np.array([[0.9, 0.8, 0.7, 0.6]]), 640, 480)
    assert np.allclose(kp[0, 1], [-160.0, 50.0]) and np.allclose(kp[0, 2], [500.0, 600.0])
    assert np.allclose(conf, [[0.9, 0.0, 0.0, 0.6]])
    assert np.array_equal(kp[0, [0, 3]], px[0, [0, 3]])


def test_videopose3d_layout(tmp_path, fake_data) -> None:
    world = fake_data.poses["S1"]["Walking"]
    p32 = np.zeros((len(world), 32, 3), np.float32)
    p32[:, list(h36m.H36M32_TO_17)] = world
    np.savez(tmp_path / "data_3d_h36m.npz",
             positions_3d={"S1": {"Walking": p32}})
    sh = np.zeros((len(world), 16, 2), np.float32)
    np.savez(tmp_path / "data_2d_h36m_sh_pt_mpii.npz",
             positions_2d={"S1": {"Walking": [sh] * 4}})
    cams = {s: [c.__dict__ for c in cs] for s, cs in fake_data.cameras.items()}
    (tmp_path / "cameras.json").write_text(json.dumps(
        {s: [{"id": c["id"], "R": c["R"].tolist(), "T": c["T"].tolist(),
              "f": c["f"].tolist(), "c": c["c"].tolist(), "res_w": c["width"],
              "res_h": c["height"]} for c in cs] for s, cs in cams.items()}))
    with pytest.raises(ValueError, match="pickle"):
        h36m.load(tmp_path)
    data = h36m.load(tmp_path, trusted=True)
    assert np.allclose(data.poses["S1"]["Walking"], world)
    assert data.detections["S1"]["Walking"][0].shape == (len(world), 17, 2)


def test_humaneva_loader(tmp_path) -> None:
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(10, 15, 3)).astype(np.float32)
    np.savez(tmp_path / "h3.npz", positions_3d={"Train/S1": {"Walk 1": p3}})
    np.savez(tmp_path / "h2.npz", positions_2d={"Train/S1": {"Walk 1": [p3[..., :2]] * 3}})
    with pytest.raises(ValueError, match="pickle"):
        load_humaneva(tmp_path / "h3.npz")
    d = load_humaneva(tmp_path / "h3.npz", tmp_path / "h2.npz", trusted=True)
    assert np.allclose(d.poses["Train/S1"]["Walk 1"], p3)
    assert len(d.keypoints["Train/S1"]["Walk 1"]) == 3
    j17, conf = humaneva15_to_h36m(p3)
    assert j17.shape == (10, 17, 3) and conf[0, 7] == 0.5 and conf[0, 0] == 1
    assert np.allclose(j17[:, 0], p3[:, 0]) and np.allclose(j17[:, 10], p3[:, 14])
    assert np.allclose(j17[:, 1], p3[:, 11])  # RHip


def test_3dhp_loader_v5_mat(tmp_path) -> None:
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    n = 6
    a3 = rng.normal(size=(n, 17, 3)) * 300
    a2 = rng.uniform(0, 2048, size=(n, 17, 2))
    ts = tmp_path / "TS5"
    ts.mkdir()
    # MATLAB-style layout (C, 17, 1, N) as the official files store it
    savemat(ts / "annot_data.mat", {
        "annot2": a2.transpose(2, 1, 0)[:, :, None, :],
        "univ_annot3": a3.transpose(2, 1, 0)[:, :, None, :],
        "valid_frame": np.array([[1, 1, 0, 1, 1, 1]])})
    seq = load_3dhp_sequence(ts / "annot_data.mat")
    assert (seq.width, seq.height) == (1920, 1080)
    assert seq.joints_3d.shape == (n, 17, 3) and seq.valid.tolist() == [1, 1, 0, 1, 1, 1]
    pelvis = MPI3DHP_NAMES.index("pelvis")
    assert np.allclose(seq.joints_3d[:, 0], a3[:, pelvis] / 1000, atol=1e-6)
    assert np.allclose(seq.joints_2d[:, 10], a2[:, MPI3DHP_NAMES.index("head_top")])
    hdf = tmp_path / "v73.mat"
    hdf.write_bytes(b"MATLAB 7.3 MAT-file" + b" " * 200)
    try:
        import h5py  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="h5py"):
            read_mat(hdf)


def test_shared_detections_match_projected_gt(h36m_dir) -> None:
    data = h36m.load(h36m_dir, subjects=("S9",))
    for cam in range(4):
        gt = data.gt_2d("S9", "Walking 1", cam)
        det = data.detections["S9"]["Walking 1"][cam]
        keep = [j for j in range(17) if j not in (9, 10)]  # neck missing, head defined apart
        assert np.linalg.norm(gt - det, axis=-1)[:, keep].mean() < 25.0


# --------------------------------------------------------------------------- configs
def test_presets_and_overrides() -> None:
    for name in PRESETS:
        cfg = make_config(name)
        assert cfg.augment.in_channels == cfg.model.in_channels
        assert TrainConfig.from_json(cfg.to_json()) == cfg
    paper = make_config("paper")
    assert (paper.lr, paper.batch_size, paper.epochs, paper.model.block_loss_weight) == \
        (1e-3, 64, 200, 0.1)
    cfg = make_config("tiny", sets=["lr=0.01", "train_actions=Walking,Eating"],
                      model_sets=["k_spatial=2"], augment_sets=["flip_prob=0"])
    assert cfg.lr == 0.01 and cfg.train_actions == ("Walking", "Eating")
    assert cfg.model.k_spatial == 2 and cfg.augment.flip_prob == 0
    with pytest.raises(ValueError, match="unknown"):
        make_config("tiny", sets=["nope=1"])


@pytest.mark.parametrize("name", sorted(ABLATIONS))
def test_every_ablation_builds_and_steps(name: str) -> None:
    cfg = make_config("tiny", ablation=name,
                      model_sets=["channels=8", "importance_hidden=4", "block_head_hidden=8"])
    torch.manual_seed(0)
    net = DGNet(cfg.model)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    t = cfg.model.num_frames
    shape = (4, t, 17, 3) if cfg.model.all_frames else (4, 17, 3)
    b = {"x": torch.randn(4, t, 17, 2), "y": torch.randn(shape) * 0.2,
         "cam": torch.tensor([[2.3, 2.3, 0.0, 0.0]] * 4)}
    before = [p.detach().clone() for p in net.parameters()]
    loss, y = train_step(_TrainForward(net), net, opt, b, 0.1, cfg.model.balanced)
    assert torch.isfinite(loss) and y.shape == shape
    assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters()))


def test_pack_data(fake_dir, tmp_path) -> None:
    from training.pack_data import pack

    out, total = pack(fake_dir, tmp_path / "pack")
    assert total < 64 * 2**20
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt", "cameras.json", "h36m_3d17.npz", "h36m_sh2d16.npz"]
    assert set(h36m.load(out).poses) == {"S1", "S9"}
    with pytest.raises(FileNotFoundError):
        pack(tmp_path / "nowhere", tmp_path / "p2")


def test_bench_runs_on_fake_data(fake_dir) -> None:
    from training.bench import bench

    r = bench("tiny", steps=2, warmup=1, data_root=str(fake_dir))
    assert r["samples_per_s"] > 0 and r["batch_size"] == 32
    assert "matmul_share" not in r
    p = bench("tiny", steps=2, warmup=1, data_root=str(fake_dir), profile=True)
    assert 0 < p["matmul_ms_per_step"] < p["profile_ms_per_step"]
    assert 0 < p["matmul_share"] < 1 and "aten::mm" in p["top_ops_ms_per_step"]


def test_compare_runs_draws_held_out_error_against_minutes(tmp_path, capsys) -> None:
    from training.compare_runs import main as compare

    head = ("step,epoch,samples,lr,train_loss,train_mpjpe_mm,val_mpjpe_mm,elapsed_min,"
            "samples_per_s\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "log.csv").write_text(head + "10,0.1,640,0.001,1,300,250.0,1.0,90\n"
                                            "20,0.2,1280,0.001,1,200,,2.0,90\n"
                                            "30,0.3,1920,0.001,1,150,180.5,3.0,90\n")
    (tmp_path / "b.csv").write_text(head + "10,0.1,640,0.001,1,300,210.0,1.5,90\n")
    png = tmp_path / "c.png"
    assert compare([f"A={tmp_path / 'a'}", str(tmp_path / "b.csv"), "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert "| A | 180.5 | 3.0 | 1920 | 3.0 |" in out and "| b | 210.0 | 1.5 |" in out
    assert png.stat().st_size > 5000


def test_compare_runs_puts_a_fine_tune_after_its_source(tmp_path) -> None:
    from training.compare_runs import main as compare
    from training.compare_runs import read_curve, samples_before, x_values

    head = ("step,epoch,samples,lr,train_loss,train_mpjpe_mm,val_mpjpe_mm,elapsed_min,"
            "samples_per_s\n")
    for name, rows in (("long", "10,1,1000,0.001,1,100,90.0,1.0,90\n"),
                       ("ft", "5,0.5,500,0.001,1,80,70.0,0.5,90\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "log.csv").write_text(head + rows)
    (tmp_path / "ft" / "init.json").write_text('{"step": 10, "samples": 1000}')
    assert samples_before(tmp_path / "long") == 0
    assert samples_before(tmp_path / "ft") == 1000
    ft = read_curve(tmp_path / "ft")
    assert x_values(ft, "samples", 1000) == [0.0015] and x_values(ft, "minutes") == [0.5]
    png = tmp_path / "h.png"
    assert compare([str(tmp_path / "long"), str(tmp_path / "ft"), "--x", "samples",
                    "--out", str(png)]) == 0
    assert png.stat().st_size > 5000
