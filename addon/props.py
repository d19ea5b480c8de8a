"""Settings of the add-on: scene settings (panel), run state (window manager), preferences.

Owns every bpy property the add-on registers: ``Scene.lift_video`` (source, target, rig
type, bone map, options, camera), ``WindowManager.lift_video_run`` (progress of the running job,
never saved) and the add-on preferences (compute device, optional model path). The lift's
options take their names, items, defaults and ranges from the schema
(``dgnet_core.contract.PipelineOptions``, ``BakeOptions``; ``schema.prop_kwargs``).
"""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from dgnet_core.contract import PipelineOptions
from dgnet_core.roles import ALL_ROLES
from dgnet_core.schema import prop_kwargs

from .bake_options import BakeOptions

ROLE_ITEMS = [(r, r, f"Body part {r}") for r in ALL_ROLES]


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


class LIFTVIDEO_PG_bone_pair(bpy.types.PropertyGroup):
    """One row of a custom bone map: body part -> bone name."""

    role: EnumProperty(name="Body Part", items=ROLE_ITEMS)
    bone: StringProperty(name="Bone", description="Bone of the target armature")


class LIFTVIDEO_PG_settings(bpy.types.PropertyGroup):
    """Scene settings shown in the Lift Video panel."""

    source_type: EnumProperty(
        name="Source",
        items=[("CLIP", "Movie Clip", "A movie clip data-block"),
               ("FILE", "File", "A video file on disk")],
        default="CLIP",
    )
    clip: PointerProperty(name="Clip", type=bpy.types.MovieClip)
    filepath: StringProperty(name="Video", subtype="FILE_PATH")
    target_mode: EnumProperty(
        name="Target",
        items=[("NEW", "New Armature", "Create a new armature sized to the person"),
               ("EXISTING", "Existing Rig", "Animate an armature already in the scene")],
        default="NEW",
    )
    target: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature)
    rig_type: EnumProperty(**prop_kwargs(BakeOptions, "rig_type"))
    bone_map: CollectionProperty(type=LIFTVIDEO_PG_bone_pair)
    bone_map_index: IntProperty()
    root_bone: StringProperty(name="Root Bone", description="Bone that receives root motion")
    bone_map_path: StringProperty(name="Bone Map File", subtype="FILE_PATH")
    smoothing: EnumProperty(**prop_kwargs(PipelineOptions, "smoothing"))
    foot_lock: BoolProperty(**prop_kwargs(PipelineOptions, "foot_lock"))
    people: IntProperty(**prop_kwargs(PipelineOptions, "people"))
    hands: BoolProperty(**prop_kwargs(PipelineOptions, "hands"))
    root_motion: BoolProperty(**prop_kwargs(BakeOptions, "root_motion"))
    scale_to_rig: BoolProperty(**prop_kwargs(BakeOptions, "scale_to_rig"))
    head: BoolProperty(**prop_kwargs(BakeOptions, "head"))
    use_frame_range: BoolProperty(name="Frame Range", default=False,
                                  description="Lift only part of the video")
    frame_start: IntProperty(**prop_kwargs(PipelineOptions, "frame_start"))
    # the engine's default end is "the end of the video"; the panel's field starts at 100
    frame_end: IntProperty(**{**prop_kwargs(PipelineOptions, "frame_end"), "default": 100})
    set_scene_range: BoolProperty(**prop_kwargs(BakeOptions, "set_scene_range"))
    match_fps: BoolProperty(**prop_kwargs(BakeOptions, "match_fps"))
    gaps: EnumProperty(**prop_kwargs(BakeOptions, "gaps"))
    camera_mode: EnumProperty(
        name="Camera",
        items=[("AUTO", "Auto", "The movie clip's tracking camera when its focal length or "
                "sensor is set (Clip Editor > Track > Camera), else the field of view"),
               ("FOV", "Field of View", "The horizontal field of view below"),
               ("FOCAL", "Focal Length", "A focal length and sensor width in millimetres")],
        default="AUTO",
        description="Camera used to place the person in depth",
    )
    fov: FloatProperty(**prop_kwargs(PipelineOptions, "fov_deg"))
    focal_length: FloatProperty(name="Focal Length", default=50.0, min=1.0, max=5000.0,
                                unit="CAMERA", description="Focal length of the lens (mm)")
    sensor_width: FloatProperty(name="Sensor Width", default=36.0, min=1.0, max=200.0,
                                unit="CAMERA", description="Width of the camera's sensor (mm)")


class LIFTVIDEO_PG_run(bpy.types.PropertyGroup):
    """State of the running job (window manager: never saved in files)."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(default="")


class LIFTVIDEO_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    device: EnumProperty(**prop_kwargs(PipelineOptions, "device"))
    workers: IntProperty(**prop_kwargs(PipelineOptions, "workers"))
    model_path: StringProperty(
        name="Model", subtype="FILE_PATH",
        description="Optional lifting model (.onnx or .safetensors); empty = built-in model",
    )

    def draw(self, _context):
        col = self.layout.column()
        col.prop(self, "device")
        col.prop(self, "workers")
        col.prop(self, "model_path")


CLASSES = (LIFTVIDEO_PG_bone_pair, LIFTVIDEO_PG_settings, LIFTVIDEO_PG_run,
           LIFTVIDEO_AP_preferences)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.lift_video = PointerProperty(type=LIFTVIDEO_PG_settings)
    bpy.types.WindowManager.lift_video_run = PointerProperty(type=LIFTVIDEO_PG_run)


def unregister() -> None:
    del bpy.types.WindowManager.lift_video_run
    del bpy.types.Scene.lift_video
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
