"""Synthetic footage: a Blender (Cycles, CPU) mannequin driven by 3D joints, with exact
ground truth, and the end-to-end evaluation of the lifting pipeline on it.

    from training.synthetic import render_demo_clip
    video, gt_npz = render_demo_clip("out/render", motion="walk", frames=48, size=320)

Modules: ``motions`` (procedural joint sequences), ``camera`` (intrinsics/extrinsics),
``mannequin`` (the Blender body and face), ``render`` (scene, Cycles loop, video, ground
truth), ``crowd`` (several mannequins crossing, per-person truth: ``training.people_bench``),
``evaluate_e2e`` (render -> detect -> lift -> errors), ``__main__`` (CLI).
``bpy`` is only imported when something is rendered.
"""

from .render import RenderOutput, SceneSpec, render_demo_clip, render_motion, render_sequence

__all__ = ["RenderOutput", "SceneSpec", "render_demo_clip", "render_motion", "render_sequence"]
