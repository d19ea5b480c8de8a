"""Multi-person benchmark (issue #24): several people lifted from one video, scored against
the rendered truth of ``training.synthetic.crowd``.

Owns the scoring: ``match_tracks`` assigns, frame by frame, the result tracks seen in that
frame (``detected``) to the true people by mean 2D joint distance (Hungarian), gated at
``gate`` x the person's 2D height; ``score_clip`` then reports per person the identity
switches (the track matched to them changes between consecutive matched frames, plus
every time a track that followed somebody else jumps to them), the tracked share (matched
frames of the frames they are in view), root-relative PA-MPJPE of our joints and of
MediaPipe's world landmarks on the same frames, the pelvis depth error, and per pair the
error of the ground-plane distance between the two pelvises in our shared world
(relative and in metres). Also the markdown/JSON report and the command line:

    python -m training.people_bench /tmp/crowd [--model M] [--out out/people]
    python -m training.people_bench --tracks-only ../shared/data/videos/two_people_1080p.avi
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dgnet_core.metrics import pa_mpjpe
from dgnet_core.skeleton import mediapipe_to_h36m


@dataclass(frozen=True)
class BenchConfig:
    gate: float = 0.5              # a match's mean 2D distance < gate x the person's 2D height
    min_distance_m: float = 0.3    # pairs closer than this (ground plane) are not scored


@dataclass(frozen=True)
class Targets:
    """The issue's targets, printed beside the results."""

    switches: int = 0
    distance_pct: float = 15.0


@dataclass
class Truth:
    """The per-person truth of a crowd clip (P people, T frames), see ``crowd``."""

    joints_world: np.ndarray    # (P,T,17,3)
    joints_camera: np.ndarray   # (P,T,17,3)
    joints_2d: np.ndarray       # (P,T,17,2)
    in_view: np.ndarray         # (P,T) bool
    occluded: np.ndarray        # (P,T) bool
    intrinsics: np.ndarray      # (3,3)
    names: tuple[str, ...]

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        with np.load(path) as z:
            return cls(*(z[k].astype(np.float64) for k in
                         ("joints_world", "joints_camera", "joints_2d")),
                       z["in_view"].astype(bool), z["occluded"].astype(bool),
                       z["intrinsics"].astype(np.float64), tuple(str(n) for n in z["names"]))


@dataclass
class Matching:
    """Per true person and frame: the matched track's index and its row there (-1: none)."""

    track: np.ndarray   # (P,T) int
    row: np.ndarray     # (P,T) int

    @property
    def matched(self) -> np.ndarray:
        return self.track >= 0


def _rows(results, frames: int) -> np.ndarray:
    """(K,T) row of each track at each video frame where it saw its person, else -1."""
    rows = np.full((len(results), frames), -1)
    for k, r in enumerate(results):
        fi = np.asarray(r.frame_indices, dtype=np.int64)
        ok = np.asarray(r.detected, bool) & (fi >= 0) & (fi < frames)
        rows[k, fi[ok]] = np.flatnonzero(ok)
    return rows


def match_tracks(results, truth: Truth, cfg: BenchConfig | None = None) -> Matching:
    """Assign result tracks to true people in every frame (see the module docstring)."""
    from scipy.optimize import linear_sum_assignment

    cfg = cfg or BenchConfig()
    n_p, n_t = truth.in_view.shape
    rows = _rows(results, n_t)
    track, row = np.full((n_p, n_t), -1), np.full((n_p, n_t), -1)
    gt2d = truth.joints_2d
    height = np.ptp(gt2d[..., 1], axis=-1)                       # (P,T)
    front = (truth.joints_camera[..., 2] > 0).all(axis=-1)       # (P,T)
    for t in range(n_t):
        ks = np.flatnonzero(rows[:, t] >= 0)
        if not len(ks):
            continue
        kp = np.stack([np.asarray(results[k].keypoints_2d, np.float64)[rows[k, t]] for k in ks])
        cost = np.linalg.norm(kp[:, None] - gt2d[None, :, t], axis=-1).mean(axis=-1)
        ok = np.isfinite(cost) & (cost < cfg.gate * height[:, t]) & front[:, t]
        big = 1e9
        a, b = linear_sum_assignment(np.where(ok, cost, big))
        for i, p in zip(a, b):
            if ok[i, p]:
                track[p, t], row[p, t] = ks[i], rows[ks[i], t]
    return Matching(track, row)


