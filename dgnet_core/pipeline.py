"""The whole video -> 3D joints job: detect, adapt, fill gaps, lift, smooth, place.

Owns the order of the stages and the job's one public shape: ``PipelineOptions`` in,
``LiftResult`` out. ``iter_pipeline`` is a generator doing a small bounded amount of work
per ``next()`` (a few frames of detection, one lifting batch) and yielding ``Progress``,
so a Blender modal timer can drive it and cancel by just stopping; ``run_pipeline`` drives
it to the end with a tqdm bar. Frames are streamed: memory is flat in the clip length
(only ~1 kB of landmarks per frame is kept).

    result = run_pipeline("clip.mp4", PipelineOptions(smoothing="one_euro"))
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .detect import Detections, iter_detect
from .errors import NoPersonError, VideoError
from .filters import METHODS, smooth
from .gaps import detected_span, fill_gaps
from .lifting import Lifter
from .placement import intrinsics, place
from .skeleton import mediapipe_to_h36m
from .video import probe_video

BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")
# Share of the progress bar per stage (detection dominates the run time).
_DETECT, _LIFT = 0.85, 0.13


@dataclass(frozen=True)
class PipelineOptions:
    fov_deg: float = 55.0            # horizontal FOV for the default focal length
    focal_px: float | None = None    # overrides fov_deg
    smoothing: str = "savgol"        # "savgol" | "one_euro" | "none"
    max_gap: int = 15                # longest run of missing frames filled by interpolation
    frame_start: int = 0
    frame_end: int | None = None     # exclusive; None = to the end
    backend: str = "auto"            # "auto" | "onnx" | "torch"
    device: str = "auto"             # "auto" | "cpu" | "cuda"
    model_path: str | None = None    # None = embedded default model
    task_path: str | None = None     # None = dgnet_core.detect.default_task_path()
    flip_tta: bool = True

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid option."""
        if self.smoothing not in METHODS:
            raise ValueError(f"smoothing must be one of {', '.join(METHODS)}, "
                             f"got {self.smoothing!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, got {self.max_gap}")
        if self.frame_start < 0:
            raise ValueError(f"frame_start must be >= 0, got {self.frame_start}")
        if self.frame_end is not None and self.frame_end <= self.frame_start:
            raise ValueError(f"frame_end ({self.frame_end}) must be after frame_start "
                             f"({self.frame_start})")
        if self.focal_px is not None and self.focal_px <= 0:
            raise ValueError(f"focal_px must be positive, got {self.focal_px}")
        if not 1.0 <= self.fov_deg <= 179.0:
            raise ValueError(f"fov_deg must be in [1, 179], got {self.fov_deg}")


@dataclass
class Progress:
    stage: str       # "detect" | "lift" | "place" | "done"
    fraction: float  # 0..1 over the whole job
    message: str


@dataclass
class LiftResult:
    joints_world: np.ndarray     # (N,17,3) float32 metres, Z-up world, floor at z=0
    joints_camera: np.ndarray    # (N,17,3) metres, camera axes (x right, y down, z forward)
    keypoints_2d: np.ndarray     # (N,17,2) pixels (after gap filling)
    confidence: np.ndarray       # (N,17) 0..1 (0 where filled)
    mp_world: np.ndarray         # (N,33,3) MediaPipe world landmarks (NaN in gaps)
    mp_image: np.ndarray         # (N,33,3) MediaPipe normalised image landmarks (NaN in gaps)
    contacts: np.ndarray         # (N,2) bool, (left foot, right foot)
    detected: np.ndarray         # (N,) bool, False where the frame was a filled gap
    frame_indices: np.ndarray    # (N,) source video frame numbers
    fps: float
    width: int
    height: int
    intrinsics: np.ndarray       # (3,3) pixels
    gaps: list[tuple[int, int]] = field(default_factory=list)  # [start, end) result frames
    source: str = ""

    def __len__(self) -> int:
        return len(self.joints_world)


def make_lifter(options: PipelineOptions) -> Lifter:
    """The lifting model the options ask for (default model when ``model_path`` is None)."""
    if options.model_path is None:
        lifter = Lifter.from_default(backend=options.backend, device=options.device)
    else:
        lifter = Lifter.from_file(options.model_path, backend=options.backend,
                                  device=options.device)
    lifter.flip_tta = options.flip_tta
    return lifter


def iter_lift(lifter: Lifter, kp: np.ndarray, conf: np.ndarray, width: int, height: int,
              chunk: int = 32) -> Generator[int, None, np.ndarray]:
    """Lift a clip ``chunk`` frames per step (yields frames done; returns (N,17,3)).

    Each chunk is lifted with the frames its windows need on either side, so the result
    equals one ``lifter.lift`` over the whole clip.
    """
    n = len(kp)
    before = lifter.cfg.target_index
    after = lifter.cfg.num_frames - 1 - before
    out = np.empty((n, kp.shape[1], 3), np.float32)
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        lo, hi = max(s - before, 0), min(e + after, n)
        y = lifter.lift(kp[lo:hi], conf[lo:hi], width, height)
        out[s:e] = y[s - lo: s - lo + (e - s)]
        yield e
    return out


