"""Detection on several cores: a clip cut into consecutive chunks, one worker process each,
stitched back in order.

One serial detection keeps about one and a half cores busy (MediaPipe's own threads, the
decoding thread and the lifting beside it: 8.3 CPU-s in 6.1 s wall for a 10 s 1080p clip),
so the default is one worker per two cores (``default_workers``: on a 2-core machine the
serial path, which measured as fast as two workers there; docs/BENCHMARKS.md). A clip is
cut into ``workers`` consecutive chunks (``plan_chunks``) and each is detected by its own
spawned process running the serial detector (``detect.iter_detect``). A chunk's worker
starts ``warmup`` frames early so that MediaPipe's own tracking and the person tracker have
settled by the chunk's first frame, and hands back its ``Detections`` and its ``PersonTracker``.

Stitching, in order: a chunk is kept when its warm-up frames follow the same person as the
chunk before over those frames (``same_person``). Otherwise (a fresh tracker starts with
the largest person, who may be somebody else) the chunk is detected again in this
process, continuing the previous chunk's tracker, as the serial path would have: one person
is followed through the clip.

Workers are spawned, not forked (safe beside threads and inside Blender), and import only
the engine (the parent's ``__main__`` script is not run again in them). Closing the
generator -- a cancelled job -- terminates every worker at once. Memory stays flat in the
clip's length: each worker streams its frames and returns about 1 kB of landmarks per
frame. A worker decodes and drops the frames before its chunk (exact frame numbers;
decoding costs a small share of the landmarker's time).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import VideoError
from .detect import Detections, DetectorConfig, iter_detect
from .hands import HandFrames
from .observation import PoseObservation
from .tracking import PersonTracker, bbox_diag
from .video import probe_video

WARMUP = 15            # frames each worker detects before its chunk
MIN_CHUNK = 60         # frames per worker at least (shorter clips use fewer workers)
MAX_WORKERS = 4        # the default: one worker per two cores, up to this
CORES_PER_WORKER = 2   # one serial detection keeps about 1.5 cores busy
SAME_PERSON = 0.25     # mean landmark distance over the person's box diagonal
_VISIBLE = 0.5

_progress = None  # in a worker process only: the shared frame counter (``_init_worker``)


def default_workers(cores: int | None = None, per_worker: int = CORES_PER_WORKER) -> int:
    """One worker per ``per_worker`` cores (of ``cores``, default this machine's), at
    least 1 (the serial path) and at most ``MAX_WORKERS``."""
    cores = (os.cpu_count() or 1) if cores is None else cores
    return max(1, min(cores // per_worker, MAX_WORKERS))


def plan_chunks(start: int, stop: int, workers: int, min_chunk: int = MIN_CHUNK
                ) -> list[tuple[int, int]]:
    """Consecutive ``[a, b)`` chunks of ``[start, stop)``: ``workers`` of them, fewer when
    a chunk would be shorter than ``min_chunk`` frames (one for a short clip)."""
    n = max(stop - start, 0)
    k = max(1, min(int(workers), n // max(min_chunk, 1)))
    edges = np.linspace(start, stop, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def same_person(before: Detections, after: Detections, width: int, height: int,
                tol: float = SAME_PERSON) -> bool:
    """Whether two detections of the same frames (matched by frame number) follow the
    same person: where both see someone, their landmarks are on average within ``tol`` of
    the person's bounding-box diagonal; where only one does, they do not."""
    common, ia, ib = np.intersect1d(before.frame_indices, after.frame_indices,
                                    return_indices=True)
    if not len(common):
        return True
    da, db = before.detected[ia], after.detected[ib]
    if (da != db).any():
        return False
    size = np.array([width, height], np.float32)
    dists = []
    for i, j in zip(ia[da], ib[db]):
        pa, pb = before.image[i, :, :2] * size, after.image[j, :, :2] * size
        vis = (before.visibility[i] > _VISIBLE) & (after.visibility[j] > _VISIBLE)
        if vis.sum() < 4:
            continue
        diag = max(bbox_diag(pa, before.visibility[i]), 1e-6)
        dists.append(float(np.linalg.norm(pa[vis] - pb[vis], axis=-1).mean()) / diag)
    return not dists or float(np.median(dists)) <= tol


def _init_worker(counter) -> None:
    global _progress  # noqa: PLW0603 - the worker process's own handle, set once
    _progress = counter


def drain_counting(gen: Generator[tuple[int, int], None, object]) -> object:
    """In a worker: run a detection generator to its return value, adding the frames it
    reports done to the shared counter (``_init_worker``) as it goes."""
    done = 0
    while True:
        try:
            now, _ = next(gen)
        except StopIteration as end:
            value = end.value
            _count(len(getattr(value, "frame_indices", ())) - done)
            return value
        _count(now - done)
        done = now


def _detect_chunk(video: str, start: int, stop: int | None, task_path: str | None,
                  config: DetectorConfig | None) -> tuple[Detections, PersonTracker]:
    """A worker's job: ``iter_detect`` over ``[start, stop)``, counting frames done."""
    info = probe_video(video)
    tracker = PersonTracker(info.width, info.height, info.fps,
                            (config or DetectorConfig()).tracker)
    dets = drain_counting(iter_detect(video, start, stop, task_path, config, chunk=4,
                                      tracker=tracker))
    return dets, tracker


def _count(frames: int) -> None:
    if _progress is not None and frames > 0:
        with _progress.get_lock():
            _progress.value += frames


@contextmanager
def _engine_only_main() -> Iterator[None]:
    """Spawned workers re-import the parent's ``__main__`` (a script, or Blender's); hide
    it while they start, so that they import the engine and nothing else."""
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if hasattr(main, k)}
    if "__file__" in saved:
        del main.__file__
    main.__spec__ = None
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _others(d: Detections) -> np.ndarray:
    return np.zeros(len(d), bool) if d.others is None else d.others