def count_switches(m: Matching) -> np.ndarray:
    """(P,) identity switches: changes of the track matched to each person between their
    consecutive matched frames, plus the times a track jumps to them from somebody else."""
    n_p = len(m.track)
    out = np.zeros(n_p, dtype=np.int64)
    for p in range(n_p):
        seq = m.track[p][m.track[p] >= 0]
        out[p] += int(np.count_nonzero(seq[1:] != seq[:-1]))
    for k in np.unique(m.track[m.track >= 0]):
        who = np.array([int(np.flatnonzero(m.track[:, t] == k)[0]) for t in
                        range(m.track.shape[1]) if (m.track[:, t] == k).any()])
        for p in who[1:][who[1:] != who[:-1]]:
            out[p] += 1
    return out


@dataclass
class PersonScore:
    name: str
    in_view: int            # frames the person is in view
    tracked: float          # share of those frames matched to a track
    switches: int
    occluded: int           # in-view frames where somebody nearer covers them
    tracks: list[int]       # the track ids matched to them
    frames_compared: int    # frames of the PA-MPJPE columns
    pa_mpjpe_mm: float
    mediapipe_pa_mpjpe_mm: float
    depth_err_m: float      # |pelvis depth| error in the camera frame


@dataclass
class PairScore:
    pair: str
    frames: int
    gt_distance_m: float
    error_pct: float
    error_m: float


@dataclass
class ClipScore:
    clip: str
    frames: int
    tracks: int
    unmatched_tracks: int   # tracks never matched to anybody
    people: list[PersonScore] = field(default_factory=list)
    pairs: list[PairScore] = field(default_factory=list)
    seconds: float = float("nan")
    warnings: list[str] = field(default_factory=list)   # the engine's, about this clip

    @property
    def switches(self) -> int:
        return int(sum(p.switches for p in self.people))

    def distance_errors(self) -> tuple[float, float]:
        """Frame-weighted mean relative (%) and absolute (m) distance error of all pairs."""
        w = np.array([p.frames for p in self.pairs], dtype=np.float64)
        if not w.sum():
            return float("nan"), float("nan")
        return tuple(float(np.average([getattr(p, k) for p in self.pairs], weights=w))
                     for k in ("error_pct", "error_m"))


def _root_rel(j: np.ndarray) -> np.ndarray:
    return j - j[..., :1, :]


