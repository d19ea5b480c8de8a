"""Motion: lifted root-relative poses placed in the world and cleaned up (no bpy).

* ``camera``: the pinhole camera, its default focal length, the camera -> world axes;
* ``trajectory``: the root's path in camera space (from the 2D size, held to standing feet);
* ``floor``: the floor plane and the upright stance;
* ``contacts``: when a foot is planted (the one contact detector) and keeping it planted
  (the one foot lock: two-bone IK);
* ``body``: one body per clip (fixed bone lengths), rest pose, knee and elbow limits;
* ``anchoring``: root depth held to feet that stand still in the image;
* ``filters``: temporal smoothing (Savitzky-Golay, One Euro);
* ``place``: the order of the clean-up (``place``, ``MotionOptions``).
"""
