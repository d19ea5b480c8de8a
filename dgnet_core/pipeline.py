"""The whole video -> 3D joints job: detect, adapt, fill gaps, lift, smooth, place.

Owns the order of the stages and how the job is driven. The job's shape (``PipelineOptions``
in, ``Progress`` while running, ``LiftResult`` out) is ``contract``'s; which model runs
where is ``backend``'s; the threads are ``early_lift``'s.

* ``iter_pipeline``: a generator doing a small bounded amount of work per ``next()`` (a few
  frames of detection, one lifting batch) and yielding ``Progress``; closing it (a cancelled
  job) or dropping it stops and joins the pipeline's threads.
* ``PipelineJob``: one run of that generator, advanced in time-boxed ``step``s (a Blender
  modal timer) or ``run`` to the end with a progress callback; ``close`` cancels.
* ``run_pipeline``: the whole job in one call, given options and optionally a lifter,
  detections (skipping detection) and a progress callback.

Frames are streamed: memory is flat in the clip length (about 1 kB of landmarks per frame).
Lifting overlaps detection: every frame whose whole window has been detected is lifted on
a background thread while MediaPipe works on the next frames (the video is decoded on a
third, see ``detect.iter_detect``); frames next to gaps or the clip's end are lifted after
gap filling. The result is the same as lifting afterwards.

Placing cleans the motion up (``motion.place.MotionOptions``; ``cleanup`` and ``foot_lock``
switch it): one body per clip, knee/elbow limits, root depth per clip, the floor from foot
contacts, an upright stance and locked feet; ``LiftResult.rest_offsets`` is that body,
which the BVH writer and the add-on's armature share.

    result = run_pipeline("clip.mp4", PipelineOptions(smoothing="one_euro"),
                          progress=lambda p: print(p.message))
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .contract import LiftResult, PipelineOptions, Progress, ProgressCallback
from .detection.detect import Detections, DetectorConfig
from .detection.gaps import detected_span, fill_gaps, split_segments
from .detection.parallel import iter_detect_parallel
from .detection.video import probe_video
from .errors import NoPersonError
from .lifting.backend import make_lifter
from .lifting.early_lift import EarlyLift, LiftWorker, iter_lift
from .lifting.lifter import Lifter
from .motion.body import fit_body, pose_body
from .motion.camera import intrinsics
from .motion.feet import foot_directions
from .motion.filters import smooth
from .motion.hands import solve_hands
from .motion.place import place
from .skeleton import mediapipe_to_h36m

__all__ = ["LiftResult", "PipelineJob", "PipelineOptions", "Progress", "ProgressCallback",
           "iter_pipeline", "make_lifter", "run_pipeline"]

# Share of the progress bar per stage (detection dominates the run time).
_DETECT, _LIFT = 0.85, 0.13


@dataclass
class _Clip:
    """The detected span of the clip: 2D joints trimmed to the first/last detection, gaps
    filled."""

    span: slice                 # of the detections
    detected: np.ndarray        # (n,) bool
    frames: np.ndarray          # (n,) video frame numbers
    kp: np.ndarray              # (n, 17, 2) pixels
    conf: np.ndarray            # (n, 17), 0 where filled
    gaps: list[tuple[int, int]]
    note: str                   # what was trimmed, for the progress message
    segments: list[tuple[int, int]]  # stretches between gaps longer than max_gap


def _prepare(det: Detections, max_gap: int, name: str) -> _Clip:
    """Trim, adapt to 17 joints, split at gaps longer than ``max_gap`` and fill the shorter
    ones (``NoPersonError`` when nobody is seen). In a long gap the last pose's 2D is held
    with confidence 0 (the frames belong to no segment)."""
    if not det.detected.any():
        raise NoPersonError(f"no person detected in any of the {len(det)} frames of "
                            f"{name} (frames {int(det.frame_indices[0])}-"
                            f"{int(det.frame_indices[-1])})")
    first, last = detected_span(det.detected)
    span = slice(first, last)
    detected, frames = det.detected[span], det.frame_indices[span]
    kp, conf = mediapipe_to_h36m(det.pixels()[span], det.visibility[span])
    segments = split_segments(detected, max_gap)
    gaps: list[tuple[int, int]] = []
    for k, (a, b) in enumerate(segments):
        kp[a:b], filled = fill_gaps(kp[a:b], detected[a:b], max_gap, frames[a:b])
        gaps += [(a + g0, a + g1) for g0, g1 in filled]
        if k + 1 < len(segments):
            kp[b:segments[k + 1][0]] = kp[b - 1]
    conf = np.where(detected[:, None], conf, 0.0)
    note = f" (no person in the first {first} / last {len(det) - last} frames: trimmed)" \
        if first or last < len(det) else ""
    return _Clip(span, detected, frames, kp, conf, gaps, note, segments)


def _detect(video: Path, opts: PipelineOptions, early: EarlyLift, worker: LiftWorker,
            gens: list) -> Generator[Progress, None, Detections]:
    """Detection, handing frames to ``early`` as they come (the decoder generator is put in
    ``gens`` so that the caller closes it however the job ends)."""
    gen = iter_detect_parallel(video, opts.frame_start, opts.frame_stop, opts.task_path,
                               DetectorConfig(hands=opts.hands), workers=opts.workers,
                               on_frame=early.add)
    gens.append(gen)
    while True:
        try:
            done, total = next(gen)
        except StopIteration as stop:
            return stop.value
        early.schedule()
        worker.check()
        frac = done / total if total else 0.5
        yield Progress("detect", _DETECT * min(frac, 1.0),
                       f"detecting: frame {done}/{total or '?'}")


def _lift(clip: _Clip, lifter: Lifter, worker: LiftWorker, w: int, h: int, K: np.ndarray
          ) -> Generator[Progress, None, np.ndarray]:
    """Root-relative 3D of every frame: the worker's pieces, then the rest."""
    n = len(clip.kp)
    yield Progress("lift", _DETECT, f"lifting {n} frames, {len(clip.gaps)} gaps filled"
                   f"{clip.note}")
    while not worker.wait(0.05):  # pieces still queued: lifted while we wait
        yield Progress("lift", _DETECT, "lifting")
    pose_rel = np.empty((n, clip.kp.shape[1], 3), np.float32)
    todo = np.ones(n, bool)
    for s, y in worker.results:
        pose_rel[s:s + len(y)] = y
        todo[s:s + len(y)] = False
    early_done = n - int(todo.sum())
    worker.close()
    kp, conf = clip.kp.astype(np.float32), clip.conf.astype(np.float32)
    for a, b in clip.segments:  # each segment on its own (windows never cross a long gap)
        for done in iter_lift(lifter, kp[a:b], conf[a:b], w, h, intrinsics=K,
                              out=pose_rel[a:b], todo=todo[a:b]):
            done += early_done
            yield Progress("lift", _DETECT + _LIFT * done / n, f"lifting: frame {done}/{n}")
        early_done += int(todo[a:b].sum())
    for (_, b), (a2, _) in zip(clip.segments, clip.segments[1:]):
        pose_rel[b:a2] = pose_rel[b - 1]  # the last pose held through a long gap
    return pose_rel


