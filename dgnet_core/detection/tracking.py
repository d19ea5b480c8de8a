"""Following ONE person through a clip: who, among the poses MediaPipe returns, is ours.

MediaPipe gives its poses no identity, so ``PersonTracker`` decides frame by frame. It
starts with the largest person; after that a pose is taken only if it passes every test of
identity against the track (``TrackerConfig`` holds the limits):

- **position**: mean pixel distance to the last accepted pose, over landmarks visible in
  both, at most ``gate`` x the person's bounding-box diagonal, plus ``max_speed`` body
  heights per second for the frames they have been missing (capped at ``max_reach``
  diagonals): the region grows only as fast as a person can move;
- **size**: torso length (shoulders to hips, the 2D length least changed by turning) within
  a factor ``size_tol`` of the last accepted pose (``size_growth`` more per missed frame,
  capped at ``size_tol_max``): a person farther away or nearer is somebody else;
- **body proportions**: upper arm, forearm, thigh and shin lengths over the torso length,
  compared with a running template: median log-ratio within ``proportion_tol``;
- **appearance** (when the frame is given): a colour histogram (3 levels per channel on a
  square-root scale, 27 bins) of 100 pixels sampled inside the torso quadrilateral,
  compared by Hellinger distance (within ``appearance_tol``) with a bank of looks of the
  person and with their latest clean look (mostly the previous frame), so a person turning
  round is still followed. Clean: no other pose overlaps the torso -- the frames before a
  person disappears behind somebody show part of that somebody. Only clean looks are
  learnt; the bank keeps a new look once it has held for ``stable_frames`` frames.

When one pose is in view right after an accepted frame, one of limb proportions and colour
may exceed its limit (``lone_proportion``, ``lone_appearance``) while the other passes:
squats and jumps foreshorten limbs, turning shows another side, within a frame or two.

A pose failing any test is somebody else (or our person, unrecognisable): the frame is a
miss (``choose`` returns None), which the pipeline turns into a gap -- filled when short,
reported when longer than ``max_gap``. Among poses passing every test, the one with the
lowest summed cost (each test's distance over its limit) is taken. Without a frame (or with
the torso hidden) appearance is not tested; size, proportions and position still are.

The limits are set from the shared clips, where the same person stays well inside each
of them from frame to frame and two different people are further apart in colour than
any one person from their own previous look (the figures: docs/BENCHMARKS.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .observation import PoseObservation

# MediaPipe Pose landmark indices.
_SHOULDERS, _HIPS = (11, 12), (23, 24)
# (parent, child) per side for the proportions: upper arm, forearm, thigh, shin.
_SEGMENTS = (((11, 13), (12, 14)), ((13, 15), (14, 16)), ((23, 25), (24, 26)),
             ((25, 27), (26, 28)))
_VISIBLE = 0.5
_BINS = 3                                  # levels per colour channel: 27-bin histograms
_LEVELS = np.array([28, 113])              # last value of levels 0 and 1 (square-root scale)
_U = np.linspace(0.2, 0.8, 10)
_TORSO_UV = np.stack(np.meshgrid(_U, _U), -1).reshape(-1, 2)  # 100 samples in the torso


@dataclass(frozen=True)
class TrackerConfig:
    """Limits of ``PersonTracker``'s identity tests (see the module docstring)."""

    gate: float = 0.75           # position: x bounding-box diagonal, frame to frame
    max_speed: float = 2.0       # position: body heights per second while missing
    max_reach: float = 2.0       # position: cap, x bounding-box diagonal
    size_tol: float = 1.3        # torso length ratio allowed frame to frame
    size_growth: float = 0.01    # ... plus this per missed frame
    size_tol_max: float = 1.5    # ... up to this
    proportion_tol: float = 0.4  # median |log ratio| of limb / torso lengths
    appearance_tol: float = 0.45  # Hellinger distance of the colour histograms
    stable_frames: int = 8       # frames a new look must hold before the bank keeps it
    bank_size: int = 8           # appearance templates kept
    template_rate: float = 0.1   # running-template update per accepted frame
    lone_appearance: float = 1.5  # one pose in view, track unbroken, proportions pass:
    lone_proportion: float = 2.5  # colour limit x this; or colour passes: proportions x this


@dataclass
class Features:
    """What identifies one pose: landmarks in pixels, torso length, proportions, colours."""

    pts: np.ndarray                 # (33, 2) pixels
    vis: np.ndarray                 # (33,)
    scale: float                    # torso length, pixels
    proportions: np.ndarray         # (4,) limb / torso lengths, NaN where not visible
    colour: np.ndarray | None       # (27,) torso colour histogram; None: not seen


@dataclass
class Candidate:
    """A pose that passed ``PersonTracker``'s tests: its index in the list and features."""

    index: int
    features: Features
    cost: float


def torso_length(pts: np.ndarray) -> float:
    """Mean of the left and right shoulder-to-hip distances (pixels)."""
    sides = np.linalg.norm(pts[list(_SHOULDERS)] - pts[list(_HIPS)], axis=-1)
    return float(sides.mean())


