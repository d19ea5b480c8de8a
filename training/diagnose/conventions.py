"""How much the rendered clips' joint conventions cost the lift, from perfect 2D.

    python -m training.diagnose conventions runs/e2e/eye [--model W] [--data ../shared/data/h36m]

The procedural mannequin (``dgnet_core.skeleton.TEMPLATE_POSE``) places its joints the way
the product's MediaPipe mapping does: thorax on the shoulder line, shoulders 34 cm apart,
head top high. Human3.6M, which the lift is trained on, has narrower shoulders with the
thorax above them and a lower neck and head top. For each ``<clip>.npz`` under the folder
(``python -m training.synthetic evaluate`` writes them) this lifts the projected true 2D
joints twice, as rendered and with the body moved to Human3.6M's conventions (the medians
of its training subjects: shoulder and hip widths, thorax height above the shoulder line,
neck/nose and head-top heights above the thorax; every limb moved rigidly with its root
joint), and prints PA-MPJPE (mm) of each against its own truth, over all 17 joints and
over the 12 limb joints. No detector runs: the difference is the lift's alone.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dgnet_core.rotations import normalize as _unit  # noqa: E402
from dgnet_core.skeleton import (  # noqa: E402
    HEAD,
    HIP,
    LHIP,
    LSHO,
    NOSE,
    RHIP,
    RSHO,
    TEMPLATE_POSE,
    THORAX,
)
from training.pose_augment import spread_joints  # noqa: E402

LIMBS = [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]


def measure(poses: np.ndarray) -> dict[str, float]:
    """Median joint conventions of poses (N, 17, 3), metres."""
    up = _unit(poses[:, THORAX] - poses[:, HIP])
    line = (poses[:, LSHO] + poses[:, RSHO]) / 2

    def height(j: int, ref: np.ndarray) -> float:
        return float(np.median(np.sum((poses[:, j] - ref) * up, -1)))

    return {"shoulders": float(np.median(np.linalg.norm(poses[:, LSHO] - poses[:, RSHO], axis=-1))),
            "hips": float(np.median(np.linalg.norm(poses[:, LHIP] - poses[:, RHIP], axis=-1))),
            "thorax": height(THORAX, line), "nose": height(NOSE, poses[:, THORAX]),
            "head": height(HEAD, poses[:, THORAX])}


def move_to(poses: np.ndarray, want: dict[str, float]) -> np.ndarray:
    """Poses (T, 17, 3) with the conventions ``want``, limbs carried rigidly."""
    x = poses.copy()
    have = measure(x)
    for pair, centre, key in (((LSHO, RSHO), -1, "shoulders"), ((LHIP, RHIP), HIP, "hips")):
        spread_joints(x, centre, pair, np.full(len(x), want[key] / have[key]))
    up = _unit(x[:, THORAX] - x[:, HIP])
    line = (x[:, LSHO] + x[:, RSHO]) / 2
    old_thorax = x[:, THORAX].copy()
    x[:, THORAX] = line + up * want["thorax"] + (
        x[:, THORAX] - line - up * np.sum((x[:, THORAX] - line) * up, -1, keepdims=True))
    for j, key in ((NOSE, "nose"), (HEAD, "head")):
        now = np.sum((x[:, j] - old_thorax) * up, -1, keepdims=True)
        x[:, j] += up * (want[key] - now) + (x[:, THORAX] - old_thorax)
    return x


def pa_mpjpe(pred: np.ndarray, truth: np.ndarray, joints: list[int]) -> float:
    from dgnet_core.metrics import procrustes_align

    p = (pred - pred[:, :1])[:, joints]
    g = (truth - truth[:, :1])[:, joints]
    return float(1000 * np.linalg.norm(procrustes_align(p, g) - g, axis=-1).mean())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("renders", type=Path)
    p.add_argument("--model", default=None, help="default: the shipped model")
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2]
                   / "shared" / "data" / "h36m", help="Human3.6M files (for its conventions)")
    args = p.parse_args(argv)
    from dgnet_core.lifting.backend import load_lifter
    from training import h36m
    from training.config import make_config

    clips = sorted(args.renders.rglob("*.npz"))
    if not clips:
        print(f"error: no rendered clip ground truth (<clip>.npz) under {args.renders}",
              file=sys.stderr)
        return 2
    lifter = load_lifter(args.model, threads=1)  # None: the shipped model
    subjects = make_config("default").train_subjects
    data = h36m.load(args.data, subjects=subjects)
    poses = np.concatenate([data.poses[s][a][::50] for s, a in data.sequences(subjects, None)])
    want = measure(poses.astype(np.float64))
    for name, conv in (("Human3.6M training subjects", want),
                       ("procedural mannequin", measure(np.asarray(TEMPLATE_POSE)[None]))):
        print(f"{name}, conventions (cm): "
              + ", ".join(f"{k} {100 * v:.1f}" for k, v in conv.items()))
    print("\n| clip | as rendered, all | as rendered, limbs | Human3.6M conventions, all "
          "| Human3.6M conventions, limbs |\n|---|---:|---:|---:|---:|")
    for clip in clips:
        with np.load(clip) as gt:
            K, R, C = gt["intrinsics"], gt["rotation"], gt["camera_centre"]
            world = gt["joints_world"].astype(np.float64)
            w, h = int(gt["width"]), int(gt["height"])
        cells = []
        for body in (world, move_to(world, want)):
            cam = (body - C) @ R.T
            kp = (cam[..., :2] / cam[..., 2:3] * np.diag(K)[:2] + K[:2, 2]).astype(np.float32)
            pred = lifter.lift(kp, np.ones(kp.shape[:2], np.float32), w, h,
                               intrinsics=K).astype(np.float64)
            cells += [pa_mpjpe(pred, cam, list(range(17))), pa_mpjpe(pred, cam, LIMBS)]
        print(f"| {clip.parent.name}/{clip.stem} | " + " | ".join(f"{c:.1f}" for c in cells)
              + " |", flush=True)
    return 0
