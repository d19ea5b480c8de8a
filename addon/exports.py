"""Writing a baked armature to files: FBX, BVH and .blend, from the panel-less command line.

Owns the exporters' settings and one rule: a BVH holds the deform skeleton. A control rig
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

__all__ = ["ExportError", "deform_copy", "export", "operator_error"]


class ExportError(LiftError):
    """An exporter (FBX, BVH, .blend) failed; the message is one line."""


def _select_only(context, obj) -> None:
    for o in context.view_layer.objects:
        o.select_set(False)
    obj.select_set(True)
    context.view_layer.objects.active = obj


def export(context, obj, action, path_stem: Path, formats: list[str]) -> list[str]:
    """Write the animated ``obj`` in each format; returns the files written.

    The exporters' console output is muted; a failing one raises ``ExportError`` (one line).
    """
    written = []
    for fmt in ("fbx", "bvh", "blend"):
        if fmt in formats:
            out = path_stem.with_suffix(f".{fmt}")
            try:
                with console_silenced():
                    _export_one(context, obj, fmt, out)
            except RuntimeError as exc:
                raise ExportError(f"{fmt.upper()} export to {out} failed: "
                                  f"{operator_error(exc)}") from None
            written.append(str(out))
    return written


def _export_one(context, obj, fmt: str, out: Path) -> None:
    _select_only(context, obj)
    scene = context.scene
    if fmt == "fbx":
        if not hasattr(bpy.ops.export_scene, "fbx"):
            import addon_utils

            addon_utils.enable("io_scene_fbx")
        with context.temp_override(active_object=obj, object=obj, selected_objects=[obj]):
            bpy.ops.export_scene.fbx(
                filepath=str(out), use_selection=True, object_types={"ARMATURE"},
                add_leaf_bones=False, bake_anim=True, bake_anim_use_all_actions=False,
                bake_anim_use_nla_strips=False, bake_anim_force_startend_keying=True)
    elif fmt == "bvh":
        if not hasattr(bpy.ops.export_anim, "bvh"):
            import addon_utils

            addon_utils.enable("io_anim_bvh")
        copy = deform_copy(context, obj)
        src = copy or obj
        _select_only(context, src)
        try:
            with context.temp_override(active_object=src, object=src, selected_objects=[src]):
                bpy.ops.export_anim.bvh(filepath=str(out), frame_start=scene.frame_start,
                                        frame_end=scene.frame_end, rotate_mode="NATIVE")
        finally:
            if copy is not None:
                arm = copy.data
                bpy.data.objects.remove(copy)
                bpy.data.armatures.remove(arm)
                _select_only(context, obj)
    else:
        bpy.ops.wm.save_as_mainfile(filepath=str(out), copy=True, check_existing=False)


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
