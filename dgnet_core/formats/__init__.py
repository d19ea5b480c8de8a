"""Formats: the files a lift produces and reads back (no bpy).

* ``results``: npz, JSON and BVH of a ``LiftResult`` (``save_outputs``, ``load_npz``);
* ``bvh``: the BVH writer on the project skeleton;
* ``preview``: overlay preview images (OpenCV; never inside Blender).
"""
