"""Training throughput: ``python -m training.bench --preset default --steps 20``.

Times full optimisation steps (batch generation + forward + multi-level loss + backward +
Adam) of a preset's model and data, after warm-up steps, and prints samples per second.
Uses the shared Human3.6M files when present, else the synthetic fake data (same shapes;
throughput does not depend on the values). ``--set`` / ``--model`` override fields like
``training.train`` does. ``--baseline`` also times the step as it was before v2 (the v1
network, fp32, batch 64, MPJPE loss) in the same process, alternating rounds, and prints
both and their ratio. ``--profile`` runs the timed steps under the PyTorch profiler and
prints the share of step time spent in matrix products (mm, bmm, addmm, ...) and the
operators that take the most time: the ceiling a faster step can reach with the same maths.
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

from dgnet_core.lifting.config import LEGACY_V1
from dgnet_core.lifting.model import DGNet

from . import h36m
from .config import PRESETS, make_config
from .fake_h36m import write_fake_h36m
from .train import _TrainForward, build_train_source, get_batch, train_step

V1_STEP_MODEL = [f"{k}={v}" for k, v in LEGACY_V1.items()] + ["weighting=mlp", "version=1"]
V1_STEP_SETS = ["batch_size=64", "bf16=false", "loss=mpjpe"]


def bench(preset: str = "default", steps: int = 20, warmup: int = 3, threads: int = 1,
          batch_size: int | None = None, data_root: str | None = None,
          sets: list[str] | None = None, model_sets: list[str] | None = None,
          profile: bool = False) -> dict:
    cfg = make_config(preset, sets=sets, model_sets=model_sets)
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
    bf16 = cfg.bf16
    t0 = 0.0
    prof = None
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            if profile:
                prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                prof.__enter__()
            t0 = time.perf_counter()
        idx = rng.integers(len(source), size=cfg.batch_size)
        b = {k: torch.from_numpy(v).to(device) for k, v in get_batch(source, idx, rng,
                                                                         cfg).items()}
        train_step(fwd, net, opt, b, 0.1, cfg.model.balanced, bf16, 0.0, cfg.loss)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    if prof is not None:
        prof.__exit__(None, None, None)
    if tmp is not None:
        tmp.cleanup()
    extra = _profile_summary(prof, steps) if prof is not None else {}
    return {**extra, "preset": preset, "device": str(device), "threads": threads,
            "batch_size": cfg.batch_size, "bf16": cfg.bf16, "loss": cfg.loss,
            "model_version": cfg.model.version, "steps": steps,
            "samples_per_s": round(steps * cfg.batch_size / dt, 1)}


MATMUL_OPS = ("aten::mm", "aten::bmm", "aten::addmm", "aten::baddbmm", "aten::addmv_",
              "aten::ger", "aten::mv")


def _profile_summary(prof, steps: int) -> dict:
    """Milliseconds per step: all operators, matrix products, and the five largest."""
    rows = prof.key_averages()
    total = sum(r.self_cpu_time_total for r in rows) / 1000 / steps
    mat = sum(r.self_cpu_time_total for r in rows if r.key in MATMUL_OPS) / 1000 / steps
    top = sorted(rows, key=lambda r: -r.self_cpu_time_total)[:5]
    return {"profile_ms_per_step": round(total, 1), "matmul_ms_per_step": round(mat, 1),
            "matmul_share": round(mat / total, 3),
            "top_ops_ms_per_step": {r.key: round(r.self_cpu_time_total / 1000 / steps, 1)
                                    for r in top}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--data")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--model", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--baseline", action="store_true",
                   help="also time the v1 step (fp32, batch 64), alternating rounds")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--profile", action="store_true",
                   help="profile the timed steps: share of time in matrix products")
    a = p.parse_args(argv)
    runs: dict[str, list[float]] = {"new": [], "v1": []}
    for _ in range(a.rounds):
        r = bench(a.preset, a.steps, a.warmup, a.threads, a.batch_size, a.data, a.set, a.model,
                  a.profile)
        print(json.dumps(r), flush=True)
        runs["new"].append(r["samples_per_s"])
        if a.baseline:
            b = bench(a.preset, a.steps, a.warmup, a.threads, None, a.data,
                      a.set + V1_STEP_SETS, a.model + V1_STEP_MODEL)
            print(json.dumps({**b, "label": "v1 step"}), flush=True)
            runs["v1"].append(b["samples_per_s"])
    if a.baseline:
        new, old = float(np.median(runs["new"])), float(np.median(runs["v1"]))
        print(json.dumps({"median_samples_per_s": new, "v1_median_samples_per_s": old,
                          "ratio": round(new / old, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
