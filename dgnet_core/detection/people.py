"""Following SEVERAL people through a clip: who is who among MediaPipe's poses, every frame.

``PeopleTracker`` keeps one ``tracking.PersonTracker`` per person (its identity tests:
position, torso size, limb proportions, torso colours) and, every frame, gives each pose
to at most one person and each person at most one pose:

- every (person, pose) pair is scored with that person's identity cost (inf: somebody
  else); the pairs are taken cheapest first, so when two people cross, each keeps the pose
  that looks most like them;
- a person away for ``reidentify_after_s`` (hidden behind somebody, or out of the picture)
  may come back anywhere: then the position test is left out and the torso colours (which
  must have been seen) and size decide (``PersonTracker.cost(position=False)``);
- a pose nobody takes is offered to the people not seen in this frame again with every
  limit widened by ``slack`` (somebody coming out from behind another is half hidden for a
  frame or two: their proportions and colours are off);
- a pose still nobody's starts a new person while fewer than ``wanted`` are followed (0:
  everybody), largest first; one that mostly covers a pose already taken is the same
  person seen twice and is dropped;
- a person nobody's pose matches misses the frame (a gap of theirs, never someone else's
  pose).

``CropDetector`` finds the people: MediaPipe's person detector sees the whole frame at
224 x 224, where in a wide frame somebody a few metres behind is too small to be found
(the shared two-people clip: the second person is found in 3 of 87 frames from the whole
frame, in most frames from a half of it). In a frame wider than ``WIDE`` x its height it
runs one landmarker per overlapping square crop (left, middle, right, each the full
height), maps their poses back to the frame and keeps one pose per person (among poses
whose boxes overlap, the one most inside its crop and most visible). Other frames are
searched whole.

Detection and following are two steps. ``iter_see_people`` streams a video through the
``CropDetector`` (asking for one more pose than wanted, so a newcomer is seen) and keeps,
per frame, the poses, what identifies each (``tracking.pose_features``: colours need the
frame) and, with ``hands``, each person's hands found around their own wrists (hand crops
are held per person, so it follows people too). ``follow_people`` then decides who is
who over those frames and returns ``People``: one ``Detections`` per person over the
whole frame range (NaN where they were not seen) and, per frame, how many poses were left
to nobody (more people than asked for). ``iter_detect_people`` is the two in one process;
``people_parallel`` runs the first on several processes and the second once, in order.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import VideoError
from ..skeleton import MP_NUM
from .detect import Detections, DetectorConfig, PoseDetector, _Prefetch
from .hands import HandDetector, HandFrames
from .observation import PoseObservation
from .tracking import (
    Candidate,
    Features,
    PersonTracker,
    TrackerConfig,
    bbox_diag,
    pose_features,
)
from .video import VideoReader


@dataclass(frozen=True)
class PeopleConfig:
    """Limits of ``PeopleTracker`` (see the module docstring)."""

    reidentify_after_s: float = 1.0   # away this long: found again by looks, anywhere
    reidentify_penalty: float = 0.5   # added to such a cost (a nearby match wins)
    duplicate_overlap: float = 0.6    # a new pose's box this much inside a taken one: a twin
    max_poses: int = 7                # the most poses the landmarker is asked for
    slack: float = 1.6                # second pass: limits widened for people not seen
    tracker: TrackerConfig = field(default_factory=TrackerConfig)


WIDE = 1.5   # frames wider than this x their height are searched in square crops


def crop_boxes(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """(x0, y0, w, h) of the regions searched: the whole frame, or in a wide frame three
    overlapping full-height squares (left, middle, right)."""
    if width <= WIDE * height:
        return [(0, 0, width, height)]
    return [(x, 0, height, height) for x in (0, (width - height) // 2, width - height)]


def _inside_score(image: np.ndarray, vis: np.ndarray) -> float:
    """How whole and clear a pose is in its crop: mean visibility of the landmarks at
    least 2 % inside the crop's edges (normalised crop coordinates)."""
    xy = image[:, :2]
    inside = ((xy > 0.02) & (xy < 0.98)).all(axis=1)
    return float((vis * inside).mean())


