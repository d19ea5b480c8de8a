"""MediaPipe's hand landmarker scored against rendered hands at known finger angles.

Owns the scoring of the renders of ``training.synthetic.hands`` (a folder of PNGs plus
``truth.npz``). The hand landmarker (``dgnet_core.detection.hands.default_hand_task_path``)
runs on each whole image in IMAGE mode with up to two hands. It never shares a process
with ``bpy``: ``--render`` runs the renderer as a subprocess. Of the hands found, the one
whose wrist is nearest the true wrist in the picture is scored, always with the TRUE side
(0 left, 1 right):

- detection (a hand found), and handedness (MediaPipe's label names the true hand; the
  renders are not mirrored);
- finger flexion, through ``dgnet_core.motion.hands.finger_angles``: the absolute error
  in degrees between the angles of MediaPipe's points and of the true points, as the
  mean over the four fingers' 12 angles and, separately, the thumb's 3. Two sets of
  MediaPipe points are scored: (a) ``world``, its metric hand world landmarks, and
  (b) ``image``, its image landmarks in pixels (x W, y H, z W);
- the wrist, as palm orientation: the angle in degrees of the rotation between
  ``palm_frame`` of MediaPipe's points (world, and image) and ``palm_frame`` of the true
  points. Both are in camera axes (x right, y down, z away): MediaPipe's world landmarks
  are in the picture's axes (``training.diagnose hands``). An error over 90 degrees
  means that the palm and the back of the hand were swapped;
- the mean 2D distance of the image landmarks from the true projections / the hand's
  size in the picture (wrist to middle fingertip).

Means are over the images with a hand found. The tables (overall, per pose, shot, view,
roll, and pose x shot x view) are each also split by the true side: the project chooses
between (a) and (b) on the right hands and reports on the left hands (held out). They
go to ``hands_bench.md`` and ``hands_bench.json`` in ``--out`` (default: the folder).

    python -m training.synthetic hands --out out/hands --all-rolls     # render (bpy)
    python -m training.hands_bench out/hands [--out out/hands]        # score (MediaPipe)
    python -m training.hands_bench out/hands --render --all-rolls      # both, in turn
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dgnet_core.motion.hands import finger_angles, palm_frame

GROUPINGS: tuple[tuple[str, ...], ...] = ((), ("pose",), ("shot",), ("view",), ("roll",),
                                          ("pose", "shot", "view"))


@dataclass(frozen=True)
class DetectConfig:
    """The hand landmarker's settings (IMAGE mode)."""

    num_hands: int = 2
    min_detection_confidence: float = 0.3
    min_presence_confidence: float = 0.3


@dataclass
class Detection:
    """One hand found by MediaPipe."""

    label: str              # MediaPipe's handedness, "Left" or "Right"
    score: float
    image: np.ndarray       # (21, 3) normalised x, y (0..1 of width, height), z (x's scale)
    world: np.ndarray       # (21, 3) metres, the picture's axes


@dataclass
class ImageScore:
    """The errors on one image (NaN where no hand was found); angles in degrees."""

    key: str
    hand: str
    side: int
    pose: str
    roll: int
    shot: str
    view: str
    detected: bool
    label: str = ""
    label_ok: bool = False
    score: float = float("nan")
    uv_err: float = float("nan")             # mean 2D distance / hand size in the picture
    fingers_world: float = float("nan")      # MAE over the 12 finger flexion angles
    fingers_image: float = float("nan")
    thumb_world: float = float("nan")        # MAE over the thumb's 3
    thumb_image: float = float("nan")
    bias_world: float = float("nan")         # mean signed error of the 12 finger angles
    bias_image: float = float("nan")
    palm_world: float = float("nan")         # palm orientation error
    palm_image: float = float("nan")
    truth_flex: list = field(default_factory=list)   # (5, 3) thumb..little, base/mid/end
    world_flex: list = field(default_factory=list)
    image_flex: list = field(default_factory=list)


@dataclass
class GroupScore:
    """Means over a group of images (over the images with a hand found)."""

    group: dict[str, str]
    side: str               # "all", "right" or "left"
    images: int
    detected: int
    label_ok: int
    fingers_world: float
    fingers_image: float
    thumb_world: float
    thumb_image: float
    bias_world: float
    bias_image: float
    palm_world: float
    palm_image: float
    palm_world_median: float
    palm_image_median: float
    flips_world: int        # palm error over 90 degrees
    flips_image: int


