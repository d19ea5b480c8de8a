"""Position benchmark: the same held-out poses with the person moved across the picture.

For each frame shape (16:9 landscape, 9:16 upright, 1:1; the short side 1080 px) and each
cell of a grid of pelvis positions (fractions of the width and height, 0.1 ... 0.9), every
evaluated Human3.6M test window is translated in camera space so that the pelvis of its
target frame lies on the ray through that pixel at ``depth`` metres, and projected with
one lens for all shapes (a 60 degree horizontal field of view on the landscape frame, the
same focal length in pixels turned upright). The 2D is therefore a true perspective
projection; only where the person stands changes. P1 (MPJPE, root-relative, camera axes)
per cell, read as the product reads it (the mean over the overlapping windows).

    python -m training.evaluate WEIGHTS --protocol position [--frame-step 400]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dgnet_core.lifting.lifter import OUT_OF_FRAME_MARGIN, clamp_to_frame, normalize_screen
from dgnet_core.metrics import mpjpe

from . import h36m
from .data import WindowDataset

SHAPES: dict[str, tuple[int, int]] = {"16:9": (1920, 1080), "9:16": (1080, 1920),
                                      "1:1": (1080, 1080)}
FOCAL_PX = 960.0 / np.tan(np.deg2rad(30.0))   # 60 degrees across the landscape frame
SNIPPET = 3                                    # frames either side of an evaluated frame


@dataclass
class PositionResult:
    """P1 (mm) per grid cell for each frame shape: ``cells[shape][row, col]``; ``cut``: the
    share of the poses with a joint outside the picture in each cell (the body cut by an
    edge; the lift receives those joints as missing)."""

    fractions: tuple[float, ...]
    cells: dict[str, np.ndarray]
    poses: int
    cut: dict[str, np.ndarray] = field(default_factory=dict)
    whole: float = 0.05   # at most this share cut: a cell of whole bodies

    def centre(self, shape: str) -> float:
        k = len(self.fractions) // 2
        return float(self.cells[shape][k, k])

    def worst(self, shape: str, whole_only: bool = False) -> tuple[float, float, float]:
        """(P1, x fraction, y fraction) of the worst cell (``whole_only``: among the cells
        of whole bodies)."""
        g = self.cells[shape]
        if whole_only:
            g = np.where(self.cut[shape] <= self.whole, g, -np.inf)
        r, c = np.unravel_index(int(np.argmax(g)), g.shape)
        return float(g[r, c]), self.fractions[c], self.fractions[r]


def held_out_snippets(data: h36m.H36MData, frame_step: int, subjects=h36m.TEST_SUBJECTS
                  ) -> list[np.ndarray]:
    """Camera-space (7, 17, 3) snippets around every ``frame_step``-th frame of every test
    sequence and camera (clamped at the sequence ends)."""
    out = []
    for s, a in data.sequences(subjects):
        for ci in range(len(data.cameras[s])):
            c3 = data.camera_poses(s, a, ci)
            n = len(c3)
            for t in range(0, n, frame_step):
                idx = np.clip(np.arange(t - SNIPPET, t + SNIPPET + 1), 0, n - 1)
                out.append(c3[idx])
    return out


def place(snippets: np.ndarray, fx: float, fy: float, width: int, height: int,
          depth: float = 5.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Snippets (S, 7, 17, 3) camera-space, moved so that their middle frame's pelvis is at
    the pixel (fx * width, fy * height), ``depth`` metres from the camera. Returns their
    projection in pixels (S, 7, 17, 2), the root-relative 3D (S, 7, 17, 3) and the
    intrinsics (3, 3) of the lens."""
    target = np.array([(fx * width - width / 2) / FOCAL_PX,
                       (fy * height - height / 2) / FOCAL_PX, 1.0]) * depth
    moved = snippets - snippets[:, SNIPPET:SNIPPET + 1, :1] + target
    px = h36m.project(moved, np.array([FOCAL_PX, FOCAL_PX]),
                      np.array([width / 2, height / 2]))
    K = np.array([[FOCAL_PX, 0, width / 2], [0, FOCAL_PX, height / 2], [0, 0, 1]])
    return px.astype(np.float32), (moved - moved[:, :, :1]).astype(np.float32), K


