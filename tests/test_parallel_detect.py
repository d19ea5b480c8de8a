"""Detection on several worker processes (dgnet_core.detection.parallel): the chunk plan,
the stitching test, and the real thing against the serial detector on shared clips."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from dgnet_core.detection import parallel
from dgnet_core.detection.detect import Detections, detect_video
from dgnet_core.detection.parallel import iter_detect_parallel, plan_chunks, same_person


def _run(gen):
    steps = 0
    while True:
        try:
            next(gen)
            steps += 1
        except StopIteration as end:
            return end.value, steps


def test_plan_covers_the_range_in_order():
    plan = plan_chunks(10, 250, 4, min_chunk=60)
    assert plan == [(10, 70), (70, 130), (130, 190), (190, 250)]
    assert plan_chunks(0, 150, 4, min_chunk=60) == [(0, 75), (75, 150)]  # 2 x >= 60
    assert plan_chunks(0, 100, 4, min_chunk=60) == [(0, 100)]  # too short to split
    assert plan_chunks(0, 0, 2) == [(0, 0)]


def _dets(frames, shift=0.0, detected=None) -> Detections:
    rng = np.random.default_rng(0)
    n = len(frames)
    body = rng.uniform(0.3, 0.6, (33, 3)).astype(np.float32)
    image = np.repeat(body[None], n, 0) + np.float32(shift)
    found = np.ones(n, bool) if detected is None else np.asarray(detected, bool)
    image[~found] = np.nan
    vis = np.where(found[:, None], np.full((n, 33), 0.9), 0.0).astype(np.float32)
    return Detections(image, vis, np.zeros((n, 33, 3), np.float32), found,
                      np.asarray(frames), 30.0, 640, 480, "x.mp4")


def test_same_person_compares_the_shared_frames():
    a = _dets(range(0, 20))
    assert same_person(a, _dets(range(10, 40), shift=0.005), 640, 480)   # 3 px apart
    assert not same_person(a, _dets(range(10, 40), shift=0.3), 640, 480)  # somebody else
    miss = np.ones(30, bool)
    miss[2] = False  # one of them sees nobody where the other sees someone
    assert not same_person(a, _dets(range(10, 40), detected=miss), 640, 480)
    assert same_person(a, _dets(range(30, 40), shift=0.3), 640, 480)  # nothing shared


@pytest.fixture(scope="module")
def squat(videos_dir):
    clip = videos_dir / "squat_overlay_640x360.mp4"
    return clip, detect_video(clip)


def _gap_px(a: Detections, b: Detections) -> np.ndarray:
    both = a.detected & b.detected
    size = np.array([a.width, a.height])
    return np.linalg.norm((a.image[both, :, :2] - b.image[both, :, :2]) * size, axis=-1
                          ).mean(axis=1)


def test_parallel_detection_matches_the_serial_one(squat):
    clip, serial = squat
    got, steps = _run(iter_detect_parallel(clip, workers=3, min_chunk=40))
    assert steps > 1  # progress came while the workers ran
    assert np.array_equal(got.frame_indices, serial.frame_indices)
    assert (got.detected == serial.detected).mean() > 0.97
    gap = _gap_px(got, serial)
    assert np.all(gap[:40] == 0.0)  # the first chunk is the serial detector's own run
    # later chunks start MediaPipe afresh: the same person within a few pixels
    assert np.median(gap) < 0.02 * serial.height, np.median(gap)
    assert not multiprocessing.active_children()


def test_a_chunk_that_follows_somebody_else_is_detected_again(squat, monkeypatch):
    clip, serial = squat
    asked = []

    def never(*args, **kwargs):
        asked.append(1)
        return False

    monkeypatch.setattr(parallel, "same_person", never)
    got, _ = _run(iter_detect_parallel(clip, workers=2, min_chunk=40))
    assert len(asked) == 1  # the second chunk, detected again continuing the first's track
    assert np.array_equal(got.frame_indices, serial.frame_indices)
    assert np.median(_gap_px(got, serial)) < 0.02 * serial.height


def test_closing_the_job_stops_every_worker(squat):
    clip, _ = squat
    gen = iter_detect_parallel(clip, workers=2, min_chunk=40)
    next(gen)
    assert len(multiprocessing.active_children()) == 2
    gen.close()
    assert not multiprocessing.active_children()


def test_two_people_the_same_person_throughout(videos_dir):
    clip = videos_dir / "two_people_1080p.avi"
    serial = detect_video(clip)
    got, _ = _run(iter_detect_parallel(clip, workers=2, min_chunk=30))
    assert (got.detected == serial.detected).mean() > 0.95
    assert np.median(_gap_px(got, serial)) < 0.02 * serial.height
    # which frames saw somebody else (MediaPipe finds the second person only in the last
    # frames, and only the landmarker that looks for everybody reports it): one per frame
    assert len(got.others) == len(got) and len(serial.others) == len(serial)


def test_one_person_no_others(squat):
    _, serial = squat
    assert serial.others is not None and not serial.others.any()


def test_default_workers_one_per_two_cores():
    # one serial detection keeps about 1.5 cores busy: 2 cores gain nothing from a second
    assert [parallel.default_workers(c) for c in (1, 2, 3, 4, 8, 16)] == [1, 1, 1, 2, 4, 4]
    # the people detector keeps about one core busy: one worker per core
    from dgnet_core.detection.people_parallel import PEOPLE_CORES_PER_WORKER

    assert [parallel.default_workers(c, PEOPLE_CORES_PER_WORKER) for c in (1, 2, 3, 8)] == \
        [1, 2, 3, 4]


@pytest.fixture(scope="module")
def two_people(videos_dir):
    from dgnet_core.detection.people import iter_detect_people

    clip = videos_dir / "two_people_1080p.avi"
    return clip, _run(iter_detect_people(clip, hands=True))[0]


def test_several_people_on_workers_are_the_serial_ones(two_people):
    """Everybody detected in two chunks on two workers, followed once in order: the same
    people, seen in the same frames, as the serial run; the hands within a few frames of
    the second chunk's start (its hand crops start afresh)."""
    from dgnet_core.detection.people_parallel import iter_detect_people_parallel

    clip, serial = two_people
    got, steps = _run(iter_detect_people_parallel(clip, hands=True, workers=2,
                                                  min_chunk=30))
    assert steps > 1 and not multiprocessing.active_children()
    assert len(got.people) == len(serial.people) == 2
    assert np.array_equal(got.frame_indices, serial.frame_indices)
    for mine, theirs in zip(got.people, serial.people):
        assert (mine.detected == theirs.detected).mean() > 0.97
        assert np.median(_gap_px(mine, theirs)) < 0.01 * theirs.height
        found, truth = mine.hands.score > 0, theirs.hands.score > 0
        assert (found == truth).mean() > 0.9, (found.sum(), truth.sum())
    # asked for one: the one seen first, the other counted in the frames he is in view
    one, _ = _run(iter_detect_people_parallel(clip, wanted=1, workers=2, min_chunk=30))
    assert len(one.people) == 1
    assert np.array_equal(one.people[0].detected, serial.people[0].detected)
    assert (one.untracked > 0).sum() >= serial.people[1].detected.sum() - 2


def test_closing_a_people_job_stops_every_worker(two_people):
    from dgnet_core.detection.people_parallel import iter_detect_people_parallel

    gen = iter_detect_people_parallel(two_people[0], workers=2, min_chunk=30)
    next(gen)
    assert len(multiprocessing.active_children()) == 2
    gen.close()
    assert not multiprocessing.active_children()
