"""The whole video -> 3D joints job: detect, adapt, fill gaps, lift, smooth, place.

Owns the order of the stages and the job's one public shape: ``PipelineOptions`` in,
``LiftResult`` out. ``iter_pipeline`` is a generator doing a small bounded amount of work
per ``next()`` (a few frames of detection, one lifting batch) and yielding ``Progress``,
so a Blender modal timer can drive it and cancel by just stopping; ``run_pipeline`` drives
it to the end with a tqdm bar. Frames are streamed: memory is flat in the clip length
(only ~1 kB of landmarks per frame is kept).

Lifting overlaps detection: every frame whose whole window has been detected is lifted on
a background thread while MediaPipe works on the next frames (and the video is decoded on
a third, see ``detect.iter_detect``); frames next to gaps or the clip's end are lifted after
gap filling. The result is the same as lifting afterwards. Closing the generator (a
cancelled job) or dropping it stops and joins those threads.

Placing cleans the motion up (``placement.MotionOptions``; ``cleanup`` and ``foot_lock``
switch it): one body per clip, knee/elbow limits, root depth per clip, the floor from foot
contacts, an upright stance and locked feet; ``LiftResult.rest_offsets`` is that body,
which the BVH writer and the add-on's armature share.

    result = run_pipeline("clip.mp4", PipelineOptions(smoothing="one_euro"))
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .detect import Detections, GrowingArray, PoseObservation, iter_detect
from .errors import NoPersonError
from .filters import METHODS, smooth
from .gaps import detected_span, fill_gaps
from .lifting import Lifter
from .placement import MotionOptions, intrinsics, place
from .preflight import check_device, check_model_file
from .skeleton import NUM_JOINTS, mediapipe_to_h36m
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
    flip_tta: bool | None = None  # None: the lifter's choice for its model (Lifter)
    cleanup: bool = True             # one body, limb limits, per-clip depth, floor, upright
    foot_lock: bool = True           # hold planted feet (contacts with hysteresis + leg IK)

    def motion(self) -> MotionOptions:
        """The placement's clean-up steps these options ask for."""
        base = MotionOptions() if self.cleanup else MotionOptions.legacy()
        return replace(base, foot_lock=self.foot_lock)

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
        if self.focal_px is not None and not (math.isfinite(self.focal_px)
                                              and self.focal_px > 0):
            raise ValueError(f"focal length must be a finite, positive number of pixels, "
                             f"got {self.focal_px}")
        if not (math.isfinite(self.fov_deg) and 1.0 <= self.fov_deg <= 179.0):
            raise ValueError(f"field of view must be in [1, 179] degrees, got {self.fov_deg}")


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
    rest_offsets: np.ndarray | None = None  # (17, 3) the clip's body (BVH and armature rest)

    def __len__(self) -> int:
        return len(self.joints_world)


def make_lifter(options: PipelineOptions) -> Lifter:
    """The lifting model the options ask for (default model when ``model_path`` is None).

    onnxruntime gets one intra-op thread: the pipeline lifts on a thread of its own while
    MediaPipe detects on another, and a second ORT thread would only spin on that core.
    The device and the model file are checked first (``preflight``): one-line
    ``WeightsError`` naming the user's path, never a library's assertion.
    """
    device = options.device
    check_device(device)
    if options.model_path is None:
        lifter = Lifter.from_default(backend=options.backend, device=device, threads=1)
    else:
        path = check_model_file(options.model_path, options.backend, device)
        if device == "auto" and path.suffix == ".onnx" \
                and not path.with_suffix(".safetensors").is_file():
            device = "cpu"  # an ONNX-only model runs on onnxruntime, never on torch-cuda
        lifter = Lifter.from_file(path, backend=options.backend, device=device, threads=1)
    if options.flip_tta is not None:
        lifter.flip_tta = options.flip_tta
    return lifter


