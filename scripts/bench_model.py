"""Benchmark the DG-Net forward pass: analytic FLOPs per output frame and CPU throughput.

    python scripts/bench_model.py [--seconds 5] [--batches 1 256]

FLOPs are counted by torch.utils.flop_counter from the shapes of every matrix product
(linear layers, graph aggregation, KNN distances, non-local attention); element-wise work
(ReLU, softmax, BatchNorm) is not included. Throughput is output frames per second of the
inference model (block heads dropped, no flip TTA) for torch and onnxruntime.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from dgnet_core.lifting.config import DGNetConfig
from dgnet_core.lifting.weights import export_onnx, onnx_session, random_model


def flops_per_frame(cfg: DGNetConfig) -> int:
    model = random_model(cfg).drop_block_heads()
    x = torch.randn(1, cfg.num_frames, cfg.num_joints, cfg.in_channels)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops()


def _rate(fn, batch: int, seconds: float) -> float:
    fn()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return batch * n / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 256])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = DGNetConfig()
    print(f"matmul FLOPs per output frame: {flops_per_frame(cfg) / 1e6:.1f} MFLOP")
    model = random_model(cfg).drop_block_heads()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "m.onnx")
        sess, _ = onnx_session(path, threads=args.threads)
        for b in args.batches:
            x = torch.randn(b, cfg.num_frames, cfg.num_joints, cfg.in_channels)
            xn = x.numpy()
            with torch.inference_mode():
                t = _rate(lambda x=x: model(x), b, args.seconds)
            o = _rate(lambda xn=xn: sess.run(None, {"x": xn}), b, args.seconds)
            print(f"batch {b:5d}: torch {t:8.1f} frames/s   onnxruntime {o:8.1f} frames/s"
                  f"   ({args.threads} threads)")
    np.random.seed(0)


if __name__ == "__main__":
    main()
