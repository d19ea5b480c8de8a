"""The Blender add-on, tested in bpy 5.0.1 straight from the source tree (no build step).

Each group of checks runs in its own ``python`` subprocess (bpy keeps global state): the
extension is registered from a temporary extension repository whose ``lift_video`` entry
is a link to ``addon/`` (``repos.new(custom_directory=...)``, ``BLENDER_USER_RESOURCES`` in
a temp dir); the engine is the venv's ``dgnet_core`` (``pip install -e .``), exactly what
the add-on imports inside a built extension (there from its wheel). Then the checks run and
report JSON. The same
file is the subprocess script (``python tests/test_addon.py <group> <json args>``).

Covered: register / unregister, baking a synthetic LiftResult onto a new armature (bone
heads follow the joints), a second run making a second action, a Rigify metarig, a
generated Rigify rig and a Mixamo-named T-pose rig (limb directions follow the joints),
clear errors for a mesh target and a rig missing bones, the operator on 20 frames of a real
clip with a random model (from the preferences), cancel leaving the scene unchanged, and
the headless script (one clip, a folder with a broken clip, a usage error). Real
footage: the camera from a movie clip's tracking camera or the panel, the Blender CLI's
``--fov``/``--focal``, a stream-copy cut lifted quietly, a failing exporter and bad
settings reported in one line before any work.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from blender_session import (
    build_armature,
    checks,
    enable_source_addon,
    generate_rigify,
    ok,
    run_in_bpy,
    source_addon_repo,
)

from dgnet_core.roles import ALL_ROLES, ROLES

REPO = Path(__file__).resolve().parents[1]
N_FRAMES = 20

pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1)")
# Slow: every group is a fresh Python that imports bpy and registers the add-on.
# tests/test_addon_register.py is the fast check that the add-on registers at all.
pytestmark = [pytest.mark.blender, pytest.mark.slow]


# --------------------------------------------------------------------------------------
# pytest side


def _run_group(group: str, args: dict, tmp: Path, timeout: int = 240) -> dict:
    return run_in_bpy(__file__, [group, args], tmp, timeout)


@pytest.fixture(scope="module")
def random_onnx(tmp_path_factory) -> Path:
    """A random DG-Net as ONNX (the default weights may not exist yet)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import torch

    torch.set_num_threads(1)
    from dgnet_core.lifting.weights import export_onnx, random_model

    return Path(export_onnx(random_model(), tmp_path_factory.mktemp("model") / "random.onnx"))


@pytest.fixture(scope="module")
def ext_repo(tmp_path_factory) -> Path:
    """An extension repository folder holding ``lift_video`` -> the source ``addon/``."""
    return source_addon_repo(tmp_path_factory.mktemp("ext"))


@pytest.fixture(scope="module")
def clip_path(request) -> str:
    """The shared dance clip, or '' (checks needing it are skipped)."""
    videos = REPO.parent / "shared" / "data" / "videos"
    clip = videos / "dance_600x600.mp4"
    task = REPO / ".cache" / "models" / "pose_landmarker_full.task"
    return str(clip) if clip.is_file() and task.is_file() else ""