# ------------------------------------------------------------------------------ scoring
def flexion_deg(points: np.ndarray, side: int) -> np.ndarray:
    """(5, 3) flexion in degrees (thumb..little; base, middle, end) of (21, 3) points."""
    return np.degrees(finger_angles(np.asarray(points, np.float64), side)[0])


def flexion_errors(pred: np.ndarray, true: np.ndarray, side: int) -> np.ndarray:
    """(5, 3) signed flexion errors in degrees, ``pred`` minus ``true``."""
    return flexion_deg(pred, side) - flexion_deg(true, side)


def palm_angle_deg(pred: np.ndarray, true: np.ndarray, side: int) -> float:
    """The angle in degrees of the rotation between the palm frames of two (21, 3) hands
    given in the same axes."""
    rel = palm_frame(np.asarray(pred, np.float64), side).T @ palm_frame(
        np.asarray(true, np.float64), side)
    return float(np.degrees(np.arccos(np.clip((np.trace(rel) - 1.0) / 2.0, -1.0, 1.0))))


def image_points(normalised: np.ndarray, width: int, height: int) -> np.ndarray:
    """MediaPipe's normalised image landmarks as (x W, y H, z W): pixels, z on x's scale."""
    return np.asarray(normalised, np.float64) * np.array([width, height, width], np.float64)


def _row(truth: dict[str, np.ndarray], i: int) -> dict:
    return dict(key=str(truth["key"][i]), hand=str(truth["hand"][i]),
                side=int(truth["side"][i]), pose=str(truth["pose"][i]),
                roll=int(round(float(truth["roll_deg"][i]))), shot=str(truth["shot"][i]),
                view=str(truth["view"][i]))


def score_image(truth: dict[str, np.ndarray], i: int, det: Detection | None) -> ImageScore:
    """The errors of ``det`` on image ``i`` of ``truth`` (``training.synthetic.hands``)."""
    row = _row(truth, i)
    side = row["side"]
    true = np.asarray(truth["points_camera"][i], np.float64)
    tf = flexion_deg(true, side)
    if det is None:
        return ImageScore(**row, detected=False, truth_flex=_r(tf))
    w, h = int(truth["width"]), int(truth["height"])
    uv = np.asarray(truth["points_2d"][i], np.float64)
    img = image_points(det.image, w, h)
    size = max(float(np.linalg.norm(uv[12] - uv[0])), 1e-9)
    wf, imf = flexion_deg(det.world, side), flexion_deg(img, side)
    ew, ei = wf - tf, imf - tf
    return ImageScore(
        **row, detected=True, label=det.label, label_ok=det.label.lower() == row["hand"],
        score=float(det.score), uv_err=float(np.linalg.norm(img[:, :2] - uv, axis=1).mean()
                                             / size),
        fingers_world=float(np.abs(ew[1:]).mean()), fingers_image=float(np.abs(ei[1:]).mean()),
        thumb_world=float(np.abs(ew[0]).mean()), thumb_image=float(np.abs(ei[0]).mean()),
        bias_world=float(ew[1:].mean()), bias_image=float(ei[1:].mean()),
        palm_world=palm_angle_deg(det.world, true, side),
        palm_image=palm_angle_deg(img, true, side),
        truth_flex=_r(tf), world_flex=_r(wf), image_flex=_r(imf))


def _r(a: np.ndarray) -> list:
    return np.round(a, 2).tolist()


def _mean(x: list[float], f=np.mean) -> float:
    return float(f(x)) if x else float("nan")


def summarise(scores: list[ImageScore], by: tuple[str, ...] = ()) -> list[GroupScore]:
    """Per value of the fields ``by`` (in order of first appearance), each over all sides,
    then the right hands, then the left hands."""
    out: list[GroupScore] = []
    keys = list(dict.fromkeys(tuple(str(getattr(s, k)) for k in by) for s in scores))
    for key in keys:
        members = [s for s in scores if tuple(str(getattr(s, k)) for k in by) == key]
        for side in ("all", "right", "left"):
            sel = [s for s in members if side in ("all", s.hand)]
            if not sel:
                continue
            d = [s for s in sel if s.detected]

            def m(name: str, d: list[ImageScore] = d) -> float:
                return _mean([getattr(s, name) for s in d])

            pw, pi = [s.palm_world for s in d], [s.palm_image for s in d]
            out.append(GroupScore(
                dict(zip(by, key)), side, len(sel), len(d), sum(s.label_ok for s in d),
                m("fingers_world"), m("fingers_image"), m("thumb_world"), m("thumb_image"),
                m("bias_world"), m("bias_image"), m("palm_world"), m("palm_image"),
                _mean(pw, np.median), _mean(pi, np.median),
                sum(p > 90 for p in pw), sum(p > 90 for p in pi)))
    return out


