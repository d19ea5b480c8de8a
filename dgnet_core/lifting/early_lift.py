"""Lifting while detecting: the pipeline's threads and its piece-wise lifting.

Owns ``iter_lift`` (a clip lifted ``chunk`` frames per step, equal to one ``lift`` over the
whole clip), ``LiftWorker`` (lifts pieces on a background thread; onnxruntime, torch and
MediaPipe release the GIL, so lifting runs on the second core while detection goes on) and
``EarlyLift`` (sends every frame whose whole window is already detected to the worker).
Used by ``pipeline.iter_pipeline``; nothing here knows about videos or options.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator

import numpy as np

from ..arrays import GrowingArray
from ..detection.observation import PoseObservation
from ..numeric import runs
from ..skeleton import NUM_JOINTS, mediapipe_to_h36m
from .lifter import Lifter


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
    for s, e in _pieces(runs(todo), chunk):
        lo, hi = max(s - before, 0), min(e + after, n)
        if tile > 1:  # whole tiles, aligned as in the whole clip
            lo, hi = s - s % tile, min(e + (-e) % tile, n)
        y = lifter.lift(kp[lo:hi], conf[lo:hi], width, height, intrinsics=intrinsics)
        out[s:e] = y[s - lo: s - lo + (e - s)]
        done += e - s
        yield done
    return out


class LiftWorker:
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


class EarlyLift:
    """Collects the 2D joints while detection runs and sends every frame whose whole
    window is already detected to a ``LiftWorker``.

    A frame is ready when every frame its pose depends on (``Lifter.context``) is detected.
    Such a frame lifts exactly as it will in the finished clip: gap filling leaves
    detected frames unchanged, the clip (trimmed to its first detection) starts at the first
    detection, and a window whose last frame is detected cannot reach the clip's end.
    Frames whose windows touch a gap or the end are lifted after filling.
    """

    def __init__(self, worker: LiftWorker, width: int, height: int, before: int,
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
        for s, e in _pieces(runs(ready, self.scan), self.step):
            klo = max(s - self.before, 0)
            self.worker.submit(s, kp[klo:e + self.after].copy(), conf[klo:e + self.after].copy(),
                               s - klo, e - s)
        self.scan = limit