def score_clip(results, truth: Truth, clip: str, cfg: BenchConfig | None = None
               ) -> ClipScore:
    """Every score of one clip's tracks (``LiftResult``s) against its ``Truth``."""
    cfg = cfg or BenchConfig()
    m = match_tracks(results, truth, cfg)
    switches = count_switches(m)
    n_p, n_t = truth.in_view.shape
    used = set(np.unique(m.track[m.track >= 0]).tolist())
    score = ClipScore(clip, n_t, len(results), len(results) - len(used))
    for p in range(n_p):
        view = truth.in_view[p]
        sel = np.flatnonzero(m.matched[p] & view)
        ours, mp, depth = [], [], []
        for t in sel:
            r, i = results[m.track[p, t]], m.row[p, t]
            mpw = np.asarray(r.mp_world, np.float64)[i]
            if not np.isfinite(mpw).all():
                continue
            gt = _root_rel(truth.joints_camera[p, t])
            ours.append(float(pa_mpjpe(_root_rel(np.asarray(r.joints_camera[i], np.float64)),
                                       gt)))
            mp.append(float(pa_mpjpe(_root_rel(mediapipe_to_h36m(mpw)[0]), gt)))
            depth.append(abs(float(r.joints_camera[i][0, 2]) - truth.joints_camera[p, t, 0, 2]))
        score.people.append(PersonScore(
            truth.names[p], int(view.sum()), float(len(sel)) / max(int(view.sum()), 1),
            int(switches[p]), int((truth.occluded[p] & view).sum()),
            sorted(set(m.track[p][m.track[p] >= 0].tolist())), len(ours),
            1000 * _mean(ours), 1000 * _mean(mp), _mean(depth)))
    for p in range(n_p):
        for q in range(p + 1, n_p):
            both = np.flatnonzero(m.matched[p] & m.matched[q] & truth.in_view[p]
                                  & truth.in_view[q])
            d_gt = np.linalg.norm(truth.joints_world[p, both, 0, :2]
                                  - truth.joints_world[q, both, 0, :2], axis=-1)
            keep = d_gt >= cfg.min_distance_m
            both, d_gt = both[keep], d_gt[keep]
            d = np.array([np.linalg.norm(
                np.asarray(results[m.track[p, t]].joints_world[m.row[p, t]], np.float64)[0, :2]
                - np.asarray(results[m.track[q, t]].joints_world[m.row[q, t]],
                             np.float64)[0, :2]) for t in both]).reshape(-1)
            err = np.abs(d - d_gt)
            score.pairs.append(PairScore(
                f"{truth.names[p]}-{truth.names[q]}", len(both), _mean(d_gt),
                100 * _mean(err / np.maximum(d_gt, 1e-9)), _mean(err)))
    return score


def _mean(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()) if x.size else float("nan")


