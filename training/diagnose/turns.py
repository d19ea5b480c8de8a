"""Turns on rendered clips: hip, shoulder and head yaw of the lift against the truth, and
how fast the lift turns against how fast the person turns.

Yaw is the heading of the hip line (and of the shoulder line) seen from above the camera
(camera axes: the angle of the line in the x-z plane), so the world frames of the truth and
of the placement do not enter. Per clip: the mean absolute yaw error of the lift
(``LiftResult.joints_camera``) and of MediaPipe's world landmarks, and the largest turn
between two frames (degrees per frame) of the truth, the lift and MediaPipe. The head:
its facing, thorax -> nose made square to thorax -> head top (as the bake turns the head
bone; the rendered head is placed by the same three joints), as yaw (heading in the x-z
plane) and pitch (above it); MediaPipe's the same way from its landmarks made into the 17
joints, and ("face") from its own face points, ears -> nose (another definition: its
pitch carries the nose's drop below the ears).

    python -m training.diagnose turns runs/e2e [--model M]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dgnet_core.skeleton import HEAD, LHIP, LSHO, NOSE, RHIP, RSHO, THORAX, mediapipe_to_h36m

from .renders import rendered_clips


def yaw_deg(joints: np.ndarray, left: int, right: int) -> np.ndarray:
    """(N,) heading of the line from ``right`` to ``left`` in the camera's x-z plane."""
    d = joints[:, left] - joints[:, right]
    return np.degrees(np.arctan2(d[:, 2], d[:, 0]))


def head_facing(joints: np.ndarray) -> np.ndarray:
    """(N, 3) unit facing of the head: thorax -> nose made square to thorax -> head top."""
    aim = joints[:, HEAD] - joints[:, THORAX]
    aim /= np.linalg.norm(aim, axis=-1, keepdims=True)
    fwd = joints[:, NOSE] - joints[:, THORAX]
    fwd = fwd - (fwd * aim).sum(-1, keepdims=True) * aim
    return fwd / np.linalg.norm(fwd, axis=-1, keepdims=True)


def face_facing(mp_world: np.ndarray) -> np.ndarray:
    """(N, 3) unit facing from MediaPipe's face points: the ears' midpoint -> the nose."""
    fwd = mp_world[:, 0] - 0.5 * (mp_world[:, 7] + mp_world[:, 8])
    return fwd / np.linalg.norm(fwd, axis=-1, keepdims=True).clip(1e-9)


def yaw_pitch(facing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heading in the camera's x-z plane and the angle above it (y is down), degrees."""
    yaw = np.degrees(np.arctan2(facing[:, 2], facing[:, 0]))
    pitch = np.degrees(np.arcsin(np.clip(-facing[:, 1], -1.0, 1.0)))
    return yaw, pitch


def wrap(a: np.ndarray) -> np.ndarray:
    return (np.asarray(a) + 180.0) % 360.0 - 180.0


def clip_rows(result, truth_npz: Path) -> dict[str, float]:
    """Yaw errors and fastest turns of one rendered clip's result."""
    with np.load(truth_npz) as z:
        gt = z["joints_camera"].astype(np.float64)[np.asarray(result.frame_indices)]
    ok = np.asarray(result.detected, bool) & np.isfinite(result.mp_world).all(axis=(1, 2))
    ours = np.asarray(result.joints_camera, np.float64)
    mp = mediapipe_to_h36m(np.nan_to_num(np.asarray(result.mp_world, np.float64)))[0]
    out: dict[str, float] = {}
    for part, (l, r) in (("hips", (LHIP, RHIP)), ("shoulders", (LSHO, RSHO))):
        truth = yaw_deg(gt, l, r)
        for name, j in (("ours", ours), ("mediapipe", mp)):
            y = yaw_deg(j, l, r)
            out[f"{part} {name} error"] = float(np.abs(wrap(y - truth))[ok].mean())
            step = np.abs(wrap(np.diff(y)))[ok[1:] & ok[:-1]]
            out[f"{part} {name} fastest"] = float(step.max()) if step.size else float("nan")
        out[f"{part} truth fastest"] = float(np.abs(wrap(np.diff(truth))).max())
    t_yaw, t_pitch = yaw_pitch(head_facing(gt))
    mp_raw = np.nan_to_num(np.asarray(result.mp_world, np.float64))
    for name, facing in (("ours", head_facing(ours)), ("mediapipe", head_facing(mp)),
                         ("face", face_facing(mp_raw))):
        yaw, pitch = yaw_pitch(facing)
        out[f"head {name} yaw error"] = float(np.abs(wrap(yaw - t_yaw))[ok].mean())
        out[f"head {name} pitch error"] = float(np.abs(pitch - t_pitch)[ok].mean())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("renders", type=Path)
    p.add_argument("--model", default=None, help="default: the shipped model")
    args = p.parse_args(argv)
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.pipeline import run_pipeline

    videos = rendered_clips(args.renders)
    cols = ["hips ours error", "hips mediapipe error", "shoulders ours error",
            "shoulders mediapipe error", "hips truth fastest", "hips ours fastest",
            "hips mediapipe fastest", "head ours yaw error", "head mediapipe yaw error",
            "head face yaw error", "head ours pitch error", "head mediapipe pitch error"]
    print("| clip | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    rows = []
    for v in videos:
        with np.load(v.with_suffix(".npz")) as z:
            focal = float(z["intrinsics"][0, 0])
        res = run_pipeline(v, PipelineOptions(focal_px=focal, model_path=args.model))
        row = clip_rows(res, v.with_suffix(".npz"))
        rows.append(row)
        print(f"| {v.parent.name}/{v.stem} | " + " | ".join(f"{row[c]:.1f}" for c in cols)
              + " |", flush=True)
    print("| **mean** | " + " | ".join(f"{np.mean([r[c] for r in rows]):.1f}" for c in cols)
          + " |")
    return 0
