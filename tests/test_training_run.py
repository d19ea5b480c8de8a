"""Training package, end to end on CPU: learning, exact resume, DDP (gloo), evaluation."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from dgnet_core.lifting.weights import load_model, read_config
from training import evaluate, h36m
from training.config import make_config
from training.data import build_windows
from training.fake_h36m import write_fake_h36m
from training.train import CHECKPOINT, read_checkpoint, train, val_mpjpe_mm

pytestmark = pytest.mark.slow  # training end to end: learning, resume, DDP, evaluation
TINY = ["channels=16", "importance_hidden=8", "block_head_hidden=16"]


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs torch on one thread (the fixture lives in conftest.py)."""


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    return write_fake_h36m(tmp_path_factory.mktemp("fake_h36m"), frames=80)


def _cfg(fake_dir, **kw):
    cfg = make_config("tiny", sets=[f"data_root={fake_dir}", "frame_step=1",
                                    "val_frame_step=10"], model_sets=TINY)
    return replace(cfg, **kw)


def test_resume_reproduces_the_state(fake_dir, tmp_path) -> None:
    cfg = _cfg(fake_dir, epochs=3, batch_size=16, input_source="reproject")
    straight = train(replace(cfg, max_steps=7), tmp_path / "a", progress=False)
    first = train(replace(cfg, max_steps=3), tmp_path / "b", progress=False)
    assert first["step"] == 3 and not first["done"]
    second = train(replace(cfg, max_steps=7), tmp_path / "b", resume=True, progress=False)
    assert second["step"] == straight["step"] == 7
    a = read_checkpoint(tmp_path / "a" / CHECKPOINT)
    b = read_checkpoint(tmp_path / "b" / CHECKPOINT)
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for pid, st in a["optim"]["state"].items():
        for k, v in st.items():
            assert torch.equal(v, b["optim"]["state"][pid][k]), (pid, k)
    assert a["sched"] == b["sched"] and a["sched"]["last_epoch"] == 7
    rows = list(csv.DictReader(open(tmp_path / "b" / "log.csv")))
    assert rows and all(r["train_loss"] for r in rows)
    assert (tmp_path / "b" / "curves.png").stat().st_size > 1000


def test_short_training_lowers_held_out_error(fake_dir, tmp_path) -> None:
    cfg = _cfg(fake_dir, epochs=4, batch_size=32, lr=3e-3, lr_decay=1.0)
    data = h36m.load(fake_dir)
    val = build_windows(data, cfg.test_subjects, in_channels=2)
    idx = np.arange(0, len(val), 5)
    torch.manual_seed(cfg.seed)
    from dgnet_core.lifting.model import DGNet
    before = val_mpjpe_mm(DGNet(cfg.model), val, idx, "cpu")
    summary = train(cfg, tmp_path / "run", data=data, progress=False,
                    export=str(tmp_path / "exp" / "m"))
    assert summary["done"] and summary["epoch"] == 4
    after = val_mpjpe_mm(load_model(tmp_path / "run" / "model.safetensors"), val, idx, "cpu")
    assert after < 0.6 * before, (before, after)
    # shipped form: float16 safetensors without block heads + ONNX
    cfg_exp, _ = read_config(tmp_path / "exp" / "m.safetensors")
    assert not cfg_exp.block_heads and (tmp_path / "exp" / "m.onnx").exists()


def test_short_training_on_real_subset(h36m_dir, tmp_path) -> None:
    cfg = make_config("tiny", sets=[f"data_root={h36m_dir}", "frame_step=20",
                                    "train_actions=Walking", "lr=3e-3", "epochs=1"],
                      model_sets=TINY)
    data = h36m.load(h36m_dir, subjects=("S1", "S9"), detections=False)
    val = build_windows(data, ["S9"], actions=["Walking"], cameras=(0,))
    idx = np.arange(0, len(val), 20)
    from dgnet_core.lifting.model import DGNet
    torch.manual_seed(0)
    before = val_mpjpe_mm(DGNet(cfg.model), val, idx, "cpu")
    train(replace(cfg, max_steps=60, batch_size=32), tmp_path / "r", data=data, progress=False)
    after = val_mpjpe_mm(load_model(tmp_path / "r" / "model.safetensors"), val, idx, "cpu")
    assert after < 0.8 * before, (before, after)


