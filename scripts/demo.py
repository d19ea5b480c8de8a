"""The README's main job, end to end on data that needs nothing from outside.

1. render a short clip of a mannequin with Blender (Cycles, CPU) with exact 3D ground truth;
2. detect (MediaPipe, offline), lift (the embedded default DG-Net model) and place it;
3. write the lifted joints as npz / JSON / BVH and a preview PNG;
4. compare with the rendered ground truth (and MediaPipe's own world landmarks);
5. bake the motion onto a new armature and onto a Rigify metarig with the extension
   (registered straight from addon/, no build step), save a .blend and draw the rigs
   beside the video at four frames (rig_preview.png).

    .venv/bin/python scripts/demo.py --out out/demo
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "out" / "demo")
    p.add_argument("--motion", default="walk", help="walk, wave, squat, turn or jump")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", type=int, default=320, help="square render size in pixels")
    p.add_argument("--video", type=Path, default=None,
                   help="lift this video instead of rendering one (no ground-truth check)")
    p.add_argument("--model", type=Path, default=None,
                   help="lifting model (.onnx / .safetensors); default: the embedded one")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="keep MediaPipe/TFLite native log output")
    p.add_argument("--no-bake", action="store_true", help="skip the Blender bake step")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from dgnet_core.cli import native_stderr_silenced, progress_bar
    from dgnet_core.formats.preview import save_preview
    from dgnet_core.formats.results import save_outputs
    from dgnet_core.pipeline import PipelineOptions, run_pipeline

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    t0 = time.perf_counter()

    gt_path = None
    if args.video is None:
        from training.synthetic import render_demo_clip

        print(f"[1/5] rendering a {args.frames}-frame '{args.motion}' clip "
              f"({args.size}x{args.size}, Cycles CPU)")
        video, gt_path = render_demo_clip(out / "render", motion=args.motion,
                                          frames=args.frames, size=args.size)
    else:
        video = args.video
    summary["video"] = str(video)
    summary["render_s"] = round(time.perf_counter() - t0, 1)

    print("[2/5] detecting and lifting (MediaPipe + embedded DG-Net)")
    t1 = time.perf_counter()
    opts = PipelineOptions(model_path=None if args.model is None else str(args.model))
    with native_stderr_silenced(not args.verbose), progress_bar() as show:
        result = run_pipeline(video, opts, progress=show)
    summary["lift_s"] = round(time.perf_counter() - t1, 1)
    summary["frames"] = int(len(result.joints_world))
    summary["frames_detected"] = int(result.detected.sum())

    print("[3/5] writing npz / JSON / BVH and the preview image")
    files = save_outputs(result, out, ["npz", "json", "bvh"])
    summary["files"] = [str(f) for f in files]
    preview = save_preview(out / "preview.png", video, result.keypoints_2d,
                           result.joints_world, frame_indices=result.frame_indices,
                           title=f"{Path(video).name}: detected 2D and lifted 3D")
    summary["preview"] = str(preview)

    if gt_path is not None:
        print("[4/5] comparing with the rendered ground truth")
        summary["accuracy"] = _accuracy(result, Path(gt_path))
        for name, row in summary["accuracy"].items():
            print(f"      {name:<28} MPJPE {row['mpjpe_mm']:6.1f} mm   "
                  f"PA-MPJPE {row['pa_mpjpe_mm']:6.1f} mm")

    if not args.no_bake:
        print("[5/5] baking onto a new armature and a Rigify metarig (Blender)")
        from bake_demo import bake_demo

        blend, baked = bake_demo(video, out / "demo.blend", args.model)
        summary["blend"] = str(blend)
        summary["rig_preview"] = str(rig_preview(out / "rig_preview.png", video, result,
                                                 baked))

    summary["total_s"] = round(time.perf_counter() - t0, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"done in {summary['total_s']} s: {out}/ (summary.json, preview.png, "
          f"{'demo.blend, rig_preview.png, ' if 'blend' in summary else ''}lifted joints)")
    return 0


def rig_preview(png: Path, video: Path, result, baked: dict) -> Path:
    """The video beside the baked rigs (front view) at four frames: one column a frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dgnet_core.detection.video import VideoReader

    scene = baked["scene"]
    rigs = [k for k in baked if k != "scene"]
    video_frames = [int(result.frame_indices[min(len(result) - 1, f - scene["first"])])
                    for f in scene["frames"]]
    images = {}
    with VideoReader(video) as reader:
        for i, img in reader.frames(0, max(video_frames) + 1):
            if i in video_frames:
                images[i] = img
    fig, axes = plt.subplots(1 + len(rigs), len(video_frames),
                             figsize=(2.6 * len(video_frames), 2.6 * (1 + len(rigs))))
    for c, (f, vf) in enumerate(zip(scene["frames"], video_frames)):
        axes[0, c].imshow(images[vf])
        axes[0, c].set_title(f"video frame {vf} / scene frame {f}", fontsize=7)
        for r, name in enumerate(rigs, 1):
            ax = axes[r, c]
            for head, tail in baked[name]["poses"][str(f)]:
                ax.plot([head[0], tail[0]], [head[2], tail[2]], "-", lw=1.2, color="C0")
            ax.axhline(0.0, color="0.6", lw=0.8)  # the floor
            ax.set_aspect("equal")
            ax.set_title(name, fontsize=7)
        for ax in axes[:, c]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    plt.close(fig)
    return png


def _accuracy(result, gt_path: Path) -> dict:
    """Root-relative errors in the camera frame against the rendered ground truth."""
    from training.synthetic.evaluate_e2e import compare

    return {row.method: {"mpjpe_mm": round(row.mpjpe_mm, 1),
                         "pa_mpjpe_mm": round(row.pa_mpjpe_mm, 1),
                         "accel_mm_per_frame2": round(row.accel_mm, 1),
                         "detected": round(row.detected, 3)}
            for row in compare(result, gt_path, Path(gt_path).stem)}


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(RuntimeError, OSError)))
