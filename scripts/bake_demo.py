"""Demo step 5: bake a clip onto a new armature and a Rigify metarig with the real extension.

The extension is registered in Blender (the ``bpy`` module) straight from the source tree:
a temporary extensions repository whose ``lift_video`` links to ``addon/`` (the engine is
the venv's ``dgnet_core``, as a built extension's is its wheel); it is driven through its
operator ``bpy.ops.lift_video.lift`` twice: once building a new armature, once onto Rigify's
human metarig. The scene (at the video's frame rate) is saved as a .blend. Runs in its own
process (``bake_demo`` below starts it) because ``BLENDER_USER_RESOURCES`` must be set
before ``bpy`` is imported.

    .venv/bin/python scripts/bake_demo.py VIDEO OUT.blend [--model PATH]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bake_demo(video: str | Path, blend: str | Path, model: str | Path | None = None
              ) -> tuple[Path, dict]:
    """Run this script in a fresh interpreter; returns the .blend path and what was baked
    (each rig's action, and its bones' world positions at four frames); raises on
    failure."""
    blend = Path(blend).resolve()
    with tempfile.TemporaryDirectory(prefix="lift_video_demo_") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER")}
        env["BLENDER_USER_RESOURCES"] = str(Path(tmp) / "user")
        cmd = [sys.executable, __file__, str(Path(video).resolve()), str(blend)]
        if model:
            cmd += ["--model", str(model)]
        proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
    report = [ln for ln in proc.stdout.splitlines() if ln.startswith("BAKED ")]
    if proc.returncode != 0 or not report:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise RuntimeError("bake step failed: " + " | ".join(tail))
    baked = json.loads(report[-1][len("BAKED "):])
    for name, info in baked.items():
        if "action" in info:
            print(f"      {name:<22} action {info['action']!r}, {info['keys']} keys per "
                  f"curve, {info['curves']} curves")
    return blend, baked


def enable_source_addon(module: str = "lift_demo") -> str:
    """Register the extension straight from ``addon/`` in this ``bpy`` session: factory
    settings (preferences not saved), a temporary extensions repository ``module`` whose
    ``lift_video`` links to ``addon/``, the add-on and Rigify enabled. Returns the add-on's
    package name (``bl_ext.<module>.lift_video``)."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # on sys.path once bpy is imported
    repo = Path(tempfile.mkdtemp(prefix="lift_video_repo_"))
    (repo / "lift_video").symlink_to(ROOT / "addon", target_is_directory=True)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.use_preferences_save = False  # the user's stay as they are
    bpy.context.preferences.extensions.repos.new(
        name="Lift Video from source", module=module, custom_directory=str(repo))
    package = f"bl_ext.{module}.lift_video"
    addon_utils.enable(package, default_set=True, handle_error=None)
    addon_utils.enable("rigify", default_set=True)
    return package


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("blend", type=Path)
    parser.add_argument("--model", default="")
    args = parser.parse_args()

    import bpy

    package = enable_source_addon()
    if args.model:
        prefs = bpy.context.preferences.addons[package].preferences
        prefs.model_path = args.model

    scene = bpy.context.scene
    props = scene.lift_video
    props.source_type = "FILE"
    props.filepath = str(args.video)
    baked = {}

    props.target_mode = "NEW"
    if "FINISHED" not in bpy.ops.lift_video.lift():
        return 1
    new_rig = bpy.context.view_layer.objects.active
    baked["new armature"] = _describe(new_rig)

    bpy.ops.object.select_all(action="DESELECT")
    bpy.ops.object.armature_human_metarig_add()
    metarig = bpy.context.object
    metarig.location = (1.5, 0.0, 0.0)
    props.target_mode = "EXISTING"
    props.target = metarig
    props.rig_type = "AUTO"
    if "FINISHED" not in bpy.ops.lift_video.lift():
        return 1
    baked["rigify metarig"] = _describe(metarig)
    first, last = (int(v) for v in new_rig.animation_data.action.frame_range)
    samples = [round(first + k * (last - first) / 3) for k in range(4)]
    for name, obj in (("new armature", new_rig), ("rigify metarig", metarig)):
        baked[name]["poses"] = _poses(bpy, obj, samples)
    baked["scene"] = {"frames": samples, "first": first, "fps": scene.render.fps
                      / scene.render.fps_base}

    args.blend.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(args.blend))
    print("BAKED " + json.dumps(baked))
    return 0


def _poses(bpy, obj, frames: list[int]) -> dict:
    """World (head, tail) of every bone at each of ``frames``, for the rig picture."""
    out = {}
    for f in frames:
        bpy.context.scene.frame_set(f)
        mw = obj.matrix_world
        out[str(f)] = [[list(mw @ pb.head), list(mw @ pb.tail)] for pb in obj.pose.bones]
    return out


def _describe(obj) -> dict:
    from bpy_extras import anim_utils

    anim = obj.animation_data
    action = anim.action
    bag = anim_utils.action_get_channelbag_for_slot(action, anim.action_slot)
    curves = list(bag.fcurves)
    return {"object": obj.name, "action": action.name, "curves": len(curves),
            "keys": len(curves[0].keyframe_points) if curves else 0}


if __name__ == "__main__":
    raise SystemExit(_main())
