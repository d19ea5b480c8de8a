"""Headless batch: ``blender -b --command lift_video ...`` and ``addon/headless.py``.

Owns the command line: argument parsing, finding clips (files or folders), running the
pipeline synchronously per clip, baking onto a new armature or a given rig, exporting
.blend / .fbx / .glb (glTF) / .bvh, a summary (printed and ``summary.json``) and exit codes:
0 every clip worked, 1 at least one clip failed (the others still ran) or the job cannot
start, 2 usage error.

The engine's flags are ``python -m dgnet_core lift``'s, from the same schema
(``dgnet_core.cli.add_pipeline_arguments``): ``--fov``/``--focal``, ``--smoothing``,
``--max-gap``, ``--frame-start``/``--frame-end`` (video frames, both inclusive),
``--backend``, ``--device auto|cpu|cuda``, ``--model``, ``--task``, ``--no-flip``,
``--no-cleanup``, ``--no-foot-lock``, ``--people N|all`` (one armature, action and set of
files ``<clip>_person<K>`` per person, one ``<clip>.blend`` with everybody), ``-q``/``-v``;
the bake's come from
``BakeOptions``; both are turned into settings by ``options.build_run``, as the
operator's are. Before any clip is read the output folder, the camera, the device and the
model file are checked: a problem there is one line
``lift_video: error: ...`` and exit 1, with nothing written. Each clip's failure is one
line in the summary and in ``summary.json`` (an exporter's traceback is cut to its last
line). Native log lines of MediaPipe/TFLite and the exporters' chatter are kept off the
console.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

import bpy

from dgnet_core.cli import (
    FRAME_RANGE_HELP,
    add_formats_argument,
    add_pipeline_arguments,
    native_stderr_silenced,
    options_from_args,
)
from dgnet_core.contract import PipelineOptions
from dgnet_core.detection.hands import default_hand_task_path
from dgnet_core.errors import LiftError, one_line
from dgnet_core.lifting.backend import resolve_runtime
from dgnet_core.people import job_results, make_job
from dgnet_core.preflight import check_output_dir
from dgnet_core.retarget.rigmaps import RigMap
from dgnet_core.schema import add_arguments, from_values

from . import bake, crowd, job, options
from . import rig as rigmod
from .bake_options import BakeOptions
from .console import quiet_native_logs
from .exports import EXPORT_FORMATS, export, operator_error

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}
FORMATS = EXPORT_FORMATS


class UsageError(Exception):
    """Bad command line (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # no sys.exit inside Blender's command runner
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="lift_video", epilog=FRAME_RANGE_HELP,
                description="Lift videos of a person to 3D and bake them onto an armature.")
    p.add_argument("inputs", nargs="+", type=Path, help="video files and/or folders of videos")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR",
                   help="output folder")
    add_formats_argument(p, FORMATS)
    add_pipeline_arguments(p)  # the engine's flags: python -m dgnet_core lift has the same
    p.add_argument("--target", default="",
                   help="armature object to animate (in the open file or --rig-file); "
                        "default: a new armature per clip")
    p.add_argument("--rig-file", type=Path, help=".blend file to append --target from")
    p.add_argument("--bone-map", type=Path, help="JSON bone map (implies --rig-type custom)")
    add_arguments(p, BakeOptions)  # --rig-type, --no-root-motion, --no-scale-to-rig
    return p


def find_videos(inputs: list[Path]) -> list[Path]:
    clips: list[Path] = []
    for path in inputs:
        if path.is_dir():
            clips += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        else:
            clips.append(path)  # missing files fail per clip, with a clear message
    return clips