@pytest.fixture(scope="module")
def scene_results(ext_repo, random_onnx, clip_path, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("blender")
    return _run_group("scene", {"repo": str(ext_repo), "onnx": str(random_onnx),
                                "clip": clip_path}, tmp)


_ok = ok


def test_registers_and_unregisters_cleanly(scene_results):
    r = _ok(scene_results, "register")
    assert r["module"].startswith("bl_ext.lift_test.lift_video")
    assert r["ops"] == ["bonemap_fill", "bonemap_load", "bonemap_save", "export", "lift"]
    assert r["panels"] == [True, True]
    assert r["prefs"] == ["device", "model_path", "workers"]
    assert r["cli_registered"]
    assert r["bl_options"] == ["REGISTER", "UNDO"]  # one undo step per lift
    u = _ok(scene_results, "unregister")
    assert u["ops"] == [] and not u["scene_prop"] and u["panels"] == [False, False]
    assert not u["enabled"]


def test_panel_draws_in_every_state(scene_results):
    calls = _ok(scene_results, "panel_draw")["calls"]
    for needed in ("operator:lift_video.lift", "operator:lift_video.bonemap_fill",
                   "progress", "template_ID", "template_list", "prop_search"):
        assert needed in calls, calls


def test_new_armature_heads_follow_the_joints(scene_results):
    r = _ok(scene_results, "own_rig")
    assert r["bones"] == 17 and r["action"] == "synthetic"
    assert r["keyed_paths"] == 12 * 4 + 3  # 12 mapped bones x quaternion + root location
    # (the synthetic result carries no foot directions: the feet follow their shins)
    assert r["keys_per_curve"] == [30]
    assert r["max_head_error_m"] < 1e-3, r
    assert r["rotation_modes"] == ["QUATERNION"]


def test_bvh_and_baked_armature_turn_alike(scene_results):
    r = _ok(scene_results, "bvh_matches_bake")
    assert r["bones"] == 17 and r["max_bone_angle_deg"] < 1.0, r


def test_a_long_gap_is_left_unkeyed_or_held(scene_results):
    r = _ok(scene_results, "long_gap")
    assert r["unkeyed"]["keys"] == 20 and r["unkeyed"]["held_key"] == "CONSTANT"
    assert r["hold"]["keys"] == 30 and r["hold"]["interp"] == ["LINEAR"]


def test_second_run_makes_a_second_action(scene_results):
    r = _ok(scene_results, "second_run")
    assert r["actions"] == ["synthetic", "synthetic.001"]
    assert r["assigned"] == "synthetic.001"
    assert r["first_action_keys_unchanged"]


def test_rigify_metarig_limbs_follow(scene_results):
    r = _ok(scene_results, "rigify_meta")
    assert r["rig_type"] == "rigify_meta"
    assert len(r["angle_errors"]) == 9
    assert max(r["angle_errors"].values()) < 3.0, r["angle_errors"]


def test_rigify_generated_rig_limbs_follow(scene_results):
    r = scene_results["rigify"]
    if r.get("skip"):
        pytest.skip(r["skip"])
    assert "error" not in r, r.get("error")
    assert r["rig_type"] == "rigify"
    assert r["ik_fk"] == [1.0] * 4
    assert max(r["angle_errors"].values()) < 3.0, r["angle_errors"]
    assert r["head_error"] < 3.0
    assert r["spine_error"] < 5.0, r["spine_error"]
    # the BVH holds the deform skeleton (not the control rig) under a named root
    assert r["bvh_bones"] == r["deform"] and len(r["deform"]) < r["bones"] / 2
    assert r["bvh_root"].startswith("DEF-") and not r["objects_left"]
    # the IK controls are keyed from the same motion, and the IK_FK switch is keyed
    assert r["ik_fk_keyed"] and r["ik_gap_m"] < 0.02, r["ik_gap_m"]
    assert r["ik_moved_m"] > 0.05  # (the switch does act: IK controls at rest differ)
    # planted feet: under 1 cm/s on the deform legs, where the unchecked solve slid
    assert r["slides"]["on"] < 0.01 < r["slides"]["off"], r["slides"]


@pytest.mark.parametrize("name", ["mixamo", "mixamo_fbx"])
def test_mixamo_tpose_rig_limbs_follow(scene_results, name):
    """Plain, and as FBX imports it (object rotated 90 deg about X, scale 0.01)."""
    r = _ok(scene_results, name)
    assert r["rig_type"] == "mixamo"
    assert max(r["angle_errors"].values()) < 3.0, r["angle_errors"]
    # Root motion scaled to the rig: 1.2x the template person's hip height; grounded.
    assert r["root_scale"] == pytest.approx(1.2 * 0.98 / 0.93, rel=0.02)
    assert r["hips_z0"] == pytest.approx(1.2 * 1.0, abs=0.05)


def test_mesh_target_and_incomplete_rig_give_clear_errors(scene_results):
    r = _ok(scene_results, "errors")
    assert "not an armature" in r["mesh"] and "Cube" in r["mesh"]
    assert "no bone mapped for" in r["missing"] and "shin.L" in r["missing"]
    assert "video not found" in r["no_video"] and "no_such_clip.mp4" in r["no_video"]
    assert r["scene_unchanged"]


def test_custom_bone_map_fill_save_load_and_bake(scene_results):
    r = _ok(scene_results, "bone_map")
    assert r["filled"] == {
        "pelvis": "pelvis", "spine": "spine_01", "chest": "spine_02", "neck": "neck_01",
        "head": "head", "upper_arm.L": "upperarm_l", "forearm.L": "lowerarm_l",
        "upper_arm.R": "upperarm_r", "forearm.R": "lowerarm_r", "thigh.L": "thigh_l",
        "shin.L": "calf_l", "thigh.R": "thigh_r", "shin.R": "calf_r",
        "foot.L": "foot_l", "foot.R": "foot_r"}
    assert r["loaded"] == r["filled"] and r["root"] == "pelvis"
    assert r["file"]["bones"]["calf_l"] == "shin.L"
    assert r["rig_type"] == "custom"
    assert max(r["angle_errors"].values()) < 3.0, r["angle_errors"]


def test_operator_on_a_real_clip(scene_results, clip_path):
    if not clip_path:
        pytest.skip("shared dance clip or pose task missing")
    r = _ok(scene_results, "operator")
    assert r["result"] == ["FINISHED"]
    assert r["frames"] == N_FRAMES
    # Keys on whole scene frames (scene fps / video fps = ratio).
    assert r["keys_per_curve"] == [r["keyed_frames"]]
    assert r["keyed_frames"] == int((N_FRAMES - 1) * r["ratio"] + 1e-9) + 1
    assert r["action"] == "dance_600x600"
    assert r["root_error_m"] < 1e-3, r  # the root bone carries the lifted pelvis
    # Random weights give odd poses; bone lengths are medians, so heads follow loosely.
    assert r["median_head_error_m"] < 0.15, r


def test_cancel_leaves_the_scene_unchanged(scene_results, clip_path):
    if not clip_path:
        pytest.skip("shared dance clip or pose task missing")
    r = _ok(scene_results, "cancel")
    assert r["ticks"] >= 1 and not r["finished"]
    assert r["before"] == r["after"]
    assert not r["running"]


def test_headless_script(random_onnx, clip_path, tmp_path):
    if not clip_path:
        pytest.skip("shared dance clip or pose task missing")
    res = _run_group("headless", {"onnx": str(random_onnx),
                                  "clip": clip_path, "out": str(tmp_path / "out")}, tmp_path)
    one = res["single"]
    assert one["code"] == 0, one
    assert sorted(one["files"]) == ["dance_600x600.blend", "dance_600x600.bvh",
                                    "dance_600x600.fbx", "dance_600x600.glb", "summary.json"]
    assert one["bvh_frames"] == N_FRAMES
    batch = res["batch"]
    assert batch["code"] == 1, batch
    assert {Path(s["clip"]).name: s["ok"] for s in batch["summary"]} == {
        "broken.mp4": False, "dance.mp4": True}
    assert "broken.mp4" in batch["stdout"] and "1/2 clips" in batch["stdout"]
    assert res["usage"]["code"] == 2 and "unknown format" in res["usage"]["stderr"]
    rig = res["rig"]
    assert rig["code"] == 0, rig
    assert rig["files"] == ["dance_600x600.fbx", "summary.json"]
    assert rig["summary"][0]["rig_type"] == "rigify_meta"


# Real footage: a stream-copy cut, one-line errors, the camera.


@pytest.fixture(scope="module")
def footage_results(ext_repo, random_onnx, clip_path, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("footage")
    return _run_group("footage", {"repo": str(ext_repo), "onnx": str(random_onnx),
                                  "clip": clip_path, "out": str(tmp / "out"),
                                  "ffmpeg": shutil.which("ffmpeg") or ""}, tmp, timeout=400)


def test_camera_comes_from_the_clip_or_the_panel(footage_results):
    r = _ok(footage_results, "camera")
    assert r["clip_default_camera"] == pytest.approx(55.0)  # Blender's 24/35 mm: not set
    assert r["clip_camera_50mm_36mm"] == pytest.approx(39.5978, abs=1e-3)
    assert r["clip_camera_pixels_40deg"] == pytest.approx(40.0, abs=1e-3)
    assert r["auto_without_clip_camera_fov_40"] == pytest.approx(40.0)
    assert r["fov_mode_70"] == pytest.approx(70.0)
    assert r["focal_mode_35mm_36mm"] == pytest.approx(54.4322, abs=1e-3)
    assert r["file_source"] == pytest.approx(40.0)
    assert r["cli"] == {"default": [55.0, None], "fov": [40.0, None], "focal": [55.0, 800.0]}
    drawn = r["panel"]
    assert {"prop:camera_mode", "prop:fov"} <= set(drawn["AUTO"]), drawn
    assert any(c.startswith("label:Clip camera: 39.6") for c in drawn["AUTO_CLIP"]), drawn
    assert "prop:fov" not in drawn["AUTO_CLIP"]
    assert {"prop:focal_length", "prop:sensor_width"} <= set(drawn["FOCAL"])
    assert "prop:fov" not in drawn["FOCAL"] and "prop:fov" in drawn["FOV"]


def test_headless_lifts_a_stream_copy_cut_quietly(footage_results, clip_path):
    if not clip_path or not shutil.which("ffmpeg"):
        pytest.skip("needs the shared dance clip, the pose task and the ffmpeg command")
    r = _ok(footage_results, "cut")
    assert r["code"] == 0, r
    assert r["bvh_frames"] == 20  # frames 56-75: the cut's last decodable frames
    # --quiet: no MediaPipe / TFLite lines (they used to come through on stderr)
    assert r["stderr"] == "", r["stderr"]
    assert r["stdout"].splitlines()[0].startswith("lift_video: 1/1 clips done")


def test_headless_exporter_failure_is_one_line(footage_results, clip_path):
    if not clip_path:
        pytest.skip("shared dance clip or pose task missing")
    r = _ok(footage_results, "fbx_fails")
    assert r["code"] == 1, r
    (fail,) = [ln for ln in r["stdout"].splitlines() if "FAIL" in ln]
    assert fail.endswith("FBX export to {}/dance_600x600.fbx failed: IsADirectoryError: "
                         "[Errno 21] Is a directory: '{}/dance_600x600.fbx'".format(
                             r["out"], r["out"])), fail
    assert "Traceback" not in r["stdout"] + r["stderr"]
    (entry,) = r["summary"]
    assert not entry["ok"] and "\n" not in entry["error"] and "traceback" not in entry
    assert entry["error"] in fail


def test_headless_checks_before_the_work(footage_results):
    r = _ok(footage_results, "preflight")
    for name, case in r["cases"].items():
        assert case["code"] == 1, (name, case)
        assert case["stderr"].splitlines() == [case["expected"]], (name, case)
    assert r["taken_unchanged"] and r["nothing_written"]


# --------------------------------------------------------------------------------------
# Subprocess side (runs in a fresh Python with bpy)


def _posed(n: int):
    sys.path.insert(0, str(REPO / "tests"))
    from test_retarget import posed_template

    return posed_template(n)


def _result(joints, fps=25.0, source="synthetic.mp4"):
    import numpy as np

    from dgnet_core.pipeline import LiftResult

    n = len(joints)
    return LiftResult(
        joints_world=joints.astype(np.float32), joints_camera=joints.astype(np.float32),
        keypoints_2d=np.zeros((n, 17, 2), np.float32), confidence=np.ones((n, 17), np.float32),
        mp_world=np.zeros((n, 33, 3), np.float32), mp_image=np.zeros((n, 33, 3), np.float32),
        contacts=np.zeros((n, 2), bool), detected=np.ones(n, bool),
        frame_indices=np.arange(n), fps=fps, width=600, height=600,
        intrinsics=np.eye(3), gaps=[], source=source)


# Segment each checked role follows: the limbs (upper and lower) and the chest, from the
# code's role definitions.
LIMB_JOINTS = {r: ROLES[r].aim for r in ALL_ROLES
               if (ROLES[r].kind != "torso" or r == "chest") and ROLES[r].kind != "foot"}


def _angle_errors(bpy, obj, joints, frame0, bones: dict[str, str]) -> dict[str, float]:
    """Max angle (deg) over frames between posed bone directions and the joint segments."""
    import numpy as np

    errs = {name: 0.0 for name in bones}
    scene = bpy.context.scene
    for f in range(len(joints)):
        scene.frame_set(frame0 + f)
        mw = obj.matrix_world
        for name, role in bones.items():
            pb = obj.pose.bones[name]
            got = np.array(mw @ pb.tail) - np.array(mw @ pb.head)
            a, b = LIMB_JOINTS[role]
            want = joints[f, b] - joints[f, a]
            cos = got @ want / (np.linalg.norm(got) * np.linalg.norm(want))
            errs[name] = max(errs[name], float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
    return errs


def _scene_state(bpy) -> dict:
    return {"objects": sorted(o.name for o in bpy.data.objects),
            "actions": sorted(a.name for a in bpy.data.actions),
            "armatures": sorted(a.name for a in bpy.data.armatures),
            "frame_range": [bpy.context.scene.frame_start, bpy.context.scene.frame_end]}


def _recording_layout(bpy, calls: list[str]):
    """A stand-in UILayout class: records calls (``prop:<name>`` too) and checks that the
    property names, UI lists and operators it is given exist."""

    class Layout:
        def __getattr__(self, name):
            def method(*a, **kw):
                if name in ("prop", "prop_search", "template_ID"):
                    data, prop = a[0], a[1]
                    assert prop in data.bl_rna.properties, (name, prop)
                    calls.append(f"prop:{prop}")
                if name == "template_list":
                    assert hasattr(bpy.types, a[0]), a[0]
                    for data, prop in ((a[2], a[3]), (a[4], a[5])):
                        assert prop in data.bl_rna.properties, (name, prop)
                if name == "operator":
                    op_mod, op_name = a[0].split(".")
                    assert hasattr(getattr(bpy.ops, op_mod), op_name), a[0]
                if name == "label":
                    calls.append(f"label:{kw.get('text', '')}")
                calls.append(name if name != "operator" else f"operator:{a[0]}")
                return self
            return method

    return Layout


def _group_scene(args: dict) -> dict:
    import addon_utils
    import bpy
    import numpy as np

    res: dict = {}

    check = checks(res)

    pkg = enable_source_addon(args["repo"])
    mod = sys.modules[pkg]
    bake = sys.modules[pkg + ".bake"]
    operators = sys.modules[pkg + ".operators"]
    ctx = bpy.context

    @check("register")
    def _():
        prefs = ctx.preferences.addons[pkg].preferences
        return {"module": mod.__name__,
                "ops": sorted(n for n in dir(bpy.ops.lift_video) if not n.startswith("_")),
                "panels": [hasattr(bpy.types, "LIFTVIDEO_PT_view3d"),
                           hasattr(bpy.types, "LIFTVIDEO_PT_clip")],
                "prefs": sorted(p.identifier for p in prefs.bl_rna.properties
                                if p.identifier not in ("rna_type", "bl_idname")),
                "cli_registered": sys.modules[pkg + ".cli"]._HANDLE is not None,
                "bl_options": sorted(operators.LIFTVIDEO_OT_lift.bl_options)}

    n = 30
    joints = _posed(n)
    result = _result(joints)

    @check("own_rig")
    def _():
        rep = bake.apply_result(ctx, result, bake.BakeSettings(name="synthetic"))
        obj = rep.obj
        from dgnet_core.skeleton import JOINT_NAMES

        fcs = bake.action_fcurves(obj)
        err = 0.0
        for f in range(n):
            ctx.scene.frame_set(int(rep.frames[0]) + f)
            heads = np.array([np.array(obj.matrix_world @ obj.pose.bones[nm].head)
                              for nm in JOINT_NAMES])
            want = joints[f] - np.array([joints[0, 0, 0], joints[0, 0, 1], 0.0])
            err = max(err, float(np.linalg.norm(heads - want, axis=-1).max()))
        return {"bones": len(obj.data.bones), "action": rep.action.name,
                "keyed_paths": len(fcs), "keys_per_curve": sorted({len(fc.keyframe_points)
                                                                   for fc in fcs}),
                "max_head_error_m": err,
                "rotation_modes": sorted({obj.pose.bones[b.name].rotation_mode
                                          for b in obj.data.bones if b.name in
                                          ("Hip", "LShoulder", "RKnee")})}

    @check("bvh_matches_bake")
    def _():
        """The BVH file and the baked armature turn every bone alike (one solver)."""
        import tempfile

        from dgnet_core.formats.bvh import write_bvh
        from dgnet_core.skeleton import JOINT_NAMES

        obj = bpy.data.objects["synthetic"]
        start = int(obj.animation_data.action.frame_range[0])
        path = Path(tempfile.mkdtemp()) / "bvh_check.bvh"
        write_bvh(path, result.joints_world, result.fps, offsets=result.rest_offsets)
        before = set(bpy.data.objects)
        bpy.ops.import_anim.bvh(filepath=str(path), frame_start=1, rotate_mode="NATIVE")
        bvh = next(o for o in bpy.data.objects if o not in before)

        def deltas(o, frame):
            ctx.scene.frame_set(frame)
            out = {}
            for nm in JOINT_NAMES:
                pb = o.pose.bones[nm]
                m = (o.matrix_world @ pb.matrix).to_3x3()
                r = (o.matrix_world @ pb.bone.matrix_local).to_3x3()
                out[nm] = np.array(m @ r.inverted())
            return out

        worst = 0.0
        for f in range(n):
            a, b = deltas(obj, start + f), deltas(bvh, 1 + f)
            for nm in JOINT_NAMES:
                cos = (np.trace(a[nm].T @ b[nm]) - 1) / 2
                worst = max(worst, float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
        imported = bvh.animation_data.action
        arm = bvh.data
        bpy.data.objects.remove(bvh)
        bpy.data.armatures.remove(arm)
        bpy.data.actions.remove(imported)
        return {"max_bone_angle_deg": worst, "bones": len(JOINT_NAMES)}

    @check("long_gap")
    def _():
        """A result split by a long gap: keys only where the person was seen (the last key
        of a segment holds), or the last pose held through the gap."""
        from dataclasses import replace as dc_replace

        split = dc_replace(result, segments=[(0, 10), (20, n)])
        split.detected = split.detected.copy()
        split.detected[10:20] = False
        out = {}
        for mode in ("unkeyed", "hold"):
            rep = bake.apply_result(ctx, split, bake.BakeSettings(name=f"gap_{mode}",
                                                                  gaps=mode))
            fc = bake.action_fcurves(rep.obj)[0]
            pts = list(fc.keyframe_points)
            out[mode] = {"keys": len(pts),
                         "interp": sorted({p.interpolation for p in pts}),
                         "held_key": pts[9].interpolation}
            arm = rep.obj.data
            bpy.data.objects.remove(rep.obj)
            bpy.data.armatures.remove(arm)
            bpy.data.actions.remove(rep.action)
        return out

    @check("second_run")
    def _():
        obj = bpy.data.objects["synthetic"]
        first = bpy.data.actions["synthetic"]
        before = [tuple(kp.co) for kp in bake.action_fcurves(obj)[0].keyframe_points]
        rep = bake.apply_result(ctx, result, bake.BakeSettings(target=obj, name="synthetic"))
        obj.animation_data.action = first
        ad = obj.animation_data
        ad.action_slot = first.slots[0]
        after = [tuple(kp.co) for kp in bake.action_fcurves(obj)[0].keyframe_points]
        obj.animation_data.action = rep.action
        return {"actions": sorted(a.name for a in bpy.data.actions),
                "assigned": rep.action.name, "first_action_keys_unchanged": before == after}

    addon_utils.enable("rigify", default_set=True)

    @check("rigify_meta")
    def _():
        bpy.ops.object.armature_human_metarig_add()
        meta = ctx.object
        meta.location = (3.0, 0.0, 0.0)
        rep = bake.apply_result(ctx, result, bake.BakeSettings(target=meta, name="meta"))
        bones = {b: b for b in LIMB_JOINTS if b != "chest"}
        bones["spine.003"] = "chest"
        return {"rig_type": rep.rig_type,
                "angle_errors": _angle_errors(bpy, meta, joints, int(rep.frames[0]), bones)}

    @check("rigify")
    def _():
        meta = bpy.data.objects.get("metarig")
        # Generated from the rest pose: a posed metarig gives a deform chain that lags its
        # controls.
        rig = generate_rigify(ctx)
        if rig is None:
            return {"skip": "Rigify generation not available"}
        rep = bake.apply_result(ctx, result, bake.BakeSettings(target=rig, name="rigify"))
        bones = {f"ORG-{b}": b for b in LIMB_JOINTS if b != "chest"}
        # The head control turns like the metarig's head bone (same rest, same motion).
        head_err = 0.0
        for f in range(n):
            ctx.scene.frame_set(int(rep.frames[0]) + f)
            a = np.array(rig.pose.bones["head"].matrix.to_3x3().normalized())
            b = np.array(meta.pose.bones["spine.006"].matrix.to_3x3().normalized())
            cos = (np.trace(a.T @ b) - 1) / 2
            head_err = max(head_err, float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
        # Each deform spine bone turns as the body part it belongs to (the lower two: the
        # pelvis; the upper two: the chest), through the spine's FK controls.
        from dgnet_core.roles import role_rotations

        turns = role_rotations(np.asarray(joints, np.float64), roles={"pelvis", "chest"})
        spine_err = 0.0
        spine = (("DEF-spine", "pelvis"), ("DEF-spine.001", "pelvis"),
                 ("DEF-spine.002", "chest"), ("DEF-spine.003", "chest"))
        for f in range(n):
            ctx.scene.frame_set(int(rep.frames[0]) + f)
            for name, role in spine:
                b, pb = rig.data.bones[name], rig.pose.bones[name]
                want = turns[role][f] @ np.array(b.tail_local - b.head_local)
                got = np.array(pb.tail - pb.head)
                cos = want @ got / (np.linalg.norm(want) * np.linalg.norm(got))
                spine_err = max(spine_err, float(np.degrees(np.arccos(np.clip(cos, -1, 1)))))
        # The IK controls move with the same motion: switched to IK, each limb's end bone is
        # where the FK bake put it.
        ik_gap = 0.0
        ends = ("ORG-foot.L", "ORG-foot.R", "ORG-hand.L", "ORG-hand.R")
        parents = [f"{b}_parent.{s}" for b in ("thigh", "upper_arm") for s in "LR"]
        keyed_switch = all(any('IK_FK' in fc.data_path and b in fc.data_path
                               for fc in bake.action_fcurves(rig)) for b in parents)
        for f in range(0, n, 5):
            ctx.scene.frame_set(int(rep.frames[0]) + f)
            fk = [np.array(rig.matrix_world @ rig.pose.bones[e].head) for e in ends]
            for b in parents:
                rig.pose.bones[b]["IK_FK"] = 0.0
            rig.update_tag()  # a custom property changed: re-run the switch's drivers
            bpy.context.view_layer.update()
            ik = [np.array(rig.matrix_world @ rig.pose.bones[e].head) for e in ends]
            for b in parents:
                rig.pose.bones[b]["IK_FK"] = 1.0
            rig.update_tag()
            ik_gap = max(ik_gap, max(float(np.linalg.norm(a - b)) for a, b in zip(fk, ik)))
        # ... while IK controls left at rest would not (the check can fail)
        ctx.scene.frame_set(int(rep.frames[0]) + n // 2)
        saved = {b: rig.pose.bones[b].matrix.copy() for b in ("foot_ik.L", "thigh_ik_target.L")}
        fk_foot = np.array(rig.matrix_world @ rig.pose.bones["ORG-foot.L"].head)
        rig.pose.bones["foot_ik.L"].matrix = rig.data.bones["foot_ik.L"].matrix_local
        rig.pose.bones["thigh_parent.L"]["IK_FK"] = 0.0
        rig.update_tag()
        bpy.context.view_layer.update()
        ik_moved = float(np.linalg.norm(
            np.array(rig.matrix_world @ rig.pose.bones["ORG-foot.L"].head) - fk_foot))
        rig.pose.bones["thigh_parent.L"]["IK_FK"] = 1.0
        for b, m in saved.items():
            rig.pose.bones[b].matrix = m
        rig.update_tag()
        # The BVH of the rig is its deform skeleton under its top deform bone.
        import tempfile

        exports = sys.modules[pkg + ".exports"]
        ctx.scene.frame_start, ctx.scene.frame_end = int(rep.frames[0]), int(rep.frames[1])
        out = exports.export(ctx, rig, Path(tempfile.mkdtemp()) / "rigify", ["bvh"])
        text = Path(out[0]).read_text().split("MOTION")[0].split()
        names = [text[i + 1] for i, t in enumerate(text) if t in ("ROOT", "JOINT")]
        deform = sorted(b.name for b in rig.data.bones if b.use_deform)
        found = {"rig_type": rep.rig_type, "head_error": head_err, "spine_error": spine_err,
                  "ik_fk": [rig.pose.bones[f"{b}_parent.{s}"]["IK_FK"]
                            for b in ("upper_arm", "thigh") for s in "LR"],
                  "angle_errors": _angle_errors(bpy, rig, joints, int(rep.frames[0]), bones),
                  "bvh_root": names[0], "bvh_bones": sorted(names), "deform": deform,
                  "ik_gap_m": ik_gap, "ik_fk_keyed": keyed_switch, "ik_moved_m": ik_moved,
                  "bones": len(rig.data.bones),
                  "objects_left": sorted(o.name for o in bpy.data.objects if "_deform" in o.name)}
        # Planted feet stay planted on the deform legs where the rig moves otherwise than
        # the solve's rigid model: baked through the hips and chest controls (the preset's
        # fallback for a Rigify rig without spine FK controls), Rigify turns the pelvis
        # about the torso's pivot through its stretchy spine. The bake checks the evaluated
        # ankles and shifts the root (addon/settle.py); without that, they slide.
        from dgnet_core.motion.contacts import detect_contacts
        from dgnet_core.retarget import rigmaps
        from training.synthetic.motions import make_motion

        walk = make_motion("turn", 60, 25.0)  # a turn on planted feet
        walk_result = _result(walk)
        walk_result.contacts = detect_contacts(walk, 25.0)
        settle = sys.modules[pkg + ".settle"]
        slides = {}
        preset = dict(rigmaps.RIG_MAPS["rigify"])
        rigmaps.RIG_MAPS["rigify"] = {rigmaps.RIG_FALLBACKS["rigify"].get(k, k): v
                                      for k, v in preset.items()}
        try:
            for on in (True, False):
                saved = settle.settle_root
                if not on:
                    settle.settle_root = lambda *a, **k: 0.0
                try:
                    rw = bake.apply_result(ctx, walk_result,
                                           bake.BakeSettings(target=rig, name=f"rigify_walk_{on}"))
                finally:
                    settle.settle_root = saved
                ank = []
                for f in range(len(walk)):
                    ctx.scene.frame_set(int(rw.frames[0]) + f)
                    ank.append([np.array(rig.matrix_world @ rig.pose.bones[b].tail)
                                for b in ("DEF-shin.L.001", "DEF-shin.R.001")])
                ank = np.array(ank)
                speed = np.linalg.norm(np.diff(ank[..., :2], axis=0), axis=-1) * 25.0
                c = walk_result.contacts
                held = c[1:] & c[:-1]
                slides["on" if on else "off"] = float(speed[held].mean())
        finally:
            rigmaps.RIG_MAPS["rigify"] = preset
        found["slides"] = slides
        return found

    def mixamo_rig(name, x_rot_deg, scale, offset):
        """A Mixamo-named T-pose rig; FBX imports look like x_rot 90 deg, scale 0.01."""
        from mathutils import Matrix
        from test_retarget import _tpose_rig

        to_arm = Matrix.Rotation(np.radians(x_rot_deg), 3, "X").inverted() * (1.0 / scale)
        return build_armature(ctx, name, *_tpose_rig(), to_armature=to_arm, location=offset,
                              rotation=(np.radians(x_rot_deg), 0.0, 0.0), scale=scale)

    def mixamo_check(obj):
        rep = bake.apply_result(ctx, result, bake.BakeSettings(target=obj, name=obj.name))
        m = {"LeftArm": "upper_arm.L", "LeftForeArm": "forearm.L", "RightArm": "upper_arm.R",
             "RightForeArm": "forearm.R", "LeftUpLeg": "thigh.L", "LeftLeg": "shin.L",
             "RightUpLeg": "thigh.R", "RightLeg": "shin.R"}
        bones = {"mixamorig:" + k: v for k, v in m.items()}
        errs = _angle_errors(bpy, obj, joints, int(rep.frames[0]), bones)
        hips = []
        for f in (0, n - 1):
            ctx.scene.frame_set(int(rep.frames[0]) + f)
            hips.append(np.array(obj.matrix_world @ obj.pose.bones["mixamorig:Hips"].head))
        travel = np.linalg.norm(hips[1][:2] - hips[0][:2])
        return {"rig_type": rep.rig_type, "angle_errors": errs, "hips_z0": float(hips[0][2]),
                "root_scale": float(travel / np.linalg.norm(joints[-1, 0, :2]
                                                            - joints[0, 0, :2]))}

    @check("mixamo")
    def _():
        return mixamo_check(mixamo_rig("mixamo", 0.0, 1.0, (-3.0, 0.0, 0.0)))

    @check("mixamo_fbx")
    def _():
        return mixamo_check(mixamo_rig("mixamo_fbx", 90.0, 0.01, (-6.0, 0.0, 0.0)))

    @check("errors")
    def _():
        before = _scene_state(bpy)
        bpy.ops.mesh.primitive_cube_add()
        cube = ctx.object
        before = _scene_state(bpy)
        props = ctx.scene.lift_video
        props.source_type = "FILE"
        props.filepath = args["clip"] or __file__
        props.target_mode = "EXISTING"
        props.target = cube
        out = {}
        try:
            bpy.ops.lift_video.lift()
        except RuntimeError as exc:
            out["mesh"] = str(exc)
        arm = bpy.data.armatures.new("partial")
        part = bpy.data.objects.new("partial", arm)
        ctx.collection.objects.link(part)
        ctx.view_layer.objects.active = part
        bpy.ops.object.mode_set(mode="EDIT")
        for nm in ("mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:LeftArm",
                   "mixamorig:RightForeArm"):
            arm.edit_bones.new(nm).tail = (0, 0, 1)
        bpy.ops.object.mode_set(mode="OBJECT")
        props.target = part
        before = _scene_state(bpy)
        try:
            bpy.ops.lift_video.lift()
        except RuntimeError as exc:
            out["missing"] = str(exc)
        props.target_mode = "NEW"
        props.filepath = str(Path(args["repo"]) / "no_such_clip.mp4")
        try:
            bpy.ops.lift_video.lift()
        except RuntimeError as exc:
            out["no_video"] = str(exc)
        out["scene_unchanged"] = _scene_state(bpy) == before
        return out

    @check("bone_map")
    def _():
        from mathutils import Vector
        from test_retarget import _tpose_rig

        ue = {"Hips": "pelvis", "Spine": "spine_01", "Spine2": "spine_02", "Neck": "neck_01",
              "Head": "head", "LeftShoulder": "clavicle_l", "RightShoulder": "clavicle_r",
              "LeftArm": "upperarm_l", "LeftForeArm": "lowerarm_l", "LeftHand": "hand_l",
              "RightArm": "upperarm_r", "RightForeArm": "lowerarm_r", "RightHand": "hand_r",
              "LeftUpLeg": "thigh_l", "LeftLeg": "calf_l", "LeftFoot": "foot_l",
              "RightUpLeg": "thigh_r", "RightLeg": "calf_r", "RightFoot": "foot_r"}
        names, parents, heads, tails = _tpose_rig(prefix="")
        keep = [i for i, nm in enumerate(names) if nm in ue]
        arm = bpy.data.armatures.new("custom")
        obj = bpy.data.objects.new("custom", arm)
        ctx.collection.objects.link(obj)
        ctx.view_layer.objects.active = obj
        bpy.ops.object.mode_set(mode="EDIT")
        ebs = {}
        for i in keep:
            eb = arm.edit_bones.new(ue[names[i]])
            eb.head, eb.tail = Vector(heads[i]), Vector(tails[i])
            ebs[i] = eb
        for i in keep:
            p = parents[i]
            while p >= 0 and p not in ebs:
                p = parents[p]
            if p >= 0:
                ebs[i].parent = ebs[p]
        bpy.ops.object.mode_set(mode="OBJECT")
        props = ctx.scene.lift_video
        props.target_mode, props.target, props.rig_type = "EXISTING", obj, "CUSTOM"
        bpy.ops.lift_video.bonemap_fill()
        filled = {row.role: row.bone for row in props.bone_map if row.bone}
        path = Path(args["repo"]) / "map.json"
        bpy.ops.lift_video.bonemap_save(filepath=str(path))
        props.bone_map.clear()
        bpy.ops.lift_video.bonemap_load(filepath=str(path))
        loaded = {row.role: row.bone for row in props.bone_map if row.bone}
        custom = operators.custom_map_from_props(props)
        rep = bake.apply_result(ctx, result, bake.BakeSettings(
            target=obj, rig_type="CUSTOM", custom_map=custom, name="custom"))
        bones = {b: r for r, b in filled.items() if r in LIMB_JOINTS}
        return {"filled": filled, "loaded": loaded, "root": props.root_bone,
                "rig_type": rep.rig_type, "file": json.loads(path.read_text()),
                "angle_errors": _angle_errors(bpy, obj, joints, int(rep.frames[0]), bones)}

    if args["clip"]:
        @check("operator")
        def _():
            prefs = ctx.preferences.addons[pkg].preferences
            prefs.model_path = args["onnx"]
            props = ctx.scene.lift_video
            props.source_type = "FILE"
            props.filepath = args["clip"]
            props.target_mode = "NEW"
            props.use_frame_range = True
            props.frame_start, props.frame_end = 0, N_FRAMES - 1
            props.foot_lock = False  # so the root follows the raw lifted pelvis
            ctx.scene.cursor.location = (0.0, 5.0, 0.0)
            names = set(bpy.data.objects.keys())
            out = bpy.ops.lift_video.lift()
            (new,) = set(bpy.data.objects.keys()) - names
            obj = bpy.data.objects[new]
            fcs = bake.action_fcurves(obj)
            # The same job again, to compare the bake with the lifted joints.
            from dgnet_core.pipeline import run_pipeline

            options = sys.modules[pkg + ".options"]
            source = sys.modules[pkg + ".job"].file_source(Path(args["clip"]), ctx.scene)
            opts, _ = options.build_run(options.values_from_props(props, prefs), source)
            lifted = run_pipeline(args["clip"], opts)
            from dgnet_core.retarget.resample import resample
            from dgnet_core.skeleton import JOINT_NAMES

            fps = ctx.scene.render.fps / ctx.scene.render.fps_base
            j, _ = resample(lifted.joints_world.astype(float), None, fps / lifted.fps)

            errs, root = [], []
            f0 = int(obj.animation_data.action.frame_range[0])
            off = np.array([*(j[0, 0, :2]), 0.0]) - np.array([0.0, 5.0, 0.0])
            for f in range(len(j)):
                ctx.scene.frame_set(f0 + f)
                heads = np.array([np.array(obj.matrix_world @ obj.pose.bones[nm].head)
                                  for nm in JOINT_NAMES])
                e = np.linalg.norm(heads - (j[f] - off), axis=-1)
                errs.append(np.median(e))
                root.append(e[0])
            return {"result": sorted(out), "frames": len(lifted), "keyed_frames": len(j),
                    "ratio": fps / lifted.fps,
                    "keys_per_curve": sorted({len(fc.keyframe_points) for fc in fcs}),
                    "action": obj.animation_data.action.name,
                    "median_head_error_m": float(np.median(errs)),
                    "root_error_m": float(max(root))}

        @check("cancel")
        def _():
            props = ctx.scene.lift_video
            props.target_mode = "NEW"
            before = _scene_state(bpy)
            runner = operators.LiftRunner(ctx, args["onnx"])
            runner.begin(ctx)
            ticks, finished = 0, False
            while ticks < 3 and not finished:
                finished = runner.tick(0.01)
                runner.show(ctx)
                ticks += 1
            running_during = ctx.window_manager.lift_video_run.running
            runner.cancel()
            runner.end(ctx)
            return {"ticks": ticks, "finished": finished, "running_during": running_during,
                    "before": before, "after": _scene_state(bpy),
                    "running": ctx.window_manager.lift_video_run.running}

    @check("panel_draw")
    def _():
        panels = sys.modules[pkg + ".panels"]
        calls: list[str] = []
        Layout = _recording_layout(bpy, calls)  # noqa: N806 - a class

        props = ctx.scene.lift_video
        states = [("CLIP", "NEW", "AUTO", False), ("FILE", "EXISTING", "CUSTOM", True),
                  ("FILE", "EXISTING", "AUTO", False)]
        run = ctx.window_manager.lift_video_run
        for source, mode, rig_type, running in states:
            props.source_type, props.target_mode, props.rig_type = source, mode, rig_type
            props.use_frame_range = running
            run.running = running
            panels.draw_lift_panel(Layout(), ctx)
        run.running = False
        return {"calls": sorted(set(calls))}

    @check("unregister")
    def _():
        addon_utils.disable(pkg, default_set=True)
        return {"ops": sorted(n for n in dir(bpy.ops.lift_video) if not n.startswith("_")),
                "scene_prop": hasattr(bpy.types.Scene, "lift_video"),
                "panels": [hasattr(bpy.types, "LIFTVIDEO_PT_view3d"),
                           hasattr(bpy.types, "LIFTVIDEO_PT_clip")],
                "enabled": pkg in {a.module for a in ctx.preferences.addons}}

    return res


def _group_headless(args: dict) -> dict:
    """Run addon/headless.py (plain Python + bpy) three times."""
    out = Path(args["out"])
    script = REPO / "addon" / "headless.py"
    common = ["--model", args["onnx"], "--frame-end", str(N_FRAMES - 1)]

    def run(argv):
        p = subprocess.run([sys.executable, str(script), *argv], capture_output=True,
                           text=True, timeout=200)
        return p.returncode, p.stdout, p.stderr

    res = {}
    code, so, se = run([args["clip"], "-o", str(out / "one"), *common])
    files = sorted(p.name for p in (out / "one").iterdir()) if (out / "one").is_dir() else []
    bvh_frames = None
    bvh = out / "one" / "dance_600x600.bvh"
    if bvh.is_file():
        for line in bvh.read_text().splitlines():
            if line.startswith("Frames:"):
                bvh_frames = int(line.split()[1])
    res["single"] = {"code": code, "files": files, "bvh_frames": bvh_frames,
                     "stdout": so[-2000:], "stderr": se[-2000:]}
    clips = out / "clips"
    clips.mkdir(parents=True)
    (clips / "dance.mp4").symlink_to(args["clip"])
    (clips / "broken.mp4").write_bytes(b"not a video at all")
    code, so, se = run([str(clips), "-o", str(out / "batch"), "--formats", "bvh", *common])
    summary = out / "batch" / "summary.json"
    res["batch"] = {"code": code, "stdout": so[-3000:], "stderr": se[-2000:],
                    "summary": json.loads(summary.read_text()) if summary.is_file() else []}
    code, so, se = run([args["clip"], "-o", str(out / "x"), "--formats", "obj"])
    res["usage"] = {"code": code, "stderr": se[-2000:]}

    # A rig from another .blend: a Rigify metarig saved here.
    import addon_utils
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("rigify")
    bpy.ops.object.armature_human_metarig_add()
    rig_file = out / "rig.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(rig_file))
    code, so, se = run([args["clip"], "-o", str(out / "rig"), "--formats", "fbx",
                        "--rig-file", str(rig_file), "--target", "metarig", *common])
    summary = out / "rig" / "summary.json"
    res["rig"] = {"code": code, "stdout": so[-2000:], "stderr": se[-2000:],
                  "files": sorted(p.name for p in (out / "rig").glob("*")),
                  "summary": json.loads(summary.read_text()) if summary.is_file() else []}
    return res


def _group_footage(args: dict) -> dict:
    """The camera from a movie clip or the panel, the Blender CLI's camera flags,
    and headless runs on a stream-copy cut, with a failing exporter and with bad settings."""
    import bpy
    import cv2
    import numpy as np

    res: dict = {}
    out = Path(args["out"])
    out.mkdir(parents=True, exist_ok=True)

    check = checks(res)

    pkg = enable_source_addon(args["repo"])
    operators = sys.modules[pkg + ".operators"]
    panels = sys.modules[pkg + ".panels"]
    cli = sys.modules[pkg + ".cli"]
    ctx = bpy.context

    @check("camera")
    def _():
        video = out / "grey.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
        for _ in range(5):
            writer.write(np.full((120, 160, 3), 90, np.uint8))
        writer.release()
        clip = bpy.data.movieclips.load(str(video))
        props = ctx.scene.lift_video
        props.source_type, props.clip, props.target_mode = "CLIP", clip, "NEW"

        def fov() -> float:  # what the Lift operator would hand the engine
            runner = operators.LiftRunner(ctx, args["onnx"])
            runner.cancel()
            assert runner.job.options.focal_px is None
            return runner.job.options.fov_deg

        got = {"clip_default_camera": fov()}
        cam = clip.tracking.camera
        cam.sensor_width, cam.focal_length = 36.0, 50.0
        got["clip_camera_50mm_36mm"] = fov()
        calls: dict[str, list[str]] = {}

        def draw(key: str) -> None:
            calls[key] = []
            panels.draw_camera(_recording_layout(bpy, calls[key])(), ctx, props)

        draw("AUTO_CLIP")
        cam.units = "PIXELS"  # focal length typed in pixels: 40 degrees over 160 px
        cam.focal_length_pixels = 80.0 / np.tan(np.radians(20.0))
        got["clip_camera_pixels_40deg"] = fov()
        cam.sensor_width, cam.focal_length = 35.0, 24.0  # back to Blender's defaults
        props.fov = 40.0
        got["auto_without_clip_camera_fov_40"] = fov()
        draw("AUTO")
        props.camera_mode, props.fov = "FOV", 70.0
        got["fov_mode_70"] = fov()
        draw("FOV")
        props.camera_mode, props.focal_length, props.sensor_width = "FOCAL", 35.0, 36.0
        got["focal_mode_35mm_36mm"] = fov()
        draw("FOCAL")
        cam.sensor_width, cam.focal_length = 36.0, 50.0  # a file source has no clip camera
        props.camera_mode, props.fov = "AUTO", 40.0
        props.source_type, props.filepath = "FILE", str(video)
        got["file_source"] = fov()
        got["panel"] = calls
        parse = cli.build_parser().parse_args
        got["cli"] = {}
        for key, extra in {"default": [], "fov": ["--fov", "40"],
                           "focal": ["--focal", "800"]}.items():
            opts = cli.options_from_args(parse(["clip.mp4", "-o", "out", *extra]))
            got["cli"][key] = [opts.fov_deg, opts.focal_px]
        return got

    script = REPO / "addon" / "headless.py"

    def run(argv):
        p = subprocess.run([sys.executable, str(script), *argv], capture_output=True,
                           text=True, timeout=200)
        return {"code": p.returncode, "stdout": p.stdout[-3000:], "stderr": p.stderr[-3000:]}

    if args["clip"] and args["ffmpeg"]:
        @check("cut")
        def _():
            cut = out / "cut.mp4"
            subprocess.run([args["ffmpeg"], "-loglevel", "error", "-y", "-ss", "1.3", "-i",
                            args["clip"], "-c", "copy", str(cut)], check=True, timeout=120)
            r = run([str(cut), "-o", str(out / "cut"), "--model", args["onnx"],
                     "--frame-start", "56", "--formats", "bvh", "--quiet"])
            bvh = out / "cut" / "cut.bvh"
            r["bvh_frames"] = next((int(ln.split()[1]) for ln in bvh.read_text().splitlines()
                                    if ln.startswith("Frames:")), None) if bvh.is_file() else None
            return r

    if args["clip"]:
        @check("fbx_fails")
        def _():
            dest = out / "fbx"
            (dest / "dance_600x600.fbx").mkdir(parents=True)  # the exporter cannot open it
            r = run([args["clip"], "-o", str(dest), "--model", args["onnx"], "--frame-end",
                     "7", "--formats", "fbx"])
            r["out"] = str(dest)
            summary = dest / "summary.json"
            r["summary"] = json.loads(summary.read_text()) if summary.is_file() else []
            return r

    @check("preflight")
    def _():
        dest = out / "pre"
        dest.mkdir()
        taken = dest / "taken.txt"
        taken.write_text("user data")
        notes = dest / "notes.txt"
        notes.write_text("not a model")
        video = str(dest / "any.mp4")  # never opened: every case fails before
        fresh = str(dest / "o")
        cases = {
            "existing file": ([video, "-o", str(taken)],
                              f"lift_video: error: output folder is an existing file: {taken}"),
            "under a file": ([video, "-o", str(taken / "o")],
                             f"lift_video: error: output folder {taken / 'o'} is under a "
                             f"file: {taken}"),
            "focal inf": ([video, "-o", fresh, "--focal", "inf"],
                          "lift_video: error: focal length must be a finite, positive "
                          "number of pixels, got inf"),
            "model notes": ([video, "-o", fresh, "--model", str(notes)],
                            "lift_video: error: model file must end in .safetensors or "
                            f".onnx: {notes}"),
        }
        import torch

        if not torch.cuda.is_available():
            cases["cuda"] = ([video, "-o", fresh, "--device", "cuda"],
                            "lift_video: error: the CUDA device is not available (this "
                            f"PyTorch is built without CUDA, torch {torch.__version__}); "
                            "use the cpu (or auto) device")
        results = {}
        for name, (argv, expected) in cases.items():
            results[name] = {**run([*argv, "--quiet"]), "expected": expected}
        return {"cases": results, "taken_unchanged": taken.read_text() == "user data",
                "nothing_written": sorted(p.name for p in dest.iterdir())
                == ["notes.txt", "taken.txt"]}

    return res


if __name__ == "__main__":
    group, payload = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, str(REPO / "tests"))
    fn = {"scene": _group_scene, "headless": _group_headless, "footage": _group_footage}[group]
    print("RESULT " + json.dumps(fn(payload)), flush=True)
