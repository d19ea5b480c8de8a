"""Planted feet checked on the evaluated rig, and the root shifted to keep them planted.

The solver plans the rig's motion on a model of the rig whose bones turn rigidly
(``dgnet_core.retarget``). Some rigs move the body otherwise: Rigify's hips control turns
the pelvis about the torso's pivot through its spine mechanism, so the evaluated ankles
land a few centimetres from the planned ones and planted feet slide. After the bake this
reads the rig's ankles back from Blender at the frames where a foot is planted, and shifts
the root's location keys by ``grounding.root_correction`` (the planned minus the evaluated
ankle, weighted by each foot's lock). On a rig that moves as modelled the shift is zero.
"""

from __future__ import annotations

import bpy
import numpy as np

from dgnet_core.retarget.grounding import root_correction
from dgnet_core.retarget.solver import Retargeted, RigSpec

SHINS = ("shin.L", "shin.R")  # contact columns: left, right


def evaluated_ankles(context: bpy.types.Context, obj: bpy.types.Object, spec: RigSpec,
                     frames: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """World positions (N, 2, 3) of the shins' tails at ``frames[wanted]`` (NaN elsewhere),
    as Blender evaluates the rig; None when a shin is unmapped."""
    bones = [spec.role_bone(role) for role in SHINS]
    if any(b is None for b in bones):
        return None
    out = np.full((len(frames), 2, 3), np.nan)
    scene, mw = context.scene, obj.matrix_world
    keep = scene.frame_current
    try:
        for i in np.flatnonzero(wanted):
            scene.frame_set(int(round(frames[i])))
            for col, b in enumerate(bones):
                out[i, col] = np.array(mw @ obj.pose.bones[b.name].tail)
    finally:
        scene.frame_set(keep)
    return out


def settle_root(context: bpy.types.Context, obj: bpy.types.Object, spec: RigSpec,
                frames: np.ndarray, out: Retargeted, fcurves, keep: np.ndarray | None = None
                ) -> float:
    """Shift the root's location keys (among the action's ``fcurves``) so the evaluated
    planted ankles meet the planned ones, judged on the keyed frames ``keep`` (default
    all); returns the largest shift applied (metres, 0 when nothing was planted)."""
    w = out.contact_weight
    if w is not None and keep is not None:
        w = np.where(np.asarray(keep, bool)[:, None], w, 0.0)
    if (out.ankles is None or w is None or spec.root is None or out.root_location is None
            or not (w > 0).any()):
        return 0.0
    actual = evaluated_ankles(context, obj, spec, frames, w.sum(1) > 0)
    if actual is None:
        return 0.0
    shift = root_correction(out.ankles, np.nan_to_num(actual), w)
    root = spec.bones[spec.root]
    local = shift @ root.rest / spec.scale  # world shift -> the root's pose location
    name = bpy.utils.escape_identifier(root.name)
    path = f'pose.bones["{name}"].location'
    for fc in fcurves:
        if fc.data_path != path:
            continue
        pts = fc.keyframe_points
        co = np.empty(2 * len(pts), dtype=np.float32)
        pts.foreach_get("co", co)
        idx = np.clip(np.round(co[0::2] - frames[0]).astype(int), 0, len(frames) - 1)
        co[1::2] += local[idx, fc.array_index].astype(np.float32)
        pts.foreach_set("co", co)
        fc.update()
    out.root_location = out.root_location + local
    return float(np.linalg.norm(shift, axis=1).max())
