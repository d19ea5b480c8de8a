"""A generated Rigify rig as the bake drives it: FK controls, mechanism bones, IK controls.

Owns what only a generated Rigify rig needs around the solve and the keys:

* ``set_rigify_fk``: limbs to FK and isolated from the torso before the FK controls are
  solved (``IK_FK`` = 1, ``FK_limb_follow`` = 1, neck and head not following the torso);
* ``fix_isolated_bones``: those isolated mechanism bones keep their orientation in the
  solve;
* ``key_ik_from_fk``: after the FK keys, the IK controls of every limb are keyed from the
  same motion (each IK target where its FK end is, each pole in the bend plane of its
  knee or elbow) and the ``IK_FK`` switch is keyed, so switching a limb to IK shows the
  same motion to clean up.
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from dgnet_core.retarget.solver import RigSpec

RIGIFY_LIMB_PARENTS = tuple(f"{b}_parent.{s}" for b in ("upper_arm", "thigh") for s in "LR")
# Mechanism bones whose orientation stays fixed once the rig is prepared for baking.
RIGIFY_FIXED = tuple(f"MCH-{n}" for n in RIGIFY_LIMB_PARENTS) + ("MCH-ROT-neck", "MCH-ROT-head")


def set_rigify_fk(obj: bpy.types.Object) -> list[str]:
    """Prepare a generated Rigify rig for FK baking.

    Limbs to FK (``IK_FK`` = 1) and isolated from the torso (``FK_limb_follow`` = 1);
    neck and head isolated too (``neck_follow`` = ``head_follow`` = 0 on ``torso``): Rigify's
    stretchy spine does not pass the hips/chest rotations on rigidly, so every FK control
    gets its full rotation from the bake instead. Returns the property bones changed.
    """
    changed = []
    for name in RIGIFY_LIMB_PARENTS:
        pb = obj.pose.bones.get(name)
        if pb is not None and "IK_FK" in pb.keys():
            pb["IK_FK"] = 1.0
            if "FK_limb_follow" in pb.keys():
                pb["FK_limb_follow"] = 1.0
            changed.append(name)
    torso = obj.pose.bones.get("torso")
    if torso is not None:
        for key in ("neck_follow", "head_follow"):
            if key in torso.keys():
                torso[key] = 0.0
                changed.append(f"torso[{key}]")
    return changed


def fix_isolated_bones(obj: bpy.types.Object, spec: RigSpec) -> None:
    """Mark Rigify's isolated mechanism bones (FK limb parents, neck / head rotation) as
    keeping their current evaluated orientation (they copy the root's or the torso's
    rotation, which the bake does not change)."""
    bpy.context.view_layer.update()
    rot_w = obj.matrix_world.to_3x3().normalized()
    for b in spec.bones:
        if b.role is None and b.name in RIGIFY_FIXED:
            posed = np.array(rot_w @ obj.pose.bones[b.name].matrix.to_3x3().normalized())
            b.fixed_delta = posed @ b.rest.T


# (switch bone, FK upper, FK lower, FK end, IK target, IK pole) per limb, {s}: side
IK_LIMBS = (("thigh_parent.{s}", "thigh_fk.{s}", "shin_fk.{s}", "foot_fk.{s}", "foot_ik.{s}",
             "thigh_ik_target.{s}"),
            ("upper_arm_parent.{s}", "upper_arm_fk.{s}", "forearm_fk.{s}", "hand_fk.{s}",
             "hand_ik.{s}", "upper_arm_ik_target.{s}"))


def _limbs(obj) -> list[tuple[str, ...]]:
    bones = obj.pose.bones
    out = []
    for limb in IK_LIMBS:
        for side in "LR":
            names = tuple(n.format(s=side) for n in limb)
            if all(n in bones for n in names) and "IK_FK" in bones[names[0]].keys():
                out.append(names)
    return out


def _key_transform(pb, frame: float) -> None:
    pb.keyframe_insert("location", frame=frame, group=pb.name)
    path = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(
        pb.rotation_mode, "rotation_euler")
    pb.keyframe_insert(path, frame=frame, group=pb.name)


def key_ik_from_fk(context: bpy.types.Context, obj: bpy.types.Object,
                   frames: np.ndarray) -> list[str]:
    """Key every limb's IK target and pole at ``frames`` from the baked FK motion, and the
    ``IK_FK`` switch (FK) at the first and last frame; returns the bones keyed."""
    limbs = _limbs(obj)
    if not limbs:
        return []
    bones, rest = obj.pose.bones, obj.data.bones
    for switch, *_ in limbs:
        for f in (frames[0], frames[-1]):
            bones[switch].keyframe_insert('["IK_FK"]', frame=float(f), group=switch)
    pole_dist = {pole: (rest[pole].head_local - rest[lower].head_local).length
                 for _, _, lower, _, _, pole in limbs}
    scene = context.scene
    for f in frames:
        scene.frame_set(int(round(f)))
        for _, upper, lower, end, target, pole in limbs:
            fk_end = bones[end].matrix.copy()
            goal = fk_end @ rest[end].matrix_local.inverted() @ rest[target].matrix_local
            bones[target].matrix = goal
            root, knee, tip = bones[upper].head, bones[lower].head, bones[lower].tail
            bend = knee - (root + tip) * 0.5
            if bend.length < 1e-6:  # a straight limb: keep the pole on its rest side
                bend = rest[pole].head_local - rest[lower].head_local
            place = knee + bend.normalized() * pole_dist[pole]
            m = Matrix.Translation(place) @ rest[pole].matrix_local.to_3x3().to_4x4()
            bones[pole].matrix = m
            obj.update_tag()
            context.view_layer.update()
            _key_transform(bones[target], float(f))
            bones[pole].keyframe_insert("location", frame=float(f), group=pole)
    return sorted({n for limb in limbs for n in (limb[0], limb[4], limb[5])})

