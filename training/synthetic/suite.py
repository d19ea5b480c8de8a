"""The standard rendered suite: 12 clips, three cameras, our lift against MediaPipe's.

Five procedural motions (walk, wave, squat, turn, jump) and three Human3.6M test-subject
motions seen from eye level, two from above and two from below (``SUITE``), 48 frames at
25 fps, 320 x 320, rendered once into ``OUT/eye``, ``OUT/high`` and ``OUT/low`` and
reused. Every clip goes through the whole pipeline with the true focal length; the table
gives root-relative PA-MPJPE of our joints and of MediaPipe's world landmarks.

    python -m training.synthetic suite [--model M] [--out runs/e2e]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (folder, camera location or None for the default eye-level camera, motions, Human3.6M clips)
SUITE: tuple[tuple[str, tuple[float, float, float] | None, tuple[str, ...], tuple[str, ...]],
             ...] = (
    ("eye", None, ("walk", "wave", "squat", "turn", "jump"),
     ("S9/Sitting 1", "S11/Greeting", "S9/Phoning 1")),
    ("high", (2.2, -2.6, 2.7), (), ("S11/Sitting 1", "S9/Greeting 1")),
    ("low", (-1.8, -3.0, 0.35), (), ("S11/Walking", "S9/Phoning")),
)


def run_suite(out: Path, model: Path | None, h36m_dir: Path, frames: int = 48,
              fps: float = 25.0) -> list:
    """Render (once) and evaluate the suite; the ``evaluate_e2e.Row``s of every clip."""
    from dataclasses import replace

    from .camera import CameraSpec
    from .evaluate_e2e import evaluate, h36m_clip, write_results
    from .motions import BodyShape, make_motion
    from .render import SceneSpec

    rows = []
    for folder, location, motions, h36m in SUITE:
        cam = CameraSpec() if location is None else replace(CameraSpec(), location=location)
        spec = SceneSpec(fps=fps, camera=cam)
        clips = {m: make_motion(m, frames, fps, BodyShape()) for m in motions}
        for name in h36m:
            clips[name] = h36m_clip(name, h36m_dir, frames, step=max(1, round(50 / fps)))
        part = evaluate(clips, out / folder, model_path=model, spec=spec, reuse=True)
        write_results(part, out / folder)
        rows += [(folder, r) for r in part]
    return rows


def suite_table(rows) -> str:
    """Per clip: camera, our PA-MPJPE, MediaPipe's; then the mean, its ratio, the wins."""
    by_clip: dict[tuple[str, str], dict[str, float]] = {}
    for folder, r in rows:
        by_clip.setdefault((folder, r.clip), {})[r.method] = r.pa_mpjpe_mm
    lines = ["| clip | camera | ours PA-MPJPE (mm) | MediaPipe world (mm) |",
             "|---|---|---:|---:|"]
    ours, mp = [], []
    for (folder, clip), m in by_clip.items():
        o, p = m["DG-Net (ours)"], m["MediaPipe world"]
        ours.append(o)
        mp.append(p)
        lines.append(f"| {clip} | {folder} | {o:.1f} | {p:.1f} |")
    wins = sum(o < p for o, p in zip(ours, mp))
    lines.append(f"| **mean of {len(ours)}** | | **{np.mean(ours):.1f}** "
                 f"({np.mean(ours) / np.mean(mp):.0%} of MediaPipe's; better on {wins} of "
                 f"{len(ours)}) | {np.mean(mp):.1f} |")
    return "\n".join(lines) + "\n"
