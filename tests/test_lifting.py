"""Lifting a clip: windows, normalisation, back-end parity, flip TTA, weight files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import tiny_lifter

from dgnet_core.errors import WeightsError
from dgnet_core.lifting.backend import load_lifter
from dgnet_core.lifting.config import DGNetConfig
from dgnet_core.lifting.lifter import Lifter, make_windows, normalize_screen, window_indices
from dgnet_core.lifting.weights import (
    default_model_path,
    export_onnx,
    load_model,
    random_model,
    read_config,
    save_weights,
)
from dgnet_core.skeleton import FLIP_PERM


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs torch on one thread (the fixture lives in conftest.py)."""


def _clip(n: int = 37, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(200, 500, size=(17, 2))
    drift = np.cumsum(rng.normal(0, 2, size=(n, 17, 2)), axis=0)
    return (base + drift).astype(np.float32), rng.uniform(0.5, 1, size=(n, 17))


def test_windows_are_edge_padded_around_the_target_frame() -> None:
    idx = window_indices(5, 4, 2)
    assert idx.tolist() == [[0, 0, 0, 1], [0, 0, 1, 2], [0, 1, 2, 3], [1, 2, 3, 4],
                            [2, 3, 4, 4]]
    seq = np.arange(5)[:, None, None] * np.ones((5, 17, 2))
    w = make_windows(seq, 4)
    assert w.shape == (5, 4, 17, 2) and np.all(w[:, 2] == seq)


def test_screen_normalisation() -> None:
    px = np.array([[0, 0], [640, 360], [1280, 720]], dtype=np.float32)
    out = normalize_screen(px, 1280, 720)
    assert np.allclose(out, [[-1, -0.5625], [0, 0], [1, 0.5625]])


@pytest.mark.parametrize("in_channels", [2, 3])
def test_torch_and_onnx_lift_the_same(tmp_path, in_channels: int) -> None:
    model = random_model(DGNetConfig(in_channels=in_channels))
    st = save_weights(model, tmp_path / "m.safetensors")
    export_onnx(load_model(st), tmp_path / "m.onnx")
    kp, conf = _clip()
    a = load_lifter(st, backend="torch", device="cpu").lift(kp, conf, 640, 480)
    b = load_lifter(st, backend="onnx").lift(kp, conf, 640, 480)
    assert a.shape == (len(kp), 17, 3)
    assert np.abs(a - b).max() < 1e-4


def test_flip_tta_makes_the_lift_mirror_equivariant() -> None:
    lifter = Lifter.from_model(random_model(), flip_tta=True, batch_size=16)
    kp, conf = _clip()
    width = 640
    mirrored = kp[:, list(FLIP_PERM)].copy()
    mirrored[..., 0] = width - mirrored[..., 0]
    y = lifter.lift(kp, conf, width, 480)
    ym = lifter.lift(mirrored, conf[:, list(FLIP_PERM)], width, 480)
    expected = y[:, list(FLIP_PERM)].copy()
    expected[..., 0] *= -1
    assert np.abs(ym - expected).max() < 1e-4


def test_lift_rejects_bad_shapes_and_handles_empty() -> None:
    lifter = Lifter.from_model(random_model())
    with pytest.raises(ValueError, match="keypoints"):
        lifter.lift(np.zeros((5, 16, 2)), None, 100, 100)
    assert lifter.lift(np.zeros((0, 17, 2)), None, 100, 100).shape == (0, 17, 3)


def test_weights_round_trip_and_half_storage(tmp_path) -> None:
    model = random_model()
    x = torch.randn(4, 4, 17, 2)
    with torch.no_grad():
        y = model(x)
    full = load_model(save_weights(model, tmp_path / "f.safetensors"))
    half = load_model(save_weights(model, tmp_path / "h.safetensors", half=True))
    with torch.no_grad():
        assert torch.allclose(full(x), y, atol=1e-6)
        assert torch.allclose(half(x), y, atol=2e-2)
    assert (tmp_path / "h.safetensors").stat().st_size < 0.6 * (
        tmp_path / "f.safetensors").stat().st_size
    cfg, meta = read_config(tmp_path / "f.safetensors")
    assert cfg.block_heads is False and meta["format"] == "dgnet-lift-v1"


def test_bad_weight_files_give_one_line_errors(tmp_path) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(WeightsError, match="corrupt"):
        load_model(junk)
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, np.float32)}, str(other))
    with pytest.raises(WeightsError, match="not a DG-Net"):
        load_model(other)
    good = save_weights(random_model(), tmp_path / "g.safetensors")
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(WeightsError):
        load_model(truncated)
    bad_onnx = tmp_path / "bad.onnx"
    bad_onnx.write_bytes(b"not onnx")
    with pytest.raises(WeightsError, match="corrupt"):
        Lifter.from_onnx(bad_onnx)


