"""Retargeting: placed joint positions -> bone rotations for a target skeleton (no bpy).

Owns everything between ``LiftResult.joints_world`` and keyframe values; import each name
from the module that owns it:

* ``solver``: ``RigSpec`` (a rig's rest bones and their roles) and ``retarget`` (per-frame
  bone rotations and root motion), ``RetargetOptions``, ``Retargeted``;
* ``rigmaps``: preset rig maps (Rigify, Mixamo, the add-on's own armature), rig detection,
  alias guessing, JSON bone maps, ``spec_from_rest``;
* ``grounding``: planted feet held on the rig's own legs and floor, and the root shift
  that puts them back where an evaluated rig moved otherwise (``root_correction``);
* ``lift_rig``: the layout of the add-on's own armature;
* ``resample``: joints at video frames -> joints at whole scene frames.

Shared with the rest of the engine: ``dgnet_core.roles`` (body-part roles and their world
rotations), ``dgnet_core.rotations`` (the rotation toolkit) and ``dgnet_core.motion.body``
(the clip's one skeleton fit).
"""
