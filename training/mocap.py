"""Motion capture beyond Human3.6M: the Bandai Namco Research motion clips.

Reads ``bandai_h36m17.npz`` (``../shared/data/mocap``; the 17 joints and compact int16
format of the Human3.6M file, world metres, Z up, 50 Hz) with its ``_meta.json`` labels,
gives every window a realistic body, and keeps a fixed held-out split:

* ``load_mocap(root)``: the clips and their labels (content, style, take, dataset).
* **Bodies.** Every clip of the source has one small body (about 1.6 m, hips and shoulders
  narrower than any Human3.6M subject). ``BodyRange.draw`` draws bone lengths around the
  mean of the Human3.6M training subjects (``H36M_BONES``): one stature factor for the
  whole body (short and tall people) times a factor per part (hip and shoulder width,
  thigh, shin, lower and upper trunk, neck, head, upper arm, forearm), left and right
  alike. ``reproportion`` puts those lengths on a pose and keeps every bone's direction,
  i.e. the joint rotations; the pelvis stays where it was. The source placed its nose and
  head top at Human3.6M's median geometry relative to the thorax (its README), so with
  Human3.6M's neck and head lengths they follow Human3.6M's conventions.
* **Held-out split** (``SPLIT_FILE``, committed): whole styles (``HELD_OUT_STYLES``) plus
  every ``TAKE_SHARE``-th clip of every content among the rest. ``make_split`` builds it
  from the labels; training never reads a held-out clip.
* ``MocapData.as_h36m``: the training clips in ``H36MData``'s shape (one pseudo-subject,
  no real cameras), so ``training.reproject.ReprojectSampler`` draws random cameras for them.
* ``held_out_windows``: fixed 2D of the held-out clips for evaluation, each clip filmed by
  one seeded random camera and given one seeded body.

Licence: CC BY-NC 4.0 (Bandai Namco Research Inc.; Kobayashi et al. 2023,
arXiv:2306.08861). Never copy the data, or anything derived from it other than trained
weights, into the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dgnet_core.skeleton import (
    BONES,
    HEAD,
    HIP,
    LELB,
    LFOOT,
    LHIP,
    LKNEE,
    LSHO,
    LWRI,
    NOSE,
    RELB,
    RFOOT,
    RHIP,
    RKNEE,
    RSHO,
    RWRI,
    SPINE,
    THORAX,
    bone_lengths,
    bone_vectors,
    from_bone_vectors,
)

from .h36m import H36MData

DATA_FILE = "bandai_h36m17.npz"
META_FILE = "bandai_h36m17_meta.json"
SCALE = 4000.0
SUBJECT = "bandai"
SPLIT_FILE = Path(__file__).resolve().parent / "splits" / "bandai_held_out.txt"
HELD_OUT_STYLES: tuple[str, ...] = ("elderly", "tired", "proud")
TAKE_SHARE = 10            # every 10th clip of each content (among the other styles)

# Bone lengths (m) of the Human3.6M training subjects (S1, S5, S6, S7, S8): the mean over
# subjects of each one's median length, in ``BONES`` order (left and right twins equal).
H36M_BONES: tuple[float, ...] = (
    0.134, 0.454, 0.451, 0.134, 0.454, 0.451, 0.240, 0.255, 0.115, 0.115,
    0.150, 0.281, 0.251, 0.150, 0.281, 0.251)
# Body parts that scale together: part name -> the joints (children) of its bones.
PARTS: dict[str, tuple[int, ...]] = {
    "hip width": (RHIP, LHIP), "thigh": (RKNEE, LKNEE), "shin": (RFOOT, LFOOT),
    "lower trunk": (SPINE,), "upper trunk": (THORAX,), "neck": (NOSE,), "head": (HEAD,),
    "shoulder width": (LSHO, RSHO), "upper arm": (LELB, RELB), "forearm": (LWRI, RWRI)}


@dataclass(frozen=True)
class BodyRange:
    """Bodies drawn around Human3.6M's mean: stature and per-part factors, uniform."""

    stature: tuple[float, float] = (0.87, 1.13)   # about 1.50-1.95 m
    part: tuple[float, float] = (0.92, 1.08)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """(n, 16) bone lengths in ``BONES`` order."""
        base = np.array(H36M_BONES)
        out = np.repeat(base[None], n, axis=0) * rng.uniform(*self.stature, size=(n, 1))
        child = [c for _, c in BONES]
        for joints in PARTS.values():
            f = rng.uniform(*self.part, size=n)
            for j in joints:
                out[:, child.index(j)] *= f
        return out

    def apply(self, windows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Windows (B, T, 17, 3), each given its own drawn body (``reproportion``)."""
        return reproportion(windows, self.draw(rng, len(windows)))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The shortest and longest length each bone can be drawn with."""
        base = np.array(H36M_BONES)
        return (base * self.stature[0] * self.part[0], base * self.stature[1] * self.part[1])


def reproportion(poses: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Poses (..., 17, 3) with bone lengths (16,) or one set per leading index (B, 16) for
    (B, ..., 17, 3): every bone keeps its direction, the pelvis its position."""
    poses = np.asarray(poses, np.float64)
    bones = bone_vectors(poses)
    unit = bones / np.linalg.norm(bones, axis=-1, keepdims=True).clip(min=1e-9)
    lengths = np.asarray(lengths, np.float64)
    shape = lengths.shape[:-1] + (1,) * (poses.ndim - 2 - lengths.ndim + 1) + (16, 1)
    child = [c for _, c in BONES]
    bones[..., child, :] = unit[..., child, :] * lengths.reshape(shape)
    return from_bone_vectors(bones)


@dataclass
class ClipInfo:
    """A clip's labels from the source's file name."""

    content: str
    style: str
    take: int
    dataset: int
    frames: int


@dataclass
class MocapData:
    """Clips ``key -> (T, 17, 3)`` float32 world metres (Z up) with their labels."""

    clips: dict[str, np.ndarray]
    info: dict[str, ClipInfo] = field(default_factory=dict)

    def keys(self, held_out: bool, split: set[str]) -> list[str]:
        """Sorted keys of the held-out clips (``held_out``) or of the training clips."""
        return sorted(k for k in self.clips if (k in split) == held_out)

    def as_h36m(self, keys: list[str]) -> H36MData:
        """The clips ``keys`` as one pseudo-subject of an ``H36MData`` (no cameras)."""
        return H36MData(poses={SUBJECT: {k: self.clips[k] for k in keys}},
                        cameras={SUBJECT: []})


def load_mocap(root: str | Path) -> MocapData:
    """Read the shared mocap folder (``DATA_FILE`` and ``META_FILE``)."""
    root = Path(root)
    path = root / DATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no motion-capture data in {root}: expected {DATA_FILE}")
    meta = json.loads((root / META_FILE).read_text()) if (root / META_FILE).is_file() else {}
    info = {c["key"]: ClipInfo(c["content"], c["style"], int(c["take"]), int(c["dataset"]),
                               int(c["frames"])) for c in meta.get("clips", [])}
    with np.load(path) as z:
        clips = {k: (np.cumsum(z[k], axis=0, dtype=np.int32) / SCALE).astype(np.float32)
                 for k in z.files}
    return MocapData(clips, info)


def make_split(info: dict[str, ClipInfo], styles=HELD_OUT_STYLES,
               take_share: int = TAKE_SHARE) -> list[str]:
    """Held-out keys: every clip of ``styles``, plus every ``take_share``-th clip (sorted
    by key) of each content among the others, starting with the second."""
    out = [k for k, c in info.items() if c.style in styles]
    by_content: dict[str, list[str]] = {}
    for k, c in sorted(info.items()):
        if c.style not in styles:
            by_content.setdefault(c.content, []).append(k)
    for keys in by_content.values():
        out += keys[1::take_share]
    return sorted(out)


def read_split(path: str | Path = SPLIT_FILE) -> set[str]:
    """The committed held-out keys (one per line; ``#`` comments)."""
    lines = Path(path).read_text().splitlines()
    return {s.strip() for s in lines if s.strip() and not s.startswith("#")}


def body_report(lengths: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """(5th percentile, median, 95th percentile) per body part of drawn bone lengths."""
    child = [c for _, c in BONES]
    return {name: tuple(float(np.percentile(lengths[:, child.index(joints[0])], q))
                        for q in (5, 50, 95)) for name, joints in PARTS.items()}


def held_out_windows(data: MocapData, keys: list[str], *, frame_step: int = 10,
                     in_channels: int = 3, num_frames: int = 4, seed: int = 0,
                     bodies: BodyRange | None = BodyRange()):
    """Fixed-2D ``WindowDataset`` of the clips ``keys``: each clip one seeded body and one
    static seeded random camera (``training.reproject.random_cameras`` aimed at the clip's
    middle pelvis), every ``frame_step``-th frame kept (windows still at 50 Hz: each kept
    frame carries its own neighbours). Frames with a joint closer than 0.5 m to the camera
    are left out. Returns the dataset and the indices of the evaluated frames."""
    from .data import WindowDataset, normalize_px
    from .h36m import project
    from .reproject import AugmentConfig, random_cameras

    rng = np.random.default_rng(seed)
    cfg = AugmentConfig()
    xs, ys, cams, starts, widths, seq, centres = [], [], [], [], [], [], []
    n = 0
    for i, k in enumerate(keys):
        p = data.clips[k].astype(np.float64)
        if bodies is not None:
            p = reproportion(p, bodies.draw(rng, 1)[0])
        mid = p[len(p) // 2, HIP][None]
        r, c, f, pp, w, h = random_cameras(rng, mid, cfg)
        cam_xyz = (p - c[0]) @ r[0].T
        px = project(cam_xyz, np.array([f[0], f[0]]), pp[0])
        x = normalize_px(px[None].astype(np.float32), w, h)[0]
        if in_channels == 3:
            x = np.concatenate([x, np.ones(x.shape[:-1] + (1,), np.float32)], -1)
        t = len(p)
        ok = cam_xyz[..., 2].min(-1) > 0.5
        local = np.arange(0, t, frame_step)
        centres.append(n + local[ok[local]])
        xs.append(x)
        ys.append((cam_xyz - cam_xyz[:, :1]).astype(np.float32))
        cams.append(np.repeat(np.array([[f[0] / w[0] * 2, f[0] / w[0] * 2,
                                         pp[0, 0] / w[0] * 2 - 1,
                                         pp[0, 1] / w[0] * 2 - h[0] / w[0]]], np.float32),
                              t, axis=0))
        starts.append(np.full(t, n))
        widths.append(np.full(t, w[0], np.float32))
        seq.append(np.full(t, i))
        n += t
    st = np.concatenate(starts)
    lens = np.concatenate([np.full(len(s), len(s)) for s in starts])
    ds = WindowDataset(np.concatenate(xs), np.concatenate(ys), st, st + lens,
                       np.concatenate(widths), [(SUBJECT, k, 0) for k in keys],
                       np.concatenate(seq), num_frames, np.concatenate(cams))
    return ds, np.concatenate(centres)


def bone_length_summary(poses: np.ndarray) -> np.ndarray:
    """Median bone lengths (16,) of a pose sequence (..., 17, 3)."""
    return np.median(bone_lengths(np.asarray(poses).reshape(-1, 17, 3)), axis=0)


def bodies_table(data_root: str | Path | None = None, n: int = 20000, seed: int = 0) -> str:
    """Markdown: per body part, the Human3.6M training subjects' range (from the data when
    ``data_root`` is given), the drawn bodies' 5th-95th percentiles and their bounds, and
    the source's own length; then the drawn statures (standing height, m)."""
    from dgnet_core.motion.body import rest_joints

    rng = np.random.default_rng(seed)
    rangeb = BodyRange()
    drawn = rangeb.draw(rng, n)
    lo, hi = rangeb.bounds()
    child = [c for _, c in BONES]
    subjects = None
    if data_root is not None:
        from .h36m import TRAIN_SUBJECTS, load

        h = load(data_root, subjects=TRAIN_SUBJECTS, detections=False)
        subjects = np.array([bone_length_summary(np.concatenate(list(h.poses[s].values())))
                             for s in TRAIN_SUBJECTS])
    lines = ["| part | Human3.6M training subjects (m) | drawn 5-95 % (m) | drawn bounds (m) |",
             "|---|---|---|---|"]
    for name, joints in PARTS.items():
        k = child.index(joints[0])
        h36m = ("" if subjects is None else
                f"{subjects[:, k].min():.3f}-{subjects[:, k].max():.3f}")
        p5, p95 = np.percentile(drawn[:, k], [5, 95])
        lines.append(f"| {name} | {h36m} | {p5:.3f}-{p95:.3f} | {lo[k]:.3f}-{hi[k]:.3f} |")
    heights = np.array([rest_joints(lengths)[:, 2].max() for lengths in drawn[:2000]])
    lines.append(f"\nStanding height (head top) of 2,000 drawn bodies: 5-95 % "
                 f"{np.percentile(heights, 5):.2f}-{np.percentile(heights, 95):.2f} m, "
                 f"min {heights.min():.2f}, max {heights.max():.2f} m.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m training.mocap [--data H36M_DIR]``: the bodies the clips are given."""
    import argparse

    p = argparse.ArgumentParser(description="bodies drawn for the motion-capture clips")
    p.add_argument("--data", default=None, help="Human3.6M folder (for its subjects' range)")
    a = p.parse_args(argv)
    print(bodies_table(a.data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
