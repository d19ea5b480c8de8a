"""The installed-extension check that ``scripts/blender_matrix.py`` runs inside one bpy.

Run as ``python -S scripts/blender_check.py '<json args>'`` with ``PYTHONPATH`` holding only
that bpy and its numpy, and ``BLENDER_USER_RESOURCES`` set to an empty folder, so the add-on
can only use what its own zip brings. Steps (each timed; a failed step is reported and the
later ones that do not depend on it still run):

1. install the zip with Blender's own extension operator and enable it;
2. the panel's engine status (detector, model, compute device) and a panel draw that must
   not wait for it;
3. the first progress a Lift Video run shows, and when, through the operator's runner;
4. the Lift Video operator on a short clip onto a new armature, keys checked;
5. the same onto a Rigify rig generated from Blender's bundled Rigify, keys checked;
6. the ``blender --command lift_video`` function: BVH, FBX, glTF and .blend of the clip;
7. disable and remove the extension.

Prints one line ``RESULT <json>``. Standard library + bpy only: it runs on every version.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

ARGS = json.loads(sys.argv[1])
PKG = "bl_ext.user_default.lift_video"
RES: dict = {"steps": {}}


def step(name: str):
    """Run the decorated function now; record its result (or error) and its duration."""

    def deco(fn):
        if name in ARGS.get("skip", ()):
            return fn
        t0 = time.perf_counter()
        try:
            out = fn() or {}
            out["ok"] = out.get("ok", True)
        except Exception:  # noqa: BLE001 - reported to the caller
            out = {"ok": False, "error": traceback.format_exc()[-2500:]}
        out["seconds"] = round(time.perf_counter() - t0, 2)
        RES["steps"][name] = out
        return fn

    return deco


t_import = time.perf_counter()
import bpy  # noqa: E402, I001 - bpy first: it puts Blender's modules on sys.path

import addon_utils  # noqa: E402

RES["bpy"] = bpy.app.version_string
RES["import_s"] = round(time.perf_counter() - t_import, 2)
bpy.ops.wm.read_factory_settings(use_empty=True)
ctx = bpy.context


def channelbag_fcurves(obj) -> list:
    """F-curves of the object's action, read without the add-on's helpers."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return []
    act = ad.action
    if bpy.app.version >= (4, 4, 0):
        slot = ad.action_slot
        for layer in act.layers:
            for strip in layer.strips:
                bag = strip.channelbag(slot) if slot is not None else None
                if bag is not None:
                    return list(bag.fcurves)
        return []
    return list(act.fcurves)


