"""Evaluate a DG-Net on Human3.6M: ``python -m training.evaluate WEIGHTS [options]``.

Protocols (VideoPose3D's conventions: test subjects S9 and S11, all four cameras, 17
joints, camera-space root-relative, per-action averages over the 15 actions):

* ``table`` (default): P1 (MPJPE), P2 (P-MPJPE), N-MPJPE and MPJVE per action and on
  average, without and with flip test-time augmentation, for ground-truth 2D (``--source
  gt``) or the Stacked-Hourglass detections (``--source det``; the missing Neck/Nose is
  the Thorax-Head mid-point with confidence 0.5, or 0 with ``--sh-neck missing``).
  ``--noise PX`` adds Gaussian noise to the 2D.
* ``noise``: GT 2D plus Gaussian noise of sigma 5, 10, 15, 20 px; P1 and P2.
* ``cross-action``: several models, each trained on one action (``ACTION=WEIGHTS``
  pairs), evaluated on every action; a matrix of P1.
* ``affinity``: a PNG of one clip's DSG and DTG affinity matrices over time.
* ``position``: the same test poses with the pelvis moved over a grid across 16:9, 9:16
  and 1:1 frames (``training.position_bench``); P1 per cell, a table and a heat map.
* ``mocap``: the held-out clips of the second motion-capture source (``training.mocap``:
  whole styles and a share of every content, each clip with a seeded body and camera);
  P1 and P2 per content and overall (``--mocap DIR``).
* ``symmetry``: how much swapping the left/right joint labels (no mirroring) changes the
  output; 0 mm means the network cannot tell a person facing the camera from one facing
  away.

``--frame-step n`` evaluates pairs of consecutive frames every n frames (windows always
use the clip's full frame rate); n = 1 is the full protocol. Results are printed and
written as markdown and CSV into ``--out``.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from dgnet_core.lifting.lifter import AGGREGATES
from dgnet_core.lifting.weights import load_model
from dgnet_core.metrics import mpjpe, mpjve, n_mpjpe, pa_mpjpe

from . import h36m
from .config import DEFAULT_DATA, DEFAULT_MOCAP
from .data import WindowDataset, build_windows
from .train import predict, to_network

METRICS = ("P1", "P2", "N-MPJPE", "MPJVE")


@dataclass
class EvalResult:
    """Per-action metrics in mm: ``rows[action][metric]`` (plus 'Average')."""

    rows: dict[str, dict[str, float]]
    frames: int

    def average(self, metric: str) -> float:
        return self.rows["Average"][metric]


def eval_indices(ds: WindowDataset, frame_step: int) -> np.ndarray:
    """Frames t and t+1 for every frame t with (t - sequence start) % step == 0."""
    local = np.arange(len(ds)) - ds.starts
    keep = (local % frame_step == 0) | ((local - 1) % frame_step == 0) & (local > 0)
    return np.flatnonzero(keep)


def evaluate_dataset(net, ds: WindowDataset, *, frame_step: int = 1, flip_tta: bool = False,
                     noise_px: float = 0.0, seed: int = 0, device: str = "cpu",
                     batch: int = 1024, aggregate: str = "center") -> EvalResult:
    """Metrics of ``net`` on a WindowDataset, grouped by action (``aggregate``: how a model
    that predicts every frame of its window gives one pose per frame, see ``predict``)."""
    idx = eval_indices(ds, frame_step)
    if noise_px > 0:
        ds = _noisy(ds, noise_px, seed)
    pred = predict(net, ds, idx, device=device, batch=batch, flip_tta=flip_tta,
                   aggregate=aggregate)
    gt = ds.targets[idx]
    e1, e2, en = mpjpe(pred, gt), pa_mpjpe(pred, gt), n_mpjpe(pred, gt)
    # velocity error on consecutive pairs of the same sequence
    same = (np.diff(idx) == 1) & (ds.seq_of_frame[idx[1:]] == ds.seq_of_frame[idx[:-1]])
    vel = np.linalg.norm(np.diff(pred, axis=0) - np.diff(gt, axis=0), axis=-1).mean(-1)
    actions = np.array([h36m.action_group(ds.keys[s][1]) for s in ds.seq_of_frame[idx]])
    rows: dict[str, dict[str, float]] = {}
    for a in h36m.ACTIONS:
        m = actions == a
        if not m.any():
            continue
        mv = same & m[:-1]
        rows[a] = {"P1": e1[m].mean() * 1000, "P2": e2[m].mean() * 1000,
                   "N-MPJPE": en[m].mean() * 1000,
                   "MPJVE": vel[mv].mean() * 1000 if mv.any() else float("nan")}
    rows["Average"] = {k: float(np.nanmean([r[k] for r in rows.values()])) for k in METRICS}
    return EvalResult(rows, len(idx))


def _noisy(ds: WindowDataset, sigma_px: float, seed: int) -> WindowDataset:
    rng = np.random.default_rng(seed)
    x = ds.inputs.copy()
    scale = (sigma_px * 2.0 / ds.widths)[:, None, None]
    x[..., :2] += rng.normal(size=x[..., :2].shape).astype(np.float32) * scale
    return replace(ds, inputs=x)


def sequence_mpjve(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJVE (mm) of one full sequence (convenience for callers with whole clips)."""
    return float(mpjve(pred, gt).mean() * 1000)


