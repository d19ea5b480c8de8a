"""How the bake lands on rigs: grounded feet and foot slide, per rig type, read back in Blender.

For each clip the engine lifts it (the shipped model, or ``--model``), then the add-on
bakes the result onto four rigs in ``bpy``: its own new armature, a generated Rigify rig,
a Mixamo-named T-pose rig, and a custom-named rig whose legs are ``--leg-scale`` times the
person's. Frame by frame the baked rig is read back (pose bones' world matrices) and, over
the frames where the lift says a foot is planted (``LiftResult.contacts``):

* grounded: the share of those frames in which that foot's lowest point (the shin's tail
  and the foot bone's head and tail) is within -3..+5 cm of where those points rest on the
  rig's floor (their lowest height in the rest pose: 0 on the add-on's and the Mixamo
  rig, 1.7 cm on Rigify, whose heel bone carries the foot);
* slide: the mean horizontal speed of that ankle (cm/s), contact frames whose neighbours
  are in contact too;
* below: the share of all frames in which a foot's lowest point is more than 3 cm under
  the rig's floor (its lowest rest point);
* Rigify spine: the largest angle between a deform spine bone as baked and the same bone
  turned by the lifted body part it belongs to (``spine_error``).

    .venv/bin/python scripts/bake_quality.py CLIP [CLIP ...] [--model M] [--leg-scale 0.8]
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RIGS = ("lift", "rigify", "mixamo", "custom")
# (shin, foot) bones read back per rig type and side (left, right)
LEGS = {
    "lift": (("LKnee", "LFoot"), ("RKnee", "RFoot")),
    "rigify": (("DEF-shin.L.001", "DEF-foot.L"), ("DEF-shin.R.001", "DEF-foot.R")),
    "mixamo": (("mixamorig:LeftLeg", "mixamorig:LeftFoot"),
               ("mixamorig:RightLeg", "mixamorig:RightFoot")),
    "custom": (("calf_l", "foot_l"), ("calf_r", "foot_r")),
}
CUSTOM_NAMES = {"Hip": "pelvis", "Spine": "spine_02", "Thorax": "neck_01", "Neck": "head",
                "LShoulder": "upperarm_l", "LElbow": "lowerarm_l", "RShoulder": "upperarm_r",
                "RElbow": "lowerarm_r", "LHip": "thigh_l", "LKnee": "calf_l", "LFoot": "foot_l",
                "RHip": "thigh_r", "RKnee": "calf_r", "RFoot": "foot_r", "Head": "head_end",
                "LWrist": "hand_l", "RWrist": "hand_r"}


def _armature(bpy, ctx, name, names, parents, heads, tails, location):
    from mathutils import Vector

    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    ctx.collection.objects.link(obj)
    obj.location = location
    ctx.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    ebs = []
    for nm, h, t in zip(names, heads, tails):
        eb = arm.edit_bones.new(nm)
        eb.head, eb.tail = Vector(h), Vector(t)
        ebs.append(eb)
    for i, p in enumerate(parents):
        if p >= 0:
            ebs[i].parent = ebs[p]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def _mixamo(bpy, ctx, location):
    """A Mixamo-named rig in T-pose, 1.1x the template's size."""
    k = 1.1
    pts = {"Hips": ([0, 0, 1.0], [0, 0, 1.1]), "Spine": ([0, 0, 1.1], [0, 0, 1.25]),
           "Spine1": ([0, 0, 1.25], [0, 0, 1.4]), "Spine2": ([0, 0, 1.4], [0, 0, 1.55]),
           "Neck": ([0, 0, 1.55], [0, 0, 1.65]), "Head": ([0, 0, 1.65], [0, 0, 1.85])}
    parent = {"Hips": None, "Spine": "Hips", "Spine1": "Spine", "Spine2": "Spine1",
              "Neck": "Spine2", "Head": "Neck"}
    for s, side in ((1, "Left"), (-1, "Right")):
        pts.update({f"{side}Shoulder": ([0.03 * s, 0, 1.5], [0.18 * s, 0, 1.52]),
                    f"{side}Arm": ([0.18 * s, 0, 1.52], [0.46 * s, 0, 1.52]),
                    f"{side}ForeArm": ([0.46 * s, 0, 1.52], [0.72 * s, 0, 1.52]),
                    f"{side}UpLeg": ([0.1 * s, 0, 0.98], [0.1 * s, 0, 0.53]),
                    f"{side}Leg": ([0.1 * s, 0, 0.53], [0.1 * s, 0, 0.09]),
                    f"{side}Foot": ([0.1 * s, 0, 0.09], [0.1 * s, -0.12, 0.0])})
        parent.update({f"{side}Shoulder": "Spine2", f"{side}Arm": f"{side}Shoulder",
                       f"{side}ForeArm": f"{side}Arm", f"{side}UpLeg": "Hips",
                       f"{side}Leg": f"{side}UpLeg", f"{side}Foot": f"{side}Leg"})
    order = list(pts)
    return _armature(bpy, ctx, "mixamo", ["mixamorig:" + n for n in order],
                     [order.index(parent[n]) if parent[n] else -1 for n in order],
                     np.array([pts[n][0] for n in order]) * k,
                     np.array([pts[n][1] for n in order]) * k, location)