def placed_dataset(snippets: np.ndarray, fx: float, fy: float, width: int, height: int,
                   depth: float, in_channels: int, num_frames: int,
                   margin: float = OUT_OF_FRAME_MARGIN) -> WindowDataset:
    """``place``d snippets as a windowed dataset, fed as the product feeds the network
    (``margin``: how far outside the picture a joint is still passed on, as the lifter's
    ``clamp_to_frame``; 0 drops every joint outside it)."""
    s, t = snippets.shape[:2]
    px, rel, _ = place(snippets, fx, fy, width, height, depth)
    px, conf = clamp_to_frame(px, None, width, height, margin)
    x = normalize_screen(px, width, height)
    if in_channels == 3:
        x = np.concatenate([x, conf[..., None]], axis=-1)
    n = s * t
    starts = np.repeat(np.arange(s) * t, t)
    cam = np.array([FOCAL_PX / width * 2, FOCAL_PX / width * 2, 0.0, 0.0], np.float32)
    return WindowDataset(x.reshape(n, 17, -1), rel.reshape(n, 17, 3), starts, starts + t,
                         np.full(n, width, np.float32), [], np.repeat(np.arange(s), t),
                         num_frames, np.repeat(cam[None], n, axis=0))


def run_position(net, data: h36m.H36MData, *, frame_step: int = 400, depth: float = 5.0,
                 fractions=(0.1, 0.3, 0.5, 0.7, 0.9), shapes=tuple(SHAPES), device="cpu",
                 progress: bool = True) -> PositionResult:
    """P1 per cell and shape for ``net`` (a torch DGNet)."""
    from tqdm import tqdm

    from .train import predict

    snippets = np.stack(held_out_snippets(data, frame_step))
    centre = np.arange(len(snippets)) * (2 * SNIPPET + 1) + SNIPPET
    cells = {k: np.zeros((len(fractions), len(fractions))) for k in shapes}
    cut = {k: np.zeros((len(fractions), len(fractions))) for k in shapes}
    bar = tqdm(total=len(shapes) * len(fractions) ** 2, unit="cell", disable=not progress)
    for shape in shapes:
        w, h = SHAPES[shape]
        for r, fy in enumerate(fractions):
            for c, fx in enumerate(fractions):
                ds = placed_dataset(snippets, fx, fy, w, h, depth, net.cfg.in_channels,
                                    net.cfg.num_frames)
                pred = predict(net, ds, centre, device=device, aggregate="mean")
                cells[shape][r, c] = float(mpjpe(pred, ds.targets[centre]).mean() * 1000)
                px = place(snippets, fx, fy, w, h, depth)[0][:, SNIPPET]
                outside = ((px < 0) | (px > np.array([w - 1, h - 1]))).any(-1).any(-1)
                cut[shape][r, c] = float(outside.mean())
                bar.update(1)
    bar.close()
    return PositionResult(tuple(fractions), cells, len(snippets), cut)


def position_markdown(res: PositionResult) -> str:
    """One grid table per shape (rows: height fraction, columns: width fraction) and the
    summary line of each (centre, worst cell, ratio)."""
    lines = []
    for shape, g in res.cells.items():
        worst, wx, wy = res.worst(shape)
        centre = res.centre(shape)
        lines += [f"**{shape}** ({SHAPES[shape][0]}x{SHAPES[shape][1]}): centre "
                  f"{centre:.1f} mm, worst {worst:.1f} mm at x {wx:.0%}, y {wy:.0%} "
                  f"({worst / centre:.2f} x centre)", "",
                  "| y \\ x | " + " | ".join(f"{f:.0%}" for f in res.fractions) + " |",
                  "|---|" + "---:|" * len(res.fractions)]
        for r, fy in enumerate(res.fractions):
            lines.append(f"| {fy:.0%} | " + " | ".join(f"{v:.1f}" for v in g[r]) + " |")
        if shape in res.cut:
            cut = res.cut[shape]
            lines += ["", "Poses with a joint outside the picture, by row (mean over the "
                      "row): " + ", ".join(f"y {fy:.0%} {cut[r].mean():.0%}"
                                           for r, fy in enumerate(res.fractions))]
            if (cut <= res.whole).any():
                w_mm, wx, wy = res.worst(shape, whole_only=True)
                lines.append(f"Whole bodies (cells with at most {res.whole:.0%} of the poses "
                             f"cut): worst {w_mm:.1f} mm at x {wx:.0%}, y {wy:.0%} "
                             f"({w_mm / centre:.2f} x centre)")
        lines.append("")
    return "\n".join(lines)


