"""Baking several people from one clip (``--people``, the panel's People): one armature
and one action per person, in step on one timeline.

Owns what differs from one person's bake: each person's settings (name ``<clip> person
K``; keys placed by their own first video frame, so everybody moves in step; a file's
first frame is that of the first person seen), the armatures (new ones: one each; a rig of
the user's: person 1 on it, the others on copies that share its armature data) and undoing
it all when one bake fails, so a failed run leaves the scene as it was.
"""

from __future__ import annotations

from dataclasses import replace

import bpy

from . import bake
from .rig import remove_armature


def person_settings(settings: bake.BakeSettings, result, first_video_frame: int,
                    target) -> bake.BakeSettings:
    """The bake settings of one person of a multi-person result."""
    out = replace(settings, name=f"{settings.name} person {result.person}", target=target)
    if not settings.first_frame_is_video_zero:  # a file: keep the people's offsets
        ratio = settings.frame_ratio or 1.0
        out.first_frame = settings.first_frame + (
            int(result.frame_indices[0]) - first_video_frame) * ratio
    return out


def _copy_target(context, target, person: int):
    obj = target.copy()
    obj.name = f"{target.name} person {person}"
    obj.animation_data_clear()
    for coll in target.users_collection or [context.scene.collection]:
        coll.objects.link(obj)
    return obj


def bake_people(context, results, settings: bake.BakeSettings) -> list[bake.BakeReport]:
    """Bake every person of ``results`` (``LiftResult``s with ``person`` set); all or
    nothing: on an error every armature copy, new armature and action made is removed."""
    first = min(int(r.frame_indices[0]) for r in results)
    reports: list[bake.BakeReport] = []
    copies = []
    scene = context.scene
    before = (scene.frame_start, scene.frame_end)
    anim = settings.target.animation_data if settings.target is not None else None
    prev_action = anim.action if anim is not None else None
    try:
        for k, r in enumerate(results):
            target = settings.target
            if target is not None and k > 0:
                target = _copy_target(context, target, r.person)
                copies.append(target)
            reports.append(bake.apply_result(context, r, person_settings(
                settings, r, first, target)))
    except Exception:
        for rep in reports:
            bpy.data.actions.remove(rep.action)
        made = copies if settings.target is not None else [rep.obj for rep in reports]
        for obj in made:  # new armatures, or copies sharing the user's rig
            remove_armature(obj)
        if settings.target is not None and settings.target.animation_data:
            settings.target.animation_data.action = prev_action
        scene.frame_start, scene.frame_end = before
        raise
    if settings.set_scene_range:  # everybody's frames, not the last person's
        scene.frame_start = int(min(r.frames[0] for r in reports))
        scene.frame_end = int(max(r.frames[1] for r in reports))
    return reports