def _custom(bpy, ctx, offsets, leg_scale, location):
    """The add-on's armature layout on the person's body with legs ``leg_scale`` x, under
    other names (bone map guessed from the names)."""
    from dgnet_core.retarget.lift_rig import lift_rest_bones
    from dgnet_core.skeleton import LFOOT, LKNEE, RFOOT, RKNEE

    off = np.array(offsets, np.float64)
    for j in (LKNEE, RKNEE, LFOOT, RFOOT):
        off[j] *= leg_scale
    names, parents, heads, tails = lift_rest_bones(offsets=off)
    return _armature(bpy, ctx, "custom", [CUSTOM_NAMES[n] for n in names], parents,
                     heads, tails, location)


# Rigify's deform spine: each bone against the lifted body part it belongs to (the lower
# two: the pelvis, pelvis -> spine joint with the hip line; the upper two: the chest,
# spine joint -> thorax with the shoulder line)
RIGIFY_SPINE = (("DEF-spine", "pelvis"), ("DEF-spine.001", "pelvis"),
                ("DEF-spine.002", "chest"), ("DEF-spine.003", "chest"))


def spine_error(bpy, ctx, obj, frames, joints) -> float:
    """Largest angle (deg) between a Rigify deform spine bone as baked and the same bone
    turned from its rest by the lifted body part's world rotation (``roles``: segment and
    side line, so a turning pelvis turns its bone too)."""
    from dgnet_core.roles import role_rotations

    mw = obj.matrix_world
    rest = {n: np.array(mw @ obj.data.bones[n].tail_local) - np.array(mw @ obj.data.bones[n]
                                                                      .head_local)
            for n, _ in RIGIFY_SPINE}
    turns = role_rotations(np.asarray(joints, np.float64), roles={"pelvis", "chest"})
    worst = {name: (0.0, 0) for name, _ in RIGIFY_SPINE}
    for k, f in enumerate(frames):
        ctx.scene.frame_set(int(f))
        for name, role in RIGIFY_SPINE:
            pb = obj.pose.bones[name]
            got = np.array(mw @ pb.tail) - np.array(mw @ pb.head)
            want = turns[role][k] @ rest[name]
            cos = got @ want / (np.linalg.norm(got) * np.linalg.norm(want))
            err = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
            if err > worst[name][0]:
                worst[name] = (err, k)
    if os.environ.get("BAKE_QUALITY_DEBUG"):
        print("spine worst (deg, frame)", worst, file=sys.stderr)
    return max(e for e, _ in worst.values())