def _slice(d: Detections, first: int) -> Detections:
    """The frames of ``d`` from frame number ``first`` on."""
    keep = d.frame_indices >= first
    return Detections(d.image[keep], d.visibility[keep], d.world[keep], d.detected[keep],
                      d.frame_indices[keep], d.fps, d.width, d.height, d.source,
                      _others(d)[keep], None if d.hands is None else d.hands.take(keep))


def _join(parts: list[Detections]) -> Detections:
    p0 = parts[0]
    return Detections(*(np.concatenate([getattr(p, k) for p in parts])
                        for k in ("image", "visibility", "world", "detected", "frame_indices")),
                      p0.fps, p0.width, p0.height, p0.source,
                      np.concatenate([_others(p) for p in parts]),
                      None if p0.hands is None else HandFrames.join([p.hands for p in parts]))


def _observations(d: Detections) -> Iterator[PoseObservation | None]:
    for k in range(len(d)):
        yield (PoseObservation(d.image[k], d.visibility[k], d.world[k]) if d.detected[k]
               else None)


def clip_plan(video: str | Path, start: int, stop: int | None, workers: int,
              min_chunk: int = MIN_CHUNK, per_worker: int = CORES_PER_WORKER
              ) -> list[tuple[int, int]]:
    """``plan_chunks`` for frames ``[start, stop)`` of ``video`` (``stop`` None: to the
    end; one chunk when the clip's length is unknown); ``workers`` 0: one per
    ``per_worker`` cores (``default_workers``)."""
    info = probe_video(video)
    known = [x for x in (stop, info.frame_count or None) if x is not None]
    return plan_chunks(start, min(known) if known else start,
                       workers or default_workers(per_worker=per_worker), min_chunk)


def chunk_starts(plan: list[tuple[int, int]], start: int, warmup: int) -> list[int]:
    """Where each chunk's worker starts: ``warmup`` frames before its chunk (not before
    ``start``; the first chunk at its own start)."""
    return [a if k == 0 else max(a - warmup, start) for k, (a, _) in enumerate(plan)]


