"""Mirror benchmark: a clip and its horizontal mirror image must give mirrored motion.

For each video the whole pipeline (MediaPipe, tracking, lift, clean-up) runs on the clip
and on its mirror image (every frame flipped left-right, written next to the outputs).
The mirrored result, mirrored back (x negated, left and right swapped:
``dgnet_core.skeleton.flip_pose``), is compared with the original, root-relative in the
camera's axes: the mean joint distance over the frames both runs kept. MediaPipe's own
world landmarks (adapted to the 17 joints) are compared the same way beside it. A lifter
that depends on where the person stands in the picture fails this on clips where the
person is off-centre: ``--pad`` adds, for every clip, a copy on the left half of a frame
twice as wide (black elsewhere, the same lens), whose mirror image stands on the right
half. The lifted poses are compared as the network gave them (``joints_lifted``) and as
placed (``joints_camera``: one body per clip, upright stance, foot locking).

The focal length: ``--focal`` / ``--fov`` for every clip, else the true one of a rendered
clip (the ``intrinsics`` in the ``.npz`` beside it), else the pipeline's default field of
view on the clip's own width (a padded copy keeps its original's focal length).

    python -m training.mirror_bench VIDEO [VIDEO ...] [--pad] [--no-flip] [--model M]
        [--out runs/mirror] [--focal PX | --fov DEG]
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dgnet_core.skeleton import flip_pose, mediapipe_to_h36m


@dataclass
class MirrorRow:
    """One clip: the mirror distances (mm) of our lift and of MediaPipe's world landmarks."""

    clip: str
    frames: int
    pelvis_x: float        # mean pelvis position, share of the picture's width
    lift_mm: float         # the network's output (``LiftResult.joints_lifted``)
    placed_mm: float       # the placed result (``joints_camera``: body fit, upright, IK)
    mediapipe_mm: float
    note: str = ""         # why the clip could not be compared


def rewrite_video(video: str | Path, out: str | Path, change) -> Path:
    """Write every frame of ``video`` through ``change(image) -> image`` to ``out`` (mp4,
    same frame rate)."""
    import cv2

    from dgnet_core.detection.video import VideoReader

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    with VideoReader(video) as r:
        try:
            for _, img in r.frames(rgb=False):
                img = np.ascontiguousarray(change(img))
                if writer is None:
                    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"),
                                             float(r.info.fps), (img.shape[1], img.shape[0]))
                writer.write(img)
        finally:
            if writer is not None:
                writer.release()
    return out


def mirror_image(img: np.ndarray) -> np.ndarray:
    return img[:, ::-1]


def pad_left_half(img: np.ndarray) -> np.ndarray:
    """The picture on the left half of a black frame twice as wide."""
    out = np.zeros((img.shape[0], 2 * img.shape[1], 3), img.dtype)
    out[:, :img.shape[1]] = img
    return out


def clip_focal(video: Path) -> float:
    """The clip's focal length in pixels: the true one of a rendered clip, else the
    pipeline's default field of view on its width."""
    from dgnet_core.detection.video import probe_video
    from dgnet_core.motion.camera import intrinsics

    truth = video.with_suffix(".npz")
    if truth.is_file():
        with np.load(truth) as z:
            if "intrinsics" in z.files:
                return float(z["intrinsics"][0, 0])
    info = probe_video(video)
    return float(intrinsics(info.width, info.height)[0, 0])


def _rel(j: np.ndarray) -> np.ndarray:
    return j - j[:, :1]


def mirror_distance(a: np.ndarray, b_mirrored: np.ndarray) -> float:
    """Mean joint distance (mm) between root-relative poses ``a`` (N, 17, 3) and poses of
    the mirror image ``b_mirrored``, mirrored back."""
    return float(np.linalg.norm(_rel(a) - _rel(flip_pose(b_mirrored)), axis=-1).mean() * 1000)