def _foot_points(mw, bones, shin: str, foot: str, suffix: str = "") -> np.ndarray:
    """World points of one foot (the shin's tail first, then the foot bone's head and tail
    where the rig has one) from ``bones``: pose bones (posed) or, with ``suffix`` "_local",
    armature bones (rest)."""
    pts = [getattr(bones[shin], "tail" + suffix)]
    if foot in bones:
        pts += [getattr(bones[foot], "head" + suffix), getattr(bones[foot], "tail" + suffix)]
    return np.array([np.array(mw @ p) for p in pts])


def measure(bpy, ctx, obj, rig: str, frames, contacts) -> dict:
    """Grounded share, slide and below-floor share of a baked rig (see the module)."""
    mw = obj.matrix_world
    # Each foot's floor: the lowest of its measured points in the rest pose (a Rigify foot's
    # points rest 1.7 cm up, its heel bone on the floor), so a planted foot at its rest
    # height counts 0 on every rig.
    rest = np.array([np.array(mw @ p) for b in obj.data.bones
                     for p in (b.head_local, b.tail_local)])
    floor = float(rest[:, 2].min())  # the rig's floor: its lowest rest point
    floors = [_foot_points(mw, obj.data.bones, shin, foot, "_local")[:, 2].min()
              for shin, foot in LEGS[rig]]
    ankles, lowest = [], []
    for f in frames:
        ctx.scene.frame_set(int(f))
        pts = [_foot_points(mw, obj.pose.bones, shin, foot) for shin, foot in LEGS[rig]]
        ankles.append([p[0] for p in pts])
        lowest.append([p[:, 2].min() - fl for p, fl in zip(pts, floors)])
    ankles, lowest = np.array(ankles), np.array(lowest)
    fps = ctx.scene.render.fps / ctx.scene.render.fps_base
    speed = np.linalg.norm(np.gradient(ankles[..., :2], axis=0), axis=-1) * fps
    c = np.asarray(contacts, bool)
    core = c & np.roll(c, 1, 0) & np.roll(c, -1, 0)
    core[0] = core[-1] = False
    grounded = (lowest >= -0.03) & (lowest <= 0.05)
    if os.environ.get("BAKE_QUALITY_DEBUG"):
        print(rig, "lowest min/median per foot", lowest.min(0).round(3),
              np.median(lowest, 0).round(3), "contact lowest median",
              [np.median(lowest[c[:, k], k]).round(3) for k in range(2)],
              "contact frames outside the band (frame, foot, height)",
              [(int(f), int(k), round(float(lowest[f, k]), 3))
               for f, k in zip(*np.nonzero(c & ~grounded))], file=sys.stderr)
    return {"grounded": float(grounded[c].mean()) if c.any() else float("nan"),
            "slide_cm_s": float(speed[core].mean() * 100) if core.any() else float("nan"),
            # under the rig's floor itself, not the feet's rest height
            "below": float(((lowest + np.array(floors) - floor).min(axis=1) < -0.03).mean())}


