"""The whole ``lift`` command against MediaPipe alone, side by side, as whole processes.

    python scripts/bench_lift_command.py [CLIP] [--rounds 5] [--work out/bench]
                                         [--lift-args "..."] [--engine DIR ...]

(A) MediaPipe alone: a fresh interpreter that decodes every frame with OpenCV (BGR -> RGB,
full resolution, as the engine feeds MediaPipe) and runs the engine's pose ``.task`` in
VIDEO mode with one pose (``--mediapipe-alone``, this file), keeping the landmarks.
(B) ``python -m dgnet_core lift CLIP -o OUT`` as a user runs it: default outputs (npz,
json, bvh), the progress bar drawn (to a pipe). ``--engine DIR`` (repeatable) adds a B
run from another copy of the engine (DIR holds its ``dgnet_core`` package, e.g. a copy of
the package at an older commit), so before and after are measured in the same rounds.

Both are timed from process start to exit (interpreter start-up and imports included),
in interleaved rounds (A, B, B, A, ...) so a machine shared with other work loads both
alike; peak memory is each process's maximum resident set (``wait4``'s ``ru_maxrss``,
what ``/usr/bin/time -v`` reports); CPU seconds (user + system, all threads) show the
work, which other jobs on the machine disturb far less than the wall time. Prints every
round, then the medians and the ratios B / A as a Markdown table. Without CLIP a
10-second 1080p clip is made with ffmpeg from the shared squat clip (ping-pong looped,
30 fps, H.264) under ``--work``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VIDEOS = REPO.parent / "shared" / "data" / "videos"


def mediapipe_alone(clip: str, task: str) -> None:
    """Decode every frame and run PoseLandmarker (VIDEO mode, one pose) on it."""
    import cv2
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=task),
        running_mode=vision.RunningMode.VIDEO, num_poses=1)
    cap = cv2.VideoCapture(clip)
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    poses = []
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            result = landmarker.detect_for_video(image, round(i * 1000.0 / fps))
            poses.append(np.array([(p.x, p.y, p.z) for p in result.pose_landmarks[0]],
                                  np.float32) if result.pose_landmarks else None)
            i += 1
    cap.release()
    found = sum(p is not None for p in poses)
    print(f"{i} frames, person in {found}")


def make_clip(work: Path, seconds: float = 10.0) -> Path:
    """A ``seconds`` long 1920x1080 30 fps H.264 clip of one person (the shared squat clip,
    ping-pong looped and scaled), made once."""
    frames = int(round(seconds * 30))
    clip = work / f"squat_1080p_{seconds:g}s.mp4"
    if clip.exists():
        return clip
    work.mkdir(parents=True, exist_ok=True)
    graph = ("[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1[pp];"
             f"[pp]loop=loop={frames // 298 + 1}:size=298:start=0,setpts=N/30/TB,"
             f"scale=1920:1080:flags=bicubic,trim=end_frame={frames}[v]")
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(VIDEOS / "squat_overlay_640x360.mp4"), "-filter_complex", graph,
                    "-map", "[v]", "-r", "30", "-c:v", "libx264", "-preset", "medium",
                    "-crf", "20", "-pix_fmt", "yuv420p", str(clip)], check=True)
    return clip


def timed(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads) and peak RSS (MB) of one
    process run to its end (its output goes to a file, read only when it has ended)."""
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n"
                             f"{log.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", type=Path, default=REPO / "out" / "bench")
    ap.add_argument("--lift-args", default="", help="extra flags for the lift command")
    ap.add_argument("--engine", action="append", default=[], metavar="DIR",
                    help="also run the command from DIR's dgnet_core (repeatable)")
    ap.add_argument("--mediapipe-alone", nargs=2, metavar=("CLIP", "TASK"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mediapipe_alone:
        mediapipe_alone(*args.mediapipe_alone)
        return
    from dgnet_core.detection.detect import default_task_path

    clip = (args.clip or make_clip(args.work)).resolve()
    out = args.work / "lift_out"
    task = str(default_task_path())
    env = dict(os.environ, LIFT_VIDEO_POSE_TASK=task)  # every engine copy, the same model
    cmds = {"A": (REPO, [sys.executable, __file__, "--mediapipe-alone", str(clip), task])}
    for i, engine in enumerate([REPO, *args.engine]):
        cmds["B" if i == 0 else f"B{i}"] = (
            Path(engine).resolve(), [sys.executable, "-m", "dgnet_core", "lift", str(clip),
                                     "-o", str(out), *shlex.split(args.lift_args)])
    for name, (cwd, cmd) in cmds.items():
        print(f"{name}: (in {cwd}) {shlex.join(cmd)}", flush=True)
    rows: dict[str, list[tuple[float, float, float]]] = {k: [] for k in cmds}
    names = list(cmds)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:  # none always goes first
            shutil.rmtree(out, ignore_errors=True)
            wall, cpu, rss = timed(cmds[name][1], cmds[name][0], env)
            rows[name].append((wall, cpu, rss))
            print(f"round {r + 1} {name}: {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} "
                  f"MB, load {os.getloadavg()[0]:.1f}", flush=True)
    print("\n| clip | rounds | run | median wall s | wall / A: ratio of medians (median of "
          "rounds) | median CPU s | CPU / A | median peak RSS MB |\n"
          "|---|---|---|---|---|---|---|---|")
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in rows.items()}
    for name, v in rows.items():
        ratios = [x[0] / a[0] for x, a in zip(v, rows["A"])]
        (wall, cpu, rss), (wall_a, cpu_a, _) = med[name], med["A"]
        print(f"| {clip.name} | {args.rounds} | {name} | {wall:.2f} | {wall / wall_a:.2f} "
              f"({statistics.median(ratios):.2f}) | {cpu:.2f} | {cpu / cpu_a:.2f} | "
              f"{rss:.0f} |")

if __name__ == "__main__":
    main()
