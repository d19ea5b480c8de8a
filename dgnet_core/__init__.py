"""DG-Net video-to-3D engine: pure Python (no bpy).

The path a video takes, one sub-package per stage, the job on top:

    detection/  video frames -> one person's 2D joints per frame (MediaPipe, tracking, gaps)
    lifting/    2D joints over time -> root-relative 3D joints (DG-Net, runtimes)
    motion/     lifted poses -> placed in the world: body, root, floor, contacts, smoothing
    retarget/   placed joints -> bone rotations of a target rig (no Blender)
    formats/    the result files: npz, JSON, BVH, previews

    pipeline.py the stages in order (``run_pipeline``, ``PipelineJob``); cli.py its command
    contract.py the job's shape (``PipelineOptions``, ``Progress``, ``LiftResult``), stated
                once with schema.py; preflight.py checks before the work; errors.py

Shared by every stage: skeleton.py (the one skeleton), roles.py (body-part roles),
rotations.py, numeric.py (SciPy's formulas in numpy), metrics.py, arrays.py.
"""