# ---------------------------------------------------------------------------- output
def table_markdown(results: dict[str, EvalResult], metrics=METRICS) -> str:
    """Markdown: one row per action, one column per (variant, metric)."""
    cols = [(v, m) for v in results for m in metrics]
    head = "| Action | " + " | ".join(f"{m} {v}" for v, m in cols) + " |"
    sep = "|---|" + "---:|" * len(cols)
    actions = [a for a in dict.fromkeys(k for r in results.values() for k in r.rows)
               if a != "Average"]
    lines = [head, sep]
    for a in actions + ["Average"]:
        vals = [results[v].rows.get(a, {}).get(m, float("nan")) for v, m in cols]
        name = f"**{a}**" if a == "Average" else a
        lines.append(f"| {name} | " + " | ".join(f"{x:.1f}" for x in vals) + " |")
    return "\n".join(lines)


def write_csv(results: dict[str, EvalResult], path: Path, metrics=METRICS) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["variant", "action"] + list(metrics))
        for v, r in results.items():
            for a, row in r.rows.items():
                w.writerow([v, a] + [f"{row[m]:.3f}" for m in metrics])


# ----------------------------------------------------------------------------- protocols
def _test_data(args, source: str):
    return h36m.load(args.data, subjects=h36m.TEST_SUBJECTS, detections=source == "det",
                     neck=args.sh_neck) if (Path(args.data) / "h36m_3d17.npz").exists() \
        else h36m.load(args.data, subjects=h36m.TEST_SUBJECTS)


def _device(net) -> str:
    return str(next(net.parameters()).device)


def run_table(net, args) -> dict[str, EvalResult]:
    data = _test_data(args, args.source)
    ds = build_windows(data, h36m.TEST_SUBJECTS, source=args.source,
                       in_channels=net.cfg.in_channels, num_frames=net.cfg.num_frames)
    out = {}
    aggregates = _aggregates(net, args)
    for agg in aggregates:
        for flip in (False, True):
            name = f"{args.source}{'+noise' if args.noise else ''}{' flip' if flip else ''}"
            if len(aggregates) > 1:
                name += f" {agg}"
            out[name] = evaluate_dataset(net, ds, frame_step=args.frame_step, flip_tta=flip,
                                         noise_px=args.noise, device=_device(net),
                                         aggregate=agg)
    return out


def _aggregates(net, args) -> list[str]:
    if not net.cfg.all_frames:
        return ["center"]
    names = [a for a in args.aggregate.split(",") if a]
    bad = [a for a in names if a not in AGGREGATES]
    if bad or not names:
        raise ValueError(f"--aggregate takes a comma list of {AGGREGATES}, got {args.aggregate!r}")
    return names


def run_noise(net, args, sigmas=(0, 5, 10, 15, 20)) -> dict[str, EvalResult]:
    data = _test_data(args, "gt")
    ds = build_windows(data, h36m.TEST_SUBJECTS, source="gt",
                       in_channels=net.cfg.in_channels, num_frames=net.cfg.num_frames)
    return {f"sigma {s} px": evaluate_dataset(net, ds, frame_step=args.frame_step,
                                              noise_px=float(s), flip_tta=args.flip,
                                              device=_device(net))
            for s in sigmas}


def run_cross_action(pairs: list[str], args) -> dict[str, EvalResult]:
    data = _test_data(args, "gt")
    out = {}
    for pair in pairs:
        action, _, path = pair.partition("=")
        net = load_model(path, device=args.device)
        ds = build_windows(data, h36m.TEST_SUBJECTS, source="gt",
                           in_channels=net.cfg.in_channels, num_frames=net.cfg.num_frames)
        out[f"train {action}"] = evaluate_dataset(net, ds, frame_step=args.frame_step,
                                                  device=args.device)
    return out