def test_default_model_is_shipped_and_lifts() -> None:
    path = default_model_path()
    if not path.exists():
        pytest.fail(f"the default model must be shipped at {path}")
    assert path.stat().st_size + path.with_suffix(".onnx").stat().st_size < 12 * 2**20
    kp, conf = _clip()
    y = load_lifter().lift(kp, conf, 640, 480)
    assert np.isfinite(y).all() and y.shape == (len(kp), 17, 3)


def test_all_frame_aggregates_match_a_direct_computation() -> None:
    """``mean``: every window holding a frame contributes its estimate of that frame;
    ``center``: the window centred on it; ``tiled``: windows at 0, T, 2T, ... only."""
    cfg = DGNetConfig(channels=16, num_blocks=1, importance_hidden=8, in_channels=3)
    model = random_model(cfg)
    kp, conf = _clip(n=11)
    feats = np.concatenate([normalize_screen(kp, 640, 480), conf[..., None]], -1)
    with torch.no_grad():
        def run(win: np.ndarray) -> np.ndarray:
            return model(torch.from_numpy(feats[win].astype(np.float32))).numpy()

        n, t, ti = len(kp), 4, 2
        win = window_indices(n, t, ti)
        y = run(win)  # (n, T, 17, 3)
        mean = np.zeros((n, 17, 3))
        cnt = np.zeros(n)
        for w in range(n):
            for p in range(t):
                mean[win[w, p]] += y[w, p]
                cnt[win[w, p]] += 1
        mean /= cnt[:, None, None]
        center = y[:, ti]
        tiles = np.clip(np.arange(0, n, t)[:, None] + np.arange(t), 0, n - 1)
        yt = run(tiles)
        tiled = np.zeros((n, 17, 3))
        tc = np.zeros(n)
        for w in range(len(tiles)):
            for p in range(t):
                tiled[tiles[w, p]] += yt[w, p]
                tc[tiles[w, p]] += 1
        tiled /= tc[:, None, None]
    calls = []
    for agg, want in (("mean", mean), ("center", center), ("tiled", tiled)):
        lifter = Lifter.from_model(model, flip_tta=False, batch_size=4, aggregate=agg)
        inner = lifter.run_batch

        def counted(x, cam=None, inner=inner):
            calls.append(len(x))
            return inner(x, cam)

        lifter.run_batch = counted
        got = lifter.lift(kp, conf, 640, 480)
        assert np.abs(got - want).max() < 1e-5, agg
        windows = sum(calls)
        calls.clear()
        assert windows == (len(tiles) if agg == "tiled" else n)
    with pytest.raises(ValueError, match="aggregate"):
        Lifter.from_model(model, aggregate="median")


@pytest.mark.parametrize("aggregate", ["mean", "center", "tiled"])
def test_piecewise_lifting_equals_the_whole_clip(aggregate: str) -> None:
    """The pipeline lifts a clip in pieces (and only some frames): with ``Lifter.context``
    frames of context (and aligned tiles) every piece equals lifting the whole clip."""
    from dgnet_core.pipeline import iter_lift

    cfg = DGNetConfig(channels=16, num_blocks=1, importance_hidden=8, in_channels=3)
    lifter = Lifter.from_model(random_model(cfg), flip_tta=False, aggregate=aggregate)
    kp, conf = _clip(n=45)
    whole = lifter.lift(kp, conf, 640, 480)
    gen = iter_lift(lifter, kp, conf, 640, 480, chunk=7)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        pieces = stop.value
    assert np.abs(pieces - whole).max() < 1e-5
    todo = np.zeros(45, bool)
    todo[[3, 4, 5, 17, 30, 31, 44]] = True
    out = np.full((45, 17, 3), np.nan, np.float32)
    for _ in iter_lift(lifter, kp, conf, 640, 480, chunk=2, out=out, todo=todo):
        pass
    assert np.abs(out[todo] - whole[todo]).max() < 1e-5 and np.isnan(out[~todo]).all()


def test_flip_tta_is_on_by_default_only_for_left_right_symmetric_networks() -> None:
    """v2 networks tell left from right and flip TTA made the shipped one worse (GT 2D P1
    50.5 -> 56.3 mm); v1's shared skeleton weights are symmetric and flip helped them."""
    small = {"channels": 16, "num_blocks": 1, "importance_hidden": 8}
    v2 = Lifter.from_model(random_model(DGNetConfig(**small)))
    v1 = Lifter.from_model(random_model(DGNetConfig(**small, fsg_weighting="shared")))
    assert v2.flip_tta is False and v1.flip_tta is True
    assert Lifter.from_model(random_model(DGNetConfig(**small)), flip_tta=True).flip_tta


def test_flip_tta_in_one_call_averages_the_mirrored_prediction() -> None:
    from dgnet_core.skeleton import flip_pose

    lifter = tiny_lifter()
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
    mirrored_px = flip_pose(kp)
    mirrored_px[..., 0] += 640
    m = flip_pose(lifter.lift(mirrored_px, None, 640, 480))
    assert np.abs(y - 0.5 * (plain + m)).max() < 1e-5
