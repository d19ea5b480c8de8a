"""Clips with two or three mannequins in one scene: crossing, occluding, leaving and coming
back, with per-person ground truth (issue #24's multi-person benchmark footage).

Owns the crowd scenarios (``SCENARIOS``: ``cross2``, ``cross3``), each person's walk along
a ground-plane path (``walker_joints``: the procedural walk, turned to follow the path,
its cadence following the speed), the per-person truth of what the camera can see
(``in_view``: enough joints inside the picture; ``occluded``: a nearer person's torso
covers theirs) and the render (the shared scene and Cycles loop of ``render``, one
mannequin per person with its own clothes and height).

``<name>.npz`` keys (P people, T frames; no pickles): ``joints_world`` (P,T,17,3) Z-up
metres; ``joints_camera`` (P,T,17,3) camera axes (x right, y down, z forward);
``joints_2d`` (P,T,17,2) pixels; ``in_view`` (P,T) bool; ``occluded`` (P,T) bool;
``occlusion`` (P,T) the covered share of the torso box; ``heights`` (P,); ``shirts``
(P,3) linear RGB; ``names`` (P,) unicode; ``intrinsics`` (3,3); ``rotation`` (3,3);
``camera_centre`` (3,); ``extrinsics`` (3,4); ``width``, ``height``, ``fps``;
``render_seconds`` (T,); ``scenario`` (str).

    python -m training.synthetic crowd --scenario cross2 --out /tmp/crowd
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .camera import CameraSpec
from .mannequin import MannequinStyle
from .motions import BodyShape, walk
from .render import SceneSpec, ground_truth

XY = tuple[float, float]
TORSO = (0, 1, 4, 7, 8, 11, 14)  # pelvis, hips, spine, thorax, shoulders


@dataclass(frozen=True)
class Walker:
    """One person: a name, a height, clothes, and the ground-plane path walked at a steady
    speed from the first point (frame 0) to the last (the last frame)."""

    name: str
    height: float
    style: MannequinStyle
    path: tuple[XY, ...]
    cadence_per_speed: float = 0.9   # gait cycles per second at 1 m/s (the walk's default)
    turn_seconds: float = 0.4        # the heading is smoothed over this long at corners


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    frames: int
    walkers: tuple[Walker, ...]
    camera: CameraSpec = field(default_factory=lambda: CameraSpec(
        location=(0.0, -4.0, 0.95), target=(0.0, 0.0, 0.9), focal_mm=35.0))


@dataclass(frozen=True)
class TruthConfig:
    """What counts as in view and as occluded in the ground truth."""

    min_joints_in_view: int = 12     # of 17 joints inside the picture
    torso_pad_m: float = 0.12        # the torso box is padded by the body's half-width
    occluded_share: float = 0.4      # share of the torso box a nearer torso must cover


BLUE = MannequinStyle(shirt=(0.08, 0.22, 0.70), trousers=(0.10, 0.10, 0.12))
RED = MannequinStyle(shirt=(0.75, 0.08, 0.06), trousers=(0.60, 0.52, 0.36),
                     skin=(0.55, 0.36, 0.24), hair=(0.02, 0.02, 0.02), short_sleeves=False)
YELLOW = MannequinStyle(shirt=(0.85, 0.70, 0.08), trousers=(0.12, 0.20, 0.45),
                        skin=(0.88, 0.66, 0.52), hair=(0.45, 0.25, 0.08),
                        shoes=(0.9, 0.9, 0.9))


def _cross2() -> Scenario:
    return Scenario("cross2", "two people walk across towards each other; the nearer one "
                    "passes in front of the other", 80, (
                        Walker("A", 1.75, BLUE, ((-1.5, -0.6), (1.5, -0.45))),
                        Walker("B", 1.85, RED, ((1.7, 0.05), (-1.6, -0.05)))))


def _cross3() -> Scenario:
    return Scenario("cross3", "two people cross (the nearer passes in front); a third walks "
                    "out of the picture on the right and comes back", 90, (
                        Walker("A", 1.75, BLUE, ((0.5, -0.55), (-1.5, -0.45))),
                        Walker("B", 1.85, RED, ((-1.7, 0.05), (0.4, -0.05))),
                        Walker("C", 1.62, YELLOW, ((1.2, -0.45), (2.6, -0.45), (2.6, -0.25),
                                                   (1.3, -0.25)))))


SCENARIOS: dict[str, Callable[[], Scenario]] = {"cross2": _cross2, "cross3": _cross3}


def _along(path: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (T, 2) at arc lengths ``s`` along a polyline, and the heading (T,) there
    (radians about +Z; 0 walks toward -Y, the walk's convention)."""
    seg = np.diff(path, axis=0)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
    pos = np.stack([np.interp(s, cum, path[:, k]) for k in range(2)], axis=-1)
    i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(seg) - 1)
    return pos, np.arctan2(seg[i, 0], -seg[i, 1])


