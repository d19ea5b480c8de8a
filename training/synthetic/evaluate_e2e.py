"""End-to-end evaluation on rendered footage: render -> detect -> lift -> compare with truth.

Owns the comparison protocol: for every clip, the pipeline's lifted joints and MediaPipe's
own world landmarks (adapted to the 17 joints with ``skeleton.mediapipe_to_h36m``; they
are hip-centred metres with y down, like our camera axes) are made root-relative and
compared with the rendered ground truth, root-relative in the camera frame, on the frames
MediaPipe detected: MPJPE, PA-MPJPE (per-frame similarity Procrustes), acceleration error
(second differences, on runs of three detected frames) and MediaPipe's 2D error against
the projected ground truth. Results go to a markdown table (for docs/BENCHMARKS.md) and
a CSV.

    python -m training.synthetic evaluate --motions walk,wave,squat,turn,jump --out out/e2e
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from dgnet_core.metrics import mpjpe, pa_mpjpe
from dgnet_core.skeleton import mediapipe_to_h36m

H36M_3D = "h36m_3d17.npz"


@dataclass
class Row:
    """Errors of one method on one clip (millimetres; acceleration in mm / frame^2)."""

    clip: str
    method: str
    frames: int
    detected: float     # fraction of frames with a detection
    mpjpe_mm: float
    pa_mpjpe_mm: float
    accel_mm: float
    kp2d_px: float      # MediaPipe's 2D error against projected ground truth (same per clip)


def root_relative(j: np.ndarray) -> np.ndarray:
    return j - j[..., :1, :]


def masked_accel_error(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """Mean joint acceleration error over frames whose neighbours are all ``valid``."""
    a_p = pred[2:] - 2 * pred[1:-1] + pred[:-2]
    a_g = gt[2:] - 2 * gt[1:-1] + gt[:-2]
    ok = valid[2:] & valid[1:-1] & valid[:-2]
    if not ok.any():
        return float("nan")
    return float(np.linalg.norm(a_p[ok] - a_g[ok], axis=-1).mean())


def compare(result, gt_npz: str | Path, clip: str) -> list[Row]:
    """Rows for our lifted joints and MediaPipe's world landmarks on one ``LiftResult``."""
    with np.load(gt_npz) as gt:
        idx = np.asarray(result.frame_indices)
        gt_cam = gt["joints_camera"].astype(np.float64)[idx]
        gt_2d = gt["joints_2d"].astype(np.float64)[idx]
        total = len(gt["joints_camera"])
    gt_rel = root_relative(gt_cam)
    valid = np.asarray(result.detected, bool) & np.isfinite(result.mp_world).all(axis=(1, 2))
    if not valid.any():
        raise ValueError(f"{clip}: no frame with a detection to compare")
    ours = root_relative(np.asarray(result.joints_camera, np.float64))
    mp17, _ = mediapipe_to_h36m(np.nan_to_num(np.asarray(result.mp_world, np.float64)))
    mp_rel = root_relative(mp17)
    kp_err = float(np.linalg.norm(np.asarray(result.keypoints_2d)[valid] - gt_2d[valid],
                                  axis=-1).mean())
    rows = []
    for method, pred in (("DG-Net (ours)", ours), ("MediaPipe world", mp_rel)):
        rows.append(Row(
            clip=clip, method=method, frames=total, detected=float(valid.sum()) / total,
            mpjpe_mm=1000 * float(mpjpe(pred[valid], gt_rel[valid]).mean()),
            pa_mpjpe_mm=1000 * float(pa_mpjpe(pred[valid], gt_rel[valid]).mean()),
            accel_mm=1000 * masked_accel_error(pred, gt_rel, valid),
            kp2d_px=kp_err))
    return rows


def check_model(model_path: str | Path | None) -> Path:
    """The model to evaluate: ``model_path`` or the shipped default (WeightsError if none)."""
    from dgnet_core.errors import WeightsError
    from dgnet_core.lifting.weights import default_model_path

    if model_path is not None:
        p = Path(model_path)
        if not p.is_file():
            raise WeightsError(f"model file not found: {p}")
        return p
    for suffix in (".safetensors", ".onnx"):
        p = default_model_path(suffix)
        if p.is_file():
            return p
    raise WeightsError(f"no default model at {default_model_path('.safetensors')} (or "
                       ".onnx): train one, or pass --model PATH")


