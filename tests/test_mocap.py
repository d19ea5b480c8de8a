"""The second motion-capture source (training/mocap.py): loading, bodies, split, mixing."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.skeleton import BONES, LEFT, RIGHT, bone_lengths
from training.config import make_config
from training.fake_h36m import write_fake_h36m, write_fake_mocap
from training.mocap import (
    H36M_BONES,
    PARTS,
    SPLIT_FILE,
    BodyRange,
    body_report,
    held_out_windows,
    load_mocap,
    make_split,
    read_split,
    reproportion,
)
from training.reproject import AugmentConfig, ReprojectSampler
from training.sources import MixedSampler, build_mocap_val, build_train_source


@pytest.fixture(scope="module")
def mocap_dir(tmp_path_factory):
    return write_fake_mocap(tmp_path_factory.mktemp("mocap"))


def _split_file(mocap_dir, tmp_path):
    data = load_mocap(mocap_dir)
    path = tmp_path / "held_out.txt"
    path.write_text("# test split\n" + "\n".join(make_split(data.info)) + "\n")
    return path


def test_loader_decodes_the_compact_format(mocap_dir) -> None:
    data = load_mocap(mocap_dir)
    assert len(data.clips) == 3 * 3 * 12
    clip = next(iter(data.clips.values()))
    assert clip.shape == (60, 17, 3) and clip.dtype == np.float32
    # the fake body is 0.88 x the template: thighs about 0.88 * 0.43 m
    assert bone_lengths(clip)[:, 1].mean() == pytest.approx(0.88 * 0.43, abs=0.01)
    info = data.info["bandai/dataset-2_wave-left-hand_elderly_003"]
    assert (info.content, info.style, info.take) == ("wave-left-hand", "elderly", 3)


def test_loader_says_what_is_missing(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="bandai_h36m17.npz"):
        load_mocap(tmp_path)


def test_reproportion_sets_lengths_and_keeps_directions(mocap_dir) -> None:
    clip = next(iter(load_mocap(mocap_dir).clips.values())).astype(np.float64)
    target = np.array(H36M_BONES) * 1.1
    out = reproportion(clip, target)
    assert np.allclose(bone_lengths(out), target, atol=1e-6)
    for p, c in BONES:   # every bone points where it pointed
        a, b = clip[:, c] - clip[:, p], out[:, c] - out[:, p]
        cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert cos.min() > 1 - 1e-9
    assert np.allclose(out[:, 0], clip[:, 0])   # the pelvis stays
    # one body per window for a batch of windows
    batch = np.stack([clip[:4], clip[4:8]])
    bodies = np.stack([target, target * 0.9])
    outb = reproportion(batch, bodies)
    assert np.allclose(bone_lengths(outb[1]), target * 0.9, atol=1e-6)


def test_drawn_bodies_stay_in_their_range_and_are_symmetric() -> None:
    rng = np.random.default_rng(0)
    rangeb = BodyRange()
    bodies = rangeb.draw(rng, 4000)
    lo, hi = rangeb.bounds()
    assert (bodies >= lo - 1e-9).all() and (bodies <= hi + 1e-9).all()
    child = [c for _, c in BONES]
    for left, right in zip(LEFT, RIGHT):
        assert np.allclose(bodies[:, child.index(left)], bodies[:, child.index(right)])
    # wider than the Human3.6M training subjects: thighs 0.43-0.49 m among them
    rep = body_report(bodies)
    assert rep["thigh"][0] < 0.43 and rep["thigh"][2] > 0.49
    assert set(rep) == set(PARTS)


def test_split_holds_out_whole_styles_and_a_share_of_every_content(mocap_dir) -> None:
    data = load_mocap(mocap_dir)
    held = set(make_split(data.info))
    assert held == set(make_split(data.info))             # deterministic
    for key, info in data.info.items():
        if info.style == "elderly":
            assert key in held
    for content in ("walk", "wave-left-hand", "run"):
        rest = [k for k, i in data.info.items() if i.content == content and i.style != "elderly"]
        share = sum(k in held for k in rest) / len(rest)
        assert 0.05 <= share <= 0.15
    train = data.keys(held_out=False, split=held)
    assert not set(train) & held and len(train) + len(held) == len(data.clips)


def test_committed_split_is_readable() -> None:
    keys = read_split(SPLIT_FILE)
    assert len(keys) > 500 and all(k.startswith("bandai/") for k in keys)
    assert any("_elderly_" in k for k in keys)


def test_held_out_windows_are_root_relative_camera_poses(mocap_dir, tmp_path) -> None:
    data = load_mocap(mocap_dir)
    keys = sorted(read_split(_split_file(mocap_dir, tmp_path)))
    ds, idx = held_out_windows(data, keys, frame_step=5)
    assert len(idx) > 0 and ds.inputs.shape[1:] == (17, 3)
    assert np.allclose(ds.targets[:, 0], 0.0)
    again, idx2 = held_out_windows(data, keys, frame_step=5)
    assert np.array_equal(idx, idx2) and np.allclose(again.inputs, ds.inputs)  # seeded
    # each clip has one drawn body: fixed bone lengths within a clip, Human3.6M-sized
    first = ds.targets[ds.seq_of_frame == 0]
    lengths = bone_lengths(first)
    assert lengths.std(axis=0).max() < 1e-4
    assert 0.35 < lengths[0, 1] < 0.56


def test_mixed_sampler_draws_the_share_and_is_reproducible(tmp_path, mocap_dir) -> None:
    h36m_dir = write_fake_h36m(tmp_path / "h36m", frames=40)
    cfg = make_config("tiny", sets=[f"data_root={h36m_dir}", "input_source=reproject",
                                    f"mocap_root={mocap_dir}", "mocap_share=0.5",
                                    f"mocap_split={_split_file(mocap_dir, tmp_path)}",
                                    "frame_step=1"])
    from training import h36m

    source = build_train_source(cfg, h36m.load(h36m_dir))
    assert isinstance(source, MixedSampler)
    assert len(source) == 2 * len(source.main)
    b1 = source.batch(np.arange(64), np.random.default_rng(3))
    b2 = source.batch(np.arange(64), np.random.default_rng(3))
    assert all(np.array_equal(b1[k], b2[k]) for k in b1)
    assert b1["x"].shape == (64, 4, 17, cfg.model.in_channels)
    assert b1["y"].shape == (64, 4, 17, 3)
    ds, idx = build_mocap_val(cfg)
    assert len(idx) > 0


def test_mocap_share_needs_random_cameras(tmp_path, mocap_dir) -> None:
    with pytest.raises(ValueError, match="mocap_share must be"):
        make_config("tiny", sets=["mocap_share=1.0"])
    cfg = make_config("tiny", sets=["input_source=gt", "mocap_share=0.3",
                                    f"mocap_root={mocap_dir}"])
    with pytest.raises(ValueError, match="reproject"):
        build_train_source(cfg, None)


def test_bodies_reach_the_sampled_windows(mocap_dir, tmp_path) -> None:
    data = load_mocap(mocap_dir)
    sampler = ReprojectSampler(data.as_h36m(sorted(data.clips)[:5]), ("bandai",), 4,
                               AugmentConfig(real_camera_prob=0.0, drop_prob=0.0),
                               all_frames=True, bodies=BodyRange())
    b = sampler.batch(np.arange(32), np.random.default_rng(0))
    thighs = bone_lengths(b["y"])[..., 1]
    # drawn around Human3.6M's 0.454 m, not the source's 0.88 x template
    assert thighs.mean() == pytest.approx(0.454, abs=0.04) and thighs.std() > 0.01
