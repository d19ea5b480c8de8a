"""2D pose detection with MediaPipe's PoseLandmarker (Tasks API, VIDEO mode, offline model).

Owns finding the offline ``.task`` model, running the landmarker frame by frame, and
following ONE person through the clip: MediaPipe may return several poses per frame (and
gives them no identity), so ``tracking.PersonTracker`` starts with the largest person and
then takes a pose only if its position, torso size, limb proportions and torso colours
(sampled from the frame) all match the person followed so far; a frame where no pose does
(the person hidden, or not recognisably them) is a miss -- NaN here, a gap for the pipeline
(filled up to ``max_gap`` frames, reported beyond) -- never somebody else's pose.

``TrackingDetector`` switches to a cheaper one-pose landmarker while the person is followed
steadily (MediaPipe re-runs its person detector on every frame otherwise), and
``iter_detect`` decodes the video one or two frames ahead on a background thread.

Per detected frame it keeps MediaPipe's 33 normalised image landmarks (x, y, z), their
visibility and MediaPipe's own metric world landmarks; ``iter_detect`` streams a video
through it and collects those into a ``Detections`` (NaN where nobody was found).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..arrays import GrowingArray
from ..errors import LiftError, VideoError
from ..skeleton import MP_NUM
from . import mediapipe_api
from .hands import HandConfig, HandDetector, HandFrames
from .models import find_model
from .observation import PoseObservation
from .tracking import PersonTracker, TrackerConfig
from .video import VideoReader

TASK_ENV = "LIFT_VIDEO_POSE_TASK"
TASK_NAME = "pose_landmarker_full.task"


def default_task_path() -> Path:
    """The offline pose model: ``$LIFT_VIDEO_POSE_TASK``, else ``dgnet_core/models/``, else
    ``<repo>/.cache/models/`` (where ``scripts/build_pose_task.sh`` writes it).

    Raises ``LiftError`` naming every place looked at when none exists.
    """
    return find_model(TASK_NAME, TASK_ENV, "pose model",
                      "build it with scripts/build_pose_task.sh")


@dataclass(frozen=True)
class DetectorConfig:
    """MediaPipe PoseLandmarker settings; ``num_poses > 1`` lets the tracker choose.

    ``fast_tracking``: once the person has been followed for ``steady_frames`` frames, a
    one-pose landmarker follows them (see ``TrackingDetector``); 0 frames or False = never.
    """

    num_poses: int = 2
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    fast_tracking: bool = True
    steady_frames: int = 30
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    hands: bool = False          # also the person's two hands (``hands.HandDetector``)
    hand: HandConfig = field(default_factory=HandConfig)


class PoseDetector:
    """MediaPipe PoseLandmarker in VIDEO mode (context manager)."""

    def __init__(self, task_path: str | Path | None = None,
                 config: DetectorConfig | None = None) -> None:
        _, BaseOptions, vision = mediapipe_api.load()  # noqa: N806 - MediaPipe's class

        self.config = config or DetectorConfig()
        path = Path(task_path) if task_path is not None else default_task_path()
        if not path.is_file():
            raise LiftError(f"pose model not found: {path}")
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO,
            num_poses=self.config.num_poses,
            min_pose_detection_confidence=self.config.min_detection_confidence,
            min_pose_presence_confidence=self.config.min_presence_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence,
        )
        try:
            self._landmarker = vision.PoseLandmarker.create_from_options(options)
        except Exception as exc:  # mediapipe raises RuntimeError/ValueError on a bad bundle
            raise LiftError(f"cannot load pose model {path}: {str(exc).splitlines()[0]}"
                            ) from None
        self._last_ts = -1

    def __enter__(self) -> PoseDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        """All poses in one RGB frame (timestamps must increase; they are forced to)."""
        mp = mediapipe_api.load()[0]
        ts = max(int(timestamp_ms), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, ts)
        poses = []
        for lms, world in zip(result.pose_landmarks, result.pose_world_landmarks):
            img = np.array([(p.x, p.y, p.z) for p in lms], np.float32)
            vis = np.array([p.visibility if p.visibility is not None else 1.0 for p in lms],
                           np.float32)
            wld = np.array([(p.x, p.y, p.z) for p in world], np.float32)
            if img.shape == (MP_NUM, 3) and wld.shape == (MP_NUM, 3):
                poses.append(PoseObservation(img, np.clip(vis, 0.0, 1.0), wld))
        return poses


class TrackingDetector:
    """One tracked person per frame, with as little MediaPipe work as the clip allows.

    With ``num_poses > 1`` MediaPipe runs its person detector on every frame in which it
    tracks fewer than ``num_poses`` people -- in a clip of one person, every frame, which
    makes it much slower than ``num_poses=1`` (docs/BENCHMARKS.md). So the landmarker with
    ``num_poses`` (the *full* one, which shows the tracker everybody) runs only until the
    person has been followed for ``steady_frames`` frames; then a fresh one-pose landmarker
    (the *fast* one) takes over, following the person from frame to frame without the
    detector. Its pose still has to pass ``PersonTracker``'s identity tests (position,
    size, proportions, colours; cheap beside the landmarker): when it loses the person
    or the tests reject its pose (it may have picked somebody else), that frame goes
    through a fresh full landmarker, which stays in charge for ``steady_frames`` again
    (doubled each time the fast one fails on its first frame, up to 16x). Every accepted
    pose, from either landmarker, is one that passed the tests; when none does the frame
    is a miss (None).
    """

    def __init__(self, width: int, height: int, task_path: str | Path | None = None,
                 config: DetectorConfig | None = None, fps: float = 30.0,
                 tracker: PersonTracker | None = None) -> None:
        self.config = config or DetectorConfig()
        self.task_path = task_path
        # a tracker handed over continues its track (the next chunk of a clip)
        self.tracker = tracker or PersonTracker(width, height, fps, self.config.tracker)
        self._full: PoseDetector | None = PoseDetector(task_path, self.config)
        self._fast: PoseDetector | None = None
        self._fast_age = 0      # frames the current fast landmarker has followed
        self._steady = 0        # frames the full landmarker has followed the person
        self._wait = self.config.steady_frames
        self.fast_frames = 0    # frames answered by the fast landmarker (for benchmarks)
        self.crowded = False    # the last frame's full landmarker saw more than one person
        self._use_fast = (self.config.fast_tracking and self.config.num_poses > 1
                          and self.config.steady_frames > 0)

    def __enter__(self) -> TrackingDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for det in (self._fast, self._full):
            if det is not None:
                det.close()
        self._fast = self._full = None

    def observe(self, rgb: np.ndarray, timestamp_ms: int) -> PoseObservation | None:
        """The tracked person in this RGB frame, or None. ``crowded`` then says whether
        the landmarker that sees everybody ran and saw somebody else too."""
        self.crowded = False
        if self._fast is not None:
            poses = self._fast.detect(rgb, timestamp_ms)
            cand = self.tracker.assess(poses, rgb)
            if cand is not None:
                self._fast_age += 1
                self.fast_frames += 1
                self.tracker.accept(cand, poses)
                return poses[cand.index]
            # Lost, or following somebody else: back to the landmarker that sees everybody.
            self._wait = (min(2 * self._wait, 16 * self.config.steady_frames)
                          if self._fast_age == 0 else self.config.steady_frames)
            self._fast.close()
            self._fast = None
            self._full = PoseDetector(self.task_path, self.config)
            self._steady = 0
        poses = self._full.detect(rgb, timestamp_ms)
        self.crowded = len(poses) > 1
        pose = self.tracker.choose(poses, rgb)
        self._steady = self._steady + 1 if pose is not None else 0
        if self._use_fast and self._steady >= self._wait:
            self._full.close()
            self._full = None
            self._fast = PoseDetector(self.task_path, replace(self.config, num_poses=1))
            self._fast_age = 0
        return pose


@dataclass
class Detections:
    """One tracked person over a frame range; NaN landmarks where ``detected`` is False."""

    image: np.ndarray          # (N, 33, 3) normalised image landmarks
    visibility: np.ndarray     # (N, 33)
    world: np.ndarray          # (N, 33, 3) MediaPipe world landmarks, metres
    detected: np.ndarray       # (N,) bool
    frame_indices: np.ndarray  # (N,) source frame numbers
    fps: float
    width: int
    height: int
    source: str
    others: np.ndarray | None = None  # (N,) bool: somebody else was seen in the frame (by
    #                                    the landmarker that sees everybody, when it ran)
    hands: HandFrames | None = None   # the person's two hands, when asked for

    def __len__(self) -> int:
        return len(self.detected)

    def pixels(self) -> np.ndarray:
        """(N, 33, 2) landmarks in pixels (NaN where not detected)."""
        return self.image[..., :2] * np.array([self.width, self.height], np.float32)


class _Prefetch:
    """Reads frames on a background thread, at most ``depth`` ahead of the consumer.

    Decoding (PyAV releases the GIL) then overlaps MediaPipe, off the detection thread.
    Iterate it; ``close()``
    stops and joins the thread. Errors of the reader (``VideoError``) come out of
    ``__next__`` in order.
    """

    _END = object()

    def __init__(self, frames: Iterator, depth: int = 2) -> None:
        self._frames = frames
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lift-video-decode",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._frames:
                if not self._put((None, item)):
                    return
            self._put((None, self._END))
        except BaseException as exc:
            self._put((exc, None))

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> _Prefetch:
        return self

    def __next__(self):
        error, item = self._queue.get()
        if error is not None:
            raise error
        if item is self._END:
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def iter_detect(video: str | Path, start: int = 0, stop: int | None = None,
                task_path: str | Path | None = None, config: DetectorConfig | None = None,
                chunk: int = 4,
                on_frame: Callable[[PoseObservation | None], None] | None = None,
                tracker: PersonTracker | None = None
                ) -> Generator[tuple[int, int], None, Detections]:
    """Detect and track one person in frames ``[start, stop)`` of a video (``stop``
    exclusive, as ``range``: ``PipelineOptions.frame_stop``).

    A generator: every ``chunk`` frames it yields ``(frames_done, frames_total)`` (total is
    an estimate from the container, 0 if unknown; the frames that decode are what counts)
    so a caller can show progress or stop; the ``Detections`` is its return value. Frames
    are streamed: memory does not grow with the clip beyond the landmarks themselves (about
    1 kB per frame). ``on_frame`` is called with each frame's tracked pose (None when
    missed), in order, as it is found. ``tracker`` continues a track (it is updated in
    place); by default the person followed is the largest one seen first.
    """
    with VideoReader(video) as reader:
        info = reader.info
        last = stop if stop is not None else (info.frame_count or None)
        total = max((last or 0) - start, 0)  # a hint: fewer frames may decode
        image = GrowingArray((MP_NUM, 3), total)
        vis = GrowingArray((MP_NUM,), total)
        world = GrowingArray((MP_NUM, 3), total)
        found: list[bool] = []
        indices: list[int] = []
        others: list[bool] = []
        hand_frames: list[HandFrames] = []
        cfg = config or DetectorConfig()
        with (TrackingDetector(info.width, info.height, task_path, config, info.fps,
                               tracker) as detector,
              closing(_Prefetch(reader.frames(start, stop))) as frames,
              (HandDetector(None, cfg.hand) if cfg.hands else nullcontext()) as hands):
            for index, rgb in frames:
                pose = detector.observe(rgb, round(index * 1000.0 / info.fps))
                if hands is not None:
                    hand_frames.append(hands.detect(rgb, pose))
                if on_frame is not None:
                    on_frame(pose)
                image.append(None if pose is None else pose.image)
                vis.append(None if pose is None else pose.visibility)
                world.append(None if pose is None else pose.world)
                found.append(pose is not None)
                indices.append(index)
                others.append(detector.crowded)
                if len(found) % chunk == 0:
                    yield len(found), max(total, len(found))
    if not found:
        raise VideoError(f"no frames in range [{start}, {stop}) of {video}")
    visibility = vis.array()
    visibility[np.isnan(visibility)] = 0.0
    return Detections(image.array(), visibility, world.array(), np.array(found, bool),
                      np.array(indices, np.int64), info.fps, info.width, info.height,
                      str(video), np.array(others, bool),
                      HandFrames.join(hand_frames) if cfg.hands else None)


def detect_video(video: str | Path, start: int = 0, stop: int | None = None,
                 task_path: str | Path | None = None, config: DetectorConfig | None = None
                 ) -> Detections:
    """``iter_detect`` run to the end."""
    gen = iter_detect(video, start, stop, task_path, config)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