def plot_position(res: PositionResult, png: Path, title: str = "") -> Path:
    """Heat maps of P1 over the picture, one per frame shape, drawn to the frame's aspect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vmax = max(60.0, max(float(g.max()) for g in res.cells.values()))
    fig, axes = plt.subplots(1, len(res.cells), figsize=(4.2 * len(res.cells), 4.4))
    axes = np.atleast_1d(axes)
    for ax, (shape, g) in zip(axes, res.cells.items()):
        w, h = SHAPES[shape]
        im = ax.imshow(g, cmap="viridis", vmin=0, vmax=vmax, extent=(0, w, h, 0))
        step_x, step_y = w / len(res.fractions), h / len(res.fractions)
        for r in range(g.shape[0]):
            for c in range(g.shape[1]):
                ax.text((c + 0.5) * step_x, (r + 0.5) * step_y, f"{g[r, c]:.0f}",
                        ha="center", va="center", color="w", fontsize=8)
        ax.set_title(f"{shape}: pelvis position -> P1 (mm)", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    if title:
        fig.suptitle(title, fontsize=10)
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def training_positions(config: str | Path, batches: int = 200, data_root: str | None = None
                       ) -> dict[str, float]:
    """Where a recipe's training inputs put the person: the pelvis's horizontal position
    (screen units, -1 left edge, +1 right edge) over ``batches`` batches of 64, and how
    many joints land left of x = -0.7 as real positions versus as the pixel-(0, 0)
    stand-in that missing joints used to get (counted from the recipe's drop rate: a
    quarter of the samples lost 1-3 joints, half of those were put at pixel (0, 0))."""
    from dataclasses import replace

    from .config import TrainConfig
    from .reproject import ReprojectSampler

    cfg = TrainConfig.from_json(Path(config).read_text())
    if data_root:
        cfg = replace(cfg, data_root=data_root)
    aug = replace(cfg.augment, drop_prob=0.0)
    data = h36m.load(cfg.data_root, subjects=cfg.train_subjects,
                     detections=aug.det_residual_prob > 0)
    sampler = ReprojectSampler(data, cfg.train_subjects, cfg.model.num_frames, aug,
                               frame_step=cfg.frame_step, all_frames=True)
    rng = np.random.default_rng(0)
    pelvis, left_real, joints = [], 0, 0
    for _ in range(batches):
        x = sampler.batch(rng.integers(len(sampler), size=64), rng)["x"]
        pelvis.append(x[:, cfg.model.num_frames // 2, 0, 0])
        left_real += int((x[..., 0] < -0.7).sum())
        joints += x[..., 0].size
    p = np.concatenate(pelvis)
    stand_in = cfg.augment.drop_prob * 0.5 * (1 + cfg.augment.drop_max) / 2 / 17
    return {"pelvis_x_p1": float(np.percentile(p, 1)), "pelvis_x_p99": float(np.percentile(p, 99)),
            "share_pelvis_left_of_-0.7": float((p < -0.7).mean()),
            "real_joints_left_of_-0.7": left_real / joints,
            "joints_at_pixel0_under_the_old_rule": stand_in}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    p = argparse.ArgumentParser(prog="python -m training.position_bench",
                                description="where a training recipe puts the person "
                                            "(the grid itself: training.evaluate --protocol "
                                            "position)")
    p.add_argument("config", type=Path, help="a run's config.json")
    p.add_argument("--batches", type=int, default=200)
    p.add_argument("--data", default=None, help="Human3.6M folder (default: the config's)")
    a = p.parse_args(argv)
    print(json.dumps(training_positions(a.config, a.batches, a.data), indent=1))
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError,)))