class CropDetector:
    """Poses of everybody in a frame from one landmarker per crop (see the module
    docstring); a context manager like ``PoseDetector``."""

    def __init__(self, width: int, height: int, task_path: str | Path | None,
                 config: DetectorConfig) -> None:
        self.width, self.height = width, height
        self.boxes = crop_boxes(width, height)
        self._detectors: list[PoseDetector] = []
        try:
            for _ in self.boxes:
                self._detectors.append(PoseDetector(task_path, config))
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CropDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for d in self._detectors:
            d.close()
        self._detectors = []

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        """Everybody's poses in the frame, in frame coordinates, one per person."""
        if len(self.boxes) == 1:
            return self._detectors[0].detect(rgb, timestamp_ms)
        found: list[tuple[float, np.ndarray, PoseObservation]] = []
        size = np.array([self.width, self.height], np.float32)
        for (x0, y0, w, h), det in zip(self.boxes, self._detectors):
            crop = np.ascontiguousarray(rgb[y0:y0 + h, x0:x0 + w])
            for p in det.detect(crop, timestamp_ms):
                image = p.image.copy()
                image[:, 0] = (image[:, 0] * w + x0) / self.width
                image[:, 1] = (image[:, 1] * h + y0) / self.height
                image[:, 2] *= w / self.width
                pts = image[:, :2] * size
                box = np.concatenate([pts.min(axis=0), pts.max(axis=0)])
                found.append((_inside_score(p.image, p.visibility), box,
                              PoseObservation(image, p.visibility, p.world)))
        kept: list[tuple[float, np.ndarray, PoseObservation]] = []
        for score, box, pose in sorted(found, key=lambda t: -t[0]):
            if all(max(overlap(box, b), overlap(b, box)) <= 0.5 for _, b, _ in kept):
                kept.append((score, box, pose))
        return [pose for _, _, pose in kept]


def _box(f: Features) -> np.ndarray:
    vis = f.vis > 0.5
    pts = f.pts[vis] if vis.sum() >= 4 else f.pts
    return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Share of box ``a`` (x0, y0, x1, y1) covered by box ``b``."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max((a[2] - a[0]) * (a[3] - a[1]), 1e-9)
    return float(w * h / area)


class PeopleTracker:
    """Several people through a clip (see the module docstring). ``wanted`` 0: everybody."""

    def __init__(self, width: int, height: int, fps: float = 30.0, wanted: int = 0,
                 config: PeopleConfig | None = None) -> None:
        self.width, self.height = width, height
        self.fps = fps if fps and fps > 0 else 30.0
        self.wanted = wanted
        self.config = config or PeopleConfig()
        self.tracks: list[PersonTracker] = []
        self._size = np.array([width, height], np.float32)

    def _pair_cost(self, track: PersonTracker, f: Features, lone: bool) -> float:
        c = track.cost(f, lone)
        away = track.missed >= self.config.reidentify_after_s * self.fps
        if np.isfinite(c) or not away or f.colour is None or not track.has_look:
            return c
        return track.cost(f, position=False) + self.config.reidentify_penalty

    def observe(self, poses: Sequence[PoseObservation], rgb: np.ndarray | None = None,
                feats: Sequence[Features] | None = None) -> tuple[list[int], int]:
        """Give this frame's poses to the people: per pose the person's index (-1: nobody),
        and how many poses were left to nobody (people beyond ``wanted``). Updates every
        person (taken or missed); new people are appended to ``tracks``. ``feats``: the
        poses' ``pose_features`` when already measured (else from ``rgb``)."""
        if feats is None:
            feats = [pose_features(p, rgb, self._size) for p in poses]
        owner = [-1] * len(poses)
        lone = len(poses) == 1 and len(self.tracks) == 1
        pairs = []
        for t, track in enumerate(self.tracks):
            for i, f in enumerate(feats):
                c = self._pair_cost(track, f, lone and track.missed == 0)
                if np.isfinite(c):
                    pairs.append((c, t, i))
        taken_tracks: set[int] = set()
        for c, t, i in sorted(pairs):
            if t in taken_tracks or owner[i] >= 0:
                continue
            owner[i] = t
            taken_tracks.add(t)
            self.tracks[t].accept(Candidate(i, feats[i], c), poses)
        second = [(self.tracks[t].cost(feats[i], slack=self.config.slack), t, i)
                  for t in range(len(self.tracks)) if t not in taken_tracks
                  for i in range(len(poses)) if owner[i] < 0]
        for c, t, i in sorted(second):
            if not np.isfinite(c) or t in taken_tracks or owner[i] >= 0:
                continue
            owner[i] = t
            taken_tracks.add(t)
            self.tracks[t].accept(Candidate(i, feats[i], c), poses)
        for t, track in enumerate(self.tracks):
            if t not in taken_tracks:
                track.miss()
        boxes = [_box(f) for f in feats]
        free = sorted((i for i in range(len(poses)) if owner[i] < 0),
                      key=lambda i: -bbox_diag(feats[i].pts, feats[i].vis))
        left = 0
        for i in free:
            twin = any(owner[j] >= 0 and overlap(boxes[i], boxes[j])
                       > self.config.duplicate_overlap for j in range(len(poses)))
            if twin:
                continue
            if self.wanted and len(self.tracks) >= self.wanted:
                left += 1
                continue
            track = PersonTracker(self.width, self.height, self.fps, self.config.tracker)
            track.accept(Candidate(i, feats[i], 0.0), poses)
            owner[i] = len(self.tracks)
            self.tracks.append(track)
        return owner, left


