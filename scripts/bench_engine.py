"""Benchmark the video -> 3D engine: detection, lifting and end-to-end fps, peak memory.

    python scripts/bench_engine.py [--videos DIR] [--work /tmp/lift_bench] [--model PATH]
                                   [--seconds 10] [--long 1 10] [--threads 1]

Clips are made in ``--work`` (never in the repository) with OpenCV from the shared clips:
``two_people_1080p.avi`` ping-pong looped to ``--seconds`` at 1080p and resized to 720p;
for the memory test the dance clip is looped at 30 fps and 360x360 to 1 and 10 minutes.
Each clip is measured in a fresh subprocess: first the whole job (``run_pipeline``, which
lifts on a second thread while detecting) for the end-to-end fps and the child's peak RSS
(``VmHWM``, taken right after it); then, separately, detection alone (decode + MediaPipe +
tracking) and lifting alone (DG-Net incl. flip TTA, over the job's 2D joints) for the
per-stage fps. CPU seconds (all threads) are reported next to the wall time: on a shared
machine they show the work, the wall time shows the load too. The long runs use a tiny
random lifting model without flip TTA (the engine's buffers are what grows with the clip;
the model's memory is fixed) and measure only the whole job. Without ``--model`` the
lifting model is the default one if present, else a random full-size (paper) DG-Net.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited over exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_clip(src: Path, dst: Path, size: tuple[int, int], frames: int, fps: float) -> Path:
    """Ping-pong loop ``src`` to ``frames`` frames of ``size`` (mp4v) unless ``dst`` exists."""
    import cv2

    if dst.exists():
        return dst
    cap = cv2.VideoCapture(str(src))
    loop = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        loop.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
    cap.release()
    order = list(range(len(loop))) + list(range(len(loop) - 2, 0, -1))
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name("tmp_" + dst.name)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(frames):
        writer.write(loop[order[i % len(order)]])
    writer.release()
    tmp.replace(dst)
    return dst


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def child(args: argparse.Namespace) -> None:
    """Measure one clip and print a JSON line of timings and memory."""
    if args.backend == "torch":  # onnxruntime runs without torch: keep it out of the RSS
        import torch

        torch.set_num_threads(args.threads)
    from dgnet_core.detection.detect import detect_video
    from dgnet_core.lifting.backend import load_lifter
    from dgnet_core.pipeline import PipelineOptions, run_pipeline

    lifter = load_lifter(args.model, backend=args.backend, device="cpu",
                              threads=args.threads)
    lifter.flip_tta = not args.no_flip
    rss0 = _rss_mb()

    def whole():
        return run_pipeline(args.clip, PipelineOptions(), lifter=lifter)

    result, wall, cpu = _timed(whole)
    n = len(result)
    out = {
        "clip": Path(args.clip).name, "frames": n, "size": f"{result.width}x{result.height}",
        "backend": lifter.backend, "flip": lifter.flip_tta, "threads": args.threads,
        "end_to_end_fps": n / wall, "seconds": wall, "cpu_seconds": cpu,
        "rss_start_mb": rss0, "rss_end_mb": _rss_mb(), "peak_rss_mb": _peak_rss_mb(),
        "load": os.getloadavg()[0],
    }
    if not args.whole_only:
        det, wall, cpu = _timed(lambda: detect_video(args.clip))
        out.update(detect_fps=len(det) / wall, detect_cpu_fps=len(det) / cpu)
        kp, conf = result.keypoints_2d, result.confidence
        lifter.lift(kp[:64], conf[:64], result.width, result.height,
                    intrinsics=result.intrinsics)  # warm-up
        _, wall, cpu = _timed(lambda: lifter.lift(kp, conf, result.width, result.height,
                                                  intrinsics=result.intrinsics))
        out.update(lift_fps=n / wall, lift_cpu_fps=n / cpu)
    print(json.dumps(out))


def run_child(clip: Path, model: Path, threads: int, no_flip: bool, backend: str,
              whole_only: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", str(clip), "--model", str(model),
           "--threads", str(threads), "--backend", backend] + (["--no-flip"] if no_flip else [])
    cmd += ["--whole-only"] if whole_only else []
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode:
        raise SystemExit(f"child failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_models(work: Path, model: str | None) -> tuple[Path, Path]:
    from dgnet_core.lifting.config import DGNetConfig
    from dgnet_core.lifting.weights import default_model_path, random_model, save_weights

    if model:
        full = Path(model)
    elif default_model_path().exists():
        full = default_model_path()
    else:
        full = work / "random_full.safetensors"
        if not full.exists():
            save_weights(random_model(DGNetConfig()), full)
    tiny = work / "random_tiny.safetensors"
    if not tiny.exists():
        save_weights(random_model(DGNetConfig(num_blocks=1, channels=32, importance_hidden=8,
                                              block_head_hidden=16)), tiny)
    return full, tiny


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=Path, default=REPO.parent / "shared" / "data" / "videos")
    ap.add_argument("--work", type=Path, default=Path("/tmp/lift_bench"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--long", type=float, nargs="*", default=[1.0, 10.0],
                    help="minutes of the memory-test clips (none to skip)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--backend", default="torch", choices=("torch", "onnx"))
    ap.add_argument("--no-flip", action="store_true")
    ap.add_argument("--sizes", nargs="*", default=["720p", "1080p"],
                    choices=["720p", "1080p"])
    ap.add_argument("--whole-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        args.clip = args.child
        child(args)
        return
    full, tiny = ensure_models(args.work, args.model)
    src = args.videos / "two_people_1080p.avi"
    n = int(round(args.seconds * 30))
    rows = []
    for name, size in (("720p", (1280, 720)), ("1080p", (1920, 1080))):
        if name not in args.sizes:
            continue
        clip = make_clip(src, args.work / f"two_people_{name}_{n}.mp4", size, n, 30.0)
        r = run_child(clip, full, args.threads, args.no_flip, args.backend)
        rows.append(r)
        print(json.dumps(r), flush=True)
    for minutes in args.long:
        frames = int(round(minutes * 60 * 30))
        clip = make_clip(args.videos / "dance_600x600.mp4",
                         args.work / f"dance_360_{frames}.mp4", (360, 360), frames, 30.0)
        r = run_child(clip, tiny, args.threads, True, args.backend, whole_only=True)
        r["minutes"] = minutes
        rows.append(r)
        print(json.dumps(r), flush=True)
    print()
    print("| clip | frames | lift backend | detect fps | lift fps | end-to-end fps | "
          "end-to-end CPU s | peak RSS MB | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} ({r['size']}) | {r['frames']} | {r['backend']}"
              f"{' +flip' if r['flip'] else ''} | {r.get('detect_fps', float('nan')):.1f} | "
              f"{r.get('lift_fps', float('nan')):.1f} | {r['end_to_end_fps']:.1f} | "
              f"{r['cpu_seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r['load']:.1f} |")


if __name__ == "__main__":
    main()
