"""Command line for synthetic footage: render a clip, benchmark the renderer, evaluate e2e.

    python -m training.synthetic render --motion walk --frames 48 --size 320 --out DIR
    python -m training.synthetic render --joints clip.npy --out DIR
    python -m training.synthetic bench --size 320 --frames 12 --samples-list 4,8,16
    python -m training.synthetic evaluate --motions walk,wave,squat,turn,jump --out DIR
    python -m training.synthetic suite [--model M] [--out runs/e2e]   (the 12 standard clips)
    python -m training.synthetic crowd --scenario cross2|cross3 --out DIR [--size 640x360]
    python -m training.synthetic hands --out DIR [--all-rolls]   (scored by training.hands_bench)
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from dgnet_core.contract import PipelineOptions
from dgnet_core.schema import add_arguments

from .camera import CameraSpec
from .crowd import SCENARIOS
from .hands import POSES, SHOTS, VIEWS, HandRenderSpec
from .mannequin import MannequinStyle
from .motions import MOTIONS, BodyShape, load_joints, make_motion
from .render import SceneSpec


def _scene_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=320, help="square image size in pixels")
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--samples", type=int, default=SceneSpec.samples, help="Cycles samples")
    p.add_argument("--denoise", action="store_true", help="turn the OIDN denoiser on")
    p.add_argument("--threads", type=int, default=SceneSpec.threads,
                   help="render threads (0 = all cores)")
    p.add_argument("--focal-mm", type=float, default=CameraSpec.focal_mm)
    p.add_argument("--camera", type=float, nargs=3, default=CameraSpec.location,
                   metavar=("X", "Y", "Z"), help="camera position (Z-up metres)")
    p.add_argument("--target", type=float, nargs=3, default=CameraSpec.target,
                   metavar=("X", "Y", "Z"), help="point the camera looks at")
    p.add_argument("--height", type=float, default=BodyShape.height,
                   help="body height in metres for the procedural motions")
    p.add_argument("--shirt", type=float, nargs=3, default=MannequinStyle.shirt,
                   metavar=("R", "G", "B"), help="shirt colour, linear RGB 0..1")
    p.add_argument("--trousers", type=float, nargs=3, default=MannequinStyle.trousers,
                   metavar=("R", "G", "B"))


def _spec(args) -> SceneSpec:
    cam = CameraSpec(location=tuple(args.camera), target=tuple(args.target),
                     focal_mm=args.focal_mm)
    return SceneSpec(width=args.size, height=args.size, fps=args.fps, camera=cam,
                     samples=args.samples, denoise=args.denoise, threads=args.threads)


def _style(args) -> MannequinStyle:
    return MannequinStyle(shirt=tuple(args.shirt), trousers=tuple(args.trousers))


def _shape(args) -> BodyShape:
    return BodyShape(height=args.height)


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m training.synthetic", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render", help="render one clip (video + ground-truth npz)")
    r.add_argument("--motion", default="walk", choices=sorted(MOTIONS))
    r.add_argument("--joints", type=Path, help="(T,17,3) world joints .npy instead of a motion")
    r.add_argument("--frames", type=int, default=48)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--name", default=None, help="file stem (default: the motion name)")
    r.add_argument("--keep-frames", action="store_true", help="keep the PNG frames")
    r.add_argument("--masks", action="store_true", help="also render person masks")
    _scene_args(r)
    b = sub.add_parser("bench", help="render speed for several sample counts")
    b.add_argument("--frames", type=int, default=12)
    b.add_argument("--samples-list", default="4,8,16")
    b.add_argument("--motion", default="walk", choices=sorted(MOTIONS))
    b.add_argument("--out", type=Path, default=Path("out/synthetic_bench"))
    _scene_args(b)
    e = sub.add_parser("evaluate", help="render, detect, lift and compare with the truth")
    e.add_argument("--motions", default="walk,wave,squat,turn,jump",
                   help="comma-separated procedural motions (may be empty)")
    e.add_argument("--h36m", default="", help="comma-separated Human3.6M clips, e.g. "
                   "'S9/Walking 1' (research data; results must not be committed)")
    e.add_argument("--h36m-dir", type=Path,
                   default=Path(__file__).resolve().parents[3] / "shared" / "data" / "h36m")
    e.add_argument("--frames", type=int, default=48)
    e.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    add_arguments(e, PipelineOptions, names=["smoothing", "foot_lock"])  # the engine's flags
    e.add_argument("--out", type=Path, default=Path("out/e2e"))
    e.add_argument("--reuse", action="store_true",
                   help="do not re-render clips already in --out (compare models on them)")
    _scene_args(e)
    s = sub.add_parser("suite", help="the 12 standard clips (training.synthetic.suite)")
    s.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    s.add_argument("--out", type=Path, default=Path("runs/e2e"))
    s.add_argument("--h36m-dir", type=Path,
                   default=Path(__file__).resolve().parents[3] / "shared" / "data" / "h36m")
    c = sub.add_parser("crowd", help="two or three people crossing (training.synthetic.crowd)")
    c.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--size", type=_size, default=(640, 360), metavar="WxH",
                   help="picture size in pixels (default 640x360)")
    c.add_argument("--frames", type=int, default=None,
                   help="walk the paths in this many frames (default: the scenario's)")
    c.add_argument("--name", default=None, help="file stem (default: the scenario name)")
    c.add_argument("--samples", type=int, default=SceneSpec.samples, help="Cycles samples")
    c.add_argument("--threads", type=int, default=SceneSpec.threads,
                   help="render threads (0 = all cores)")
    c.add_argument("--keep-frames", action="store_true", help="keep the PNG frames")
    h = sub.add_parser("hands", help="a rigged hand at known finger angles, PNGs and "
                       "truth.npz (training.synthetic.hands)")
    h.add_argument("--out", type=Path, required=True)
    h.add_argument("--all-rolls", action="store_true",
                   help="every pose at every --rolls (default: only the open hand is rolled)")
    h.add_argument("--hands", type=_names, default=("right", "left"), help="right,left")
    h.add_argument("--poses", type=_names, default=tuple(POSES), help=",".join(POSES))
    h.add_argument("--shots", type=_names, default=tuple(SHOTS), help=",".join(SHOTS))
    h.add_argument("--views", type=_names, default=VIEWS, help=",".join(VIEWS))
    h.add_argument("--rolls", type=_names, default=("0", "45", "90"),
                   help="wrist rolls in degrees about the forearm (default 0,45,90)")
    h.add_argument("--size", type=int, default=HandRenderSpec.size,
                   help="square image size in pixels")
    h.add_argument("--samples", type=int, default=HandRenderSpec.samples,
                   help="Cycles samples")
    h.add_argument("--no-denoise", action="store_true", help="turn the OIDN denoiser off")
    h.add_argument("--threads", type=int, default=HandRenderSpec.threads,
                   help="render threads (0 = all cores)")
    h.add_argument("--reuse", action="store_true", help="keep PNGs already in --out")
    return p.parse_args(argv)


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 16 or h < 16:
        raise argparse.ArgumentTypeError(f"picture too small: {text}")
    return w, h


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from dgnet_core.errors import one_line_errors

    return one_line_errors(lambda: _run(args), extra=(FileNotFoundError, KeyError))


def _run(args) -> int:
    from .render import render_sequence

    if args.cmd == "suite":
        from .suite import run_suite, suite_table

        table = suite_table(run_suite(args.out, args.model, args.h36m_dir))
        (args.out / "suite.md").write_text(table)
        print(table)
        return 0
    if args.cmd == "crowd":
        from .crowd import describe, render_crowd

        out = render_crowd(args.scenario, args.out, width=args.size[0], height=args.size[1],
                           frames=args.frames, name=args.name, keep_frames=args.keep_frames,
                           spec=SceneSpec(samples=args.samples, threads=args.threads))
        with np.load(out.ground_truth) as gt:
            print(describe(dict(gt)))
        print(f"{out.video}\n{out.ground_truth}\n{out.seconds_per_frame:.2f} s/frame, "
              f"{out.total_seconds:.0f} s in all")
        return 0
    if args.cmd == "hands":
        from .hands import HandSet, render_hands

        hand_set = HandSet(hands=args.hands, poses=args.poses, shots=args.shots,
                           views=args.views, rolls=tuple(int(r) for r in args.rolls),
                           rolled_poses=None if args.all_rolls else ("open",))
        spec = HandRenderSpec(size=args.size, samples=args.samples,
                              denoise=not args.no_denoise, threads=args.threads)
        out = render_hands(args.out, hand_set, spec, reuse=args.reuse)
        print(f"{out.truth}\n{len(out.images)} images, {out.seconds_per_image:.2f} s/image, "
              f"{out.total_seconds:.0f} s in all")
        return 0
    spec, style = _spec(args), _style(args)
    if args.cmd == "render":
        if args.joints is not None:
            joints, motion = load_joints(str(args.joints), args.frames), args.joints.stem
        else:
            joints = make_motion(args.motion, args.frames, args.fps, _shape(args))
            motion = args.motion
        out = render_sequence(joints, args.out, name=args.name or motion, spec=spec,
                              style=style, keep_frames=args.keep_frames, masks=args.masks,
                              motion=motion)
        print(f"{out.video}\n{out.ground_truth}\n{out.seconds_per_frame:.2f} s/frame "
              f"(first frame {out.first_frame_seconds:.2f} s)")
    elif args.cmd == "bench":
        joints = make_motion(args.motion, args.frames, args.fps, _shape(args))
        print("| samples | denoise | size | wall s/frame | frames/s | CPU s/frame |")
        print("|---:|---|---:|---:|---:|---:|")
        for s in [int(x) for x in args.samples_list.split(",")]:
            out = render_sequence(joints, args.out, name=f"bench_{s}", style=style,
                                  spec=replace(spec, samples=s), progress=False)
            print(f"| {s} | {'on' if spec.denoise else 'off'} | {args.size} | "
                  f"{out.seconds_per_frame:.3f} | {1 / out.seconds_per_frame:.2f} | "
                  f"{out.cpu_seconds_per_frame:.3f} |")
    else:
        from .evaluate_e2e import evaluate, h36m_clip, markdown_table, write_results

        clips = {m: make_motion(m, args.frames, args.fps, _shape(args))
                 for m in filter(None, args.motions.split(","))}
        for name in filter(None, (s.strip() for s in args.h36m.split(","))):
            clips[name] = h36m_clip(name, args.h36m_dir, args.frames,
                                    step=max(1, round(50 / args.fps)))
        if not clips:
            raise SystemExit("nothing to evaluate: give --motions and/or --h36m")
        t0 = time.perf_counter()
        rows = evaluate(clips, args.out, size=args.size, model_path=args.model,
                        smoothing=args.smoothing, spec=spec, reuse=args.reuse,
                        foot_lock=args.foot_lock)
        md, csv_path = write_results(rows, args.out)
        print(markdown_table(rows))
        print(f"{md}\n{csv_path}\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