def _place(clip: _Clip, det: Detections, pose_rel: np.ndarray, K: np.ndarray,
           opts: PipelineOptions, w: int, h: int) -> LiftResult:
    """Smooth, place in the world (each segment on its own, one body for all of them) and
    assemble the result."""
    fps = det.fps
    pose_rel = pose_rel.astype(np.float64)
    for a, b in clip.segments:
        pose_rel[a:b] = smooth(pose_rel[a:b], opts.smoothing, fps)
    pose_rel = pose_rel - pose_rel[:, :1]
    lifted = pose_rel.astype(np.float32)
    motion = opts.motion()
    body = None
    if motion.fit_body and len(clip.segments) > 1:  # one body for the whole clip
        seen = np.concatenate([np.arange(a, b) for a, b in clip.segments])
        body = fit_body(pose_rel[seen], clip.conf[seen])
        pose_rel = pose_body(pose_rel, body)
        motion = replace(motion, fit_body=False)
    n = len(pose_rel)
    world = np.empty((n, pose_rel.shape[1], 3), np.float32)
    camera = np.empty_like(world)
    contacts = np.zeros((n, 2), bool)
    placements = []
    for a, b in clip.segments:
        p = place(pose_rel[a:b], clip.kp[a:b], clip.conf[a:b], K, fps,
                  lambda x: smooth(x, opts.smoothing, fps), motion)
        world[a:b], camera[a:b], contacts[a:b] = p.joints_world, p.joints_camera, p.contacts
        placements.append(p)
    for (_, b), (a2, _) in zip(clip.segments, clip.segments[1:]):
        world[b:a2], camera[b:a2] = world[b - 1], camera[b - 1]  # held through the gap
    longest = max(range(len(placements)), key=lambda k: np.subtract(*clip.segments[k][::-1]))
    offsets = body.offsets if body is not None else placements[longest].rest_offsets
    to_world = placements[longest].camera_to_world
    return LiftResult(
        joints_world=world, joints_camera=camera,
        keypoints_2d=clip.kp.astype(np.float32), confidence=clip.conf.astype(np.float32),
        mp_world=det.world[clip.span].astype(np.float32),
        mp_image=det.image[clip.span].astype(np.float32),
        contacts=contacts, detected=clip.detected.copy(),
        frame_indices=clip.frames.copy(), fps=float(fps), width=int(w), height=int(h),
        intrinsics=K.astype(np.float64), gaps=clip.gaps,
        source=str(det.source), rest_offsets=offsets,
        joints_lifted=lifted,
        foot_dirs=foot_directions(det.world[clip.span],
                                  placements[longest].camera_to_world, contacts, world,
                                  fps).astype(np.float32),
        segments=list(clip.segments) if len(clip.segments) > 1 else None,
        others=None if det.others is None else det.others[clip.span].copy(),
        hands=None if det.hands is None else solve_hands(det.hands.take(clip.span), fps,
                                                         to_world, det.width, det.height))