@torch.no_grad()
def left_right_symmetry_mm(net, ds: WindowDataset, idx: np.ndarray, device: str = "cpu",
                           batch: int = 1024) -> float:
    """Mean distance (mm) between ``f(x)`` and ``swap(f(swap(x)))``, where ``swap`` exchanges
    the left and right joint labels without mirroring anything. 0 means the network cannot
    tell a person facing the camera from one facing away (it is label-swap equivariant)."""
    from dgnet_core.skeleton import FLIP_PERM

    perm = list(FLIP_PERM)
    net.eval()
    total, n = 0.0, 0
    for s in range(0, len(idx), batch):
        b = to_network(ds.batch(idx[s:s + batch]), net.cfg)[0]
        x = torch.from_numpy(b["x"]).to(device)
        cam = torch.from_numpy(b["cam"]).to(device) if net.cfg.balanced else None
        y = net(x, cam)
        ys = net(x[..., perm, :], cam)[..., perm, :]
        total += float((y - ys).norm(dim=-1).reshape(len(x), -1).mean(-1).sum())
        n += len(x)
    return total / max(n, 1) * 1000


def plot_affinities(net, x: np.ndarray, png: Path, frames: list[int] | None = None,
                    block: int = 0, labels: list[str] | None = None) -> Path:
    """DSG and DTG (forward) affinities of one block, target frame of windows ``x``.

    Rows: graph; columns: windows (clip times). Each entry (i, j) is how much joint i
    aggregates from joint j (DTG: joint j of the next frame).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dgnet_core.skeleton import JOINT_NAMES

    aff = net.affinities(torch.from_numpy(np.ascontiguousarray(x)).to(_device(net)))
    aff = {k: tuple(t.cpu() for t in v) if isinstance(v, tuple) else v.cpu()
           for k, v in aff.items()}
    t_idx = net.cfg.target_index
    dsg = next((v for k, v in aff.items() if k.startswith(f"block{block}.") and "DSG" in k),
               None)
    dtg = next((v for k, v in aff.items() if k.startswith(f"block{block}.") and "DTG" in k),
               None)
    frames = frames or list(range(0, len(x), max(1, len(x) // 4)))[:4]
    rows = [r for r in (("DSG", dsg), ("DTG fwd", dtg)) if r[1] is not None]
    fig, axes = plt.subplots(len(rows), len(frames), figsize=(3 * len(frames), 3 * len(rows)),
                             squeeze=False)
    for r, (name, a) in enumerate(rows):
        for c, f in enumerate(frames):
            m = (a[0] if isinstance(a, tuple) else a)[f, min(t_idx, a[0].shape[1] - 1)
                                                     if isinstance(a, tuple) else t_idx]
            ax = axes[r, c]
            ax.imshow(m.numpy(), cmap="viridis")
            label = labels[c] if labels else f"window {f}"
            ax.set_title(f"block {block} {name}, {label}", fontsize=8)
            ax.set_xticks(range(17))
            ax.set_yticks(range(17))
            ax.set_xticklabels(JOINT_NAMES, rotation=90, fontsize=4)
            ax.set_yticklabels(JOINT_NAMES, fontsize=4)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png


def run_affinity(net, args) -> Path:
    data = _test_data(args, "gt")
    seq = ("S9", args.clip)
    ds = build_windows(data, ["S9"], source="gt", in_channels=net.cfg.in_channels,
                       num_frames=net.cfg.num_frames, actions=[h36m.action_group(args.clip)],
                       cameras=(0,))
    k = [i for i, key in enumerate(ds.keys) if key[1] == seq[1]] or [0]
    frames = np.flatnonzero(ds.seq_of_frame == k[0])
    idx = frames[np.linspace(0, min(len(frames) - 1, 150), 4).astype(int)]
    x = to_network(ds.batch(idx), net.cfg)[0]["x"]
    local = idx - frames[0]
    return plot_affinities(net, x, Path(args.out) / "affinity.png",
                           frames=list(range(len(idx))),
                           labels=[f"S9 {args.clip} cam 0 frame {t}" for t in local])


def run_mocap(net, args) -> dict[str, EvalResult]:
    """P1 / P2 on the held-out motion-capture clips, grouped by content."""
    from .mocap import SPLIT_FILE, held_out_windows, load_mocap, read_split

    data = load_mocap(args.mocap)
    keys = data.keys(held_out=True, split=read_split(SPLIT_FILE))
    ds, idx = held_out_windows(data, keys, frame_step=args.frame_step,
                               in_channels=net.cfg.in_channels, num_frames=net.cfg.num_frames)
    out = {}
    for flip in (False, True):
        pred = predict(net, ds, idx, device=_device(net), flip_tta=flip, aggregate="mean")
        gt = ds.targets[idx]
        e1, e2 = mpjpe(pred, gt) * 1000, pa_mpjpe(pred, gt) * 1000
        content = np.array([data.info[ds.keys[s][1]].content if ds.keys[s][1] in data.info
                            else "?" for s in ds.seq_of_frame[idx]])
        rows = {c: {"P1": float(e1[content == c].mean()), "P2": float(e2[content == c].mean())}
                for c in sorted(set(content))}
        rows["Average"] = {"P1": float(e1.mean()), "P2": float(e2.mean())}
        out["mocap" + (" flip" if flip else "")] = EvalResult(rows, len(idx))
    return out


def _position(net, args) -> int:
    from .position_bench import plot_position, position_markdown, run_position

    res = run_position(net, _test_data(args, "gt"), frame_step=args.frame_step,
                       device=args.device)
    head = (f"Human3.6M S9+S11 GT 2D, pelvis moved over the picture ({res.poses} poses "
            f"per cell, frame step {args.frame_step}), P1 mm\n\n")
    md = head + position_markdown(res)
    out = Path(args.out)
    (out / "position.md").write_text(md)
    plot_position(res, out / "position.png", Path(args.weights[0]).name)
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="*", help="model .safetensors (cross-action: ACTION=PATH)")
    p.add_argument("--protocol", default="table",
                   choices=("table", "noise", "cross-action", "affinity", "symmetry",
                            "position", "mocap"))
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--source", default="gt", choices=("gt", "det"))
    p.add_argument("--mocap", default=str(DEFAULT_MOCAP), help="motion-capture folder")
    p.add_argument("--sh-neck", default="interpolate", choices=("interpolate", "missing"))
    p.add_argument("--noise", type=float, default=0.0, help="2D Gaussian noise std (px)")
    p.add_argument("--flip", action="store_true", help="flip TTA (noise protocol)")
    p.add_argument("--frame-step", type=int, default=1)
    p.add_argument("--aggregate", default="mean",
                   help="all-frame models: how one pose per frame is read from the "
                        "overlapping windows, a comma list of mean, center, tiled")
    p.add_argument("--clip", default="Walking 1", help="S9 clip for --protocol affinity")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default="runs/eval")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if not a.weights:
        p.error("give a weights file")
    if a.protocol == "cross-action":
        results = run_cross_action(a.weights, a)
        metrics: tuple[str, ...] = ("P1",)
    else:
        net = load_model(a.weights[0], device=a.device)
        if a.protocol == "affinity":
            print(run_affinity(net, a))
            return 0
        if a.protocol == "position":
            return _position(net, a)
        if a.protocol == "symmetry":
            data = _test_data(a, "gt")
            ds = build_windows(data, h36m.TEST_SUBJECTS, in_channels=net.cfg.in_channels,
                               num_frames=net.cfg.num_frames)
            mm = left_right_symmetry_mm(net, ds, eval_indices(ds, a.frame_step), a.device)
            print(f"left/right label swap changes the output by {mm:.2f} mm on average "
                  f"(0 = the network cannot tell left from right)")
            return 0
        runs = {"table": run_table, "noise": run_noise, "mocap": run_mocap}
        results = runs[a.protocol](net, a)
        metrics = METRICS if a.protocol == "table" else ("P1", "P2")
    md = table_markdown(results, metrics)
    frames = next(iter(results.values())).frames
    noise = f", 2D noise sd {a.noise:g} px" if a.noise and a.protocol == "table" else ""
    what = ("held-out motion capture (training/splits), GT 2D" if a.protocol == "mocap"
            else f"Human3.6M S9+S11, protocol {a.protocol}, source {a.source}{noise}")
    header = f"{what}, frame step {a.frame_step} ({frames} poses), mm\n\n"
    name = f"{a.protocol}_{a.source}" + (f"_noise{a.noise:g}" if a.noise else "")
    (out / f"{name}.md").write_text(header + md + "\n")
    write_csv(results, out / f"{name}.csv", metrics)
    print(header + md)
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError,)))