def bbox_diag(pts: np.ndarray, vis: np.ndarray) -> float:
    """Diagonal of the visible landmarks' bounding box (all landmarks if < 4 visible)."""
    sel = pts[vis > _VISIBLE] if (vis > _VISIBLE).sum() >= 4 else pts
    return float(np.linalg.norm(sel.max(axis=0) - sel.min(axis=0)))


def proportions(pts: np.ndarray, vis: np.ndarray, scale: float) -> np.ndarray:
    """(4,) upper arm, forearm, thigh, shin over the torso length: the longer side seen
    (foreshortening only shortens), NaN where neither side is visible."""
    out = np.full(len(_SEGMENTS), np.nan)
    for k, sides in enumerate(_SEGMENTS):
        seen = [float(np.linalg.norm(pts[a] - pts[b])) for a, b in sides
                if min(vis[a], vis[b]) > _VISIBLE]
        if seen and scale > 1e-6:
            out[k] = max(seen) / scale
    return out


def appearance(rgb: np.ndarray, pts: np.ndarray, vis: np.ndarray) -> np.ndarray | None:
    """Colour histogram (27 bins) of 100 pixels sampled inside the torso quadrilateral
    (shoulders, hips), or None when the torso is hidden or mostly out of the frame.

    Each channel is cut in 3 levels on a square-root scale (at 28 and 113 of 255), so dark
    clothes of different colours still differ.
    """
    if min(vis[i] for i in _SHOULDERS + _HIPS) <= _VISIBLE:
        return None
    ls, rs, lh, rh = (pts[i] for i in (11, 12, 23, 24))
    u, v = _TORSO_UV[:, :1], _TORSO_UV[:, 1:]
    xy = (1 - v) * ((1 - u) * ls + u * rs) + v * ((1 - u) * lh + u * rh)
    h, w = rgb.shape[:2]
    ij = np.round(xy).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
    if inside.sum() < 0.5 * len(xy):
        return None
    px = rgb[ij[inside, 1], ij[inside, 0]]
    level = np.searchsorted(_LEVELS, px, side="left")
    codes = (level[:, 0] * _BINS + level[:, 1]) * _BINS + level[:, 2]
    hist = np.bincount(codes, minlength=_BINS ** 3).astype(np.float64)
    return hist / hist.sum()


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance of two normalised histograms: 0 same, 1 disjoint."""
    return float(np.sqrt(max(1.0 - float(np.sqrt(a * b).sum()), 0.0)))


def pose_features(pose: PoseObservation, rgb: np.ndarray | None, size: np.ndarray
                  ) -> Features:
    """What identifies ``pose`` in a frame of ``size`` (width, height) pixels (its colours
    from ``rgb`` when given)."""
    pts = pose.image[:, :2] * size
    vis = pose.visibility
    scale = torso_length(pts)
    if not scale > 1e-6:
        scale = max(bbox_diag(pts, vis) / 3.0, 1e-6)
    colour = None if rgb is None else appearance(rgb, pts, vis)
    return Features(pts, vis, scale, proportions(pts, vis, scale), colour)


class PersonTracker:
    """Keeps one person: the largest at first, then only a pose that passes the identity
    tests of the module docstring; a frame where nobody does is a miss.

    ``fps`` converts the position limit's speed into pixels per missed frame.
    """

    def __init__(self, width: int, height: int, fps: float = 30.0,
                 config: TrackerConfig | None = None) -> None:
        self.size = np.array([width, height], np.float32)
        self.fps = fps if fps and fps > 0 else 30.0
        self.config = config or TrackerConfig()
        self._last: Features | None = None
        self._missed = 0
        self._proportions: np.ndarray | None = None   # running template
        self._bank: list[np.ndarray] = []            # appearance templates
        self._clean: np.ndarray | None = None        # latest look nobody overlapped
        self._recent: deque[np.ndarray] = deque(maxlen=max(self.config.stable_frames, 1))

    @property
    def has_look(self) -> bool:
        """Whether the person's torso colours have been learnt."""
        return bool(self._bank)

    @property
    def missed(self) -> int:
        """Frames since the person was last accepted."""
        return self._missed

    def choose(self, poses: Sequence[PoseObservation], rgb: np.ndarray | None = None
               ) -> PoseObservation | None:
        """The tracked person among ``poses`` of the RGB frame ``rgb`` (None: not there, or
        not recognisably them); updates the track."""
        cand = self.assess(poses, rgb)
        if cand is None:
            self.miss()
            return None
        self.accept(cand, poses)
        return poses[cand.index]

    def miss(self) -> None:
        """Nobody in this frame is the person: one more missed frame."""
        self._missed += 1
        self._recent.clear()

    def features(self, pose: PoseObservation, rgb: np.ndarray | None) -> Features:
        return pose_features(pose, rgb, self.size)

    def assess(self, poses: Sequence[PoseObservation], rgb: np.ndarray | None = None
               ) -> Candidate | None:
        """The best pose passing every identity test (None if none does)."""
        if not poses:
            return None
        feats = [self.features(p, rgb) for p in poses]
        if self._last is None:
            best = int(np.argmax([bbox_diag(f.pts, f.vis) for f in feats]))
            return Candidate(best, feats[best], 0.0)
        lone = len(feats) == 1 and self._missed == 0
        costs = [self.cost(f, lone) for f in feats]
        best = int(np.argmin(costs))
        return None if not np.isfinite(costs[best]) else Candidate(best, feats[best],
                                                                   costs[best])

    def accept(self, cand: Candidate, poses: Sequence[PoseObservation]) -> None:
        """Make ``cand`` (from ``assess`` on ``poses``) the track's latest pose."""
        f, cfg = cand.features, self.config
        self._last, self._missed = f, 0
        known = ~np.isnan(f.proportions)
        if self._proportions is None:
            self._proportions = f.proportions.copy()
        else:
            tpl = self._proportions
            fresh = known & np.isnan(tpl)
            tpl[fresh] = f.proportions[fresh]
            both = known & ~fresh
            tpl[both] += cfg.template_rate * (f.proportions[both] - tpl[both])
        if f.colour is None or self._overlapped(cand, poses):
            self._recent.clear()  # somebody may be in front: learn nothing from this look
            return
        self._clean = f.colour
        self._recent.append(f.colour)
        if not self._bank:
            self._bank.append(f.colour.copy())
            return
        near = [colour_distance(f.colour, t) for t in self._bank]
        k = int(np.argmin(near))
        if near[k] < 0.5 * cfg.appearance_tol:
            self._bank[k] += cfg.template_rate * (f.colour - self._bank[k])
        elif len(self._recent) == self._recent.maxlen and self._steady():
            look = np.mean(np.stack(self._recent), axis=0)
            if len(self._bank) >= cfg.bank_size:
                self._bank.pop(1)  # keep the first look, drop the oldest other one
            self._bank.append(look)

    def _steady(self) -> bool:
        first = self._recent[0]
        return all(colour_distance(first, c) < 0.5 * self.config.appearance_tol
                   for c in self._recent)

    def _overlapped(self, cand: Candidate, poses: Sequence[PoseObservation]) -> bool:
        """Whether another pose's box overlaps this one's torso (colours may be theirs)."""
        torso = cand.features.pts[list(_SHOULDERS + _HIPS)]
        lo, hi = torso.min(axis=0), torso.max(axis=0)
        for i, p in enumerate(poses):
            if i == cand.index:
                continue
            q = p.image[:, :2] * self.size
            if (q.max(axis=0) >= lo).all() and (q.min(axis=0) <= hi).all():
                return True
        return False

    def cost(self, f: Features, lone: bool = False, position: bool = True,
             slack: float = 1.0) -> float:
        """Summed (distance / limit) over the identity tests; inf if any test fails.

        ``position`` False leaves the position test out (re-identifying a person who has
        been away, by size, proportions and colours alone); ``slack`` > 1 widens every
        limit by that factor.

        ``lone``: the only pose in view, right after an accepted frame. Then one of limb
        proportions and colour may exceed its limit (proportions by ``lone_proportion``:
        a squat or a limb pointing at the camera foreshortens them; colour by
        ``lone_appearance``: turning round shows another side) while the other passes;
        position and size still hold. Where only one of the two can be measured, it must
        pass.
        """
        cfg, last, missed = self.config, self._last, self._missed
        both = np.minimum(f.vis, last.vis) > _VISIBLE
        if both.sum() < 4:
            both = np.ones(len(f.pts), bool)
        dist = float(np.linalg.norm(f.pts[both] - last.pts[both], axis=-1).mean())
        diag = max(bbox_diag(last.pts, last.vis), 0.05 * float(np.hypot(*self.size)))
        body = max(float(np.ptp(last.pts[:, 1])), 3.0 * last.scale)
        reach = cfg.gate * diag + cfg.max_speed * body * missed / self.fps
        costs = [dist / min(reach, cfg.max_reach * diag)] if position else []
        size_tol = min(cfg.size_tol + cfg.size_growth * missed, cfg.size_tol_max)
        costs.append(abs(np.log(f.scale / last.scale)) / np.log(size_tol))
        shape = look = None
        if self._proportions is not None:
            both = ~(np.isnan(f.proportions) | np.isnan(self._proportions))
            if both.sum() >= 2:
                ratio = np.log(f.proportions[both] / self._proportions[both])
                shape = float(np.median(np.abs(ratio))) / cfg.proportion_tol
        if f.colour is not None:
            # The latest clean look too (mostly the previous frame): a gradual change of
            # look, such as turning round, is followed.
            looks = self._bank + ([self._clean] if self._clean is not None else [])
            if looks:
                look = min(colour_distance(f.colour, t) for t in looks) / cfg.appearance_tol
        if lone and shape is not None and look is not None:
            if shape <= 1.0 and look <= cfg.lone_appearance:
                look = min(look, 1.0)
            elif look <= 1.0 and shape <= cfg.lone_proportion:
                shape = min(shape, 1.0)
        costs += [c for c in (shape, look) if c is not None]
        return float(sum(costs)) if max(costs) <= slack else float("inf")

