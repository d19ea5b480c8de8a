"""Several people from one clip (``--people N|all``): follow them, lift each, one world.

Owns the multi-person job: ``detection.people`` follows everybody asked for; each person
seen in at least ``contract.SHORT_CLIP`` frames then goes through the single-person
pipeline (``pipeline.iter_pipeline`` with their detections: gaps, segments, lifting,
placement), and ``one_world`` puts them all in one world:

* the floor and camera of the person seen longest (their feet fitted the floor) are
  everybody's: each person's camera-space motion is turned with that one camera -> world
  rotation and lifted by that one camera height;
* each other person's distance from the camera, which one view only knows from their
  body size, is set so that their planted feet stand on that floor: their camera-space
  joints are scaled about the camera (distance and size together, so their picture stays
  the same), by the median over their contact frames, within ``DEPTH_LIMITS``. So people
  stand on one floor at the distance apart their feet show.

``PeopleResult`` is the list of ``LiftResult`` (each with ``person`` 1, 2, ...) plus the
notes about the crowd (people seen too briefly, more people than asked for).

    people = run_people("two.mp4", PipelineOptions(people=0))
    for r in people: print(r.person, len(r))
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .contract import SHORT_CLIP, LiftResult, PipelineOptions, Progress, ProgressCallback
from .detection.people import People
from .detection.people_parallel import iter_detect_people_parallel
from .detection.video import probe_video
from .errors import NoPersonError
from .lifting.backend import make_lifter
from .lifting.lifter import Lifter
from .pipeline import PipelineJob, iter_pipeline
from .rotations import kabsch
from .skeleton import ANKLE_HEIGHT, LFOOT, RFOOT

_DETECT = 0.8          # share of the progress bar for detection
DEPTH_LIMITS = (0.7, 1.4)   # how far one_world may rescale a person (distance and size)


@dataclass
class PeopleResult:
    """Everybody lifted from one clip (a list of ``LiftResult``) and notes on the crowd."""

    people: list[LiftResult]
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[LiftResult]:
        return iter(self.people)

    def __len__(self) -> int:
        return len(self.people)

    def __getitem__(self, k: int) -> LiftResult:
        return self.people[k]

    def warnings(self) -> list[str]:
        """The crowd's notes, then each person's warnings prefixed with who it is."""
        return self.notes + [f"person {r.person}: {w}" for r in self.people
                             for w in r.warnings()]


def camera_pose(result: LiftResult) -> tuple[np.ndarray, float]:
    """(R, height) with ``world = R @ camera + (0, 0, height)`` for a placed result (the
    rotation fitted to its camera and world joints; exact for the pipeline's output)."""
    cam = np.asarray(result.joints_camera, np.float64).reshape(-1, 3)
    world = np.asarray(result.joints_world, np.float64).reshape(-1, 3)
    ok = np.isfinite(cam).all(axis=1) & np.isfinite(world).all(axis=1)
    cam, world = cam[ok], world[ok]
    rot = kabsch(cam - cam.mean(axis=0), (world - world.mean(axis=0))[None])[0]
    height = float(np.median(world[:, 2] - cam @ rot.T[:, 2]))
    return rot, height


def depth_scale(result: LiftResult, rot: np.ndarray, height: float) -> float:
    """The factor on the person's camera-space joints (distance and size together: the
    one change that keeps their picture the same) that puts their planted ankles at
    ``ANKLE_HEIGHT`` over the floor of camera pose (rot, height); each frame's lower ankle
    when no foot is planted. 1 when it cannot be told (a camera no higher than the feet)."""
    cam = np.asarray(result.joints_camera, np.float64)
    seen = np.asarray(result.detected, bool)
    contacts = np.asarray(result.contacts, bool) & seen[:, None]
    below = cam[:, [LFOOT, RFOOT]] @ rot[2]   # (N, 2) ankle heights over the camera
    if not contacts.any():  # nobody standing: each seen frame's lower ankle
        contacts = np.zeros_like(contacts)
        contacts[np.arange(len(below)), np.argmin(below, axis=1)] = True
        contacts &= seen[:, None]
    depth = below[contacts]
    ok = depth < -0.1  # an ankle at least 10 cm below the camera
    if not ok.any():
        return 1.0
    s = (ANKLE_HEIGHT - height) / depth[ok]
    s = s[s > 0]
    return float(np.clip(np.median(s), *DEPTH_LIMITS)) if s.size else 1.0


def one_world(results: list[LiftResult]) -> None:
    """Put every result in the world of the one seen longest (see the module docstring);
    changes ``joints_camera``, ``joints_world``, ``foot_dirs``, the hands' palm frames
    and ``rest_offsets`` (the body, scaled with the distance) in place."""
    if len(results) < 2:
        return
    ref = max(results, key=lambda r: int(np.count_nonzero(r.detected)))
    rot, height = camera_pose(ref)
    for r in results:
        if r is ref:
            continue
        own, _ = camera_pose(r)
        scale = depth_scale(r, rot, height)
        cam = np.asarray(r.joints_camera, np.float64) * scale
        world = cam @ rot.T
        world[..., 2] += height
        r.joints_camera = cam.astype(np.float32)
        r.joints_world = world.astype(np.float32)
        if r.rest_offsets is not None:
            r.rest_offsets = np.asarray(r.rest_offsets) * scale
        turn = rot @ own.T   # world directions of its own camera -> this world
        if r.foot_dirs is not None:
            r.foot_dirs = (np.asarray(r.foot_dirs, np.float64) @ turn.T).astype(np.float32)
        if r.hands is not None:
            r.hands.palm = (turn @ np.asarray(r.hands.palm, np.float64)).astype(np.float32)


def _crowd_notes(people: People, kept: list[int], wanted: int) -> list[str]:
    notes = []
    brief = [int(np.count_nonzero(d.detected)) for k, d in enumerate(people.people)
             if k not in kept]
    if brief:
        notes.append(f"{len(brief)} more {'person was' if len(brief) == 1 else 'people were'}"
                     f" seen in fewer than {SHORT_CLIP} frames ({', '.join(map(str, brief))}"
                     f"): not lifted")
    extra = np.flatnonzero(people.untracked > 0)
    if wanted and extra.size:
        first = int(people.frame_indices[extra[0]])
        most = wanted + int(people.untracked.max())
        notes.append(f"more people in view than asked for (up to {most}, first at frame "
                     f"{first}): the {wanted} seen first are lifted (--people all for "
                     f"everybody)")
    return notes


def _relay(gen: Generator, show) -> Generator[Progress, None, object]:
    """Run ``gen`` to its return value, yielding ``show(item)`` for each item it yields."""
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        yield show(item)


def iter_people(video: str | Path, options: PipelineOptions | None = None, *,
                lifter: Lifter | None = None) -> Generator[Progress, None, PeopleResult]:
    """The multi-person job as a generator of ``Progress``; the ``PeopleResult`` is its
    return value. ``options.people``: how many (0: everybody). Raises ``NoPersonError``
    when nobody is seen long enough, and the pipeline's errors."""
    opts = options or PipelineOptions(people=0)
    video = Path(video)
    probe_video(video)  # VideoError before any model is loaded
    if lifter is None:
        lifter = make_lifter(opts)
    what = "everybody" if opts.people == 0 else f"{opts.people} people"
    yield Progress("detect", 0.0, f"detecting {what} in {video.name}")
    gen = iter_detect_people_parallel(video, opts.frame_start, opts.frame_stop,
                                      opts.task_path, opts.people, hands=opts.hands,
                                      workers=opts.workers)
    try:
        people = yield from _relay(gen, lambda p: Progress(
            "detect", _DETECT * min(p[0] / p[1] if p[1] else 0.5, 1.0),
            f"detecting {what}: frame {p[0]}/{p[1] or '?'}"))
    finally:
        gen.close()
    kept = [k for k, d in enumerate(people.people)
            if np.count_nonzero(d.detected) >= SHORT_CLIP]
    if not kept:
        raise NoPersonError(f"nobody seen in {SHORT_CLIP} or more of the "
                            f"{len(people.frame_indices)} frames of {video.name}")
    single = replace(opts, people=1)
    results = []
    for n, k in enumerate(kept):
        job = iter_pipeline(video, single, lifter=lifter, detections=people.people[k])
        result = yield from _relay(job, lambda p, n=n: Progress(
            p.stage, _DETECT + (1 - _DETECT) * (n + p.fraction) / len(kept),
            f"person {n + 1} of {len(kept)}: {p.message}"))
        result.person = n + 1
        results.append(result)
    one_world(results)
    yield Progress("done", 1.0, f"{len(results)} people lifted")
    return PeopleResult(results, _crowd_notes(people, kept, opts.people))


def make_job(video: str | Path, options: PipelineOptions) -> PipelineJob:
    """The job ``options`` ask for: one person, or several (``options.people`` not 1:
    ``iter_people`` driven by the same ``PipelineJob``, its ``result`` a ``PeopleResult``)."""
    if options.people == 1:
        return PipelineJob(video, options)
    return PipelineJob(video, options, gen=iter_people(video, options))


def job_results(job: PipelineJob) -> tuple[list[LiftResult], list[str]]:
    """A finished job's results (one per person) and its warning lines."""
    res = job.result
    if isinstance(res, PeopleResult):
        return list(res), res.warnings()
    return [res], res.warnings()


def run_people(video: str | Path, options: PipelineOptions | None = None, *,
               lifter: Lifter | None = None, progress: ProgressCallback | None = None
               ) -> PeopleResult:
    """``iter_people`` run to the end, calling ``progress`` with each ``Progress``."""
    gen = iter_people(video, options, lifter=lifter)
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None:
            progress(p)
