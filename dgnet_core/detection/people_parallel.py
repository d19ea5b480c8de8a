"""Several people (``--people``) detected on several cores: the clip's chunks seen by
worker processes, everybody followed once, in order, in this process.

Following people is cheap and needs the whole clip in order (who someone is depends on
every frame before); detecting them (MediaPipe on every crop of every frame) is the cost.
So the clip is cut as for one person (``parallel.plan_chunks``), each worker runs
``people.iter_see_people`` over its chunk, starting ``warmup`` frames early so that
MediaPipe's own tracking (and each person's held hand crops) have settled by the chunk's
first frame, and returns the poses it saw with their identity features and hands. This
process joins the chunks' frames in order and runs ``people.follow_people`` over them as
the serial path does: the same identities through crossings, leaving and coming back,
whatever the chunk borders. The poses differ from the serial run's only where a worker's
landmarker started afresh (the warm-up frames).

The default is one worker per core (``PEOPLE_CORES_PER_WORKER``), not per two as for one
person: the people detector runs its landmarkers one after another on one thread (CPU
time 1.05 x wall), so a 2-core machine gains from two workers (docs/BENCHMARKS.md:
1.36 x faster on a 261-frame 1080p clip with two people).

Memory, progress and cancelling as in ``parallel``: workers stream their frames and
return landmarks and features (a few kB per frame); closing the generator terminates
every worker at once.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from .parallel import (
    MIN_CHUNK,
    WARMUP,
    chunk_starts,
    chunk_stop,
    clip_plan,
    drain_counting,
    run_chunks,
)
from .people import People, PeopleConfig, SeenClip, follow_people, iter_see_people

PEOPLE_CORES_PER_WORKER = 1   # the people detector keeps about one core busy


def _see_chunk(video: str, first: int, start: int, stop: int | None, task_path: str | None,
               wanted: int, config: PeopleConfig | None, hands: bool) -> SeenClip:
    """A worker's job: everybody in frames ``[first, stop)``, kept from ``start`` on."""
    return drain_counting(iter_see_people(video, first, stop, task_path, wanted, config,
                                          hands=hands, keep_from=start, follow=0))


def iter_detect_people_parallel(video: str | Path, start: int = 0, stop: int | None = None,
                                task_path: str | Path | None = None, wanted: int = 0,
                                config: PeopleConfig | None = None, hands: bool = False,
                                workers: int = 0, min_chunk: int = MIN_CHUNK,
                                warmup: int = WARMUP
                                ) -> Generator[tuple[int, int], None, People]:
    """``people.iter_detect_people`` with detection on ``workers`` processes (0: one per
    core, up to ``parallel.MAX_WORKERS``; a clip too short for two chunks, or of unknown length,
    runs in this process). Yields ``(frames_done, frames_total)`` while the workers run;
    returns the ``People``."""
    plan = clip_plan(video, start, stop, workers, min_chunk, PEOPLE_CORES_PER_WORKER)
    if len(plan) < 2:
        clip = yield from iter_see_people(video, start, stop, task_path, wanted, config,
                                          hands=hands)
    else:
        firsts = chunk_starts(plan, start, warmup)
        total = sum(b - f for f, (_, b) in zip(firsts, plan))
        chunks = yield from run_chunks(_see_chunk, [
            (str(video), f, a, chunk_stop(plan, k, stop),
             None if task_path is None else str(task_path), wanted, config, hands)
            for k, (f, (a, _)) in enumerate(zip(firsts, plan))], total,
            plan[-1][1] - plan[0][0])
        clip = SeenClip([f for c in chunks for f in c.frames], chunks[0].width,
                        chunks[0].height, chunks[0].fps, chunks[0].source)
    return follow_people(clip, wanted, config, hands)