def lift_clip(video: Path, gt_npz: Path, model_path: Path | None = None,
              smoothing: str = "savgol", lifter=None, foot_lock: bool = True):
    """Run the project pipeline on a rendered clip with the true focal length.

    ``lifter`` (a ``dgnet_core.lifting.lifter.Lifter``) overrides the model, e.g. in tests.
    """
    from dgnet_core.pipeline import PipelineOptions, run_pipeline

    with np.load(gt_npz) as gt:
        focal = float(gt["intrinsics"][0, 0])
    opts = PipelineOptions(focal_px=focal, smoothing=smoothing, foot_lock=foot_lock,
                           model_path=None if model_path is None else str(model_path))
    return run_pipeline(video, opts, lifter=lifter)


def h36m_clip(name: str, h36m_dir: str | Path, frames: int, step: int = 2,
              start: int | None = None) -> np.ndarray:
    """(frames, 17, 3) world joints of a Human3.6M sequence ("S9/Walking 1"), 50 Hz / step.

    ``start`` is the first 50 Hz frame; by default the clip is taken from the middle of the
    sequence (the takes begin with a T-pose).
    """
    from .motions import place_on_floor

    with np.load(Path(h36m_dir) / H36M_3D) as z:
        if name not in z.files:
            raise KeyError(f"{name!r} not in {H36M_3D}; e.g. {', '.join(z.files[:3])}")
        j = np.cumsum(z[name], axis=0, dtype=np.int32) / 4000.0
    if start is None:
        start = max(0, (len(j) - frames * step) // 2)
    return place_on_floor(j[start::step][:frames])


def evaluate(clips: dict[str, np.ndarray], out_dir: str | Path, *, size: int = 320,
             model_path: str | Path | None = None, smoothing: str = "savgol",
             spec=None, progress: bool = True, reuse: bool = False,
             foot_lock: bool = True) -> list[Row]:
    """Render each (T,17,3) clip, run the pipeline, return the comparison rows.

    ``reuse``: a clip whose video and ground truth are already in ``out_dir`` is not
    rendered again (to compare models on the very same footage). ``foot_lock=False``:
    the pipeline's ``--no-foot-lock``."""
    from dataclasses import replace

    from .render import SceneSpec, render_sequence

    model = check_model(model_path)
    use_default = model_path is None
    spec = replace(spec or SceneSpec(), width=size, height=size)
    out_dir = Path(out_dir)
    rows: list[Row] = []
    for name, joints in clips.items():
        safe = name.replace("/", "_").replace(" ", "_")
        video, truth = out_dir / f"{safe}.mp4", out_dir / f"{safe}.npz"
        if not (reuse and video.is_file() and truth.is_file()):
            out = render_sequence(joints, out_dir, name=safe, spec=spec, progress=progress,
                                  motion=name)
            video, truth = out.video, out.ground_truth
        result = lift_clip(video, truth, None if use_default else model, smoothing,
                           foot_lock=foot_lock)
        rows += compare(result, truth, name)
    return rows


def _mean_rows(rows: list[Row]) -> list[Row]:
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        sel = [r for r in rows if r.method == method]
        out.append(Row("mean", method, int(sum(r.frames for r in sel)),
                       *(float(np.mean([getattr(r, k) for r in sel]))
                         for k in ("detected", "mpjpe_mm", "pa_mpjpe_mm", "accel_mm",
                                   "kp2d_px"))))
    return out


def markdown_table(rows: list[Row]) -> str:
    """Rows (plus per-method means) as a markdown table."""
    lines = ["| clip | method | frames | detected | MPJPE mm | PA-MPJPE mm | accel mm/f² "
             "| MediaPipe 2D px |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows + (_mean_rows(rows) if len({r.clip for r in rows}) > 1 else []):
        lines.append(f"| {r.clip} | {r.method} | {r.frames} | {100 * r.detected:.0f}% | "
                     f"{r.mpjpe_mm:.1f} | {r.pa_mpjpe_mm:.1f} | {r.accel_mm:.1f} | "
                     f"{r.kp2d_px:.1f} |")
    return "\n".join(lines) + "\n"


def write_results(rows: list[Row], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``e2e.md`` and ``e2e.csv`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "e2e.md"
    md.write_text(markdown_table(rows))
    path = out_dir / "e2e.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(asdict(rows[0])))
        w.writeheader()
        for r in rows:
            w.writerow(asdict(r))
    return md, path