def iter_pipeline(video: str | Path, options: PipelineOptions | None = None, *,
                  lifter: Lifter | None = None, detections: Detections | None = None
                  ) -> Generator[Progress, None, LiftResult]:
    """The job as a generator of ``Progress``; the ``LiftResult`` is StopIteration.value.

    ``lifter`` overrides the model from the options; ``detections`` (from
    ``detect.iter_detect`` over the same frame range) skips the detection stage.
    Raises ``VideoError``, ``NoPersonError``, ``WeightsError`` or ``ValueError`` (options).
    While detecting, frames whose windows are complete are lifted on a background thread
    (``early_lift``); closing the generator (or dropping it) stops and joins that thread.
    """
    opts = options or PipelineOptions()  # validated when it was made
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
    worker = LiftWorker(lifter, w, h, K)
    gens: list = []
    try:
        yield Progress("detect", 0.0, f"detecting the person in {video.name}")
        if detections is None:
            # tiled reading needs aligned pieces: it is cheap enough to lift afterwards
            early = EarlyLift(worker, w, h, before, after, enabled=lifter.tile == 1)
            detections = yield from _detect(video, opts, early, worker, gens)
        clip = _prepare(detections, opts.max_gap, video.name)
        pose_rel = yield from _lift(clip, lifter, worker, w, h, K)
    finally:
        for gen in gens:
            gen.close()  # stops the video's decoding thread now, not at garbage collection
        worker.close()
    yield Progress("place", _DETECT + _LIFT, "placing in the scene")
    result = _place(clip, detections, pose_rel, K, opts, w, h)
    yield Progress("done", 1.0, f"{len(result)} frames lifted")
    return result


class PipelineJob:
    """One run of the pipeline: ``step`` advances it for a bounded time (a modal timer's
    tick), ``run`` drives it to the end, ``close`` cancels it (threads joined, files and
    models released). ``progress`` is the latest ``Progress``; ``result`` the ``LiftResult``
    once done (``gen``: drive that job generator instead, e.g. ``people.iter_people``, and
    ``result`` is its return value). Errors (``LiftError``, ``ValueError``) propagate from
    ``step``/``run``."""

    def __init__(self, video: str | Path, options: PipelineOptions | None = None, *,
                 lifter: Lifter | None = None, detections: Detections | None = None,
                 gen: Generator[Progress, None, object] | None = None) -> None:
        self.video = Path(video)
        self.options = options or PipelineOptions()
        self.progress = Progress("detect", 0.0, "starting")
        self.result: LiftResult | None = None
        self._gen = gen if gen is not None else iter_pipeline(
            self.video, self.options, lifter=lifter, detections=detections)

    def step(self, budget_s: float = 0.05) -> bool:
        """Advance for about ``budget_s`` seconds (at least one pipeline step); True when
        the result is ready."""
        t0 = time.perf_counter()
        while self.result is None:
            try:
                self.progress = next(self._gen)
            except StopIteration as stop:
                self.result = stop.value
                break
            if time.perf_counter() - t0 >= budget_s:
                return False
        return True

    def run(self, progress: ProgressCallback | None = None) -> LiftResult:
        """Drive the job to its end, calling ``progress`` with every ``Progress``."""
        try:
            while not self.step(0.0):
                if progress is not None:
                    progress(self.progress)
        except BaseException:
            self.close()
            raise
        return self.result

    def close(self) -> None:
        """Stop the job: the generator is closed and the pipeline's threads are joined."""
        self._gen.close()


def run_pipeline(video: str | Path, options: PipelineOptions | None = None, *,
                 lifter: Lifter | None = None, detections: Detections | None = None,
                 progress: ProgressCallback | None = None) -> LiftResult:
    """The whole job: ``lifter`` overrides the options' model, ``detections`` (from
    ``detect.iter_detect`` over the same frame range) skips detection, ``progress`` is
    called with each ``Progress`` (the first comes after the video, options and model have
    been checked)."""
    return PipelineJob(video, options, lifter=lifter, detections=detections).run(progress)
