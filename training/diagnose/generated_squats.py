"""How well a model lifts generated squats of held-out people (the crouch of pose_augment).

    python -m training.diagnose generated-squats W.safetensors [W2 ...] [--data ../shared/data/h36m]

Takes windows of the test subjects S9 and S11 (never trained on) whose thighs hang down,
turns every one into a squat with ``training.pose_augment`` (crouch only: no other pose
change, no detector error; random cameras and detector-like noise as in training, seed 0),
and prints each model's MPJPE (mm, middle frame, root-relative) on them, on the squats
whose wrists are more than 35 cm nearer the camera than the pelvis (arms reaching toward
it), and the share of those where the lifted wrists are also nearer the camera than the
pelvis. A model that lifts these well but not a rendered squat fails on something other
than the pose itself.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WRISTS = [13, 16]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="+", type=Path)
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2]
                   / "shared" / "data" / "h36m", help="Human3.6M files")
    p.add_argument("--windows", type=int, default=6000, help="windows drawn before the test")
    args = p.parse_args(argv)
    import torch

    from dgnet_core.lifting.weights import load_model
    from training import h36m
    from training.config import make_config
    from training.pose_augment import hanging_thighs
    from training.reproject import ReprojectSampler

    nets = [load_model(w) for w in args.weights]
    torch.set_num_threads(1)
    subjects = ["S9", "S11"]
    cfg = make_config("default").augment
    cfg = replace(cfg, det_residual_prob=0.0, pose_prob=1.0, pose_crouch_prob=1.0,
                  pose_bone_scale=0.0, pose_swing_deg=0.0, pose_hinge_deg=0.0,
                  pose_trunk_deg=0.0, convention_prob=0.0)
    sampler = ReprojectSampler(h36m.load(args.data, subjects=subjects), subjects, cfg=cfg,
                               frame_step=10)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(sampler), min(args.windows, len(sampler)), replace=False)
    idx = idx[hanging_thighs(sampler.poses[sampler.frames[idx]])]
    batch = sampler.batch(idx, rng)
    truth = batch["y"]
    reach = truth[:, WRISTS, 2].mean(-1) < -0.35
    print(f"{len(truth)} generated squats, {reach.sum()} with the wrists > 35 cm nearer "
          "the camera than the pelvis\n")
    print("| model | MPJPE, all squats | MPJPE, arms toward the camera | lifted wrists in "
          "front there |\n|---|---:|---:|---:|")
    for path, net in zip(args.weights, nets):
        with torch.no_grad():
            pred = net(torch.from_numpy(batch["x"]), torch.from_numpy(batch["cam"])).numpy()
        if pred.ndim == 4:
            pred = pred[:, pred.shape[1] // 2]
        err = 1000 * np.linalg.norm(pred - truth, axis=-1).mean(-1)
        front = 100 * np.mean(pred[reach][:, WRISTS, 2].mean(-1) < 0)
        print(f"| {path} | {err.mean():.1f} | {err[reach].mean():.1f} | {front:.0f} % |")
    return 0