def _runs(mask: np.ndarray, offset: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` runs of True in a 1-D bool array, shifted by ``offset``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(x) + offset, int(y) + offset) for x, y in zip(edges[::2], edges[1::2])]


def _pieces(runs: list[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """Runs cut into pieces of at most ``step`` frames."""
    return [(s, min(s + step, e)) for a, e in runs for s in range(a, e, step)]


def iter_lift(lifter: Lifter, kp: np.ndarray, conf: np.ndarray, width: int, height: int,
              chunk: int = 32, intrinsics: np.ndarray | None = None,
              out: np.ndarray | None = None, todo: np.ndarray | None = None
              ) -> Generator[int, None, np.ndarray]:
    """Lift a clip ``chunk`` frames per step (yields frames done; returns (N,17,3)).

    Each chunk is lifted with the frames its windows need on either side, so the result
    equals one ``lifter.lift`` over the whole clip. With ``out`` and ``todo`` (N,) bool only
    the frames marked in ``todo`` are lifted (into ``out``).
    """
    n = len(kp)
    before, after = lifter.context()
    tile = lifter.tile
    if out is None:
        out = np.empty((n, kp.shape[1], 3), np.float32)
    todo = np.ones(n, bool) if todo is None else np.asarray(todo, bool)
    done = 0
    for s, e in _pieces(_runs(todo), chunk):
        lo, hi = max(s - before, 0), min(e + after, n)
        if tile > 1:  # whole tiles, aligned as in the whole clip
            lo, hi = s - s % tile, min(e + (-e) % tile, n)
        y = lifter.lift(kp[lo:hi], conf[lo:hi], width, height, intrinsics=intrinsics)
        out[s:e] = y[s - lo: s - lo + (e - s)]
        done += e - s
        yield done
    return out


class _LiftWorker:
    """Lifts pieces of the clip on a background thread (onnxruntime and torch release the
    GIL, and so does MediaPipe, so lifting runs on the second core while detection goes on).

    ``close()`` drops the queued pieces and joins the thread (at most one piece, a fraction
    of a second, is still being lifted); the pipeline calls it however it ends.
    """

    def __init__(self, lifter: Lifter, width: int, height: int, K: np.ndarray) -> None:
        self._lift = lambda kp, conf: lifter.lift(kp, conf, width, height, intrinsics=K)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.results: list[tuple[int, np.ndarray]] = []  # (first frame, (n, 17, 3))

    def submit(self, start: int, kp: np.ndarray, conf: np.ndarray, offset: int,
               count: int) -> None:
        """Lift ``kp``/``conf`` and keep rows ``offset:offset+count`` as frames from start."""
        with self._cond:
            self._pending += 1
        self._jobs.put((start, kp, conf, offset, count))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lift-video-lifting",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stop.is_set():
                return
            start, kp, conf, offset, count = job
            y, error = None, None
            try:
                y = self._lift(kp, conf)[offset:offset + count]
            except BaseException as exc:  # re-raised in the pipeline's thread
                error = exc
            with self._cond:
                if y is not None:
                    self.results.append((start, y))
                if error is not None and self._error is None:
                    self._error = error
                self._pending -= 1
                self._cond.notify_all()

    def check(self) -> None:
        """Raise the first error a piece raised."""
        if self._error is not None:
            raise self._error

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the queue to drain; True when it has."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending == 0, timeout)
            idle = self._pending == 0
        self.check()
        return idle

    def close(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class _EarlyLift:
    """Collects the 2D joints while detection runs and sends every frame whose whole
    window is already detected to a ``_LiftWorker``.

    A frame is ready when every frame its pose depends on (``Lifter.context``) is detected.
    Such a frame lifts exactly as it will in the finished clip: gap filling leaves
    detected frames unchanged, the clip (trimmed to its first detection) starts at the first
    detection, and a window whose last frame is detected cannot reach the clip's end.
    Frames whose windows touch a gap or the end are lifted after filling.
    """

    def __init__(self, worker: _LiftWorker, width: int, height: int, before: int,
                 after: int, step: int = 32, enabled: bool = True) -> None:
        self.worker, self.before, self.after, self.step = worker, before, after, step
        self.enabled = enabled
        self.size = np.array([width, height], np.float32)
        self.kp = GrowingArray((NUM_JOINTS, 2), 256)
        self.conf = GrowingArray((NUM_JOINTS,), 256)
        self.detected = bytearray()
        self.first: int | None = None   # range index of the first detection
        self.scan = 0                   # trimmed frames before this one have been decided

    def add(self, pose: PoseObservation | None) -> None:
        """``iter_detect``'s ``on_frame``: keep this frame's 17 joints (from the first
        detection on)."""
        if pose is None and self.first is None:
            self.detected.append(0)
            return
        if self.first is None:
            self.first = len(self.detected)
        self.detected.append(pose is not None)
        if pose is None:
            self.kp.append(None)
            self.conf.append(None)
            return
        kp, conf = mediapipe_to_h36m(pose.image[:, :2] * self.size, pose.visibility)
        self.kp.append(kp.astype(np.float32))
        self.conf.append(conf.astype(np.float32))

    def schedule(self) -> None:
        """Send the ready frames once at least ``step`` new frames can be decided."""
        if self.first is None or not self.enabled:
            return
        det = np.frombuffer(self.detected, np.uint8)[self.first:].astype(bool)
        limit = len(det) - self.after  # frames before it have their whole window read
        if limit - self.scan < self.step:
            return
        lo = max(self.scan - self.before, 0)
        missing = np.concatenate([[0], np.cumsum(~det[lo:])])
        j = np.arange(self.scan, limit)
        a = np.maximum(j - self.before, 0) - lo
        ready = missing[j + self.after + 1 - lo] == missing[a]
        kp, conf = self.kp.view(), self.conf.view()
        for s, e in _pieces(_runs(ready, self.scan), self.step):
            klo = max(s - self.before, 0)
            self.worker.submit(s, kp[klo:e + self.after].copy(), conf[klo:e + self.after].copy(),
                               s - klo, e - s)
        self.scan = limit


def iter_pipeline(video: str | Path, options: PipelineOptions | None = None, *,
                  lifter: Lifter | None = None, detections: Detections | None = None
                  ) -> Generator[Progress, None, LiftResult]:
    """The job as a generator of ``Progress``; the ``LiftResult`` is StopIteration.value.

    ``lifter`` overrides the model from the options; ``detections`` (from
    ``detect.iter_detect`` over the same frame range) skips the detection stage.
    Raises ``VideoError``, ``NoPersonError``, ``WeightsError`` or ``ValueError`` (options).

    While detecting, frames whose windows are complete are lifted on a background thread
    (see ``_EarlyLift``); closing the generator (or dropping it) stops and joins that thread.
    """
    opts = options or PipelineOptions()
    opts.check()
    video = Path(video)
    if detections is None:
        # VideoError now, before any model is loaded. The container's frame count is only
        # the progress bar's hint: a start past the last decodable frame fails in decoding.
        info = probe_video(video)
        w, h = info.width, info.height
    else:
        w, h = detections.width, detections.height
    if lifter is None:
        lifter = make_lifter(opts)
    K = intrinsics(w, h, opts.fov_deg, opts.focal_px)
    before, after = lifter.context()
    worker = _LiftWorker(lifter, w, h, K)
    gen = None
    try:
        yield Progress("detect", 0.0, f"detecting the person in {video.name}")
        if detections is None:
            # tiled reading needs aligned pieces: it is cheap enough to lift afterwards
            early = _EarlyLift(worker, w, h, before, after, enabled=lifter.tile == 1)
            gen = iter_detect(video, opts.frame_start, opts.frame_end, opts.task_path,
                              on_frame=early.add)
            while True:
                try:
                    done, total = next(gen)
                except StopIteration as stop:
                    detections = stop.value
                    break
                early.schedule()
                worker.check()
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
        px = det.pixels()[sl]
        kp, conf = mediapipe_to_h36m(px, det.visibility[sl])
        kp, gaps = fill_gaps(kp, detected, opts.max_gap, frames)
        conf = np.where(detected[:, None], conf, 0.0)
        trimmed = f" (no person in the first {first} / last {len(det) - last} frames: " \
            "trimmed)" if first or last < len(det) else ""
        n = len(kp)
        yield Progress("lift", _DETECT, f"lifting {n} frames, {len(gaps)} gaps filled"
                       f"{trimmed}")
        while not worker.wait(0.05):  # pieces still queued: lifted while we wait
            yield Progress("lift", _DETECT, "lifting")
        pose_rel = np.empty((n, kp.shape[1], 3), np.float32)
        todo = np.ones(n, bool)
        for s, y in worker.results:
            pose_rel[s:s + len(y)] = y
            todo[s:s + len(y)] = False
        early_done = n - int(todo.sum())
        worker.close()

        kp32, conf32 = kp.astype(np.float32), conf.astype(np.float32)
        gen_lift = iter_lift(lifter, kp32, conf32, w, h, intrinsics=K, out=pose_rel,
                             todo=todo)
        for done in gen_lift:
            done += early_done
            yield Progress("lift", _DETECT + _LIFT * done / n, f"lifting: frame {done}/{n}")
    finally:
        if gen is not None:
            gen.close()  # stops the video's decoding thread now, not at garbage collection
        worker.close()

    yield Progress("place", _DETECT + _LIFT, "placing in the scene")
    fps = det.fps
    pose_rel = smooth(pose_rel, opts.smoothing, fps)
    pose_rel = pose_rel - pose_rel[:, :1]
    placed = place(pose_rel, kp, conf, K, fps, lambda x: smooth(x, opts.smoothing, fps),
                   opts.motion())
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
        rest_offsets=placed.rest_offsets,
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
