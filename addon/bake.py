"""Bake a LiftResult onto an armature: new action, quaternion + root location keys.

Owns the keyframe side: a NEW action per run (named after the clip; Blender adds .001,
.002 ... so nothing is overwritten), F-curves through slots and channelbags on Blender 4.4+
(groups given to ``fcurves.new`` on 5.0+, set afterwards on 4.4/4.5) and through
``action.fcurves`` on 4.2-4.3, bulk ``keyframe_points.add`` + ``foreach_set``. Run on
bpy 4.2, 4.5 and 5.0 by ``scripts/blender_matrix.py``.
``apply_result`` is the one entry point that the operator, the CLI and the tests share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from dgnet_core.motion.body import clip_body
from dgnet_core.retarget.resample import resample, resample_values
from dgnet_core.retarget.rigmaps import RigMap, preset_map
from dgnet_core.retarget.solver import Retargeted, RetargetOptions, RigSpec, retarget

from . import rig as rigmod
from . import rigify, settle
from .bake_options import BakeOptions
from .fingers import finger_keys

_DEFAULTS = BakeOptions()  # the option schema's defaults


@dataclass
class BakeSettings:
    """What to do with a LiftResult in the scene."""

    target: bpy.types.Object | None = None  # None: build a new armature
    rig_type: str = "AUTO"  # AUTO | LIFT | RIGIFY_META | RIGIFY | MIXAMO | CUSTOM
    custom_map: RigMap | None = None
    root_motion: bool = _DEFAULTS.root_motion
    scale_to_rig: bool = _DEFAULTS.scale_to_rig
    head: bool = _DEFAULTS.head
    first_frame: float = 1.0  # scene frame of the result's first frame (or of video frame 0)
    first_frame_is_video_zero: bool = False  # True: first_frame is video frame 0 (clips)
    frame_ratio: float = 1.0  # scene frames per video frame (scene fps / video fps)
    name: str = "Lift"  # action (and new armature) name
    set_scene_range: bool = _DEFAULTS.set_scene_range
    match_fps: bool = _DEFAULTS.match_fps
    gaps: str = _DEFAULTS.gaps  # unkeyed | hold: what a long gap between segments shows


def _seen(result, n: int, settings: BakeSettings) -> np.ndarray | None:
    """Scene frames (``n``, after resampling) where the person was seen, for the
    ``unkeyed`` long gaps; None keys every frame."""
    bounds = result.segment_bounds() if hasattr(result, "segment_bounds") else [(0, n)]
    if settings.gaps == "hold" or len(bounds) < 2:
        return None
    seen = np.zeros(len(result), bool)
    for a, b in bounds:
        seen[a:b] = True
    t = np.minimum(np.rint(np.arange(n) / max(settings.frame_ratio, 1e-9)).astype(int),
                   len(seen) - 1)
    return seen[t]


@dataclass
class BakeReport:
    obj: bpy.types.Object
    action: bpy.types.Action
    rig_type: str
    frames: tuple[float, float]
    bones_keyed: int
    hands: list[str] = field(default_factory=list)  # sides whose fingers were keyed


def assign_new_action(obj: bpy.types.Object, name: str):
    """Create a new action named ``name`` (made unique by Blender), assign it to ``obj``
    and return ``(action, new_fcurve)`` where ``new_fcurve(path, index, group)`` works on
    every supported Blender version."""
    action = bpy.data.actions.new(name)
    ad = obj.animation_data_create()
    ad.action = action
    if bpy.app.version >= (4, 4, 0):
        from bpy_extras import anim_utils

        slot = ad.action_slot
        if slot is None:
            slot = action.slots.new(id_type="OBJECT", name=obj.name)
            ad.action_slot = slot
        if hasattr(anim_utils, "action_ensure_channelbag_for_slot"):
            bag = anim_utils.action_ensure_channelbag_for_slot(action, slot)
        else:  # 4.4: no helper yet
            layer = action.layers[0] if action.layers else action.layers.new("Layer")
            strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
            bag = strip.channelbag(slot, ensure=True)

        new_fcurve = _channelbag_fcurve_factory(bag)
    else:

        def new_fcurve(path: str, index: int, group: str):
            return action.fcurves.new(path, index=index, action_group=group)

    return action, new_fcurve


def _channelbag_fcurve_factory(bag):
    """``new_fcurve(path, index, group)`` on a channelbag. ``fcurves.new`` takes
    ``group_name`` from Blender 5.0 on; on 4.4 and 4.5 the F-curve joins its group after."""
    params = bpy.types.ActionChannelbagFCurves.bl_rna.functions["new"].parameters
    if "group_name" in params:

        def new_fcurve(path: str, index: int, group: str):
            return bag.fcurves.new(path, index=index, group_name=group)

        return new_fcurve

    def new_fcurve_then_group(path: str, index: int, group: str):
        fc = bag.fcurves.new(path, index=index)
        fc.group = bag.groups.get(group) or bag.groups.new(group)
        return fc

    return new_fcurve_then_group


def _interpolation(name: str) -> int:
    return bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items[name].value


def _key(fc, frames: np.ndarray, values: np.ndarray, interp: list[int]) -> None:
    n = len(frames)
    fc.keyframe_points.add(n)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    fc.keyframe_points.foreach_set("co", co)
    fc.keyframe_points.foreach_set("interpolation", interp)
    fc.update()


def action_fcurves(obj: bpy.types.Object):
    """The F-curves of the object's assigned action (any Blender version)."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return []
    if bpy.app.version >= (4, 4, 0):
        from bpy_extras import anim_utils

        bag = anim_utils.action_get_channelbag_for_slot(ad.action, ad.action_slot)
        return list(bag.fcurves) if bag is not None else []
    return list(ad.action.fcurves)