def _main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("clips", nargs="+", type=Path)
    p.add_argument("--model", default=None)
    p.add_argument("--leg-scale", type=float, default=0.8)
    p.add_argument("--out", type=Path, default=Path("runs/bake_quality"))
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if not a.child:
        return _parent(a)
    import bpy

    addon_utils = importlib.import_module("addon_utils")
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.pipeline import run_pipeline

    repo = Path(tempfile.mkdtemp(prefix="lift_video_repo_"))
    (repo / "lift_video").symlink_to(ROOT / "addon", target_is_directory=True)
    rows = {}
    for clip in a.clips:
        truth = clip.with_suffix(".npz")
        focal = float(np.load(truth)["intrinsics"][0, 0]) if truth.is_file() else None
        result = run_pipeline(clip, PipelineOptions(model_path=a.model, focal_px=focal))
        bpy.ops.wm.read_factory_settings(use_empty=True)
        bpy.context.preferences.extensions.repos.new(
            name="Lift Video bench", module="lift_bench", custom_directory=str(repo))
        pkg = "bl_ext.lift_bench.lift_video"
        addon_utils.enable(pkg, default_set=True, handle_error=None)
        addon_utils.enable("rigify", default_set=True)
        bake = sys.modules[pkg + ".bake"]
        ctx = bpy.context
        ctx.scene.render.fps = max(1, round(result.fps))
        ctx.scene.render.fps_base = ctx.scene.render.fps / result.fps
        offsets = result.rest_offsets
        targets = {"lift": None, "mixamo": _mixamo(bpy, ctx, (3.0, 0, 0)),
                   "custom": _custom(bpy, ctx, offsets, a.leg_scale, (-3.0, 0, 0))}
        bpy.ops.object.armature_human_metarig_add()
        meta = ctx.object
        meta.location = (6.0, 0, 0)
        bpy.ops.pose.rigify_generate()
        targets["rigify"] = bpy.data.objects["rig"]
        row = {}
        for rig in RIGS:
            rep = bake.apply_result(ctx, result, bake.BakeSettings(target=targets[rig],
                                                                   name=f"{clip.stem}_{rig}"))
            frames = rep.frames[0] + np.arange(len(result))
            row[rig] = measure(bpy, ctx, rep.obj, rig, frames, result.contacts)
            if rig == "rigify":
                row[rig]["spine_deg"] = spine_error(bpy, ctx, rep.obj, frames,
                                                    np.asarray(result.joints_world))
        rows[clip.stem] = row
        print(f"{clip.stem}: " + ", ".join(f"{r} {v['grounded']:.0%} {v['slide_cm_s']:.1f}cm/s"
                                          for r, v in row.items())
              + f", rigify spine {row['rigify']['spine_deg']:.1f} deg", flush=True)
    print("RESULT " + json.dumps(rows))
    return 0


def _parent(a) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER")}
    with tempfile.TemporaryDirectory(prefix="lift_video_bench_") as tmp:
        env["BLENDER_USER_RESOURCES"] = str(Path(tmp) / "user")
        cmd = [sys.executable, __file__, *map(str, (c.resolve() for c in a.clips)), "--child",
               "--leg-scale", str(a.leg_scale)] + (["--model", a.model] if a.model else [])
        proc = subprocess.run(cmd, env=env, cwd=tmp, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if os.environ.get("BAKE_QUALITY_DEBUG"):
        print(proc.stderr[-3000:], file=sys.stderr)
    if proc.returncode != 0 or not lines:
        print((proc.stdout + proc.stderr)[-3000:], file=sys.stderr)
        return 1
    rows = json.loads(lines[-1][len("RESULT "):])
    head = "| clip | " + " | ".join(f"{r} grounded / slide cm/s / below" for r in RIGS)
    md = [head + " | Rigify spine (deg) |", "|---|" + "---:|" * (len(RIGS) + 1)]
    for clip, row in rows.items():
        md.append(f"| {clip} | " + " | ".join(
            f"{row[r]['grounded']:.0%} / {row[r]['slide_cm_s']:.1f} / {row[r]['below']:.0%}"
            for r in RIGS) + f" | {row['rigify']['spine_deg']:.1f} |")
    means = {r: [np.nanmean([row[r][k] for row in rows.values()])
                 for k in ("grounded", "slide_cm_s", "below")] for r in RIGS}
    spine = np.mean([row["rigify"]["spine_deg"] for row in rows.values()])
    md.append("| **mean** | " + " | ".join(f"{m[0]:.0%} / {m[1]:.1f} / {m[2]:.0%}"
                                            for m in means.values()) + f" | {spine:.1f} |")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "bake_quality.md").write_text("\n".join(md) + "\n")
    (a.out / "bake_quality.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