def iter_pipeline(video: str | Path, options: PipelineOptions | None = None, *,
                  lifter: Lifter | None = None, detections: Detections | None = None
                  ) -> Generator[Progress, None, LiftResult]:
    """The job as a generator of ``Progress``; the ``LiftResult`` is StopIteration.value.

    ``lifter`` overrides the model from the options; ``detections`` (from
    ``detect.iter_detect`` over the same frame range) skips the detection stage.
    Raises ``VideoError``, ``NoPersonError``, ``WeightsError`` or ``ValueError`` (options).
    """
    opts = options or PipelineOptions()
    opts.check()
    video = Path(video)
    if detections is None:
        info = probe_video(video)  # VideoError now, before any model is loaded
        if info.frame_count and opts.frame_start >= info.frame_count:
            raise VideoError(f"start frame {opts.frame_start} is past the end of the video "
                             f"({info.frame_count} frames): {video}")
    if lifter is None:
        lifter = make_lifter(opts)
    yield Progress("detect", 0.0, f"detecting the person in {video.name}")
    if detections is None:
        gen = iter_detect(video, opts.frame_start, opts.frame_end, opts.task_path)
        while True:
            try:
                done, total = next(gen)
            except StopIteration as stop:
                detections = stop.value
                break
            frac = done / total if total else 0.5
            yield Progress("detect", _DETECT * min(frac, 1.0),
                           f"detecting: frame {done}/{total or '?'}")
    det = detections
    if not det.detected.any():
        raise NoPersonError(f"no person detected in any of the {len(det)} frames of "
                            f"{video.name} (frames {int(det.frame_indices[0])}-"
                            f"{int(det.frame_indices[-1])})")
    first, last = detected_span(det.detected)
    sl = slice(first, last)
    detected = det.detected[sl]
    frames = det.frame_indices[sl]
    w, h = det.width, det.height
    px = det.pixels()[sl]
    kp, conf = mediapipe_to_h36m(px, det.visibility[sl])
    kp, gaps = fill_gaps(kp, detected, opts.max_gap, frames)
    conf = np.where(detected[:, None], conf, 0.0)
    trimmed = f" (no person in the first {first} / last {len(det) - last} frames: trimmed)" \
        if first or last < len(det) else ""
    yield Progress("lift", _DETECT, f"lifting {len(kp)} frames, {len(gaps)} gaps filled"
                   f"{trimmed}")

    kp32, conf32 = kp.astype(np.float32), conf.astype(np.float32)
    gen_lift = iter_lift(lifter, kp32, conf32, w, h)
    while True:
        try:
            done = next(gen_lift)
        except StopIteration as stop:
            pose_rel = stop.value
            break
        yield Progress("lift", _DETECT + _LIFT * done / len(kp32),
                       f"lifting: frame {done}/{len(kp32)}")

    yield Progress("place", _DETECT + _LIFT, "placing in the scene")
    K = intrinsics(w, h, opts.fov_deg, opts.focal_px)
    fps = det.fps
    pose_rel = smooth(pose_rel, opts.smoothing, fps)
    pose_rel = pose_rel - pose_rel[:, :1]
    placed = place(pose_rel, kp, conf, K, fps, lambda x: smooth(x, opts.smoothing, fps))
    result = LiftResult(
        joints_world=placed.joints_world,
        joints_camera=placed.joints_camera,
        keypoints_2d=kp32,
        confidence=conf32,
        mp_world=det.world[sl].astype(np.float32),
        mp_image=det.image[sl].astype(np.float32),
        contacts=placed.contacts,
        detected=detected.copy(),
        frame_indices=frames.copy(),
        fps=float(fps), width=int(w), height=int(h),
        intrinsics=K.astype(np.float64),
        gaps=gaps,
        source=str(det.source),
    )
    yield Progress("done", 1.0, f"{len(result)} frames lifted")
    return result


def run_pipeline(video: str | Path, options: PipelineOptions | None = None,
                 progress: bool = True) -> LiftResult:
    """Run the whole job, showing a tqdm bar on stderr when ``progress``."""
    from tqdm import tqdm

    gen = iter_pipeline(video, options)
    first = next(gen)  # option, video and model errors come before any bar is drawn
    with tqdm(total=100, disable=not progress, unit="%", leave=False,
              bar_format="{desc:<34.34} {bar} {percentage:3.0f}% [{elapsed}<{remaining}]"
              ) as bar:
        p = first
        while True:
            bar.set_description_str(p.message, refresh=False)
            bar.update(max(0, int(round(p.fraction * 100)) - bar.n))
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
