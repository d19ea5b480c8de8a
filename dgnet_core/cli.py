"""Command line: ``python -m dgnet_core lift VIDEO -o OUTDIR [options]``.

Owns argument parsing, the progress bar and the error contract of the command line: any
``LiftError`` (or invalid option) ends the run with one line ``error: <message>`` on
stderr and exit code 1; options, the output folder, the device and the model file are
checked before any work (2 for usage errors from argparse, 130 when interrupted). The
native libraries' own log lines (FFmpeg, TFLite, MediaPipe) are silenced unless
``--verbose``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import one_line_errors
from .filters import METHODS
from .io_formats import FORMATS, parse_formats
from .preflight import check_output_dir

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # before cv2 is imported


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dgnet_core",
        description="Lift Video engine: video of a person -> 3D joints (DG-Net).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lift = sub.add_parser("lift", help="detect, lift and place the person in a video",
                          description="Detect the person in VIDEO, lift to 3D joints, place "
                          "them on the floor and write the results to OUTDIR.")
    lift.add_argument("video", type=Path, help="input video file")
    lift.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR",
                      help="output folder (created if needed)")
    lift.add_argument("--format", default="npz,json,bvh",
                      help=f"comma-separated output formats from {','.join(FORMATS)} "
                      "(default: all)")
    lift.add_argument("--fov", type=float, default=55.0, metavar="DEG",
                      help="horizontal field of view for the default focal length (55)")
    lift.add_argument("--focal", type=float, default=None, metavar="PX",
                      help="focal length in pixels (overrides --fov)")
    lift.add_argument("--smoothing", choices=METHODS, default="savgol",
                      help="temporal filter (default savgol)")
    lift.add_argument("--max-gap", type=int, default=15, metavar="N",
                      help="longest run of frames without a person to interpolate (15)")
    lift.add_argument("--start", type=int, default=0, metavar="F", help="first frame (0)")
    lift.add_argument("--end", type=int, default=None, metavar="F",
                      help="end frame, exclusive (default: end of the video)")
    lift.add_argument("--backend", choices=("auto", "onnx", "torch"), default="auto",
                      help="lifting back-end (default auto)")
    lift.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                      help="torch device (default auto)")
    lift.add_argument("--model", type=str, default=None, metavar="PATH",
                      help="lifting model .safetensors/.onnx (default: shipped model)")
    lift.add_argument("--task", type=str, default=None, metavar="PATH",
                      help="MediaPipe pose_landmarker .task (default: see docs)")
    lift.add_argument("--no-flip", action="store_true", help="disable flip test-time "
                      "augmentation (faster, slightly less accurate)")
    lift.add_argument("--no-cleanup", action="store_true", help="place frame by frame: no "
                      "fixed body, limb limits, per-clip depth, contact floor or upright fix")
    lift.add_argument("--no-foot-lock", action="store_true",
                      help="do not hold planted feet in place")
    lift.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    lift.add_argument("-v", "--verbose", action="store_true",
                      help="keep the native libraries' log output")
    return parser


@contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    """Send file descriptor 2 (C/C++ logging) to /dev/null; Python's stderr still prints."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)


def cmd_lift(args: argparse.Namespace) -> int:
    from .io_formats import save_outputs
    from .pipeline import PipelineOptions, run_pipeline

    formats = parse_formats(args.format)  # fail before the long job
    options = PipelineOptions(
        fov_deg=args.fov, focal_px=args.focal, smoothing=args.smoothing,
        max_gap=args.max_gap, frame_start=args.start, frame_end=args.end,
        backend=args.backend, device=args.device, model_path=args.model,
        task_path=args.task, flip_tta=False if args.no_flip else None, cleanup=not args.no_cleanup,
        foot_lock=not args.no_foot_lock)
    options.check()
    check_output_dir(args.out)  # before the job, not after minutes of work
    with native_stderr_silenced(not args.verbose):
        result = run_pipeline(args.video, options, progress=not args.quiet)
    paths = save_outputs(result, args.out, formats, stem=args.video.stem)
    filled = sum(e - s for s, e in result.gaps)
    print(f"{len(result)} frames ({int(result.frame_indices[0])}-"
          f"{int(result.frame_indices[-1])}) at {result.fps:g} fps, {filled} filled in "
          f"{len(result.gaps)} gaps")
    for p in paths:
        print(f"wrote {p}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "lift":
        return 2
    return one_line_errors(lambda: cmd_lift(args), extra=(OSError,))  # e.g. disk full