def key_summary(obj, moving_bones: list[str]) -> dict:
    """Curves, keys per curve, interpolation and whether the named bones move."""
    fcs = channelbag_fcurves(obj)
    linear = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
    values_ok, interp = True, set()
    grouped = all(fc.group is not None and f'"{fc.group.name}"' in fc.data_path for fc in fcs)
    for fc in fcs:
        n = len(fc.keyframe_points)
        co = [0.0] * (2 * n)
        fc.keyframe_points.foreach_get("co", co)
        values_ok &= all(math.isfinite(v) for v in co)
        ip = [0] * n
        fc.keyframe_points.foreach_get("interpolation", ip)
        interp |= set(ip)
    start, end = (int(v) for v in obj.animation_data.action.frame_range)
    moved = {}
    for name in moving_bones:
        heads = []
        for f in (start, (start + end) // 2, end):
            ctx.scene.frame_set(f)
            heads.append(tuple(obj.matrix_world @ obj.pose.bones[name].tail))
        moved[name] = max(math.dist(heads[0], h) for h in heads[1:])
    paths = sorted({fc.data_path.split('"')[1] for fc in fcs if '"' in fc.data_path})
    return {"action": obj.animation_data.action.name, "curves": len(fcs),
            "keys_per_curve": sorted({len(fc.keyframe_points) for fc in fcs}),
            "frame_range": [start, end], "finite": values_ok,
            "linear": interp == {linear}, "grouped_by_bone": grouped, "bones_keyed": paths,
            "tail_travel_m": {k: round(v, 4) for k, v in moved.items()}}


@step("install")
def _():
    out = bpy.ops.extensions.package_install_files(
        filepath=ARGS["zip"], repo="user_default", enable_on_install=True)
    enabled = PKG in {a.module for a in ctx.preferences.addons}
    ops = sorted(n for n in dir(getattr(bpy.ops, "lift_video", None)) if not n.startswith("_"))
    return {"ok": out == {"FINISHED"} and enabled and "lift" in ops, "result": sorted(out),
            "enabled": enabled, "operators": ops}


if not RES["steps"]["install"]["ok"]:
    print("RESULT " + json.dumps(RES), flush=True)
    sys.exit(0)
ext = importlib.import_module(PKG)
ext_dir = Path(ext.__file__).parent
if ARGS.get("onnx"):
    ctx.preferences.addons[PKG].preferences.model_path = ARGS["onnx"]


@step("status")
def _():
    status = importlib.import_module(PKG + ".status")
    panels = importlib.import_module(PKG + ".panels")
    labels: list[str] = []

    class Layout:  # records labels; everything else is a no-op returning itself
        def __getattr__(self, name):
            def method(*_a, **kw):
                if name == "label":
                    labels.append(kw.get("text", ""))
                return self

            return method

    t0 = time.perf_counter()
    panels.draw_lift_panel(Layout(), ctx)  # first draw: must not wait for the check
    first_draw = time.perf_counter() - t0
    status.wait(120.0)
    drawn_first = [t for t in labels if t.startswith(("Detector", "Model", "Device"))]
    labels.clear()
    panels.draw_lift_panel(Layout(), ctx)
    drawn = [t for t in labels if t.startswith(("Detector", "Model", "Device"))]
    st = status.panel_status(ctx)
    return {"ok": st.ready, "first_draw_s": round(first_draw, 4), "check_s": round(st.seconds, 2),
            "first_labels": drawn_first, "labels": drawn,
            "detector": st.detector.text, "model": st.model.text, "device": st.device.text}


clip = ARGS.get("video") or ""


def set_source(props, target=None) -> None:
    props.source_type, props.filepath = "FILE", clip
    props.use_frame_range, props.frame_start, props.frame_end = True, 0, ARGS["frames"] - 1
    if target is None:
        props.target_mode = "NEW"
    else:
        props.target_mode, props.target, props.rig_type = "EXISTING", target, "AUTO"


if clip:
    @step("first_progress")
    def _():
        operators = importlib.import_module(PKG + ".operators")
        props = ctx.scene.lift_video
        set_source(props)
        seen: list[tuple[float, str, float]] = []
        t0 = time.perf_counter()  # the click
        runner = operators.LiftRunner(ctx, ARGS.get("onnx") or "")
        show = runner.show

        def recording_show(context):
            show(context)
            run = context.window_manager.lift_video_run
            seen.append((round(time.perf_counter() - t0, 3), run.message,
                         round(run.progress, 3)))

        runner.show = recording_show
        runner.begin(ctx)  # what the modal operator does before its first timer tick
        try:
            while not any(m.startswith("detecting: frame") for _, m, _f in seen):
                if runner.tick(0.05):
                    break
                runner.show(ctx)
        finally:  # the later steps need the run state reset, however this one ends
            runner.cancel()
            runner.end(ctx)
        first_engine = next((s for s in seen[1:]), None)
        return {"first_s": seen[0][0], "first_message": seen[0][1],
                "first_engine_s": first_engine[0] if first_engine else None,
                "first_engine_message": first_engine[1] if first_engine else None,
                "updates": seen[:8], "ok": seen[0][0] < 1.0}

    @step("lift_new")
    def _():
        props = ctx.scene.lift_video
        set_source(props)
        before = set(bpy.data.objects.keys())
        out = bpy.ops.lift_video.lift()
        (name,) = set(bpy.data.objects.keys()) - before
        obj = bpy.data.objects[name]
        keys = key_summary(obj, [b for b in ("LElbow", "RKnee") if b in obj.pose.bones])
        return {"result": sorted(out), "object": name, **keys,
                "ok": out == {"FINISHED"} and keys["curves"] > 0 and keys["finite"]
                and len(keys["tail_travel_m"]) == 2
                and all(v > 0.01 for v in keys["tail_travel_m"].values())}

    @step("lift_rigify")
    def _():
        addon_utils.enable("rigify", default_set=True)
        bpy.ops.object.armature_human_metarig_add()
        meta = ctx.object
        meta.location = (2.0, 0.0, 0.0)
        bpy.ops.pose.rigify_generate()
        rig = bpy.data.objects["rig"]
        props = ctx.scene.lift_video
        set_source(props, rig)
        out = bpy.ops.lift_video.lift()
        keys = key_summary(rig, ["ORG-forearm.L", "ORG-shin.R"])
        ik_fk = [rig.pose.bones[f"{b}_parent.{s}"]["IK_FK"]
                 for b in ("upper_arm", "thigh") for s in "LR"]
        fk = [b for b in keys["bones_keyed"] if b.endswith("_fk.L") or b.endswith("_fk.R")]
        return {"result": sorted(out), **keys, "ik_fk": ik_fk, "fk_controls_keyed": len(fk),
                "ok": out == {"FINISHED"} and keys["curves"] > 0 and keys["finite"]
                and all(v > 0.01 for v in keys["tail_travel_m"].values())}


    @step("cli")
    def _():
        """The ``blender --command lift_video`` entry (the function it registers): BVH, FBX
        and .blend written by Blender's own exporters."""
        cli = importlib.import_module(PKG + ".cli")
        out = Path(ARGS.get("out") or "cli_out").resolve()
        code = cli.main([clip, "-o", str(out), "--frame-end", str(ARGS["frames"] - 1),
                         "--formats", "bvh,fbx,gltf,blend", "--quiet"])
        files = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
        bvh = out / (Path(clip).stem + ".bvh")
        frames = next((int(ln.split()[1]) for ln in bvh.read_text().splitlines()
                       if ln.startswith("Frames:")), None) if bvh.is_file() else None
        summary = out / "summary.json"
        errors = [r.get("error") for r in json.loads(summary.read_text())
                  if not r.get("ok")] if summary.is_file() else ["no summary.json"]
        return {"ok": code == 0 and frames == ARGS["frames"] and not errors, "code": code,
                "files": files, "bvh_frames": frames, "errors": errors}


@step("remove")
def _():
    addon_utils.disable(PKG, default_set=True)
    disabled = PKG not in {a.module for a in ctx.preferences.addons}
    out = bpy.ops.extensions.package_uninstall(repo_directory=str(ext_dir.parent),
                                               pkg_id="lift_video")
    ops = sorted(n for n in dir(getattr(bpy.ops, "lift_video", None)) if not n.startswith("_"))
    return {"ok": out == {"FINISHED"} and disabled and not ext_dir.exists() and not ops,
            "result": sorted(out), "disabled": disabled, "dir_left": ext_dir.exists(),
            "operators_left": ops, "scene_prop_left": hasattr(bpy.types.Scene, "lift_video")}


print("RESULT " + json.dumps(RES), flush=True)
if bpy.app.version < (5, 0, 0) and "rigify" in {a.module for a in ctx.preferences.addons}:
    # The bpy modules before 5.0 do not exit cleanly after Rigify, with no other add-on
    # involved (checked 2026-11-29): 4.2.23 crashes in its exit handlers (SIGSEGV) once
    # Rigify is enabled; 4.5.15 hangs in exit after a rig generation until its watchdog
    # kills it (SIGTRAP, about 30 s). 5.0.1 exits cleanly. Everything is reported above.
    sys.stderr.flush()
    os._exit(0)