def chunk_stop(plan: list[tuple[int, int]], k: int, stop: int | None) -> int | None:
    """Where chunk ``k``'s worker stops: its end, or the clip's end for the last chunk
    when no ``stop`` was asked (the container's frame count is only a hint)."""
    return None if (k == len(plan) - 1 and stop is None) else plan[k][1]


def run_chunks(job: Callable[..., object], args: list[tuple], total: int, shown: int = 0
               ) -> Generator[tuple[int, int], None, list]:
    """``job(*a)`` for each ``a`` in ``args``, each on its own spawned worker process.

    Yields ``(frames_done, shown)`` about every 50 ms while they run (``job`` counts its
    ``total`` frames, warm-up frames included, with ``drain_counting``; the count is shown
    scaled to ``shown`` frames, the clip's own, when given); returns their results in
    order. A chunk after the first whose worker finds no frames (the clip ends before it)
    ends the list there. Closing the generator (a cancelled job) terminates every worker
    at once.
    """
    ctx = multiprocessing.get_context("spawn")
    counter = ctx.Value("l", 0)
    with _engine_only_main():
        pool = ctx.Pool(len(args), initializer=_init_worker, initargs=(counter,))
    try:
        jobs = [pool.apply_async(job, a) for a in args]
        while not all(j.ready() for j in jobs):
            next(j for j in jobs if not j.ready()).wait(0.05)
            done = min(counter.value, total)
            yield (round(done * shown / max(total, 1)), shown) if shown else (done, total)
        results = []
        for k, j in enumerate(jobs):
            try:
                results.append(j.get())
            except VideoError:
                if k == 0:  # the clip ends before a later chunk: that chunk is empty
                    raise
                break
        pool.close()
    finally:
        pool.terminate()
        pool.join()
    return results


def iter_detect_parallel(video: str | Path, start: int = 0, stop: int | None = None,
                         task_path: str | Path | None = None,
                         config: DetectorConfig | None = None, workers: int = 0,
                         on_frame: Callable[[PoseObservation | None], None] | None = None,
                         min_chunk: int = MIN_CHUNK, warmup: int = WARMUP
                         ) -> Generator[tuple[int, int], None, Detections]:
    """``detect.iter_detect`` on ``workers`` processes (0: ``default_workers``; a clip too
    short for two chunks, or of unknown length, runs in this process). Yields
    ``(frames_done, frames_total)`` about every 50 ms while the workers run; returns the
    stitched ``Detections``; ``on_frame`` sees every frame's pose in order once stitched."""
    info = probe_video(video)
    plan = clip_plan(video, start, stop, workers, min_chunk)
    if len(plan) < 2:
        return (yield from iter_detect(video, start, stop, task_path, config,
                                       on_frame=on_frame))
    firsts = chunk_starts(plan, start, warmup)
    total = sum(b - f for f, (_, b) in zip(firsts, plan))
    shown = plan[-1][1] - plan[0][0]   # the progress counts the clip's frames
    results = yield from run_chunks(_detect_chunk, [
        (str(video), f, chunk_stop(plan, k, stop), None if task_path is None
         else str(task_path), config) for k, f in enumerate(firsts)], total, shown)
    parts: list[Detections] = []
    tracker = None
    for k, (dets, chunk_tracker) in enumerate(results):
        a, b = plan[k]
        if k and not same_person(parts[-1], dets, info.width, info.height):
            # a fresh tracker took somebody else: detect the chunk again, continuing
            gen = iter_detect(video, a, chunk_stop(plan, k, stop), task_path, config,
                              tracker=tracker)
            shown += b - a
            while True:
                try:
                    done, _ = next(gen)
                except StopIteration as end:
                    dets = end.value
                    break
                yield shown - (b - a) + done, shown
            chunk_tracker = tracker
        parts.append(_slice(dets, a))
        tracker = chunk_tracker
        if on_frame is not None:
            for pose in _observations(parts[-1]):
                on_frame(pose)
    return _join(parts)