def compare_runs(orig, mirr, name: str) -> MirrorRow:
    """A ``MirrorRow`` from the ``LiftResult`` of a clip and of its mirror image."""
    common, ia, ib = np.intersect1d(orig.frame_indices, mirr.frame_indices,
                                    return_indices=True)
    ok = orig.detected[ia] & mirr.detected[ib]
    ia, ib = ia[ok], ib[ok]
    mp_a = mediapipe_to_h36m(orig.mp_world[ia])[0]
    mp_b = mediapipe_to_h36m(mirr.mp_world[ib])[0]
    pelvis_x = float(np.mean(orig.keypoints_2d[ia, 0, 0]) / orig.width)
    return MirrorRow(name, len(ia), pelvis_x,
                     mirror_distance(orig.joints_lifted[ia], mirr.joints_lifted[ib]),
                     mirror_distance(orig.joints_camera[ia], mirr.joints_camera[ib]),
                     mirror_distance(mp_a, mp_b))


def run(videos: list[Path], out: Path, model: Path | None, focal: float | None,
        fov: float | None, pad: bool = False, flip: bool | None = None) -> list[MirrorRow]:
    """Mirror rows for every clip (and its padded copy with ``pad``); ``flip``: the
    lifter's flip test-time augmentation (None: the lifter's own choice)."""
    from tqdm import tqdm

    from dgnet_core.contract import PipelineOptions
    from dgnet_core.errors import NoPersonError
    from dgnet_core.pipeline import run_pipeline

    work = out / "videos"
    clips = []
    for video in videos:
        f = focal if focal or fov else clip_focal(video)
        clips.append((video.stem, video, f))
        if pad:
            padded = rewrite_video(video, work / f"{video.stem}_left.mp4", pad_left_half)
            clips.append((f"{video.stem} on the left half", padded,
                          focal if focal or fov else f))
    rows = []
    for name, video, f in tqdm(clips, unit="clip"):
        kw = {"focal_px": f} if f else {"fov_deg": fov}
        opts = PipelineOptions(model_path=str(model) if model else None, flip_tta=flip, **kw)
        mirrored = rewrite_video(video, work / f"{video.stem}_mirror.mp4", mirror_image)
        try:
            rows.append(compare_runs(run_pipeline(video, opts), run_pipeline(mirrored, opts),
                                     name))
        except NoPersonError as exc:   # e.g. a person too small for the detector
            rows.append(MirrorRow(name, 0, *[float("nan")] * 4, str(exc)))
    return rows


def markdown(rows: list[MirrorRow]) -> str:
    lines = ["| clip | frames | pelvis at (share of width) | lift (mm) | placed (mm) | "
             "MediaPipe world (mm) |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.note or not r.frames or not np.isfinite(r.lift_mm):
            why = r.note or "no frame where both the clip and its mirror image show the person"
            lines.append(f"| {r.clip} | 0 | | not compared: {why} | | |")
            continue
        lines.append(f"| {r.clip} | {r.frames} | {r.pelvis_x:.0%} | {r.lift_mm:.1f} | "
                     f"{r.placed_mm:.1f} | {r.mediapipe_mm:.1f} |")
    done = [r for r in rows if not r.note and r.frames and np.isfinite(r.lift_mm)]
    if done:
        cells = [f"{max(v):.1f} / {np.mean(v):.1f}" for v in
                 ([r.lift_mm for r in done], [r.placed_mm for r in done],
                  [r.mediapipe_mm for r in done])]
        lines.append(f"| **worst / mean of {len(done)}** | | | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.mirror_bench",
                                description=__doc__.split("\n")[0])
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    p.add_argument("--focal", type=float, default=None, help="focal length in pixels")
    p.add_argument("--fov", type=float, default=None, help="horizontal field of view (deg)")
    p.add_argument("--pad", action="store_true",
                   help="also each clip on the left half of a frame twice as wide")
    p.add_argument("--no-flip", action="store_true",
                   help="no flip test-time augmentation (the network's own consistency)")
    p.add_argument("--out", type=Path, default=Path("runs/mirror"))
    a = p.parse_args(argv)
    rows = run(a.videos, a.out, a.model, a.focal, a.fov, a.pad, False if a.no_flip else None)
    md = markdown(rows)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "mirror.md").write_text(md + "\n")
    with open(a.out / "mirror.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip", "frames", "pelvis_x", "lift_mm", "placed_mm", "mediapipe_mm",
                    "note"])
        for r in rows:
            w.writerow([r.clip, r.frames, f"{r.pelvis_x:.3f}", f"{r.lift_mm:.2f}",
                        f"{r.placed_mm:.2f}", f"{r.mediapipe_mm:.2f}", r.note])
    print(md)
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError,)))