# ------------------------------------------------------------------------------ detection
def detect_folder(folder: str | Path, truth: dict[str, np.ndarray],
                  task_path: str | Path | None = None, cfg: DetectConfig | None = None,
                  progress: bool = True) -> list[Detection | None]:
    """Per image of ``truth``: the hand MediaPipe finds nearest the true wrist, or None."""
    from dgnet_core.detection import mediapipe_api
    from dgnet_core.detection.hands import default_hand_task_path
    from dgnet_core.errors import LiftError

    cfg = cfg or DetectConfig()
    path = Path(task_path) if task_path is not None else default_hand_task_path()
    mp, base_options, vision = mediapipe_api.load()
    options = vision.HandLandmarkerOptions(
        base_options=base_options(model_asset_path=str(path)),
        running_mode=vision.RunningMode.IMAGE, num_hands=cfg.num_hands,
        min_hand_detection_confidence=cfg.min_detection_confidence,
        min_hand_presence_confidence=cfg.min_presence_confidence)
    try:
        landmarker = vision.HandLandmarker.create_from_options(options)
    except Exception as exc:  # a bad bundle
        raise LiftError(f"cannot load hand model {path}: {exc}") from None
    names = [str(n) for n in truth["image"]]
    size = np.array([int(truth["width"]), int(truth["height"])], np.float64)
    if progress:
        from tqdm import tqdm

        names = tqdm(names, desc="detect hands", unit="image")
    found: list[Detection | None] = []
    try:
        for i, name in enumerate(names):
            image_path = Path(folder) / name
            if not image_path.is_file():
                raise FileNotFoundError(f"{image_path} is missing (render the folder again)")
            res = landmarker.detect(mp.Image.create_from_file(str(image_path)))
            if not res.hand_landmarks:
                found.append(None)
                continue
            wrist = np.asarray(truth["points_2d"][i][0]) / size
            k = int(np.argmin([np.hypot(h[0].x - wrist[0], h[0].y - wrist[1])
                               for h in res.hand_landmarks]))
            cat = res.handedness[k][0]
            found.append(Detection(
                cat.category_name, float(cat.score),
                np.array([(p.x, p.y, p.z) for p in res.hand_landmarks[k]]),
                np.array([(p.x, p.y, p.z) for p in res.hand_world_landmarks[k]])))
    finally:
        landmarker.close()
    return found


def score_folder(folder: str | Path, task_path: str | Path | None = None,
                 cfg: DetectConfig | None = None, progress: bool = True) -> list[ImageScore]:
    """Detect and score every image of a ``training.synthetic.hands`` folder."""
    from .synthetic.hands import load_truth

    truth = load_truth(folder)
    dets = detect_folder(folder, truth, task_path, cfg, progress)
    return [score_image(truth, i, d) for i, d in enumerate(dets)]


# ------------------------------------------------------------------------------ report
def _f(x: float, fmt: str = ".1f") -> str:
    return "" if not np.isfinite(x) else format(x, fmt)


def table(groups: list[GroupScore], title: str) -> str:
    """A markdown table of ``summarise``'s groups."""
    by = list(groups[0].group) if groups else []
    head = [*by, "side", "images", "found", "handedness ok", "fingers world",
            "fingers image", "thumb world", "thumb image", "bias world / image",
            "palm world mean (median)", "palm image mean (median)", "palm >90 world / image"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |",
             "|" + "|".join("---" if i < len(by) + 1 else "---:" for i in range(len(head)))
             + "|"]
    for g in groups:
        lines.append("| " + " | ".join([
            *g.group.values(), g.side, str(g.images), f"{g.detected}/{g.images}",
            f"{g.label_ok}/{g.detected}" if g.detected else "", _f(g.fingers_world),
            _f(g.fingers_image), _f(g.thumb_world), _f(g.thumb_image),
            f"{_f(g.bias_world, '+.1f')} / {_f(g.bias_image, '+.1f')}" if g.detected else "",
            f"{_f(g.palm_world)} ({_f(g.palm_world_median)})" if g.detected else "",
            f"{_f(g.palm_image)} ({_f(g.palm_image_median)})" if g.detected else "",
            f"{g.flips_world} / {g.flips_image}" if g.detected else ""]) + " |")
    return "\n".join(lines) + "\n"


