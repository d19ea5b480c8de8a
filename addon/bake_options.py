"""The bake's options, stated once: rig type, root motion, scale to rig, head, scene
range, long gaps and frame rate.

``BakeOptions`` holds each option's default, choices and flag, as
``dgnet_core.contract.PipelineOptions`` holds the engine's; the panel's properties
(``props``), the ``lift_video`` command line (``cli``) and ``bake.BakeSettings``'s
defaults derive from it. (Foot locking is the engine's: ``PipelineOptions.foot_lock``.)
"""

from __future__ import annotations

from dataclasses import dataclass

from dgnet_core.retarget.rigmaps import RIG_TYPES
from dgnet_core.schema import Choice, option, validate

_RIG_UI = {
    "auto": ("Auto-detect", "Detect the rig type from the bone names"),
    "lift": ("Lift Video", "An armature made by this add-on (17 joints)"),
    "rigify_meta": ("Rigify Metarig", "Rigify's human metarig (spine, thigh.L, upper_arm.L...)"),
    "rigify": ("Rigify Rig", "A generated Rigify control rig (FK controls; limbs set to FK)"),
    "mixamo": ("Mixamo", "Mixamo names (mixamorig:Hips, LeftUpLeg...)"),
    "custom": ("Custom Bone Map", "Your own bone map (pre-filled from common names)"),
}
RIG_TYPE_CHOICES = tuple(Choice(k, *_RIG_UI[k]) for k in ("auto", *RIG_TYPES))
GAP_CHOICES = (
    Choice("unkeyed", "Unkeyed", "Keys only where the person was seen; the pose holds "
           "through a long gap and moves on when they are back"),
    Choice("hold", "Hold", "The last pose keyed through a long gap"),
)


@dataclass(frozen=True)
class BakeOptions:
    """How the lifted motion goes onto the armature (the schema of the bake's options)."""

    rig_type: str = option("auto", flag="--rig-type", choices=RIG_TYPE_CHOICES,
                           label="Rig Type", help="bone map of --target (auto: detected "
                           "from its bone names)")
    root_motion: bool = option(True, flag="--no-root-motion", label="Root Motion",
                               help="keep the body in place",
                               description="let the body travel; off keeps it in place")
    scale_to_rig: bool = option(True, flag="--no-scale-to-rig", label="Scale to Rig",
                                help="do not scale root motion to the rig's size",
                                description="scale root motion by rig size / person size")
    head: bool = option(True, flag="--no-head", label="Head",
                        help="leave the head unkeyed: it follows the body",
                        description="turn the head with the lifted head; off: the head's "
                        "bones are not keyed and follow the body (to animate it by hand)")
    set_scene_range: bool = option(True, label="Set Scene Range",
                                   help="fit the scene's frame range to the new action")
    gaps: str = option("unkeyed", flag="--gaps", choices=GAP_CHOICES, label="Long Gaps",
                       help="what a gap longer than --max-gap shows: 'unkeyed' keys only "
                       "where the person was seen (the pose holds until they are back), "
                       "'hold' keys the last pose through the gap")
    match_fps: bool = option(True, flag="--keep-scene-fps", label="Match Video FPS",
                             help="keep the scene's frame rate (keys resampled to it)",
                             description="the scene takes the video's frame rate: one key "
                             "per video frame; off: keys resampled to the scene's rate")

    def __post_init__(self) -> None:
        validate(self)
