"""FBX and glTF out, re-imported: the files hold the bake a game engine or another tool
will see.

One ``python`` subprocess (bpy keeps global state) registers the add-on from the source tree
(as ``tests/test_addon.py`` does), bakes a synthetic lift onto the add-on's own armature and
onto a generated Rigify rig, exports each with the panel's ``lift_video.export`` operator
(FBX and glTF) and imports the files back with Blender's own importers. Every frame, each
exported bone's world matrix (rotation and head) is compared with its original's: the
files carry the motion, the rig's deform bones only, and the scene is left as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from blender_session import addon_session, ok, run_in_bpy, source_addon_repo, synthetic_result

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1)")
pytestmark = [pytest.mark.blender, pytest.mark.slow]

# Worst rotation (degrees) and head position (metres) a round trip may change: float
# precision of the files, far below what an animator sees.
MAX_DEG = 0.5
MAX_M = 0.002


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("roundtrip")
    args = {"repo": str(source_addon_repo(tmp)), "out": str(tmp / "files")}
    return run_in_bpy(__file__, [args], tmp)


_ok = ok


@pytest.mark.parametrize("fmt", ["fbx", "gltf"])
def test_own_armature_round_trip(results, fmt):
    r = _ok(results, "own")[fmt]
    assert r["bones"] == r["exported"] == 17
    assert r["frames"] == 30
    assert r["max_deg"] < MAX_DEG and r["max_m"] < MAX_M, r
    assert r["moved_deg"] > 20.0  # the motion is there to compare


@pytest.mark.parametrize("fmt", ["fbx", "gltf"])
def test_fingers_round_trip(results, fmt):
    """The add-on's armature built with finger bones (a result with hands): every finger
    bone comes back as baked."""
    r = _ok(results, "own_hands")[fmt]
    assert r["bones"] == r["exported"] == 17 + 30
    assert r["max_deg"] < MAX_DEG and r["max_m"] < MAX_M, r
    assert r["moved_deg"] > 20.0


@pytest.mark.parametrize("fmt", ["fbx", "gltf"])
def test_rigify_round_trip_holds_the_deform_skeleton(results, fmt):
    part = _ok(results, "rigify")
    if "skip" in part:
        pytest.skip(part["skip"])
    r = part[fmt]
    # Only the rig's deform bones, under one root; a generated rig has hundreds of bones.
    assert r["exported"] == r["deform"] < r["rig_bones"] / 2
    assert r["roots"] == 1
    assert r["max_deg"] < MAX_DEG and r["max_m"] < MAX_M, r
    assert r["moved_deg"] > 20.0


def test_export_leaves_the_scene_as_it_was(results):
    r = _ok(results, "scene")
    assert r["before"] == r["after"]
    assert sorted(r["files"]) == ["own.bvh", "own.fbx", "own.glb"]
    assert r["bvh_frames"] == ["Frames: 30"]  # the action's frames, not the scene's 100-120


def test_export_errors_are_one_line(results):
    r = _ok(results, "errors")
    assert r["no_formats"] == ["choose at least one format"]
    assert r["no_folder"][0].startswith("no such folder: ")
    assert r["not_animated_poll"] is False


# --------------------------------------------------------------------------------------
# subprocess side


def _world(bpy, obj, names):
    import numpy as np

    mw = np.array(obj.matrix_world)
    out = {}
    for name in names:
        m = mw @ np.array(obj.pose.bones[name].matrix)
        out[name] = (m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0), m[:3, 3])
    return out


def _compare(bpy, orig, imp, frames, names) -> dict:
    """Worst rotation and head difference of the bones ``names`` over ``frames``, and how far
    the original's bones turn over the clip (so there is motion to compare)."""
    import numpy as np

    scene = bpy.context.scene
    max_deg = max_m = moved = 0.0
    first = None
    for f in frames:
        scene.frame_set(f)
        a, b = _world(bpy, orig, names), _world(bpy, imp, names)
        first = first or a
        for name in names:
            (ra, pa), (rb, pb) = a[name], b[name]
            cos = (np.trace(ra.T @ rb) - 1) / 2
            max_deg = max(max_deg, float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
            max_m = max(max_m, float(np.linalg.norm(pa - pb)))
            cos0 = (np.trace(first[name][0].T @ ra) - 1) / 2
            moved = max(moved, float(np.degrees(np.arccos(np.clip(cos0, -1, 1)))))
    return {"max_deg": max_deg, "max_m": max_m, "moved_deg": moved, "frames": len(frames)}


def _import(bpy, path: str):
    before = set(bpy.data.objects)
    if path.endswith(".fbx"):
        # Blender's FBX importer shifts keys by one frame unless told not to.
        bpy.ops.import_scene.fbx(filepath=path, anim_offset=0.0)
    else:
        bpy.ops.import_scene.gltf(filepath=path)
    new = [o for o in bpy.data.objects if o not in before and o.type == "ARMATURE"]
    assert len(new) == 1, [o.name for o in new]
    return new[0]


def _round_trips(bpy, ctx, obj, frames, stem: Path, deform: list[str]) -> dict:
    ctx.view_layer.objects.active = obj
    res = bpy.ops.lift_video.export(filepath=str(stem), formats={"fbx", "gltf"})
    assert res == {"FINISHED"}, res
    out = {}
    for fmt, suffix in (("fbx", ".fbx"), ("gltf", ".glb")):
        imp = _import(bpy, str(stem) + suffix)
        names = [b.name for b in imp.data.bones]
        r = _compare(bpy, obj, imp, frames, deform)
        r.update(exported=len(names), bones=len(obj.data.bones), deform=len(deform),
                 rig_bones=len(obj.data.bones),
                 roots=sum(1 for b in imp.data.bones if b.parent is None),
                 missing=sorted(set(deform) - set(names)))
        out[fmt] = r
        arm = imp.data
        bpy.data.objects.remove(imp)
        bpy.data.armatures.remove(arm)
    return out


def main(args: dict) -> dict:
    import addon_utils
    import bpy

    res, check, mod = addon_session(args["repo"])
    bake = mod("bake")
    ctx = bpy.context
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)
    n = 30
    result = synthetic_result(n)

    def scene_state() -> dict:
        return {"objects": sorted(o.name for o in bpy.data.objects),
                "armatures": sorted(a.name for a in bpy.data.armatures),
                "actions": sorted(a.name for a in bpy.data.actions),
                "range": [ctx.scene.frame_start, ctx.scene.frame_end],
                "frame": ctx.scene.frame_current,
                "selected": sorted(o.name for o in ctx.selected_objects)}

    own = {}

    @check("own")
    def _():
        rep = bake.apply_result(ctx, result, bake.BakeSettings(name="own"))
        own["obj"], own["frames"] = rep.obj, range(int(rep.frames[0]), int(rep.frames[1]) + 1)
        deform = [b.name for b in rep.obj.data.bones if b.use_deform]
        return _round_trips(bpy, ctx, rep.obj, own["frames"], out / "own", deform)

    @check("own_hands")
    def _():  # the add-on's armature with finger bones, the fingers moving
        import numpy as np

        from dgnet_core.contract import HandResult

        rng = np.random.default_rng(2)
        flex = np.radians(rng.uniform(0, 60, (n, 2, 5, 3)))
        hands = HandResult(np.full((n, 2, 21, 3), np.nan), np.ones((n, 2)), flex,
                           np.zeros((n, 2, 5)), np.ones((n, 2)),
                           np.tile(np.eye(3), (n, 2, 1, 1)))
        with_hands = synthetic_result(n)
        with_hands.hands = hands
        rep = bake.apply_result(ctx, with_hands, bake.BakeSettings(name="hands"))
        frames = range(int(rep.frames[0]), int(rep.frames[1]) + 1)
        deform = [b.name for b in rep.obj.data.bones if b.use_deform]
        r = _round_trips(bpy, ctx, rep.obj, frames, out / "hands", deform)
        mod("rig").remove_armature(rep.obj)
        return r

    @check("scene")
    def _():
        obj = own["obj"]
        ctx.view_layer.objects.active = obj
        ctx.scene.frame_start, ctx.scene.frame_end = 100, 120  # the action is at 1-30
        ctx.scene.frame_set(110)
        before = scene_state()
        folder = out / "scene"
        folder.mkdir()
        res_op = bpy.ops.lift_video.export(filepath=str(folder / "own.fbx"),
                                           formats={"fbx", "gltf", "bvh"})
        assert res_op == {"FINISHED"}
        frames = [ln for ln in (folder / "own.bvh").read_text().splitlines()
                  if ln.startswith("Frames:")]
        return {"before": before, "after": scene_state(), "bvh_frames": frames,
                "files": sorted(p.name for p in folder.iterdir())}

    @check("errors")
    def _():
        ctx.view_layer.objects.active = own["obj"]
        reports = {}
        for key, kw in (("no_formats", {"filepath": str(out / "x"), "formats": set()}),
                        ("no_folder", {"filepath": str(out / "nope" / "x"),
                                       "formats": {"fbx"}})):
            try:
                bpy.ops.lift_video.export(**kw)
                reports[key] = ["(no error)"]
            except RuntimeError as exc:  # an operator's ERROR report raises in background
                reports[key] = [str(exc).split("Error: ", 1)[-1].strip()]
        bpy.ops.object.armature_add()
        reports["not_animated_poll"] = bpy.ops.lift_video.export.poll()
        mod("rig").remove_armature(ctx.object)
        return reports

    @check("rigify")
    def _():
        if addon_utils.enable("rigify", default_set=True) is None:
            return {"skip": "Rigify is not available in this Blender"}
        bpy.ops.object.armature_human_metarig_add()
        meta = ctx.object
        bpy.ops.pose.rigify_generate()
        rig = bpy.data.objects["rig"]
        rep = bake.apply_result(ctx, result, bake.BakeSettings(target=rig, name="rigify"))
        frames = range(int(rep.frames[0]), int(rep.frames[1]) + 1)
        deform = [b.name for b in rig.data.bones if b.use_deform]
        meta.hide_set(True)
        return _round_trips(bpy, ctx, rig, frames, out / "rigify", deform)

    return res


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(json.loads(sys.argv[1]))), flush=True)