def _formats(text: str) -> list[str]:
    fmts = [f.strip().lower().lstrip(".") for f in text.split(",") if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise UsageError(f"unknown format(s) {bad or text!r}; choose from {', '.join(FORMATS)}")
    return fmts


def _load_target(args) -> bpy.types.Object | None:
    if not args.target:
        if args.rig_file:
            raise UsageError("--rig-file needs --target (the armature object's name)")
        return None
    if args.rig_file:
        if not args.rig_file.is_file():
            raise UsageError(f"rig file not found: {args.rig_file}")
        with bpy.data.libraries.load(str(args.rig_file), link=False) as (src, dst):
            if args.target not in src.objects:
                raise UsageError(f"no object {args.target!r} in {args.rig_file}")
            dst.objects = [args.target]
        obj = dst.objects[0]
        bpy.context.scene.collection.objects.link(obj)
    else:
        obj = bpy.data.objects.get(args.target)
        if obj is None:
            raise UsageError(f"no object {args.target!r} in the open file")
    try:
        return rigmod.ensure_armature(obj)
    except LiftError as exc:
        raise UsageError(str(exc)) from None


def preflight(args) -> PipelineOptions:
    """Check what would otherwise fail on every clip, or only after the work: options,
    output folder, device, model file (``ValueError`` / ``LiftError``, one line)."""
    opts = options_from_args(args)
    from_values(BakeOptions, vars(args))
    check_output_dir(args.out)
    resolve_runtime(opts.model_path, opts.backend, opts.device)
    if opts.hands:
        default_hand_task_path()
    return opts


def _clear_default_scene(context) -> None:
    """An unsaved session starts with Blender's default objects (cube, camera, light):
    drop them before the rig is loaded, so each .blend holds just the result."""
    for obj in list(context.scene.objects):
        bpy.data.objects.remove(obj)


def run_clip(context, clip: Path, args, target, custom, formats, say) -> dict:
    t0 = time.perf_counter()
    scene = context.scene
    source = job.file_source(clip, scene)
    pipeline_options, settings = options.build_run(vars(args), source, target, custom)
    lift = make_job(clip, pipeline_options)
    last = -1.0
    try:
        while True:
            # MediaPipe / TFLite lines; Python's stderr stays
            with native_stderr_silenced(not args.verbose):
                done = lift.step(1.0)
            if done:
                break
            p = lift.progress
            if p.fraction - last >= 0.1:
                say(f"  {clip.name}: {p.message} ({100 * p.fraction:.0f}%)")
                last = p.fraction
    finally:
        lift.close()  # joins the pipeline's threads however the loop ends
    results, warnings = job_results(lift)
    for warning in warnings:
        say(f"  warning: {clip.name}: {warning}")
    # Exports run at the video's own frame rate (one key per video frame) unless
    # --keep-scene-fps.
    options.fit_frame_ratio(settings, scene, results[0].fps)
    prev_action = target.animation_data.action if target and target.animation_data else None
    if results[0].person is None:
        reports = [bake.apply_result(context, results[0], settings)]
    else:
        reports = crowd.bake_people(context, results, settings)
    for r, rep in zip(results, reports):
        note = bake.hands_note(r, rep)
        if note:
            warnings.append(note)
            say(f"  warning: {clip.name}: {note}")
    files = []
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        if results[0].person is None:
            files += export(context, reports[0].obj, args.out / clip.stem, formats)
        else:  # one .blend with everybody, the other files per person
            for r, rep in zip(results, reports):
                each = [f for f in formats if f != "blend"]
                if each:
                    files += export(context, rep.obj, args.out / f"{clip.stem}_person"
                                    f"{r.person}", each)
            if "blend" in formats:
                files += export(context, reports[0].obj, args.out / clip.stem, ["blend"])
    finally:  # leave the session as it was for the next clip
        for rep in reports:
            if rep.obj is not target:  # a new armature, or a copy of the user's rig
                rigmod.remove_armature(rep.obj)
            bpy.data.actions.remove(rep.action)
        if target is not None:
            target.animation_data.action = prev_action
    people = [{"person": r.person, "frames": len(r),
               "segments": [[int(r.frame_indices[a]), int(r.frame_indices[b - 1])]
                            for a, b in r.segment_bounds()]} for r in results]
    return {"clip": str(clip), "ok": True, "frames": len(results[0]), "files": files,
            "rig_type": reports[0].rig_type, "seconds": round(time.perf_counter() - t0, 2),
            "segments": people[0]["segments"],
            **({"people": people} if results[0].person is not None else {}),
            **({"warnings": warnings} if warnings else {})}


def main(argv: list[str] | None = None) -> int:
    """Entry point (``register_cli_command`` and headless.py); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        formats = _formats(args.formats)
        clips = find_videos(args.inputs)
        if not clips:
            raise UsageError(f"no videos found in {', '.join(map(str, args.inputs))}")
        preflight(args)  # before the rig is loaded or anything is read or written
        quiet_native_logs()
        context = bpy.context
        if not bpy.data.filepath and (args.rig_file or not args.target):
            _clear_default_scene(context)  # an unsaved session: only the result is saved
        target = _load_target(args)
        custom = None
        if args.bone_map:
            try:
                custom = RigMap.load(args.bone_map)
            except LiftError as exc:
                raise UsageError(str(exc)) from None
    except UsageError as exc:
        print(f"lift_video: error: {exc}", file=sys.stderr)
        print(build_parser().format_usage(), file=sys.stderr, end="")
        return 2
    except (LiftError, ValueError) as exc:  # from preflight: nothing has been written
        print(f"lift_video: error: {one_line(exc)}", file=sys.stderr)
        return 1

    def say(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    results = []
    for i, clip in enumerate(clips, 1):
        say(f"[{i}/{len(clips)}] {clip}")
        try:
            results.append(run_clip(context, clip, args, target, custom, formats, say))
        except LiftError as exc:
            results.append({"clip": str(clip), "ok": False, "error": one_line(exc)})
        except Exception as exc:  # noqa: BLE001 - one bad clip must not stop the batch
            # A bug, not the user's input: one line for the summary, the traceback kept in
            # summary.json for a bug report.
            results.append({"clip": str(clip), "ok": False,
                            "error": f"{type(exc).__name__}: {operator_error(exc)}",
                            "traceback": traceback.format_exc()})
    ok = [r for r in results if r["ok"]]
    print(f"lift_video: {len(ok)}/{len(results)} clips done -> {args.out}")
    for r in results:
        if r["ok"]:
            print(f"  OK    {Path(r['clip']).name}: {r['frames']} frames, "
                  f"{', '.join(Path(f).name for f in r['files'])}")
        else:
            print(f"  FAIL  {Path(r['clip']).name}: {r['error']}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    except OSError as exc:
        print(f"lift_video: could not write summary.json: {exc}", file=sys.stderr)
    return 0 if len(ok) == len(results) else 1


_HANDLE = None


def register() -> None:
    global _HANDLE
    register_cli = getattr(bpy.utils, "register_cli_command", None)
    if register_cli is not None:  # Blender 4.2+
        _HANDLE = register_cli("lift_video", main)


def unregister() -> None:
    global _HANDLE
    if _HANDLE is not None:
        bpy.utils.unregister_cli_command(_HANDLE)
        _HANDLE = None
