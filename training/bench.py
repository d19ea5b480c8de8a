"""Training throughput: ``python -m training.bench --preset default --steps 20``.

Times full optimisation steps (batch generation + forward + multi-level loss + backward +
Adam) of a preset's model and data, after warm-up steps, and prints samples per second.
Uses the shared Human3.6M files when present, else the synthetic fake data (same shapes;
throughput does not depend on the values).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from dgnet_core.model import DGNet

from . import h36m
from .config import PRESETS, make_config
from .fake_h36m import write_fake_h36m
from .train import _TrainForward, build_train_source, get_batch, train_step


def bench(preset: str = "default", steps: int = 20, warmup: int = 3, threads: int = 1,
          batch_size: int | None = None, data_root: str | None = None) -> dict:
    cfg = make_config(preset)
    if batch_size:
        cfg = replace(cfg, batch_size=batch_size)
    torch.set_num_threads(threads)
    root = Path(data_root or cfg.data_root)
    tmp = None
    if not (root / "h36m_3d17.npz").exists() and not (root / "data_3d_h36m.npz").exists():
        tmp = tempfile.TemporaryDirectory()
        root = write_fake_h36m(tmp.name, subjects=cfg.train_subjects, frames=400)
    data = h36m.load(root, subjects=cfg.train_subjects, detections=cfg.input_source == "det")
    source = build_train_source(replace(cfg, data_root=str(root)), data)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = DGNet(cfg.model).to(device).train()
    fwd = _TrainForward(net)
    if cfg.compile and device.type == "cuda":
        fwd = torch.compile(fwd)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(0)
    bf16 = cfg.bf16 and device.type == "cuda"
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        idx = rng.integers(len(source), size=cfg.batch_size)
        b = {k: torch.from_numpy(v).to(device) for k, v in get_batch(source, idx, rng,
                                                                         cfg).items()}
        train_step(fwd, net, opt, b, 0.1, cfg.model.output == "balanced", bf16)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    if tmp is not None:
        tmp.cleanup()
    return {"preset": preset, "device": str(device), "threads": threads,
            "batch_size": cfg.batch_size, "steps": steps,
            "samples_per_s": round(steps * cfg.batch_size / dt, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--data")
    a = p.parse_args(argv)
    print(json.dumps(bench(a.preset, a.steps, a.warmup, a.threads, a.batch_size, a.data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
