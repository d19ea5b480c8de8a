"""Error against the camera's height over the body: held-out poses seen from below to above.

Each held-out Human3.6M snippet (S9/S11, camera space, every ``--frame-step``-th frame) is
turned about the camera's x axis through its pelvis, so the person stays in the middle of
the picture and only the elevation of the view changes: from the camera well below the
pelvis (looking up at the person) to well above it. The 2D is the true perspective
projection (a 16:9 frame, the position benchmark's lens, 5 m away); P1 (MPJPE, root-relative,
mm) is reported per turn with the resulting elevation (degrees of the camera above the
pelvis, from the body's pelvis -> thorax axis; Human3.6M's own cameras are at about +12).
Why the upright frame's top row of the position benchmark is its worst: a pelvis high in
the picture is a body seen from below. The same check then lifts that top row (9:16, the
middle column) with the product's out-of-picture margin (0.25 of the picture), with every
joint passed on however far outside (10) and with every joint outside it dropped (0): if
the first two agree, the joints outside the picture are not the cause.

    python -m training.diagnose views WEIGHTS [WEIGHTS ...] [--frame-step 2000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

TURNS_DEG = (-40, -30, -20, -10, 0, 10, 20, 30)


def turned(snippets: np.ndarray, degrees: float) -> np.ndarray:
    """Camera-space snippets (S, F, 17, 3) turned about the camera's x axis through the
    pelvis of their middle frame."""
    t = np.radians(degrees)
    rot = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    mid = snippets.shape[1] // 2
    p0 = snippets[:, mid:mid + 1, :1]
    return np.einsum("ij,stkj->stki", rot, snippets - p0) + p0


def elevation_deg(snippets: np.ndarray) -> np.ndarray:
    """(S,) the camera's elevation over each middle-frame body: the angle between the
    pelvis -> thorax axis and the image plane, positive with the camera above."""
    from dgnet_core.skeleton import HIP, THORAX

    mid = snippets.shape[1] // 2
    up = snippets[:, mid, THORAX] - snippets[:, mid, HIP]
    up /= np.linalg.norm(up, axis=-1, keepdims=True)
    return -np.degrees(np.arcsin(up[:, 2]))


def run_views(weights: list[str], data_root: str, frame_step: int) -> str:
    """The markdown table: one row per turn, one P1 column per weights file."""
    import torch

    from dgnet_core.lifting.weights import load_model
    from dgnet_core.metrics import mpjpe
    from training import h36m, position_bench

    from ..train import predict

    torch.set_num_threads(2)
    data = h36m.load(data_root, subjects=h36m.TEST_SUBJECTS, detections=False)
    snippets = np.stack(position_bench.held_out_snippets(data, frame_step))
    mid = position_bench.SNIPPET
    centre = np.arange(len(snippets)) * snippets.shape[1] + mid
    nets = [load_model(w) for w in weights]
    head = ("| turn | camera elevation (mean) | " + " | ".join(Path(w).name for w in weights)
            + " |")
    lines = [f"Human3.6M S9+S11 GT 2D, {len(snippets)} poses per row, 16:9, 5 m, P1 mm", "",
             head, "|---:|---:|" + "---:|" * len(weights)]
    for deg in TURNS_DEG:
        snip = turned(snippets, deg)
        cells = []
        for net in nets:
            ds = position_bench.placed_dataset(snip, 0.5, 0.5, 1920, 1080, 5.0,
                                               net.cfg.in_channels, net.cfg.num_frames)
            pred = predict(net, ds, centre, device="cpu", aggregate="mean")
            cells.append(f"{float(mpjpe(pred, ds.targets[centre]).mean() * 1000):.1f}")
        lines.append(f"| {deg:+d} | {elevation_deg(snip).mean():+.1f} | "
                     + " | ".join(cells) + " |")
    # The upright frame's top row (pelvis at 10 % of the height, the middle column): is it
    # the joints outside the picture? P1 with the product's margin, with every joint passed
    # on however far outside, and with every joint outside the picture dropped; and how far
    # the body reaches above the picture.
    w, h = position_bench.SHAPES["9:16"]
    top = position_bench.place(snippets, 0.5, 0.1, w, h)[0][:, mid, :, 1].min(axis=1)
    lines += ["", f"9:16, pelvis at x 50 %, y 10 %: the body's top {-np.percentile(top, 50):.0f}"
              f" px above the picture (median; 95th percentile {-np.percentile(top, 5):.0f} px"
              f" of {h})", "", "| margin | " + " | ".join(Path(x).name for x in weights)
              + " |", "|---|" + "---:|" * len(weights)]
    for margin in (position_bench.OUT_OF_FRAME_MARGIN, 10.0, 0.0):
        cells = []
        for net in nets:
            ds = position_bench.placed_dataset(snippets, 0.5, 0.1, w, h, 5.0,
                                               net.cfg.in_channels, net.cfg.num_frames,
                                               margin=margin)
            pred = predict(net, ds, centre, device="cpu", aggregate="mean")
            cells.append(f"{float(mpjpe(pred, ds.targets[centre]).mean() * 1000):.1f}")
        lines.append(f"| {margin:g} of the picture | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from training.config import DEFAULT_DATA

    p = argparse.ArgumentParser(prog="python -m training.diagnose views",
                                description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="+")
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--frame-step", type=int, default=2000)
    a = p.parse_args(argv)
    print(run_views(a.weights, a.data, a.frame_step))
    return 0