def markdown(clips: list[ClipScore], targets: Targets | None = None) -> str:
    """A summary table over clips, then per clip the people and the pairs."""
    tg = targets or Targets()
    lines = [f"| clip | people | tracks | unmatched tracks | identity switches (target "
             f"{tg.switches}) | tracked (min / mean) | PA-MPJPE ours / MediaPipe mm | "
             f"distance error % (target ≤ {tg.distance_pct:g}) | distance error m | lift s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for c in clips:
        tr = [p.tracked for p in c.people]
        pct, m = c.distance_errors()
        lines.append(
            f"| {c.clip} | {len(c.people)} | {c.tracks} | {c.unmatched_tracks} | "
            f"{c.switches} | {100 * min(tr):.0f} / {100 * np.mean(tr):.0f} % | "
            f"{_mean([p.pa_mpjpe_mm for p in c.people]):.1f} / "
            f"{_mean([p.mediapipe_pa_mpjpe_mm for p in c.people]):.1f} | {pct:.1f} | "
            f"{m:.2f} | {c.seconds:.0f} |")
    for c in clips:
        lines += ["", f"**{c.clip}** ({c.frames} frames)", "",
                  "| person | in view | tracked | switches | tracks | occluded frames | "
                  "frames compared | PA-MPJPE ours mm | PA-MPJPE MediaPipe mm | "
                  "depth error m |", "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
        for p in c.people:
            lines.append(f"| {p.name} | {p.in_view} | {100 * p.tracked:.0f} % | {p.switches} "
                         f"| {', '.join(map(str, p.tracks)) or '-'} | {p.occluded} | "
                         f"{p.frames_compared} | {p.pa_mpjpe_mm:.1f} | "
                         f"{p.mediapipe_pa_mpjpe_mm:.1f} | {p.depth_err_m:.2f} |")
        if c.pairs:
            lines += ["", "| pair | frames | true distance m | error % | error m |",
                      "|---|---:|---:|---:|---:|"]
            lines += [f"| {q.pair} | {q.frames} | {q.gt_distance_m:.2f} | "
                      f"{q.error_pct:.1f} | {q.error_m:.2f} |" for q in c.pairs]
    return "\n".join(lines) + "\n"


def write_report(clips: list[ClipScore], out: str | Path) -> tuple[Path, Path]:
    """``people.md`` and ``people.json`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "people.md", out / "people.json"
    md.write_text(markdown(clips))
    js.write_text(json.dumps([dict(asdict(c), switches=c.switches) for c in clips], indent=1,
                             default=float) + "\n")
    return md, js


def track_summary(results) -> str:
    """Per track: frames seen, first and last seen video frame, stretches seen."""
    lines = ["| track | frames seen | first | last | segments |", "|---:|---:|---:|---:|---:|"]
    for k, r in enumerate(results):
        fi = np.asarray(r.frame_indices)[np.asarray(r.detected, bool)]
        segs = int(len(fi) > 0) + int(np.count_nonzero(np.diff(fi) > 1))
        first, last = (int(fi[0]), int(fi[-1])) if len(fi) else ("-", "-")
        lines.append(f"| {k} | {len(fi)} | {first} | {last} | {segs} |")
    return "\n".join(lines) + "\n"


def lift_people(video: str | Path, focal_px: float | None = None,
                model_path: str | Path | None = None) -> tuple[list, list[str]]:
    """``dgnet_core.people.run_people`` on everybody in ``video``: the ``LiftResult`` of
    each person, and the warnings."""
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.people import run_people

    opts = PipelineOptions(people=0, focal_px=focal_px,
                           model_path=None if model_path is None else str(model_path))
    res = run_people(str(video), opts)
    return list(res), list(res.warnings()) if hasattr(res, "warnings") else []


def clips_in(paths: list[Path]) -> list[tuple[Path, Path]]:
    """(video, truth) pairs: each ``X.mp4`` given or inside a folder, with ``X.npz``."""
    videos: list[Path] = []
    for p in paths:
        videos += sorted(p.glob("*.mp4")) if p.is_dir() else [p]
    pairs = [(v, v.with_suffix(".npz")) for v in videos]
    missing = [str(v) for v, n in pairs if not n.is_file() or not v.is_file()]
    if missing:
        raise FileNotFoundError(f"no video or no truth .npz beside it: {', '.join(missing)}")
    if not pairs:
        raise FileNotFoundError(f"no .mp4 clips in {', '.join(map(str, paths))}")
    return pairs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.people_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("clips", nargs="*", type=Path, help="folders of X.mp4 + X.npz, or videos")
    p.add_argument("--model", type=Path, default=None, help="default: the shipped model")
    p.add_argument("--out", type=Path, default=Path("out/people"))
    p.add_argument("--tracks-only", type=Path, metavar="VIDEO",
                   help="no truth: list the tracks found in VIDEO")
    p.add_argument("--focal", type=float, default=None, help="focal length (px) for "
                   "--tracks-only (default: the engine's)")
    args = p.parse_args(argv)
    from dgnet_core.errors import one_line_errors

    return one_line_errors(lambda: _run(args), extra=(FileNotFoundError,))


def _run(args) -> int:
    if args.tracks_only is not None:
        t0 = time.perf_counter()
        results, warnings = lift_people(args.tracks_only, args.focal, args.model)
        print(track_summary(results))
        print("\n".join(warnings))
        print(f"{len(results)} tracks, {time.perf_counter() - t0:.0f} s")
        return 0
    if not args.clips:
        raise ValueError("give crowd clips (folders or videos) or --tracks-only VIDEO")
    scores = []
    for video, npz in clips_in(args.clips):
        truth = Truth.load(npz)
        t0 = time.perf_counter()
        results, warnings = lift_people(video, float(truth.intrinsics[0, 0]), args.model)
        score = score_clip(results, truth, video.stem)
        score.seconds, score.warnings = time.perf_counter() - t0, warnings
        scores.append(score)
    md, js = write_report(scores, args.out)
    print(markdown(scores))
    print(f"{md}\n{js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