def markdown(scores: list[ImageScore], note: str = "") -> str:
    """The report: the tables of every grouping, then one line per image."""
    parts = ["# Hand landmarker on rendered hands", "",
             "Flexion MAE and palm (wrist) orientation error in degrees, against the truth "
             "through `finger_angles` / `palm_frame` with the true side. `world`: MediaPipe's "
             "hand world landmarks; `image`: its image landmarks (x W, y H, z W). Fingers: "
             "the 12 finger angles; thumb: its 3. Means over the images with a hand found. "
             "Bias: the mean signed finger error (negative: less curled than the truth).",
             ""]
    if note:
        parts += [note, ""]
    titles = {(): "Overall and by side", ("pose",): "By pose", ("shot",): "By shot",
              ("view",): "By view", ("roll",): "By wrist roll (degrees)",
              ("pose", "shot", "view"): "By pose, shot and view"}
    for by in GROUPINGS:
        parts.append(table(summarise(scores, by), titles[by]))
    parts += ["### Per image", "",
              "| image | found | label | score | 2D err / hand | fingers world | fingers "
              "image | thumb world | thumb image | palm world | palm image |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in scores:
        if not s.detected:
            parts.append(f"| {s.key} | no | | | | | | | | | |")
            continue
        parts.append(f"| {s.key} | yes | {s.label}{'' if s.label_ok else ' (wrong)'} | "
                     f"{s.score:.2f} | {s.uv_err:.3f} | {s.fingers_world:.1f} | "
                     f"{s.fingers_image:.1f} | {s.thumb_world:.1f} | {s.thumb_image:.1f} | "
                     f"{s.palm_world:.1f} | {s.palm_image:.1f} |")
    return "\n".join(parts) + "\n"


def _json_safe(x):
    """NaN -> None, in nested dicts and lists (strict JSON)."""
    if isinstance(x, dict | list):
        return {k: _json_safe(v) for k, v in x.items()} if isinstance(x, dict) else [
            _json_safe(v) for v in x]
    return None if isinstance(x, float) and not np.isfinite(x) else x


def write_report(scores: list[ImageScore], out: str | Path, info: dict | None = None
                 ) -> tuple[Path, Path]:
    """``hands_bench.md`` and ``hands_bench.json`` (NaN written as null) in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    note = ", ".join(f"{k}: {v}" for k, v in (info or {}).items())
    md = out / "hands_bench.md"
    md.write_text(markdown(scores, note))
    groups = {" x ".join(by) or "all": [asdict(g) for g in summarise(scores, by)]
              for by in GROUPINGS}
    js = out / "hands_bench.json"
    js.write_text(json.dumps(_json_safe({"info": info or {}, "groups": groups,
                                         "images": [asdict(s) for s in scores]}), indent=1))
    return md, js


# ------------------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.hands_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="renders + truth.npz (training.synthetic hands)")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: FOLDER)")
    p.add_argument("--task", type=Path, default=None,
                   help="hand_landmarker.task (default: the project's)")
    p.add_argument("--render", action="store_true", help="render FOLDER first (python -m "
                   "training.synthetic hands, in its own process)")
    p.add_argument("--all-rolls", action="store_true", help="with --render: every pose at "
                   "rolls 0/45/90")
    args = p.parse_args(argv)
    from dgnet_core.errors import one_line_errors

    return one_line_errors(lambda: _run(args), extra=(FileNotFoundError, KeyError))


def _run(args) -> int:
    from dgnet_core.errors import LiftError

    info: dict = {}
    if args.render:
        cmd = [sys.executable, "-m", "training.synthetic", "hands", "--out",
               str(args.folder.resolve()), *(["--all-rolls"] if args.all_rolls else [])]
        t0 = time.perf_counter()
        if subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1]).returncode:
            raise LiftError(f"rendering failed: {' '.join(cmd)}")
        info["render_s"] = round(time.perf_counter() - t0, 1)
    if not (args.folder / "truth.npz").is_file():
        raise FileNotFoundError(f"no truth.npz in {args.folder}: render it with python -m "
                                "training.synthetic hands --out FOLDER")
    t0 = time.perf_counter()
    scores = score_folder(args.folder, args.task)
    info["images"] = len(scores)
    info["detect_and_score_s"] = round(time.perf_counter() - t0, 1)
    md, js = write_report(scores, args.out or args.folder, info)
    print(table(summarise(scores), "Overall and by side"))
    print(table(summarise(scores, ("pose",)), "By pose"))
    print(f"{md}\n{js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
