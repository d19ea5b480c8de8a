"""Drive the engine's step-wise pipeline from Blender: options, source path, time-boxed steps.

Owns the glue between the UI settings and ``dgnet_core.pipeline``: which video file a
source (movie clip or path) means, the ``PipelineOptions`` from scene settings (camera from
``camera.py``) and add-on preferences, and ``LiftJob`` (advance the generator for a bounded
time per modal-timer tick, cancel by closing it). Nothing here touches the scene, so
cancelling never needs an undo.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from dgnet_core.errors import LiftError, VideoError
from dgnet_core.pipeline import PipelineOptions, Progress, iter_pipeline

from .camera import camera_fov, clip_camera_fov

DEVICE_MAP = {"AUTO": "auto", "CPU": "cpu", "GPU": "cuda"}


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
    path = Path(bpy.path.abspath(props.filepath))
    return Source(path=path, name=path.stem, first_scene_frame=float(scene.frame_start),
                  frame_ratio=0.0)


def scene_fps(scene) -> float:
    return scene.render.fps / (scene.render.fps_base or 1.0)


def addon_prefs(context: bpy.types.Context):
    """This add-on's preferences, or None (e.g. when run from the source tree)."""
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


def pipeline_options(props, prefs=None, model_path: str = "",
                     source: Source | None = None) -> PipelineOptions:
    """PipelineOptions from the scene settings, the preferences and an optional override;
    ``source`` brings the movie clip's tracking camera (used by the camera's Auto mode)."""
    device = DEVICE_MAP.get(getattr(prefs, "device", "AUTO"), "auto")
    if device == "cuda" and importlib.util.find_spec("torch") is None:
        raise LiftError("the GPU device needs PyTorch with CUDA, which this Blender does not "
                        "have; set Compute Device to Auto or CPU in the add-on preferences")
    model = model_path or getattr(prefs, "model_path", "") or ""
    start, end = 0, None
    if props.use_frame_range:
        start = max(0, int(props.frame_start))
        end = max(start + 1, int(props.frame_end) + 1)  # UI end is inclusive
    fov, _ = camera_fov(props, source.camera_fov_deg if source is not None else None)
    return PipelineOptions(
        fov_deg=fov,
        smoothing=props.smoothing.lower(),
        frame_start=start,
        frame_end=end,
        device=device,
        model_path=bpy.path.abspath(model) if model else None,
        foot_lock=bool(getattr(props, "foot_lock", True)),
    )


@dataclass
class LiftJob:
    """One run of the pipeline, advanced in time-boxed steps."""

    video: Path
    options: PipelineOptions
    progress: Progress = field(default_factory=lambda: Progress("detect", 0.0, "starting"))
    result: object | None = None
    _gen: object | None = None

    def __post_init__(self) -> None:
        self._gen = iter_pipeline(self.video, self.options)

    def step(self, budget_s: float = 0.05) -> bool:
        """Advance for about ``budget_s`` seconds (at least one pipeline step); True when
        the result is ready. Engine errors (``LiftError``) propagate."""
        t0 = time.perf_counter()
        while True:
            try:
                self.progress = next(self._gen)
            except StopIteration as stop:
                self.result = stop.value
                self.progress = Progress("done", 1.0, "done")
                return True
            if time.perf_counter() - t0 >= budget_s:
                return False

    def run(self):
        """Run to the end (background mode / CLI); returns the LiftResult."""
        while not self.step(1.0):
            pass
        return self.result

    def cancel(self) -> None:
        """Stop the job: the generator is closed, files and models are released."""
        if self._gen is not None:
            self._gen.close()
