"""Retargeting: lifted joint positions -> bone rotations for a target skeleton (no bpy).

Owns everything between ``LiftResult.joints_world`` and keyframe values. The package is
split by concern; this module re-exports the public names so ``from dgnet_core.retarget
import X`` (and ``retarget as rt; rt.X``) keeps working for the add-on, training and tests:

* ``rotations.py`` (engine level): rotation toolkit (frames, swings, quaternions, slerp);
* ``roles.py`` (engine level): body-part roles and their per-frame world rotations;
* ``body.py`` (engine level): the clip's one skeleton fit (``clip_body``), rest pose and
  person size, shared with the BVH writer;
* ``retarget/solver.py``: ``RigSpec`` and the solver (:func:`retarget`);
* ``retarget/motion.py``: resampling to the scene rate and the bake's foot lock;
* ``retarget/rigmaps.py``: preset rig maps, rig detection, alias guessing, JSON bone maps,
  ``spec_from_rest``;
* ``retarget/lift_rig.py``: the layout of the add-on's own armature.
"""

from __future__ import annotations

from ..body import clip_body, person_lengths, rest_joints, standing_pelvis_height
from ..roles import (
    ALL_ROLES,
    BEND_HI,
    BEND_LO,
    LIMB_ROLES,
    LIMBS,
    OPTIONAL_ROLES,
    REQUIRED_ROLES,
    ROLES,
    Role,
    role_rotations,
    segment,
)
from ..rotations import (
    EPS,
    axis_angle_matrix,
    continuous_quats,
    frame,
    kabsch,
    matrix_to_quat,
    normalize,
    quat_to_matrix,
    rot_z,
    rotvec_matrix,
    slerp_matrix,
    swing,
)
from .lift_rig import LIFT_ROOT, lift_bone_parent, lift_primary_child, lift_rest_bones
from .motion import lock_feet, resample
from .rigmaps import (
    ALIASES,
    RIG_LABELS,
    RIG_MAPS,
    RIG_ROOTS,
    RIG_TYPES,
    RigMap,
    alias_map,
    check_map,
    detect_rig_type,
    preset_map,
    spec_from_rest,
    strip_namespace,
)
from .solver import (
    Retargeted,
    RetargetOptions,
    RigBone,
    RigSpec,
    retarget,
    rig_floor_and_hip_height,
    rig_yaw,
)

__all__ = [
    "ALIASES", "ALL_ROLES", "BEND_HI", "BEND_LO", "EPS", "LIFT_ROOT", "LIMBS", "LIMB_ROLES",
    "OPTIONAL_ROLES", "REQUIRED_ROLES", "RIG_LABELS", "RIG_MAPS", "RIG_ROOTS", "RIG_TYPES",
    "ROLES", "RetargetOptions", "Retargeted", "RigBone", "RigMap", "RigSpec", "Role",
    "alias_map", "axis_angle_matrix", "check_map", "clip_body", "continuous_quats",
    "detect_rig_type", "frame", "kabsch", "lift_bone_parent", "lift_primary_child",
    "lift_rest_bones", "lock_feet", "matrix_to_quat", "normalize", "person_lengths",
    "preset_map", "quat_to_matrix", "resample", "rest_joints", "retarget",
    "rig_floor_and_hip_height", "rig_yaw", "role_rotations", "rot_z", "rotvec_matrix",
    "segment", "slerp_matrix", "spec_from_rest", "standing_pelvis_height", "strip_namespace",
    "swing",
]
