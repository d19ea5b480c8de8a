"""Where a lift's video comes from in Blender: the source and its frames on the timeline.

Owns which video file a source (a movie clip, or a file path from the panel or the command
line) means and how its frames map to scene frames (``Source``), the scene's frame rate and
the add-on's preferences. The run's options are built in ``options``; the job itself is the
engine's ``dgnet_core.pipeline.PipelineJob`` (time-boxed steps, cancel by closing). Nothing
here touches the scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy

from dgnet_core.errors import VideoError

from .camera import clip_camera_fov


@dataclass
class Source:
    """The video to lift and how its frames map to scene frames."""

    path: Path
    name: str
    first_scene_frame: float  # clips: scene frame of video frame 0; files: of the first frame
    frame_ratio: float  # scene frames per video frame (None: from the video's fps)
    is_clip: bool = False
    camera_fov_deg: float | None = None  # the movie clip's tracking camera, when set


def source_from_settings(context: bpy.types.Context, props) -> Source:
    """Resolve the panel's source (movie clip datablock or file path) to a video file."""
    scene = context.scene
    if props.source_type == "CLIP":
        clip = props.clip or getattr(context.space_data, "clip", None)  # Clip Editor's clip
        if clip is None:
            raise VideoError("no movie clip selected: pick one, or choose 'File' as source")
        if clip.source != "MOVIE":
            raise VideoError(f"movie clip {clip.name!r} is an image sequence; "
                             "only video files are supported")
        path = Path(bpy.path.abspath(clip.filepath, library=clip.library))
        # The Movie Clip Editor shows one clip frame per scene frame: keep that sync.
        first = clip.frame_start - clip.frame_offset
        return Source(path=path, name=clip.name, first_scene_frame=float(first),
                      frame_ratio=1.0, is_clip=True, camera_fov_deg=clip_camera_fov(clip))
    if not props.filepath:
        raise VideoError("no video file chosen")
    return file_source(Path(bpy.path.abspath(props.filepath)), scene)


def file_source(path: Path, scene) -> Source:
    """A video file whose first lifted frame goes on the scene's first frame."""
    return Source(path=path, name=path.stem, first_scene_frame=float(scene.frame_start),
                  frame_ratio=0.0)


def scene_fps(scene) -> float:
    return scene.render.fps / (scene.render.fps_base or 1.0)


def addon_prefs(context: bpy.types.Context):
    """This add-on's preferences, or None (e.g. when run from the source tree)."""
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None
