"""The "Lift Video" sidebar panels (3D Viewport and Movie Clip Editor, N panel).

Owns drawing only: the engine status (detector, model, compute device; cached by
``status``), source, target and rig type, the custom bone map list, options and the
camera, the Lift and Export buttons and the progress of a running job.
"""

from __future__ import annotations

import bpy

from dgnet_core.retarget.rigmaps import RIG_LABELS, detect_rig_type

from . import rig as rigmod
from . import status as engine_status
from .camera import clip_camera_fov


class LIFTVIDEO_UL_bone_map(bpy.types.UIList):
    def draw_item(self, context, layout, _data, item, _icon, _active_data, _active_prop):
        row = layout.row(align=True)
        row.label(text=item.role)
        props = context.scene.lift_video
        obj = props.target
        if obj is not None and obj.type == "ARMATURE":
            row.prop_search(item, "bone", obj.data, "bones", text="")
        else:
            row.prop(item, "bone", text="")


def draw_camera(layout, context, props) -> None:
    """Camera mode and its values; in Auto, what the clip's tracking camera gives."""
    col = layout.column(align=True)
    col.prop(props, "camera_mode")
    clip_fov = None
    if props.source_type == "CLIP":
        clip_fov = clip_camera_fov(props.clip or getattr(context.space_data, "clip", None))
    if props.camera_mode == "FOCAL":
        col.prop(props, "focal_length")
        col.prop(props, "sensor_width")
    elif props.camera_mode == "AUTO" and clip_fov is not None:
        col.label(text=f"Clip camera: {clip_fov:.1f}\u00b0 field of view", icon="CAMERA_DATA")
    else:
        col.prop(props, "fov")


def draw_lift_panel(layout, context) -> None:
    props = context.scene.lift_video
    run = context.window_manager.lift_video_run

    engine_status.draw_status(layout.box(), context)

    box = layout.box()
    box.label(text="Source", icon="FILE_MOVIE")
    box.row().prop(props, "source_type", expand=True)
    if props.source_type == "CLIP":
        box.template_ID(props, "clip", open="clip.open")
    else:
        box.prop(props, "filepath", text="")

    box = layout.box()
    box.label(text="Target", icon="ARMATURE_DATA")
    box.row().prop(props, "target_mode", expand=True)
    if props.target_mode == "EXISTING":
        box.prop(props, "target", text="")
        box.prop(props, "rig_type")
        obj = props.target
        if obj is not None and obj.type == "ARMATURE":
            detected = detect_rig_type(rigmod.bone_names(obj))
            if props.rig_type == "AUTO":
                box.label(text=f"Detected: {RIG_LABELS[detected]}", icon="INFO")
        if props.rig_type == "CUSTOM":
            row = box.row(align=True)
            row.operator("lift_video.bonemap_fill", icon="AUTOMERGE_ON")
            row.operator("lift_video.bonemap_load", text="", icon="FILEBROWSER")
            row.operator("lift_video.bonemap_save", text="", icon="FILE_TICK")
            box.template_list("LIFTVIDEO_UL_bone_map", "", props, "bone_map", props,
                              "bone_map_index", rows=5)
            if obj is not None and obj.type == "ARMATURE":
                box.prop_search(props, "root_bone", obj.data, "bones")
            else:
                box.prop(props, "root_bone")

    box = layout.box()
    box.label(text="Options", icon="PREFERENCES")
    col = box.column(align=True)
    col.prop(props, "smoothing")
    col.prop(props, "foot_lock")
    col.prop(props, "people")
    col.prop(props, "hands")
    col.prop(props, "head")
    col.prop(props, "root_motion")
    sub = col.row()
    sub.enabled = props.target_mode == "EXISTING"
    sub.prop(props, "scale_to_rig")
    col.prop(props, "set_scene_range")
    col.prop(props, "match_fps")
    col.prop(props, "gaps")
    col.prop(props, "use_frame_range")
    if props.use_frame_range:
        row = col.row(align=True)
        row.prop(props, "frame_start")
        row.prop(props, "frame_end")
    draw_camera(box, context, props)

    if run.running:
        layout.progress(factor=run.progress, type="BAR", text=run.message or "working")
        layout.label(text="Esc cancels", icon="CANCEL")
    else:
        layout.operator("lift_video.lift", icon="ARMATURE_DATA")
        layout.operator("lift_video.export", icon="EXPORT")


class LIFTVIDEO_PT_view3d(bpy.types.Panel):
    bl_label = "Lift Video"
    bl_idname = "LIFTVIDEO_PT_view3d"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Lift Video"

    def draw(self, context):
        draw_lift_panel(self.layout, context)


class LIFTVIDEO_PT_clip(bpy.types.Panel):
    bl_label = "Lift Video"
    bl_idname = "LIFTVIDEO_PT_clip"
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "Lift Video"

    def draw(self, context):
        props = context.scene.lift_video
        space = context.space_data
        if props.source_type == "CLIP" and props.clip is None and getattr(space, "clip", None):
            self.layout.label(text=f"Clip in editor: {space.clip.name}", icon="INFO")
        draw_lift_panel(self.layout, context)


CLASSES = (LIFTVIDEO_UL_bone_map, LIFTVIDEO_PT_view3d, LIFTVIDEO_PT_clip)


_register, _unregister = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register()


def unregister() -> None:
    engine_status.stop()
    _unregister()
