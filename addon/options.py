"""The settings of one lift in the add-on, built in one place for the operator and the
``lift_video`` command line.

Owns ``values_from_props`` (the panel and the preferences as option
values) and ``build_run``: ``PipelineOptions`` and ``BakeSettings`` from one mapping of
option values (the panel's, or the command line's ``vars(args)``), the source and the
target. Nothing else in the add-on converts, defaults or validates an option: the
properties (``props``) and the command line's flags (``cli``) derive from the same schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bpy

from dgnet_core.contract import PipelineOptions
from dgnet_core.retarget.rigmaps import RigMap
from dgnet_core.schema import from_identifier, from_values

from .bake import BakeSettings
from .bake_options import BakeOptions
from .camera import camera_fov
from .job import Source, scene_fps


def values_from_props(props, prefs=None, model_path: str = "",
                      source: Source | None = None) -> dict[str, Any]:
    """The option values the panel (scene settings), the preferences and an optional model
    override ask for; ``source`` brings the movie clip's tracking camera (camera Auto)."""
    model = model_path or getattr(prefs, "model_path", "") or ""
    fov, _ = camera_fov(props, source.camera_fov_deg if source is not None else None)
    values: dict[str, Any] = {
        "fov_deg": fov,
        "smoothing": from_identifier(PipelineOptions, "smoothing", props.smoothing),
        "device": from_identifier(PipelineOptions, "device",
                                  getattr(prefs, "device", "AUTO")),
        "model_path": bpy.path.abspath(model) if model else None,
        "workers": int(getattr(prefs, "workers", 0)),
        "foot_lock": bool(props.foot_lock),
        "people": int(getattr(props, "people", 1)),
        "hands": bool(getattr(props, "hands", False)),
        "rig_type": from_identifier(BakeOptions, "rig_type", props.rig_type),
        "root_motion": bool(props.root_motion),
        "scale_to_rig": bool(props.scale_to_rig),
        "head": bool(getattr(props, "head", True)),
        "set_scene_range": bool(props.set_scene_range),
        "match_fps": bool(props.match_fps),
        "gaps": from_identifier(BakeOptions, "gaps", props.gaps),
    }
    if props.use_frame_range:
        values.update(frame_start=int(props.frame_start), frame_end=int(props.frame_end))
    return values


def build_run(values: Mapping[str, Any], source: Source, target=None,
              custom_map: RigMap | None = None) -> tuple[PipelineOptions, BakeSettings]:
    """The engine's options and the bake's settings of one lift.

    ``values`` are option values by name (missing ones take the schema's defaults; invalid
    ones raise ``ValueError``, one line). A ``custom_map`` makes the rig type custom.
    """
    options = from_values(PipelineOptions, values)
    bake = from_values(BakeOptions, values)
    rig_type = "custom" if custom_map is not None else bake.rig_type
    settings = BakeSettings(
        target=target,
        rig_type=rig_type.upper(),
        custom_map=custom_map,
        root_motion=bake.root_motion,
        scale_to_rig=bake.scale_to_rig,
        head=bake.head,
        first_frame=source.first_scene_frame,
        first_frame_is_video_zero=source.is_clip,
        frame_ratio=source.frame_ratio if source.is_clip else 1.0,
        name=source.name,
        set_scene_range=bake.set_scene_range,
        match_fps=bake.match_fps,
        gaps=bake.gaps,
    )
    return options, settings


def fit_frame_ratio(settings: BakeSettings, scene, fps: float) -> None:
    """The scene's frame rate for a result at ``fps``: the video's when ``match_fps``
    (one key per video frame, clips and files alike), else the scene's own, a video file's
    keys then resampled onto whole scene frames."""
    if settings.match_fps:
        scene.render.fps = max(1, round(fps))
        scene.render.fps_base = scene.render.fps / fps
    if not settings.first_frame_is_video_zero:
        settings.frame_ratio = scene_fps(scene) / max(fps, 1e-6)