def walker_joints(w: Walker, frames: int, fps: float) -> np.ndarray:
    """(frames, 17, 3) world joints of ``w`` walking its path at a steady speed."""
    path = np.asarray(w.path, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) < 2 or frames < 2:
        raise ValueError(f"{w.name}: a path needs >= 2 (x, y) points and >= 2 frames")
    length = float(np.linalg.norm(np.diff(path, axis=0), axis=1).sum())
    speed = length * fps / (frames - 1)
    shape = BodyShape(height=w.height)
    gait = walk(frames, fps, shape, speed=speed, heading_deg=0.0,
                cadence_hz=w.cadence_per_speed * speed)
    pos, yaw = _along(path, speed * np.arange(frames) / fps)
    yaw = np.unwrap(yaw)
    k = max(1, int(round(w.turn_seconds * fps)) | 1)
    yaw = np.convolve(np.pad(yaw, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    local = gait - gait[:, :1] * np.array([1.0, 1.0, 0.0])
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.zeros((frames, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = c, -s, s, c
    rot[:, 2, 2] = 1.0
    out = np.einsum("tij,tkj->tki", rot, local)
    out[..., :2] += pos[:, None]
    return out


def _boxes(j2d: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """(..., 4) padded torso boxes (x0, y0, x1, y1) of (..., 17, 2) pixels."""
    t = j2d[..., TORSO, :]
    lo, hi = t.min(axis=-2) - pad[..., None], t.max(axis=-2) + pad[..., None]
    return np.concatenate([lo, hi], axis=-1)


def visibility(joints_2d: np.ndarray, joints_camera: np.ndarray, width: int, height: int,
               focal_px: float, cfg: TruthConfig | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``in_view`` (P,T), ``occluded`` (P,T) and the covered share of each torso (P,T)
    from (P,T,17,2) pixels and (P,T,17,3) camera joints: a person is occluded where the
    padded torso box of somebody nearer (and in view) covers enough of theirs."""
    cfg = cfg or TruthConfig()
    x, y, z = joints_2d[..., 0], joints_2d[..., 1], joints_camera[..., 2]
    inside = (z > 0) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    in_view = inside.sum(axis=-1) >= cfg.min_joints_in_view
    depth = joints_camera[..., 0, 2]
    pad = cfg.torso_pad_m * focal_px / np.maximum(depth, 1e-3)
    box = _boxes(joints_2d, pad)
    area = np.prod(np.maximum(box[..., 2:] - box[..., :2], 1e-6), axis=-1)
    share = np.zeros(in_view.shape)
    for p in range(len(box)):
        for q in range(len(box)):
            if p == q:
                continue
            lo = np.maximum(box[p, :, :2], box[q, :, :2])
            hi = np.minimum(box[p, :, 2:], box[q, :, 2:])
            inter = np.prod(np.maximum(hi - lo, 0.0), axis=-1) / area[p]
            nearer = (depth[q] < depth[p]) & in_view[q]
            share[p] = np.maximum(share[p], np.where(nearer, inter, 0.0))
    return in_view, share >= cfg.occluded_share, share


def scenario_truth(sc: Scenario, spec: SceneSpec, cfg: TruthConfig | None = None
                   ) -> dict[str, np.ndarray]:
    """The ground-truth arrays of a scenario (no rendering)."""
    per = [ground_truth(walker_joints(w, sc.frames, spec.fps), spec) for w in sc.walkers]
    gt = {k: v for k, v in per[0].items() if not k.startswith("joints")}
    for k in ("joints_world", "joints_camera", "joints_2d"):
        gt[k] = np.stack([g[k] for g in per])
    in_view, occluded, share = visibility(gt["joints_2d"], gt["joints_camera"], spec.width,
                                          spec.height, float(gt["intrinsics"][0, 0]), cfg)
    gt.update(in_view=in_view, occluded=occluded, occlusion=share.astype(np.float32),
              heights=np.array([w.height for w in sc.walkers]),
              shirts=np.array([w.style.shirt for w in sc.walkers]),
              names=np.array([w.name for w in sc.walkers]), scenario=np.array(sc.name))
    return gt


@dataclass
class CrowdOutput:
    video: Path
    ground_truth: Path
    seconds_per_frame: float
    total_seconds: float


def render_crowd(scenario: str | Scenario, out_dir: str | Path, *, width: int = 640,
                 height: int = 360, frames: int | None = None, spec: SceneSpec | None = None,
                 name: str | None = None, keep_frames: bool = False,
                 progress: bool = True) -> CrowdOutput:
    """Render a scenario to ``out_dir/<name>.mp4`` with its truth in ``<name>.npz``.

    The camera is the scenario's (``spec``'s is replaced); ``frames`` shortens (or
    lengthens) the clip: the paths are walked in that many frames.
    """
    from .mannequin import body_scale, build_mannequin, derived_points, head_matrices
    from .render import _setup_scene, render_frames

    sc = SCENARIOS[scenario]() if isinstance(scenario, str) else scenario
    if frames is not None:
        sc = replace(sc, frames=frames)
    spec = replace(spec or SceneSpec(), width=width, height=height, camera=sc.camera)
    name = name or sc.name
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gt = scenario_truth(sc, spec)
    _setup_scene(spec)
    bodies = []
    for w, joints in zip(sc.walkers, gt["joints_world"].astype(np.float64)):
        points, heads = derived_points(joints), head_matrices(joints)
        mq = build_mannequin(w.style, points[0], heads[0],
                             scale=float(np.median(body_scale(joints))))
        bodies.append((mq, points, heads))

    def pose(t: int) -> None:
        for mq, points, heads in bodies:
            mq.set_frame(points[t], heads[t])

    video, _, seconds, _ = render_frames(pose, sc.frames, out_dir, name, spec,
                                         keep_frames=keep_frames, progress=progress)
    npz = out_dir / f"{name}.npz"
    np.savez_compressed(npz, **gt, render_seconds=seconds)
    rest = seconds[1:] if len(seconds) > 1 else seconds
    return CrowdOutput(video, npz, float(rest.mean()), float(seconds.sum()))


def describe(gt: dict[str, np.ndarray]) -> str:
    """One line per person: frames in view, occluded frames and the in-view stretches."""
    lines = []
    for p, name in enumerate(gt["names"]):
        iv, oc = np.asarray(gt["in_view"][p]), np.asarray(gt["occluded"][p])
        runs, start = [], None
        for t, v in enumerate(np.append(iv, False)):
            if v and start is None:
                start = t
            elif not v and start is not None:
                runs.append(f"{start}-{t - 1}")
                start = None
        h = np.ptp(gt["joints_2d"][p, iv, :, 1], axis=-1) if iv.any() else np.zeros(1)
        lines.append(f"{name}: in view {int(iv.sum())}/{len(iv)} frames ({', '.join(runs)}), "
                     f"occluded {int(oc.sum())} (frames {', '.join(map(str, np.flatnonzero(oc)))})"
                     f", 2D height {h.min():.0f}-{h.max():.0f} px of {int(gt['height'])}")
    return "\n".join(lines)