def hands_note(result, rep: BakeReport) -> str | None:
    """One line when the result has hands that the rig could not show, or None."""
    if getattr(result, "hands", None) is None or len(rep.hands) == 2:
        return None
    missing = [s for s in ("left", "right") if s not in rep.hands]
    return (f"{rep.obj.name} has no finger bones for the {' and '.join(missing)} hand"
            f"{'s' if len(missing) == 2 else ''}: those fingers are not baked")


def key_pose(obj: bpy.types.Object, action_name: str, frames: np.ndarray, out: Retargeted,
             spec: RigSpec, keep: np.ndarray | None = None,
             extra: dict[str, np.ndarray] | None = None):
    """Write ``out`` (rotations of mapped bones, root location) and ``extra`` (bone name ->
    (N, 4) local quaternions: the fingers) as a new action on ``obj``, keying only the
    frames ``keep`` (bool, default all): the last key before a skipped stretch holds
    (constant interpolation) until the next one."""
    action, new_fcurve = assign_new_action(obj, action_name)
    frames = np.asarray(frames, dtype=np.float64)
    keep = np.ones(len(frames), bool) if keep is None else np.asarray(keep, bool)
    idx = np.flatnonzero(keep)
    held = np.append(np.diff(idx) > 1, False)  # a key followed by skipped frames
    interp = [_interpolation("CONSTANT") if h else _interpolation("LINEAR") for h in held]
    frames = frames[idx]
    rotations = [(spec.bones[i].name, out.quats[:, i]) for i in out.animated]
    for name, quats in rotations + list((extra or {}).items()):
        pb = obj.pose.bones[name]
        pb.rotation_mode = "QUATERNION"
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].rotation_quaternion'
        for k in range(4):
            _key(new_fcurve(path, k, name), frames, quats[idx, k], interp)
    if spec.root is not None and out.root_location is not None:
        name = spec.bones[spec.root].name
        path = f'pose.bones["{bpy.utils.escape_identifier(name)}"].location'
        for k in range(3):
            _key(new_fcurve(path, k, name), frames, out.root_location[idx, k], interp)
    action.frame_range  # noqa: B018 (forces Blender to compute it)
    return action


def apply_result(context: bpy.types.Context, result, settings: BakeSettings) -> BakeReport:
    """Build or check the target, retarget ``result`` and bake a new action.

    Raises ``RigError`` (wrong target / missing bones) before touching the scene when the
    target is an existing armature.
    """
    joints = np.asarray(result.joints_world, dtype=np.float64)
    # The clip's one skeleton fit (the pipeline's body, else a fit of the joints), shared
    # with the BVH writer: the new armature's rest and the standing height of the solve.
    body = clip_body(joints, getattr(result, "rest_offsets", None))
    if settings.target is not None:
        obj = rigmod.ensure_armature(settings.target)
        rig_map = rigmod.resolve_map(obj, settings.rig_type, settings.custom_map)
    else:
        loc = context.scene.cursor.location.copy()
        obj = rigmod.build_armature(context, settings.name, location=loc,
                                    offsets=body.offsets,
                                    hands=getattr(result, "hands", None) is not None)
        rig_map = preset_map("lift", rigmod.bone_names(obj))
    try:
        spec = rigmod.rig_spec(obj, rig_map)
        rigmod.reset_chain_pose(obj, spec)
        if rig_map.rig_type == "rigify":
            rigify.set_rigify_fk(obj)
            rigify.fix_isolated_bones(obj, spec)
        opts = RetargetOptions(
            root_motion=settings.root_motion,
            scale_to_rig=settings.scale_to_rig and settings.target is not None,
            head=settings.head)
        # Keys on whole scene frames: resample when scene and video frame rates differ.
        contacts = getattr(result, "contacts", None)
        joints, contacts = resample(joints, contacts, settings.frame_ratio)
        feet = resample_values(getattr(result, "foot_dirs", None), settings.frame_ratio)
        out = retarget(joints, spec, opts, contacts=contacts, rest_offsets=body.offsets,
                       fps=float(result.fps) * settings.frame_ratio, feet=feet)
        first = settings.first_frame + float(result.frame_indices[0]) * (
            settings.frame_ratio if settings.first_frame_is_video_zero else 0.0)
        frames = np.round(first) + np.arange(len(joints), dtype=np.float64)
        keep = _seen(result, len(joints), settings)
        fingers, hands_driven = ({}, []) if getattr(result, "hands", None) is None else \
            finger_keys(obj, result.hands, settings.frame_ratio, spec, out, rig_map.bones)
        action = key_pose(obj, settings.name, frames, out, spec, keep=keep, extra=fingers)
        if settings.target is not None:  # a rig of the user's: check its planted feet
            settle.settle_root(context, obj, spec, frames, out, action_fcurves(obj), keep)
        if rig_map.rig_type == "rigify":
            ik = rigify.key_ik_from_fk(context, obj, frames)
            for fc in action_fcurves(obj):  # the IK keys move like the FK ones: linearly
                if any(f'"{name}"' in fc.data_path for name in ik):
                    for kp in fc.keyframe_points:
                        kp.interpolation = "LINEAR"
    except Exception:
        if settings.target is None:  # leave no half-made armature behind
            rigmod.remove_armature(obj)
        raise
    f0, f1 = float(frames[0]), float(frames[-1])
    if settings.set_scene_range:
        scene = context.scene
        scene.frame_start, scene.frame_end = int(np.floor(f0)), int(np.ceil(f1))
    return BakeReport(obj=obj, action=action, rig_type=rig_map.rig_type, frames=(f0, f1),
                      bones_keyed=len(out.animated) + len(fingers), hands=hands_driven)
