"""Recipes side by side: ``python -m training.compare_runs RUN [RUN ...] --out curves.png``.

Reads each run folder's ``log.csv`` (written by ``training.train``) and draws held-out
MPJPE against training minutes, one line per run, on one PNG: the way to choose a recipe
by accuracy per CPU-hour. Prints a table of the best held-out value of each run and the
minute it was reached. ``LABEL=RUN`` names a line. ``--x samples`` draws against training
samples instead, and a fine-tune (a run folder with ``init.json``) then starts at its
source checkpoint's sample count, so a long run and the fine-tunes branching off it show
as one history.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path


def plot_curves(log_path: Path, png: Path) -> None:
    """Training loss / MPJPE and validation MPJPE against samples seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(log_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    samples = [int(r["samples"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    tr = [float(r["train_mpjpe_mm"]) for r in rows]
    ax.plot(samples, tr, label="train MPJPE (mm)")
    val = [(s, float(r["val_mpjpe_mm"])) for s, r in zip(samples, rows) if r["val_mpjpe_mm"]]
    if val:
        ax.plot(*zip(*val), "o-", label="held-out Human3.6M MPJPE (mm)")
    mocap = [(s, float(r["val_mocap_mm"])) for s, r in zip(samples, rows)
             if r.get("val_mocap_mm")]
    if mocap:
        ax.plot(*zip(*mocap), "s-", label="held-out motion capture MPJPE (mm)")
    ax.set_xlabel("training samples")
    ax.set_ylabel("mm")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)


COLUMNS = {"val_mpjpe_mm": "held-out Human3.6M MPJPE (mm)",
           "val_mocap_mm": "held-out motion-capture MPJPE (mm)"}


def read_curve(run: Path, column: str = "val_mpjpe_mm") -> list[tuple[float, float, int]]:
    """(minutes, held-out MPJPE mm, samples) for every row of a run's log with ``column``
    (``run`` is a run folder or a copy of its ``log.csv``)."""
    log = run if run.suffix == ".csv" else run / "log.csv"
    if not log.is_file():
        raise FileNotFoundError(f"no training log at {log}")
    with open(log) as f:
        return [(float(r["elapsed_min"]), float(r[column]), int(r["samples"]))
                for r in csv.DictReader(f) if r.get(column)]


def samples_before(run: Path) -> int:
    """Samples the run's starting network had seen (a fine-tune's ``init.json``), else 0."""
    init = run / "init.json"
    return int(json.loads(init.read_text()).get("samples", 0)) if init.is_file() else 0


def x_values(pts: list[tuple[float, float, int]], x: str, offset: int = 0) -> list[float]:
    """Minutes, or millions of samples counted from ``offset``, of a curve's points."""
    return [p[0] for p in pts] if x == "minutes" else [(p[2] + offset) / 1e6 for p in pts]


def plot(curves: dict[str, list[tuple[float, float, int]]], png: Path,
         title: str = "held-out MPJPE against training time", x: str = "minutes",
         offsets: dict[str, int] | None = None, ymax: float | None = None,
         panels: dict[str, dict[str, list[tuple[float, float, int]]]] | None = None) -> Path:
    """One panel of ``curves`` (label -> points), or one panel per entry of ``panels``
    (its y label -> curves)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels or {"held-out MPJPE (mm)": curves}
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4), squeeze=False)
    offsets = offsets or {}
    for ax, (ylabel, group) in zip(axes[0], panels.items()):
        for label, pts in group.items():
            if pts:
                ax.plot(x_values(pts, x, offsets.get(label, 0)), [p[1] for p in pts], "o-",
                        ms=3, label=label)
        ax.set_xlabel("training minutes (wall clock)" if x == "minutes"
                      else "training samples (millions)")
        ax.set_ylabel(ylabel)
        if ymax is not None:
            ax.set_ylim(top=ymax)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)
    plt.close(fig)
    return png


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", help="run folders or log CSVs, optionally LABEL=PATH")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--title", default="held-out MPJPE against training time")
    p.add_argument("--x", choices=("minutes", "samples"), default="minutes",
                   help="horizontal axis (samples: fine-tunes start at their source's count)")
    p.add_argument("--ymax", type=float, help="top of the vertical axis (mm)")
    p.add_argument("--both", action="store_true",
                   help="a second panel: the held-out motion-capture error")
    a = p.parse_args(argv)
    curves, offsets = {}, {}
    for item in a.runs:
        label, _, path = item.rpartition("=")
        run = Path(path)
        curves[label or run.stem] = read_curve(run)
        offsets[label or run.stem] = samples_before(run)
    panels = None
    if a.both:
        panels = {COLUMNS[c]: {label: read_curve(Path(item.rpartition("=")[2]), c)
                               for label, item in zip(curves, a.runs)} for c in COLUMNS}
    plot(curves, Path(a.out), a.title, a.x, offsets, a.ymax, panels)
    print("| run | best held-out MPJPE (mm) | at minute | samples | last minute |")
    print("|---|---:|---:|---:|---:|")
    for label, pts in curves.items():
        if pts:
            best = min(pts, key=lambda q: q[1])
            print(f"| {label} | {best[1]:.1f} | {best[0]:.1f} | {best[2]} | {pts[-1][0]:.1f} |")
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError,)))
