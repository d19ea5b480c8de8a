"""Writing a baked armature to files: FBX, glTF (.glb), BVH and .blend, for the command line
and the panel's Export button.

Owns the exporters' settings and one rule: FBX, glTF and BVH hold the deform skeleton, the
bones a game engine or another tool skins with. A control rig
(a generated Rigify rig has hundreds of control and mechanism bones) is exported through a
temporary copy of its deform bones only, each bone following its original by a Copy
Transforms constraint, so the file's hierarchy is the skeleton a game or another tool
expects, under one root, the rig's own top deform bone. An armature whose bones all deform (the
add-on's own, Mixamo) is written as it is.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from dgnet_core.errors import LiftError

from .console import console_silenced, operator_error
from .rig import remove_armature

__all__ = ["EXPORT_FORMATS", "SUFFIXES", "ExportError", "deform_copy", "export",
           "operator_error"]


EXPORT_FORMATS = ("blend", "fbx", "gltf", "bvh")
SUFFIXES = {"blend": ".blend", "fbx": ".fbx", "gltf": ".glb", "bvh": ".bvh"}
_LABELS = {"blend": "BLEND", "fbx": "FBX", "gltf": "glTF", "bvh": "BVH"}


class ExportError(LiftError):
    """An exporter (FBX, glTF, BVH, .blend) failed; the message is one line."""


def _select_only(context, obj) -> None:
    for o in context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj


def export(context, obj, path_stem: Path, formats: list[str],
           frames: tuple[int, int] | None = None) -> list[str]:
    """Write the animated ``obj`` in each format; returns the files written.

    ``frames``: the frame range to write (first, last), set on the scene for the export
    and put back after it; default: the scene's range. The exporters' console output is
    muted; a failing one raises ``ExportError`` (one line). The scene, its frame and the
    selection are left as they were.
    """
    scene = context.scene
    kept = (scene.frame_start, scene.frame_end, scene.frame_current)
    selected = [o for o in context.view_layer.objects if o.select_get()]
    active = context.view_layer.objects.active
    if frames is not None:
        scene.frame_start, scene.frame_end = int(frames[0]), int(frames[1])
    written = []
    try:
        for fmt in ("fbx", "gltf", "bvh", "blend"):
            if fmt in formats:
                out = path_stem.with_suffix(SUFFIXES[fmt])
                try:
                    with console_silenced():
                        _export_one(context, obj, fmt, out)
                except RuntimeError as exc:
                    raise ExportError(f"{_LABELS[fmt]} export to {out} failed: "
                                      f"{operator_error(exc)}") from None
                written.append(str(out))
    finally:
        scene.frame_start, scene.frame_end = kept[:2]
        scene.frame_set(kept[2])
        for o in context.view_layer.objects:
            o.select_set(o in selected)
        context.view_layer.objects.active = active
    return written


def _enable(module: str, op_group, op_name: str) -> None:
    if not hasattr(op_group, op_name):
        import addon_utils

        addon_utils.enable(module)


def _export_one(context, obj, fmt: str, out: Path) -> None:
    if fmt == "blend":
        _select_only(context, obj)
        bpy.ops.wm.save_as_mainfile(filepath=str(out), copy=True, check_existing=False)
        return
    copy = deform_copy(context, obj)
    src = copy or obj
    _select_only(context, src)
    try:
        with context.temp_override(active_object=src, object=src, selected_objects=[src]):
            _write(context, src, fmt, out, sampled=copy is not None)
    finally:  # ``export`` puts the user's selection back
        if copy is not None:
            remove_armature(copy)


def _write(context, src, fmt: str, out: Path, sampled: bool) -> None:
    """One exporter on the selected ``src``; ``sampled``: ``src`` moves by constraints (a
    deform copy), so its motion is sampled from the scene rather than read from an action."""
    scene = context.scene
    if fmt == "fbx":
        _enable("io_scene_fbx", bpy.ops.export_scene, "fbx")
        bpy.ops.export_scene.fbx(
            filepath=str(out), use_selection=True, object_types={"ARMATURE"},
            add_leaf_bones=False, bake_anim=True, bake_anim_use_all_actions=False,
            bake_anim_use_nla_strips=False, bake_anim_force_startend_keying=True,
            bake_anim_simplify_factor=0.0)
    elif fmt == "gltf":
        _enable("io_scene_gltf2", bpy.ops.export_scene, "gltf")
        bpy.ops.export_scene.gltf(
            filepath=str(out), export_format="GLB", use_selection=True,
            export_animations=True, export_frame_range=True, export_force_sampling=True,
            export_animation_mode="SCENE" if sampled else "ACTIVE_ACTIONS",
            export_optimize_animation_size=False, export_anim_slide_to_zero=False,
            export_reset_pose_bones=True)
    else:
        _enable("io_anim_bvh", bpy.ops.export_anim, "bvh")
        bpy.ops.export_anim.bvh(filepath=str(out), frame_start=scene.frame_start,
                                frame_end=scene.frame_end, rotate_mode="NATIVE")


def deform_copy(context, obj: bpy.types.Object) -> bpy.types.Object | None:
    """A temporary armature of ``obj``'s deform bones, each following its original (world
    space Copy Transforms); None when every bone of ``obj`` deforms. Each bone's parent is
    its nearest deforming ancestor; deform bones with none hang off the largest deform
    tree's root, so the file has one root, a bone of the rig."""
    bones = obj.data.bones
    deform = [b for b in bones if b.use_deform]
    if not deform or len(deform) == len(bones):
        return None
    arm = bpy.data.armatures.new(f"{obj.data.name}_deform")
    copy = bpy.data.objects.new(f"{obj.name}_deform", arm)
    context.scene.collection.objects.link(copy)
    copy.matrix_world = obj.matrix_world
    _select_only(context, copy)
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        names = {b.name for b in deform}
        made = {}
        for b in deform:
            eb = arm.edit_bones.new(b.name)
            eb.head, eb.tail = b.head_local, b.tail_local
            eb.matrix = b.matrix_local
            made[b.name] = eb
        for b in deform:
            p = b.parent
            while p is not None and p.name not in names:
                p = p.parent
            if p is not None:
                made[b.name].parent = made[p.name]
        tops = [eb for eb in made.values() if eb.parent is None]
        main = max(tops, key=lambda eb: len(eb.children_recursive))
        for eb in tops:  # one named root: the largest deform tree takes the others
            if eb is not main:
                eb.parent = main
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
    for pb in copy.pose.bones:
        con = pb.constraints.new("COPY_TRANSFORMS")
        con.target, con.subtarget = obj, pb.name
    return copy