@dataclass
class People:
    """Everybody followed in a clip: one ``Detections`` per person (in the order they were
    first seen) and, per frame, the poses left to nobody."""

    people: list[Detections]
    untracked: np.ndarray   # (N,) int
    frame_indices: np.ndarray


@dataclass
class SeenFrame:
    """One frame as detection saw it: everybody's poses, what identifies each (measured
    on the frame: ``tracking.pose_features``) and, when hands were asked for, each pose's
    hands (None for a pose nobody was followed in)."""

    index: int
    poses: list[PoseObservation]
    features: list[Features]
    hands: list[HandFrames | None] | None = None


@dataclass
class SeenClip:
    """What one detection run saw, frame by frame, and the clip's picture."""

    frames: list[SeenFrame]
    width: int
    height: int
    fps: float
    source: str

    @property
    def frame_indices(self) -> np.ndarray:
        return np.array([f.index for f in self.frames], np.int64)


def _stack(rows: list[np.ndarray | None], shape: tuple[int, ...]) -> np.ndarray:
    out = np.full((len(rows),) + shape, np.nan, np.float32)
    for k, r in enumerate(rows):
        if r is not None:
            out[k] = r
    return out


def iter_see_people(video: str | Path, start: int = 0, stop: int | None = None,
                    task_path: str | Path | None = None, wanted: int = 0,
                    config: PeopleConfig | None = None, chunk: int = 4,
                    hands: bool = False, keep_from: int | None = None,
                    follow: int | None = None
                    ) -> Generator[tuple[int, int], None, SeenClip]:
    """Detect everybody in frames ``[start, stop)``, keeping the frames from ``keep_from``
    (default ``start``: a chunk's worker detects a few frames early so that MediaPipe's
    tracking has settled). ``wanted`` sets how many poses the landmarker is asked for
    (one more than wanted; 0: ``config.max_poses``).

    With ``hands``, each person's hands are found around their own wrists, one
    ``hands.HandDetector`` per person of a ``PeopleTracker`` following ``follow`` people
    (default ``wanted``; 0 everybody) so each keeps its crops from frame to frame.

    A generator yielding ``(frames_done, frames_total)`` every ``chunk`` frames, as
    ``detect.iter_detect``; its return value is the ``SeenClip``.
    """
    cfg = config or PeopleConfig()
    poses_asked = min(cfg.max_poses, wanted + 1) if wanted else cfg.max_poses
    det_cfg = DetectorConfig(num_poses=poses_asked, fast_tracking=False, tracker=cfg.tracker)
    keep_from = start if keep_from is None else keep_from
    seen: list[SeenFrame] = []
    finders: list[HandDetector] = []   # one per person: each keeps its own crops
    done = 0
    with VideoReader(video) as reader, ExitStack() as stack:
        info = reader.info
        last = stop if stop is not None else (info.frame_count or None)
        total = max((last or 0) - start, 0)
        size = np.array([info.width, info.height], np.float32)
        tracker = PeopleTracker(info.width, info.height, info.fps,
                                wanted if follow is None else follow, cfg)
        with (CropDetector(info.width, info.height, task_path, det_cfg) as detector,
              closing(_Prefetch(reader.frames(start, stop))) as frames):
            for index, rgb in frames:
                poses = detector.detect(rgb, round(index * 1000.0 / info.fps))
                feats = [pose_features(p, rgb, size) for p in poses]
                found = None
                if hands:
                    owner, _ = tracker.observe(poses, feats=feats)
                    while len(finders) < len(tracker.tracks):
                        finders.append(stack.enter_context(HandDetector()))
                    found = [None if t < 0 else finders[t].detect(rgb, p)
                             for t, p in zip(owner, poses)]
                if index >= keep_from:
                    seen.append(SeenFrame(index, poses, feats, found))
                done += 1
                if done % chunk == 0:
                    yield done, max(total, done)
    if not seen:
        raise VideoError(f"no frames in range [{keep_from}, {stop}) of {video}")
    return SeenClip(seen, info.width, info.height, info.fps, str(video))


