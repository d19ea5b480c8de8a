"""The floor prior's weight (``MotionOptions.body_up_prior``) on rendered clips with ground
truth: camera-space pose error after placement and the floor's tilt error.

    python -m training.diagnose floor-prior runs/e2e --weights 0,0.3,0.5,0.7,1

Each ``<dir>/**/<clip>.mp4`` with its ``<clip>.npz`` (``python -m training.synthetic
evaluate --out DIR`` writes them) is detected and lifted once with the shipped model and
the true focal length, then placed with each weight. Prints a Markdown table per clip:
root-relative MPJPE in camera axes (mm; the upright correction's tilt shows here, while
PA-MPJPE hides it) and the angle between the estimated and the true floor normal (deg).
Weight 0 is a level-camera prior alone (the placement before this option).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from .renders import rendered_clips

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def true_up_in_camera(world: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """World up (Z) in camera axes, from the rotation taking world joints onto camera ones."""
    a = world.reshape(-1, 3) - world.reshape(-1, 3).mean(0)
    b = cam.reshape(-1, 3) - cam.reshape(-1, 3).mean(0)
    u, _, vt = np.linalg.svd(a.T @ b)
    return (u @ vt).T @ [0.0, 0.0, 1.0]


def main(argv: list[str] | None = None) -> int:
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.metrics import mpjpe
    from dgnet_core.motion.place import MotionOptions, place
    from dgnet_core.pipeline import run_pipeline

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("renders", type=Path)
    p.add_argument("--weights", default="0,0.5")
    p.add_argument("--no-anchor", action="store_true",
                   help="place without holding the root depth to still feet (anchor_feet)")
    a = p.parse_args(argv)
    base = MotionOptions(anchor_feet=not a.no_anchor)
    weights = [float(w) for w in a.weights.split(",")]
    videos = rendered_clips(a.renders)
    errs = {w: [] for w in weights}
    tilts = {w: [] for w in weights}
    print("| clip | " + " | ".join(f"w={w:g} MPJPE / tilt" for w in weights) + " |")
    print("|---|" + "---:|" * len(weights))
    for video in videos:
        with np.load(video.with_suffix(".npz")) as gt:
            focal = float(gt["intrinsics"][0, 0])
            raw = run_pipeline(video, PipelineOptions(focal_px=focal, cleanup=False))
            idx = np.asarray(raw.frame_indices)
            g_cam = gt["joints_camera"].astype(np.float64)[idx]
            up = true_up_in_camera(gt["joints_world"].astype(np.float64)[idx], g_cam)
        ok = np.asarray(raw.detected, bool)
        rel = np.asarray(raw.joints_camera, np.float64)
        rel = rel - rel[:, :1]
        truth = g_cam - g_cam[:, :1]
        cells = []
        for w in weights:
            out = place(rel, np.asarray(raw.keypoints_2d), np.asarray(raw.confidence),
                        np.asarray(raw.intrinsics), raw.fps,
                        options=replace(base, body_up_prior=w))
            c = out.joints_camera.astype(np.float64)
            c = c - c[:, :1]
            est = out.camera_to_world.T @ [0.0, 0.0, 1.0]
            errs[w].append(1000 * float(mpjpe(c[ok], truth[ok]).mean()))
            tilts[w].append(math.degrees(math.acos(np.clip(est @ up / np.linalg.norm(up),
                                                           -1, 1))))
            cells.append(f"{errs[w][-1]:.1f} / {tilts[w][-1]:.1f}")
        print(f"| {video.parent.name}/{video.stem} | " + " | ".join(cells) + " |", flush=True)
    print("| **mean** | " + " | ".join(f"**{np.mean(errs[w]):.1f} / {np.mean(tilts[w]):.1f}**"
                                     for w in weights) + " |")
    return 0
