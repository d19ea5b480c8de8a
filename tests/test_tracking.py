"""The person tracker keeps ONE identity: synthetic crossings and occlusions, and a real clip
of two people with the followed man hidden behind a painted box.

The synthetic people are MediaPipe-like landmark sets plus a rendered frame (shirt, legs,
head as rectangles), so position, size, proportions and colour can be varied one at a
time. The old tracker (nearest pose, region growing 20% per missed frame) took the other
person in every one of these scenes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from engine_helpers import obs

from dgnet_core.detection.detect import default_task_path, detect_video
from dgnet_core.detection.gaps import find_gaps
from dgnet_core.detection.observation import PoseObservation
from dgnet_core.detection.tracking import PersonTracker
from dgnet_core.errors import LiftError

W, H, FPS = 320, 240, 30.0
# Landmark offsets from the hip centre in body heights (x to the image right, y down) for a
# person facing the camera: torso length (shoulders to hips) 0.30.
_HEAD = {0: (0.0, -0.46), 1: (0.02, -0.48), 2: (0.03, -0.48), 3: (0.04, -0.48),
         4: (-0.02, -0.48), 5: (-0.03, -0.48), 6: (-0.04, -0.48), 7: (0.05, -0.47),
         8: (-0.05, -0.47), 9: (0.015, -0.43), 10: (-0.015, -0.43)}
_TORSO = {11: (0.11, -0.30), 12: (-0.11, -0.30), 23: (0.07, 0.0), 24: (-0.07, 0.0)}
_ARMS = {13: (0.13, -0.15), 14: (-0.13, -0.15), 15: (0.14, -0.02), 16: (-0.14, -0.02),
         17: (0.15, 0.02), 18: (-0.15, 0.02), 19: (0.14, 0.03), 20: (-0.14, 0.03),
         21: (0.13, 0.01), 22: (-0.13, 0.01)}
_LEGS = {25: (0.07, 0.24), 26: (-0.07, 0.24), 27: (0.07, 0.46), 28: (-0.07, 0.46),
         29: (0.07, 0.48), 30: (-0.07, 0.48), 31: (0.09, 0.49), 32: (-0.09, 0.49)}


@dataclass(frozen=True)
class Person:
    """A synthetic person: hip centre (normalised), height (fraction of the frame height),
    shirt colour, limb length factor and the share of the shirt that is white (a jacket
    opening as they turn)."""

    x: float
    y: float
    height: float
    shirt: tuple[int, int, int] = (200, 30, 30)
    limbs: float = 1.0
    white: float = 0.0

    def pixels(self) -> np.ndarray:
        """(33, 2) landmarks in pixels; arms grow from the shoulders, legs from the hips."""
        pts = np.zeros((33, 2))
        for i, xy in {**_HEAD, **_TORSO}.items():
            pts[i] = xy
        for table, roots in ((_ARMS, (11, 12)), (_LEGS, (23, 24))):
            for i, xy in table.items():
                root = pts[roots[i % 2 == 0]]
                pts[i] = root + self.limbs * (np.array(xy) - root)
        return np.array([self.x * W, self.y * H]) + pts * self.height * H

    def observation(self) -> PoseObservation:
        px = self.pixels() / np.array([W, H])
        img = np.concatenate([px, np.zeros((33, 1))], 1).astype(np.float32)
        return PoseObservation(img, np.ones(33, np.float32), np.zeros((33, 3), np.float32))

    def boxes(self) -> list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]:
        """Rectangles (x0, y0, x1, y1) and colours to paint, back to front."""
        p = self.pixels().round().astype(int)
        w = max(int(0.03 * self.height * H), 1)
        legs = (p[[24, 26, 28], 0].min() - w, p[23, 1], p[[23, 25, 27], 0].max() + w, p[27, 1])
        head = (p[8, 0], p[3, 1] - w, p[7, 0], p[9, 1] + w)
        arm_r = (p[[12, 14, 16], 0].min() - w, p[12, 1], p[12, 0], p[16, 1])
        arm_l = (p[11, 0], p[11, 1], p[[11, 13, 15], 0].max() + w, p[15, 1])
        torso = (p[12, 0], p[12, 1], p[11, 0], p[23, 1])
        out = [(legs, (40, 40, 60)), (head, (180, 140, 110)), (arm_r, self.shirt),
               (arm_l, self.shirt), (torso, self.shirt)]
        if self.white > 0:
            mid, half = (torso[0] + torso[2]) // 2, int(self.white * (torso[2] - torso[0]) / 2)
            out.append(((mid - half, torso[1], mid + half, torso[3]), (235, 235, 235)))
        return out

    def body_box(self) -> tuple[int, int, int, int]:
        boxes = np.array([b for b, _ in self.boxes()])
        return (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))


def render(people: list[Person], rng: np.random.Generator) -> np.ndarray:
    """An RGB frame with ``people`` painted in order (later ones in front)."""
    frame = np.full((H, W, 3), 120.0) + rng.normal(0, 6, (H, W, 3))
    for person in people:
        for (x0, y0, x1, y1), colour in person.boxes():
            frame[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = colour
    frame += rng.normal(0, 5, frame.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _torso_box(p: Person) -> tuple[int, ...]:
    return p.boxes()[4][0]


def _covered(a: Person, b: Person) -> float:
    """Share of ``a``'s torso rectangle that ``b``'s body rectangle covers."""
    (x0, y0, x1, y1), (u0, v0, u1, v1) = _torso_box(a), b.body_box()
    w, h = min(x1, u1) - max(x0, u0), min(y1, v1) - max(y0, v0)
    return max(w, 0) * max(h, 0) / ((x1 - x0) * (y1 - y0))


def _crossing(other: Person, frames: bool = True) -> tuple[list[str], list[str | None]]:
    """A (red, 0.5 of the frame high) walks right while ``other`` walks left in front of
    her; MediaPipe still finds A while ``other`` covers at most a third of her torso. Per
    frame: A's state ("clear", "partly" covered, "hidden") and who the tracker chose ("A",
    "B" or None)."""
    tracker = PersonTracker(W, H, FPS)
    rng = np.random.default_rng(1)
    states, chosen = [], []
    for t in range(44):
        a = Person(0.22 + 0.0125 * t, 0.72, 0.5)
        b = replace(other, x=0.80 - 0.0125 * t)
        rgb = render([a, b], rng)
        cover = _covered(a, b)
        states.append("clear" if cover == 0 else "partly" if cover <= 1 / 3 else "hidden")
        poses, names = [], []
        if states[-1] != "hidden":
            poses.append(a.observation())
            names.append("A")
        if t >= 2:  # B walks in after the tracker has started on A
            poses.append(b.observation())
            names.append("B")
        if t % 2:
            poses, names = poses[::-1], names[::-1]
        pose = tracker.choose(poses, rgb if frames else None)
        chosen.append(None if pose is None else names[[id(p) for p in poses].index(id(pose))])
    return states, chosen


@pytest.mark.parametrize("other, frames", [
    (Person(0, 0.78, 0.6, shirt=(30, 60, 200)), True),   # 1.2x as big, blue: colour
    (Person(0, 0.80, 0.8), True),                        # same red, 1.6x as big: size
    (Person(0, 0.72, 0.5, limbs=1.8), False),            # no frame, long limbs: proportions
], ids=["colour", "size", "proportions"])
def test_crossing_people_never_swap(other: Person, frames: bool) -> None:
    states, chosen = _crossing(other, frames)
    hidden = [t for t, s in enumerate(states) if s == "hidden"]
    assert len(hidden) >= 4 and states.count("partly") >= 2
    assert "B" not in chosen, f"took the other person: {list(zip(states, chosen))}"
    # A is taken whenever she is in clear view; the frames she is hidden are a gap (partly
    # covered, her colours are mixed with B's: a gap is allowed there too).
    for state, who in zip(states, chosen):
        assert who == {"clear": "A", "hidden": None}.get(state, who) and who in ("A", None)


@pytest.mark.parametrize("stranger", [
    Person(0, 0.72, 0.5, shirt=(30, 160, 40)),   # same size, green
    Person(0, 0.65, 0.35),                        # same red, 0.7x: somebody farther away
], ids=["other-colour", "smaller"])
def test_a_stranger_where_the_person_vanished_is_not_taken(stranger: Person) -> None:
    """A walks, is hidden for 8 frames; a stranger appears where she vanished; she comes
    back a little further on, in front of the stranger."""
    tracker = PersonTracker(W, H, FPS)
    rng = np.random.default_rng(2)
    chosen = []
    for t in range(30):
        a = Person(0.30 + 0.006 * t, 0.72, 0.5)
        s = replace(stranger, x=0.30 + 0.006 * 12)
        people = ([s] if t >= 14 else []) + ([] if 12 <= t < 20 else [a])
        rgb = render(people, rng)  # the stranger stands behind where she walks
        pose = tracker.choose([p.observation() for p in people], rgb)
        chosen.append(None if pose is None else
                      "A" if np.allclose(pose.image, a.observation().image) else "S")
    assert chosen[:12] == ["A"] * 12
    assert chosen[12:20] == [None] * 8   # a gap, not the stranger
    assert chosen[20:] == ["A"] * 10     # and A again when she is back


def test_the_same_person_is_found_again_after_a_gap_and_a_turn() -> None:
    """Walking at one body height a second; hidden 10 frames; then turning (a white shirt
    shows under the jacket) and hidden again: re-found at once both times."""
    tracker = PersonTracker(W, H, FPS)
    rng = np.random.default_rng(3)
    hidden = set(range(10, 20)) | set(range(52, 56))
    misses = []
    for t in range(64):
        white = float(np.clip((t - 24) / 20, 0.0, 0.6))
        a = Person(0.1 + 0.0125 * t, 0.72, 0.5, white=white)
        people = [] if t in hidden else [a]
        if tracker.choose([p.observation() for p in people], render(people, rng)) is None:
            misses.append(t)
    assert misses == sorted(hidden)


# ---------------------------------------------------------------------- real footage


def _paint_occlusions(src, dst, boxes: dict[range, tuple[int, int, int, int]]) -> None:
    import cv2

    from dgnet_core.detection.video import VideoReader

    with VideoReader(src) as reader:
        info = reader.info
        writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"MJPG"), info.fps,
                                 (info.width, info.height))
        for index, rgb in reader.frames():
            for frames, (x0, y0, x1, y1) in boxes.items():
                if index in frames:
                    rgb = rgb.copy()
                    rgb[y0:y1, x0:x1] = 128
            writer.write(np.ascontiguousarray(rgb[..., ::-1]))
        writer.release()


def test_one_person_in_view_is_kept_through_a_crouch_and_a_turn() -> None:
    """Alone in view, the person crouches (limb proportions shrink by 0.4 at once, beyond
    their limit; kept because colour still passes) and then turns (the shirt shows more
    white each frame, followed through the latest look): every frame is kept. A crouch
    with a new shirt at once, or a crouch seen without the frame (proportions only), is a
    miss."""
    rng = np.random.default_rng(3)
    tracker = PersonTracker(W, H, FPS)
    kept = []
    for t in range(30):
        limbs = 1.0 if t < 10 or t >= 14 else 0.6
        white = 0.0 if t < 20 else 0.1 * (t - 19)
        p = Person(0.5, 0.72, 0.5, limbs=limbs, white=white)
        kept.append(tracker.choose([p.observation()], render([p], rng)) is not None)
    assert all(kept)
    tracker = PersonTracker(W, H, FPS)
    for _ in range(10):
        p = Person(0.5, 0.72, 0.5)
        assert tracker.choose([p.observation()], render([p], rng)) is not None
    both = Person(0.5, 0.72, 0.5, limbs=0.6, white=0.9)
    assert tracker.choose([both.observation()], render([both], rng)) is None
    tracker = PersonTracker(W, H, FPS)
    for _ in range(10):
        assert tracker.choose([Person(0.5, 0.72, 0.5).observation()]) is not None
    assert tracker.choose([Person(0.5, 0.72, 0.5, limbs=0.6).observation()]) is None


@pytest.mark.slow  # MediaPipe on a real clip
def test_real_clip_with_the_man_hidden_twice_never_switches(videos_dir, tmp_path) -> None:
    """two_people_1080p.avi: the man walks from the middle to the left edge, the other
    person stays right of x = 1100 px. A grey box hides the man in frames 40-46 and 62-70.
    Measured (2026-11-29): the old tracker took the other person in frame 44 and kept him
    for 30 frames; this one reports exactly the two hidden runs as gaps and finds the man
    again in the first frame he is back.
    """
    try:
        default_task_path()
    except LiftError as exc:
        pytest.skip(f"needs the MediaPipe pose model: {exc}")
    hide = {range(40, 47): (600, 250, 1120, 1080), range(62, 71): (330, 220, 980, 1080)}
    clip = tmp_path / "hidden.avi"
    _paint_occlusions(videos_dir / "two_people_1080p.avi", clip, hide)
    det = detect_video(clip)
    centre = np.full((len(det), 2), np.nan)
    px = det.pixels()
    centre[det.detected] = px[det.detected][:, [23, 24]].mean(axis=1)
    found = np.flatnonzero(det.detected)
    steps = np.linalg.norm(np.diff(centre[found], axis=0), axis=1)
    # Measured: largest step between detected frames 124 px (61 -> 71, across the second
    # box, walking towards the camera), 80 px across the first, otherwise < 70 px; the old
    # tracker's switch was a step of 286 px (39 -> 44), to a man at x = 1180-1430 px.
    assert steps.max() < 230, f"jump of {steps.max():.0f} px: {centre[found].round()}"
    assert (centre[found][:, 0] < 1000).all()   # never the other person
    gaps = find_gaps(det.detected)
    for frames in hide:
        assert any(a <= frames.start and frames.stop <= b for a, b in gaps), gaps
    # Re-found within two frames of each reappearance; nothing missed elsewhere.
    assert (~det.detected).sum() <= sum(len(f) for f in hide) + 4


def test_tracker_follows_one_person_and_never_jumps() -> None:
    tracker = PersonTracker(1000, 1000)
    small, big = obs((0.8, 0.5), 0.1), obs((0.3, 0.5), 0.3)
    assert tracker.choose([small, big]) is big  # starts with the largest person
    xs = []
    for t in range(30):  # the two swap order in MediaPipe's list and drift past each other
        a, b = obs((0.3 + 0.01 * t, 0.5)), obs((0.8 - 0.01 * t, 0.5), 0.1)
        chosen = tracker.choose([b, a] if t % 2 else [a, b])
        xs.append(float(chosen.image[:, 0].mean()))
    assert np.abs(np.diff(xs)).max() < 0.03
    assert tracker.choose([obs((0.95, 0.5), 0.1)]) is None  # only someone far away is left
    assert tracker.choose([]) is None
