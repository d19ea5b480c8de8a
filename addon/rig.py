"""Armatures in Blender: build the add-on's own 17-joint armature, read any armature's rest.

Owns the bpy side of rigs: creating the new armature (bones from the skeleton's joint
names, scaled to the person, sensible rolls), turning an existing armature object plus a
bone map into the pure-maths ``RigSpec`` that ``dgnet_core.retarget`` solves, and choosing
the bone map for a rig type (auto-detected, preset, or the user's custom map).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Vector

from dgnet_core.errors import RigError
from dgnet_core.retarget.lift_rig import lift_rest_bones
from dgnet_core.retarget.rigmaps import (
    RigMap,
    alias_map,
    check_map,
    detect_rig_type,
    preset_map,
    spec_from_rest,
)
from dgnet_core.retarget.solver import RigSpec


def _roll_up(head: np.ndarray, tail: np.ndarray) -> Vector:
    """Roll reference (the bone's Z axis points toward it): forward (-Y), or up for bones
    that themselves point forward (feet)."""
    d = tail - head
    d = d / max(np.linalg.norm(d), 1e-9)
    return Vector((0.0, 0.0, 1.0)) if abs(d[1]) > 0.8 else Vector((0.0, -1.0, 0.0))


def build_armature(context: bpy.types.Context, name: str, lengths: np.ndarray | None = None,
                   location=None, offsets: np.ndarray | None = None,
                   hands: bool = False) -> bpy.types.Object:
    """A new armature object with one bone per joint, linked to the active collection.

    Bones are named after ``skeleton.JOINT_NAMES`` and scaled to ``lengths`` (median bone
    lengths of the person, ``BONES`` order), or laid out on ``offsets`` (the clip's body,
    ``LiftResult.rest_offsets``) when given; the floor is the object's origin. ``hands``:
    finger bones too (``lift_rig.hand_bones``).
    """
    names, parents, heads, tails = lift_rest_bones(lengths, offsets, hands)
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    context.collection.objects.link(obj)
    if location is not None:
        obj.location = location
    view_layer = context.view_layer
    prev_active = view_layer.objects.active
    prev_mode = context.mode
    if prev_mode != "OBJECT" and prev_active is not None:
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        ebones = []
        for i, n in enumerate(names):
            eb = arm.edit_bones.new(n)
            eb.head = Vector(heads[i])
            eb.tail = Vector(tails[i])
            eb.align_roll(_roll_up(heads[i], tails[i]))
            ebones.append(eb)
        for i, p in enumerate(parents):
            if p >= 0:
                ebones[i].parent = ebones[p]
                ebones[i].use_connect = bool(np.allclose(heads[i], tails[p], atol=1e-6))
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    obj.show_in_front = True
    return obj


def remove_armature(obj: bpy.types.Object) -> None:
    """Delete an armature object the add-on made, and its armature data once no other
    object uses it (a copy sharing a user's rig leaves the rig's data alone)."""
    arm = obj.data
    bpy.data.objects.remove(obj)
    if arm.users == 0:
        bpy.data.armatures.remove(arm)


def bone_names(obj: bpy.types.Object) -> list[str]:
    return [b.name for b in obj.data.bones]


def ensure_armature(obj) -> bpy.types.Object:
    """The object if it is an armature with bones, else a clear RigError."""
    if obj is None:
        raise RigError("no target armature: pick one, or choose 'New Armature'")
    if obj.type != "ARMATURE":
        raise RigError(f"target {obj.name!r} is a {obj.type.lower()}, not an armature: "
                       "pick an armature object")
    if not obj.data.bones:
        raise RigError(f"armature {obj.name!r} has no bones")
    return obj


def resolve_map(obj: bpy.types.Object, rig_type: str = "AUTO",
                custom: RigMap | None = None) -> RigMap:
    """The bone map for ``obj``: ``rig_type`` "AUTO" detects; "CUSTOM" uses ``custom``
    (or aliases); other values are presets (``lift``, ``rigify_meta``, ``rigify``,
    ``mixamo``). The map is checked against the armature (RigError lists what is missing).
    """
    names = bone_names(obj)
    kind = rig_type.lower()
    if kind == "auto":
        kind = detect_rig_type(names)
    if kind == "custom":
        rig_map = custom if custom is not None and custom.bones else alias_map(names)
    else:
        rig_map = preset_map(kind, names)
    check_map(rig_map, names)
    return rig_map


def _ordered(obj) -> list:
    """Bones parents-first (Blender's order usually is; make sure)."""
    out, seen = [], set()

    def visit(b):
        if b.name in seen:
            return
        if b.parent is not None:
            visit(b.parent)
        seen.add(b.name)
        out.append(b)

    for b in obj.data.bones:
        visit(b)
    return out


def rig_spec(obj: bpy.types.Object, rig_map: RigMap) -> RigSpec:
    """World-space rest data of ``obj``'s bones with the map's roles, for the solver."""
    bones = _ordered(obj)
    names = [b.name for b in bones]
    index = {n: i for i, n in enumerate(names)}
    mw = obj.matrix_world
    rot_w = mw.to_3x3().normalized()
    scale = float(np.cbrt(abs(mw.to_3x3().determinant())))
    rest = np.array([np.array(rot_w @ b.matrix_local.to_3x3().normalized()) for b in bones])
    heads = np.array([np.array(mw @ b.head_local) for b in bones])
    tails = np.array([np.array(mw @ b.tail_local) for b in bones])
    parents = [index[b.parent.name] if b.parent else -1 for b in bones]
    return spec_from_rest(names, parents, rest, heads, tails, rig_map, scale=scale)


def reset_chain_pose(obj: bpy.types.Object, spec: RigSpec) -> list[str]:
    """Put the unkeyed bones that the solver assumes at rest back to rest: ancestors of
    mapped bones and the root-motion bone's rotation. Returns the bones reset."""
    reset = set()
    for b in spec.bones:
        if b.role is None:
            continue
        p = b.parent
        while p >= 0:
            if spec.bones[p].role is None:
                reset.add(spec.bones[p].name)
            p = spec.bones[p].parent
    for name in sorted(reset):
        pb = obj.pose.bones[name]
        pb.location = (0.0, 0.0, 0.0)
        pb.scale = (1.0, 1.0, 1.0)
    root = spec.bones[spec.root].name if spec.root is not None else None
    for name in sorted(reset | ({root} if root else set())):
        pb = obj.pose.bones[name]
        pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pb.rotation_euler = (0.0, 0.0, 0.0)
        pb.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
    return sorted(reset)