def follow_people(clip: SeenClip, wanted: int = 0, config: PeopleConfig | None = None,
                  hands: bool = False) -> People:
    """Follow ``wanted`` people (0: everybody) through what detection saw: who is who,
    frame by frame (``PeopleTracker``), and each person's ``Detections``."""
    tracker = PeopleTracker(clip.width, clip.height, clip.fps, wanted, config)
    frames_seen: list[dict[int, int]] = []
    untracked: list[int] = []
    for f in clip.frames:
        owner, left = tracker.observe(f.poses, feats=f.features)
        frames_seen.append({t: i for i, t in enumerate(owner) if t >= 0})
        untracked.append(left)
    indices = clip.frame_indices
    people = []
    for t in range(len(tracker.tracks)):
        seen = [None if t not in mine else f.poses[mine[t]]
                for f, mine in zip(clip.frames, frames_seen)]
        vis = _stack([None if p is None else p.visibility for p in seen], (MP_NUM,))
        vis[np.isnan(vis)] = 0.0
        found = None
        if hands:
            found = HandFrames.join([
                f.hands[mine[t]] if t in mine and f.hands and f.hands[mine[t]] is not None
                else HandFrames.empty(1) for f, mine in zip(clip.frames, frames_seen)])
        people.append(Detections(
            _stack([None if p is None else p.image for p in seen], (MP_NUM, 3)), vis,
            _stack([None if p is None else p.world for p in seen], (MP_NUM, 3)),
            np.array([p is not None for p in seen], bool), indices.copy(), clip.fps, clip.width,
            clip.height, clip.source, None, found))
    return People(people, np.array(untracked, np.int64), indices)


def iter_detect_people(video: str | Path, start: int = 0, stop: int | None = None,
                       task_path: str | Path | None = None, wanted: int = 0,
                       config: PeopleConfig | None = None, chunk: int = 4,
                       hands: bool = False) -> Generator[tuple[int, int], None, People]:
    """Detect and follow ``wanted`` people (0: everybody) in frames ``[start, stop)``
    (``iter_see_people``, then ``follow_people``); ``hands``: each person's hands too.

    A generator yielding ``(frames_done, frames_total)`` every ``chunk`` frames, as
    ``detect.iter_detect``; its return value is the ``People``.
    """
    clip = yield from iter_see_people(video, start, stop, task_path, wanted, config, chunk,
                                      hands)
    return follow_people(clip, wanted, config, hands)