@pytest.mark.slow  # two gloo processes
def test_ddp_two_gloo_processes(fake_dir, tmp_path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", "29531", "-m", "training.train", "--preset", "tiny",
           "--out", str(tmp_path / "ddp"), "--max-steps", "3", "--no-progress",
           "--data", str(fake_dir), "--set", "frame_step=1", "--set", "batch_size=8"]
    cmd += [a for m in TINY for a in ("--model", m)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=170, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '"step": 3' in r.stdout and '"samples": 48' in r.stdout  # 2 ranks x 8 x 3
    assert (tmp_path / "ddp" / "model.safetensors").exists()


def test_evaluate_cli_writes_tables(fake_dir, tmp_path) -> None:
    from dgnet_core.lifting.weights import random_model, save_weights
    from training.config import DGNetConfig
    w = save_weights(random_model(DGNetConfig(channels=16, num_blocks=1)), tmp_path / "m.st")
    out = tmp_path / "ev"
    assert evaluate.main([str(w), "--data", str(fake_dir), "--frame-step", "10",
                          "--out", str(out)]) == 0
    md = (out / "table_gt.md").read_text()
    assert "| Walking |" in md and "P2 gt flip" in md and "**Average**" in md
    rows = list(csv.DictReader(open(out / "table_gt.csv")))
    assert {r["variant"] for r in rows} == {"gt", "gt flip"}
    assert all(float(r["P1"]) >= float(r["P2"]) for r in rows)
    assert evaluate.main([str(w), "--data", str(fake_dir), "--source", "det",
                          "--frame-step", "10", "--out", str(out)]) == 0
    assert evaluate.main([str(w), "--protocol", "noise", "--data", str(fake_dir),
                          "--frame-step", "10", "--out", str(out)]) == 0
    assert "sigma 20 px" in (out / "noise_gt.md").read_text()
    assert evaluate.main([f"Walking={w}", "--protocol", "cross-action", "--data",
                          str(fake_dir), "--frame-step", "10", "--out", str(out)]) == 0
    assert evaluate.main([str(w), "--protocol", "affinity", "--data", str(fake_dir),
                          "--clip", "Walking", "--out", str(out)]) == 0
    assert (out / "affinity.png").stat().st_size > 5000


def test_symmetry_protocol_tells_shared_from_per_edge_weights(fake_dir) -> None:
    """The ``symmetry`` measure is 0 for a network whose joints share every weight and
    positive once SemGCN's per-edge weights differ between the left and right sides."""
    from dgnet_core.lifting.config import DGNetConfig
    from dgnet_core.lifting.model import DGNet

    ds = build_windows(h36m.load(fake_dir), ("S9",), in_channels=2)
    idx = np.arange(0, len(ds), 7)
    out = {}
    for style in ("shared", "semgcn"):
        torch.manual_seed(0)
        net = DGNet(DGNetConfig(channels=16, num_blocks=1, fsg_weighting=style)).eval()
        with torch.no_grad():
            for name, p in net.named_parameters():
                if name.endswith("edge_logit"):
                    p.add_(0.3 * torch.randn_like(p))
        out[style] = evaluate.left_right_symmetry_mm(net, ds, idx)
    assert out["shared"] < 1e-3 and out["semgcn"] > 0.5, out


def test_stop_file_checkpoints_and_stops_the_run(fake_dir, tmp_path) -> None:
    """``touch RUN/STOP`` ends a background run cleanly: checkpoint, weights, summary."""
    import threading
    import time

    cfg = _cfg(fake_dir, epochs=1000, batch_size=8)
    out = tmp_path / "run"
    result: dict = {}
    worker = threading.Thread(target=lambda: result.update(train(cfg, out, progress=False)))
    worker.start()
    deadline = time.time() + 60
    while not (out / "log.csv").exists() and time.time() < deadline:
        time.sleep(0.05)
    (out / "STOP").touch()
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert result["stop_reason"] == "stop_file" and not result["done"]
    assert (out / CHECKPOINT).exists() and (out / "model.safetensors").exists()
    assert read_checkpoint(out / CHECKPOINT)["state"]["step"] == result["step"]


def test_resume_with_an_augmentation_change(fake_dir, tmp_path) -> None:
    """A curriculum step: the resumed run trains on with the new augmentation (real
    detector errors here), and the run folder records it for later resumes."""
    cfg = _cfg(fake_dir, epochs=3, batch_size=16, input_source="reproject")
    out = tmp_path / "run"
    train(replace(cfg, max_steps=3), out, progress=False)
    second = train(replace(cfg, max_steps=5), out, resume=True, progress=False,
                   augment_change={"det_residual_prob": 0.5})
    assert second["step"] == 5
    saved = json.loads((out / "config.json").read_text())
    assert saved["augment"]["det_residual_prob"] == 0.5
    changes = [json.loads(line) for line in open(out / "recipe_changes.jsonl")]
    assert changes == [{"step": 3, "augment": {"det_residual_prob": 0.5}}]


def test_fine_tune_starts_from_another_runs_network(fake_dir, tmp_path) -> None:
    """init_from: the new run starts from the source run's model tensors (not a fresh
    network), with a fresh optimizer and step count, and records its source."""
    cfg = _cfg(fake_dir, epochs=3, batch_size=16, input_source="reproject")
    train(replace(cfg, max_steps=4), tmp_path / "src", progress=False)
    src = read_checkpoint(tmp_path / "src" / CHECKPOINT)
    tuned = replace(cfg, max_steps=1, lr=1e-9, init_from=str(tmp_path / "src" / CHECKPOINT),
                    augment=replace(cfg.augment, pose_prob=0.5, pose_trunk_deg=30.0))
    out = train(tuned, tmp_path / "ft", progress=False)
    assert out["step"] == 1
    info = json.loads((tmp_path / "ft" / "init.json").read_text())
    assert info["step"] == 4 and len(info["sha256"]) == 64
    ft = read_checkpoint(tmp_path / "ft" / CHECKPOINT)
    weights = [k for k, v in src["model"].items() if k.endswith("weight") and v.ndim > 1]
    for k in weights:  # lr 1e-9: one step barely moves the weights it started from
        torch.testing.assert_close(ft["model"][k], src["model"][k], atol=1e-6, rtol=0)
    assert int(ft["sched"]["last_epoch"]) == 1
    with pytest.raises(FileNotFoundError, match="init_from"):
        train(replace(tuned, init_from=str(tmp_path / "missing.safetensors")),
              tmp_path / "bad", progress=False)
