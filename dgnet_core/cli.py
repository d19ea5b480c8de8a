"""Command line: ``python -m dgnet_core lift VIDEO -o OUTDIR [options]``.

Owns argument parsing (the pipeline's flags come from ``PipelineOptions``' schema through
``add_pipeline_arguments``, which the Blender command line shares, so both spell, default
and validate them alike), the progress bar and the error contract of the command line: any
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

from .contract import PipelineOptions, ProgressCallback
from .errors import one_line_errors
from .formats.results import FORMATS, parse_formats
from .preflight import check_output_dir
from .schema import add_arguments, from_values

FRAME_RANGE_HELP = ("Frames are the video's, counted from 0; --frame-start and --frame-end "
                    "are both inclusive (as in Blender): --frame-start 10 --frame-end 19 "
                    "lifts 10 frames.")


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """Every ``PipelineOptions`` flag (from its schema) plus ``-q``/``-v``: the flags both
    command lines share, spelled and defaulted the same."""
    add_arguments(parser, PipelineOptions)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="keep the native libraries' log output")


def add_formats_argument(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    """``--formats LIST``: comma-separated, from ``formats`` (default: all of them)."""
    parser.add_argument("--formats", default=",".join(formats), metavar="LIST",
                        help=f"comma-separated output formats from {','.join(formats)} "
                        "(default: all)")


def options_from_args(args: argparse.Namespace) -> PipelineOptions:
    """The validated ``PipelineOptions`` of parsed arguments (``ValueError``, one line)."""
    return from_values(PipelineOptions, vars(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dgnet_core",
        description="Lift Video engine: video of a person -> 3D joints (DG-Net).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lift = sub.add_parser("lift", help="detect, lift and place the person in a video",
                          description="Detect the person in VIDEO, lift to 3D joints, place "
                          "them on the floor and write the results to OUTDIR.",
                          epilog=FRAME_RANGE_HELP)
    lift.add_argument("video", type=Path, help="input video file")
    lift.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR",
                      help="output folder (created if needed)")
    add_formats_argument(lift, FORMATS)
    lift.add_argument("--preview", action="store_true",
                      help="also write <clip>_preview.png (the 2D skeleton on a few frames "
                      "beside the lifted 3D pose) and, with --hands, <clip>_hands.png")
    add_pipeline_arguments(lift)
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


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A ``run_pipeline`` progress callback drawing a tqdm bar on stderr (None when not
    ``enabled``). The bar appears with the first ``Progress``, so errors found before the
    work (options, video, model) are never drawn over."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bars: list = []

    def show(p) -> None:
        if not bars:
            bars.append(tqdm(total=100, unit="%", leave=False, bar_format="{desc:<34.34} "
                             "{bar} {percentage:3.0f}% [{elapsed}<{remaining}]"))
        bar = bars[0]
        bar.set_description_str(p.message, refresh=False)
        bar.update(max(0, int(round(p.fraction * 100)) - bar.n))

    try:
        yield show
    finally:
        for bar in bars:
            bar.close()


def _summary(result) -> str:
    filled = sum(e - s for s, e in result.gaps)
    return (f"{len(result)} frames ({int(result.frame_indices[0])}-"
            f"{int(result.frame_indices[-1])}) at {result.fps:g} fps, {filled} filled in "
            f"{len(result.gaps)} gaps")


def cmd_lift(args: argparse.Namespace) -> int:
    from .formats.results import save_outputs
    from .lifting.backend import resolve_runtime

    formats = parse_formats(args.formats)  # fail before the long job
    options = options_from_args(args)
    check_output_dir(args.out)  # before the job, not after minutes of work
    resolve_runtime(options.model_path, options.backend, options.device)  # device, model
    if options.hands:
        from .detection.hands import default_hand_task_path

        default_hand_task_path()  # the hand model is there, before the work
    with native_stderr_silenced(not args.verbose), progress_bar(not args.quiet) as show:
        if options.people == 1:
            from .pipeline import run_pipeline

            results = [run_pipeline(args.video, options, progress=show)]
            warnings = results[0].warnings()
        else:
            from .people import run_people

            crowd = run_people(args.video, options, progress=show)
            results, warnings = list(crowd), crowd.warnings()
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for r in results:
        stem = args.video.stem if r.person is None else f"{args.video.stem}_person{r.person}"
        paths = save_outputs(r, args.out, formats, stem=stem)
        if args.preview:
            from .formats.preview import save_hands_preview, save_preview

            paths.append(save_preview(args.out / f"{stem}_preview.png", args.video,
                                      r.keypoints_2d, r.joints_world,
                                      frame_indices=r.frame_indices, title=stem))
            if r.hands is not None:
                paths.append(save_hands_preview(args.out / f"{stem}_hands.png", args.video, r))
        who = "" if r.person is None else f"person {r.person}: "
        print(who + _summary(r))
        for p in paths:
            print(f"wrote {p}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "lift":
        return 2
    return one_line_errors(lambda: cmd_lift(args), extra=(OSError,))  # e.g. disk full
