"""Where the lift loses to MediaPipe on rendered clips: detection or lifting, and which joints.

    python -m training.diagnose rendered runs/e2e [--model dgnet_core/weights/default.onnx]

For every ``<clip>.mp4`` with its ground truth ``<clip>.npz`` under the folder
(``python -m training.synthetic evaluate --out DIR`` writes both), MediaPipe runs once and
the model lifts (true focal length, no smoothing or placement, one pose per frame):

* from MediaPipe's 2D joints (what the product does),
* from the projected ground-truth 2D joints (a perfect detector),

and both, plus MediaPipe's own world landmarks, are compared with the truth by PA-MPJPE
(mm, per-frame similarity Procrustes, root-relative). A clip that the GT-2D lift also loses
is lost in the lifting, not in the detection. Per joint, the table shows the mean aligned
error, and ``depth sign`` the share of limb bones (upper arms, forearms, thighs, shins)
whose camera depth direction (toward or away from the camera, bones at least 20 % out of
the image plane in the truth) the lift gets right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .renders import rendered_clips

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NAMES = ("pelvis", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "spine",
         "thorax", "nose", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
         "r_elbow", "r_wrist")
LIMB_BONES = ((11, 12), (12, 13), (14, 15), (15, 16), (4, 5), (5, 6), (1, 2), (2, 3))


def aligned_errors(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, J) per-joint error (mm) after per-frame similarity Procrustes alignment."""
    from dgnet_core.metrics import procrustes_align

    p = pred - pred[:, :1]
    g = truth - truth[:, :1]
    return 1000 * np.linalg.norm(procrustes_align(p, g) - g, axis=-1)


def depth_sign_agreement(pred: np.ndarray, truth: np.ndarray, min_out: float = 0.2) -> float:
    """Share of limb bones, clearly out of the image plane in the truth, whose depth
    direction (child nearer or farther than its parent) ``pred`` gets right."""
    hits = []
    for a, b in LIMB_BONES:
        bt, bp = truth[:, b] - truth[:, a], pred[:, b] - pred[:, a]
        out = np.abs(bt[:, 2]) >= min_out * np.linalg.norm(bt, axis=-1)
        hits.append((np.sign(bt[:, 2]) == np.sign(bp[:, 2]))[out])
    hits = np.concatenate(hits)
    return float(hits.mean()) if len(hits) else float("nan")


def diagnose(video: Path, lifter) -> dict[str, np.ndarray]:
    """Per-joint aligned errors (N, 17) of the three estimates for one rendered clip."""
    from dgnet_core.detection.detect import detect_video
    from dgnet_core.skeleton import mediapipe_to_h36m

    with np.load(video.with_suffix(".npz")) as gt:
        K, truth = gt["intrinsics"], gt["joints_camera"].astype(np.float64)
        truth_2d = gt["joints_2d"].astype(np.float32)
    det = detect_video(video)
    ok = det.detected
    kp, conf = mediapipe_to_h36m(det.pixels(), det.visibility)
    lift = lifter.lift(kp.astype(np.float32), conf.astype(np.float32), det.width, det.height,
                       intrinsics=K).astype(np.float64)
    lift_gt = lifter.lift(truth_2d, np.ones(truth_2d.shape[:2], np.float32), det.width,
                          det.height, intrinsics=K).astype(np.float64)
    mp, _ = mediapipe_to_h36m(np.nan_to_num(det.world.astype(np.float64)))
    idx = np.asarray(det.frame_indices)[ok]
    t = truth[idx]
    return {"ours": aligned_errors(lift[ok], t), "ours, GT 2D": aligned_errors(lift_gt[ok], t),
            "MediaPipe": aligned_errors(mp[ok], t),
            "sign ours": np.array(depth_sign_agreement(lift[ok], t)),
            "sign ours, GT 2D": np.array(depth_sign_agreement(lift_gt[ok], t)),
            "sign MediaPipe": np.array(depth_sign_agreement(mp[ok], t))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("renders", type=Path)
    p.add_argument("--model", default=None, help="default: the shipped model")
    args = p.parse_args(argv)
    from dgnet_core.lifting.backend import load_lifter

    videos = rendered_clips(args.renders)
    lifter = load_lifter(args.model, threads=1)  # None: the shipped model
    methods = ("ours", "ours, GT 2D", "MediaPipe")
    print("| clip | " + " | ".join(f"{m} PA-MPJPE" for m in methods)
          + " | " + " | ".join(f"depth sign {m}" for m in methods) + " |")
    print("|---" * (1 + 2 * len(methods)) + "|")
    joints = {m: [] for m in methods}
    for v in videos:
        r = diagnose(v, lifter)
        for m in methods:
            joints[m].append(r[m].mean(axis=0))
        name = f"{v.parent.name}/{v.stem}"
        print(f"| {name} | " + " | ".join(f"{r[m].mean():.1f}" for m in methods) + " | "
              + " | ".join(f"{100 * float(r['sign ' + m]):.0f} %" for m in methods) + " |",
              flush=True)
    print("\nPer joint, mean over the clips (mm):\n")
    print("| joint | " + " | ".join(methods) + " |\n|---" + "|---:" * len(methods) + "|")
    for j, name in enumerate(NAMES):
        print(f"| {name} | " + " | ".join(f"{np.mean([e[j] for e in joints[m]]):.0f}"
                                         for m in methods) + " |")
    return 0
