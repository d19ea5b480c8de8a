"""The head's turn from MediaPipe's face landmark model against the lift's head.

Could a face model give the head's yaw and pitch better than the lift's head (thorax ->
nose made square to thorax -> head top, ``turns``)? The face landmarker
(``.cache/models/face_landmarker.task``, built on demand by
``bash scripts/build_face_task.sh``; the product never uses it) runs in IMAGE mode on a
square crop around the body's face points (``--side`` x the torso, scaled to ``--pixels``)
and, on real clips, also on the whole frame. Two facings per frame where it finds a face:

* ``matrix``: its facial transformation matrix (Procrustes fit of the canonical face mesh,
  OpenGL axes; relative to the crop's axis, not corrected for where the crop lies);
* ``PnP``: ``cv2.solvePnP`` of the canonical mesh (``face_data/``) onto the 468 points,
  with the camera's intrinsics carried into the crop, so in the camera's axes.

Rendered clips (the renders and truth of ``turns``): the share of frames where the face
model fires and, on those frames, the mean absolute yaw and pitch errors of the lift,
MediaPipe's body landmarks (same definition), its face points (ears -> nose) and the face
model, against the truth's facing as ``turns`` measures it and against the rendered
head's own rotation. Real clips (no truth): the share of frames with a face, the 5-95 %
ranges of yaw and pitch and the mean difference from the lift's.

    bash scripts/build_face_task.sh
    python -m training.diagnose face runs/e2e [--confidence 0.1 --side 0.6 --pixels 256]
    python -m training.diagnose face --real tests/data/asl_hands_520x480.mp4
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .renders import rendered_clips
from .turns import face_facing, head_facing, wrap, yaw_pitch

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TASK = REPO / ".cache" / "models" / "face_landmarker.task"
CANONICAL_OBJ = Path(__file__).resolve().parent / "face_data" / "canonical_face_model.obj"
MESH_POINTS = 468
# OpenGL camera axes (y up, z backwards) -> OpenCV's (y down, z forwards)
GL_TO_CV = np.diag([1.0, -1.0, -1.0])
BUILD_HINT = "build it with bash scripts/build_face_task.sh"


@dataclass(frozen=True)
class FaceConfig:
    """How the face landmark model runs."""

    task: Path = DEFAULT_TASK
    confidence: float = 0.1  # least face detection, presence and tracking confidence
    side: float = 0.6        # the head crop's side, x torso length (shoulders -> hips)
    pixels: int = 256        # the crop is scaled to pixels x pixels


@dataclass(frozen=True)
class FaceRun:
    """Facings (N, 3) in camera axes (x right, y down, z forwards), NaN without a face."""

    matrix: np.ndarray
    pnp: np.ndarray
    seconds_per_frame: float

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.matrix).all(axis=1)


def face_task(path: Path) -> Path:
    """``path`` when it is a file, else ``FileNotFoundError`` saying how to build it."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"face model {path} not found; {BUILD_HINT}")
    return Path(path)


def canonical_vertices(path: Path = CANONICAL_OBJ) -> np.ndarray:
    """(468, 3) canonical face mesh in OpenCV object axes (x to the viewer's right, y down,
    z into the face); the file's are y up, z out of the face."""
    with open(path, encoding="utf-8") as f:
        v = [[float(x) for x in line.split()[1:4]] for line in f if line.startswith("v ")]
    return np.asarray(v[:MESH_POINTS]) * np.array([1.0, -1.0, -1.0])


def matrix_facing(matrix: np.ndarray) -> np.ndarray:
    """(3,) facing from a facial transformation matrix (4x4, OpenGL axes, scaled)."""
    rot = np.asarray(matrix, np.float64)[:3, :3]
    rot = rot / np.cbrt(np.linalg.det(rot))
    return GL_TO_CV @ rot @ np.array([0.0, 0.0, 1.0])


def pnp_facing(points: np.ndarray, k: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """(3,) facing of the canonical mesh posed onto ``points`` ((468, 2) pixels) by
    ``cv2.solvePnP`` (EPnP, refined iteratively) with intrinsics ``k``; NaN if it fails."""
    import cv2

    pts = np.ascontiguousarray(points, np.float64)
    obj = np.ascontiguousarray(canonical, np.float64)
    ok, rv, tv = cv2.solvePnP(obj, pts, k, None, flags=cv2.SOLVEPNP_EPNP)
    if ok:
        ok, rv, tv = cv2.solvePnP(obj, pts, k, None, rv, tv, True, cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return np.full(3, np.nan)
    rot, _ = cv2.Rodrigues(rv)
    return rot @ np.array([0.0, 0.0, -1.0])  # the face's outward normal


def head_crop(mp_image: np.ndarray, width: int, height: int, side: float
              ) -> tuple[float, float, float]:
    """Square crop ``(x0, y0, side)`` in pixels centred on the pose's face points
    (normalised image landmarks 0-10), ``side`` x the torso (shoulders' to hips' middle)."""
    p = mp_image[:, :2] * np.array([width, height])
    centre = p[0:11].mean(0)
    torso = np.linalg.norm(p[[11, 12]].mean(0) - p[[23, 24]].mean(0))
    s = max(side * torso, 16.0)
    return float(centre[0] - s / 2), float(centre[1] - s / 2), float(s)


def run_face(frames: Sequence[np.ndarray], mp_image: np.ndarray | None, k: np.ndarray,
             cfg: FaceConfig) -> FaceRun:
    """The face model on RGB ``frames``: on head crops from ``mp_image`` ((N, 33, 3),
    frames without a pose skipped), or on the whole frames when it is None."""
    import cv2

    from dgnet_core.detection import mediapipe_api

    mp, base_options, vision = mediapipe_api.load()
    canonical = canonical_vertices()
    n = len(frames)
    matrix, pnp = np.full((n, 3), np.nan), np.full((n, 3), np.nan)
    landmarker = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
        base_options=base_options(model_asset_path=str(face_task(cfg.task))),
        running_mode=vision.RunningMode.IMAGE, num_faces=1,
        min_face_detection_confidence=cfg.confidence,
        min_face_presence_confidence=cfg.confidence, min_tracking_confidence=cfg.confidence,
        output_facial_transformation_matrixes=True))
    start = time.perf_counter()
    try:
        for i, rgb in enumerate(frames):
            h, w = rgb.shape[:2]
            to_crop = np.eye(3)
            if mp_image is not None:
                if not np.isfinite(mp_image[i]).all():
                    continue
                x0, y0, side = head_crop(mp_image[i], w, h, cfg.side)
                s = cfg.pixels / side
                to_crop = np.array([[s, 0.0, -s * x0], [0.0, s, -s * y0], [0.0, 0.0, 1.0]])
                rgb = cv2.warpAffine(rgb, to_crop[:2], (cfg.pixels, cfg.pixels),
                                     flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
                h = w = cfg.pixels
            found = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB,
                                               data=np.ascontiguousarray(rgb)))
            if not found.face_landmarks:
                continue
            matrix[i] = matrix_facing(found.facial_transformation_matrixes[0])
            points = np.array([[p.x * w, p.y * h]
                               for p in found.face_landmarks[0][:MESH_POINTS]])
            pnp[i] = pnp_facing(points, to_crop @ k, canonical)
    finally:
        landmarker.close()
    return FaceRun(matrix, pnp, (time.perf_counter() - start) / max(n, 1))


def read_frames(video: Path, indices: np.ndarray) -> list[np.ndarray]:
    """The RGB frames ``indices`` of ``video`` (the product's reader), in that order."""
    from dgnet_core.detection.video import VideoReader

    wanted = {int(i) for i in indices}
    with VideoReader(video) as reader:
        got = {i: rgb for i, rgb in reader.frames(0, int(max(indices)) + 1) if i in wanted}
    return [got[int(i)] for i in indices]


def body_facings(result) -> dict[str, np.ndarray]:
    """Head facings (N, 3) of the lift, MediaPipe's body landmarks and its face points."""
    from dgnet_core.skeleton import mediapipe_to_h36m

    mp_world = np.nan_to_num(np.asarray(result.mp_world, np.float64))
    return {"ours": head_facing(np.asarray(result.joints_camera, np.float64)),
            "MediaPipe body": head_facing(mediapipe_to_h36m(mp_world)[0]),
            "pose face points": face_facing(mp_world)}


def pose_ok(result) -> np.ndarray:
    return (np.asarray(result.detected, bool)
            & np.isfinite(np.asarray(result.mp_world)).all(axis=(1, 2)))


def rendered_head_facing(truth_npz: Path, indices: np.ndarray) -> np.ndarray:
    """(N, 3) forward of the rendered head itself (its rigid matrix, head-local -y), in
    camera axes."""
    from training.synthetic.mannequin import head_matrices

    with np.load(truth_npz) as z:
        joints_world = z["joints_world"].astype(np.float64)[indices]
        rotation = z["rotation"].astype(np.float64)
    rot = head_matrices(joints_world)[:, :3, :3]
    rot = rot / np.cbrt(np.linalg.det(rot))[:, None, None]
    return np.einsum("ij,tjk,k->ti", rotation, rot, [0.0, -1.0, 0.0])


def clip_errors(result, truth_npz: Path, face: FaceRun) -> dict[str, np.ndarray]:
    """Signed yaw and pitch errors (degrees) on the frames with a pose and a face, per
    ``"<facing>|<truth>|yaw"`` / ``"...|pitch"``."""
    idx = np.asarray(result.frame_indices)
    with np.load(truth_npz) as z:
        gt = z["joints_camera"].astype(np.float64)[idx]
    truths = {"truth": yaw_pitch(head_facing(gt)),
              "rendered head": yaw_pitch(rendered_head_facing(truth_npz, idx))}
    both = pose_ok(result) & face.found
    facings = body_facings(result) | {"face matrix": face.matrix, "face PnP": face.pnp}
    out: dict[str, np.ndarray] = {}
    for name, facing in facings.items():
        yaw, pitch = yaw_pitch(np.nan_to_num(facing))
        for tname, (t_yaw, t_pitch) in truths.items():
            out[f"{name}|{tname}|yaw"] = wrap(yaw - t_yaw)[both]
            out[f"{name}|{tname}|pitch"] = (pitch - t_pitch)[both]
    return out


def _mae(values: np.ndarray) -> float:
    return float(np.abs(values).mean()) if values.size else float("nan")


def _deg(value: float) -> str:
    return f"{value:.1f}" if np.isfinite(value) else "-"


def evaluate_renders(folder: Path, cfg: FaceConfig, model: str | None) -> None:
    """Print the face model against the truth on the rendered clips (see the docstring)."""
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.pipeline import run_pipeline

    videos = rendered_clips(folder)
    print(f"head crop {cfg.side:g} x the torso at {cfg.pixels} px, confidence "
          f"{cfg.confidence:g}; mean |error| (deg) on the frames with a face\n")
    print("| clip | frames | face | ms/frame | yaw ours / matrix / PnP "
          "| pitch ours / matrix / PnP |")
    print("|---|---:|---:|---:|---:|---:|")
    pooled: dict[str, list[np.ndarray]] = {}
    frames = found = 0
    for v in videos:
        with np.load(v.with_suffix(".npz")) as z:
            focal = float(z["intrinsics"][0, 0])
        res = run_pipeline(v, PipelineOptions(focal_px=focal, model_path=model))
        idx = np.asarray(res.frame_indices)
        face = run_face(read_frames(v, idx), np.asarray(res.mp_image, np.float64),
                        np.asarray(res.intrinsics, np.float64), cfg)
        errors = clip_errors(res, v.with_suffix(".npz"), face)
        for key, e in errors.items():
            pooled.setdefault(key, []).append(e)
        frames += len(idx)
        found += int(face.found.sum())
        cells = [" / ".join(_deg(_mae(errors[f"{n}|truth|{a}"]))
                            for n in ("ours", "face matrix", "face PnP")) for a in ("yaw", "pitch")]
        print(f"| {v.parent.name}/{v.stem} | {len(idx)} | {int(face.found.sum())} | "
              f"{face.seconds_per_frame * 1e3:.1f} | {cells[0]} | {cells[1]} |", flush=True)
    errors = {k: np.concatenate(v) for k, v in pooled.items()}
    common = len(errors["ours|truth|yaw"])
    print(f"\nface found on {found}/{frames} frames ({found / max(frames, 1):.0%}); "
          f"on the {common} with a pose and a face, mean |error| (deg):\n")
    print("| head facing | yaw vs truth | pitch vs truth | yaw vs rendered head "
          "| pitch vs rendered head |")
    print("|---|---:|---:|---:|---:|")
    for name in ("ours", "MediaPipe body", "pose face points", "face matrix", "face PnP"):
        print(f"| {name} | " + " | ".join(f"{_mae(errors[f'{name}|{t}|{a}']):.1f}"
                                        for t in ("truth", "rendered head")
                                        for a in ("yaw", "pitch")) + " |")


def real_rows(facings: dict[str, np.ndarray], ok: np.ndarray) -> list[dict[str, float]]:
    """Per facing on the frames ``ok``: yaw and pitch 5-95 % ranges and the signed and
    absolute mean differences from ``facings["ours"]`` (degrees)."""
    ref_yaw, ref_pitch = yaw_pitch(np.nan_to_num(facings["ours"]))
    rows = []
    for name, facing in facings.items():
        m = ok & np.isfinite(facing).all(axis=1)
        yaw, pitch = yaw_pitch(np.nan_to_num(facing))
        d_yaw, d_pitch = wrap(yaw - ref_yaw)[m], (pitch - ref_pitch)[m]
        row = {"name": name, "frames": int(m.sum())}
        for key, val in (("yaw", yaw[m]), ("pitch", pitch[m])):
            lo, hi = np.percentile(val, [5, 95]) if val.size else (np.nan, np.nan)
            row[f"{key} 5%"], row[f"{key} 95%"] = float(lo), float(hi)
        for key, d in (("yaw", d_yaw), ("pitch", d_pitch)):
            row[f"{key} diff"] = float(d.mean()) if d.size else float("nan")
            row[f"{key} |diff|"] = _mae(d)
        rows.append(row)
    return rows


def evaluate_real(video: Path, cfg: FaceConfig, model: str | None) -> None:
    """Print the face model on a real clip, head crops and whole frames, next to ours."""
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.pipeline import run_pipeline

    res = run_pipeline(video, PipelineOptions(model_path=model))
    idx = np.asarray(res.frame_indices)
    k = np.asarray(res.intrinsics, np.float64)
    frames = read_frames(video, idx)
    ok = pose_ok(res)
    print(f"== {video.name}: {len(idx)} frames lifted, pose on {int(ok.sum())}, "
          f"focal {k[0, 0]:.0f} px, confidence {cfg.confidence:g}")
    facings = body_facings(res)
    for label, mp_image in (("head crop", np.asarray(res.mp_image, np.float64)),
                            ("whole frame", None)):
        face = run_face(frames, mp_image, k, cfg)
        print(f"  face, {label}: found on {int(face.found.sum())}/{len(idx)} "
              f"({face.found.mean():.0%}), {face.seconds_per_frame * 1e3:.1f} ms/frame")
        facings[f"face matrix, {label}"] = face.matrix
        facings[f"face PnP, {label}"] = face.pnp
    common = ok & np.isfinite(facings["face matrix, whole frame"]).all(axis=1)
    print(f"\non the {int(common.sum())} frames with a pose and a face in the whole frame "
          "(degrees; diff = facing - ours, mean and mean |.|):\n")
    print("| head facing | frames | yaw 5-95 % | pitch 5-95 % | yaw diff | pitch diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in real_rows(facings, common):
        print(f"| {r['name']} | {r['frames']} | {r['yaw 5%']:.1f} .. {r['yaw 95%']:.1f} | "
              f"{r['pitch 5%']:.1f} .. {r['pitch 95%']:.1f} | {r['yaw diff']:+.1f} "
              f"({r['yaw |diff|']:.1f}) | {r['pitch diff']:+.1f} ({r['pitch |diff|']:.1f}) |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.diagnose face",
                                description=__doc__.split("\n")[0])
    p.add_argument("renders", type=Path, nargs="?",
                   help="folder of rendered clips (<clip>.mp4 with <clip>.npz)")
    p.add_argument("--real", type=Path, nargs="+", default=[], metavar="CLIP",
                   help="real clips (no truth)")
    p.add_argument("--task", type=Path, default=FaceConfig.task)
    p.add_argument("--confidence", type=float, default=FaceConfig.confidence)
    p.add_argument("--side", type=float, default=FaceConfig.side)
    p.add_argument("--pixels", type=int, default=FaceConfig.pixels)
    p.add_argument("--model", default=None, help="lifting model (default: the shipped one)")
    args = p.parse_args(argv)
    if args.renders is None and not args.real:
        p.error("give a folder of rendered clips, --real CLIP, or both")
    cfg = FaceConfig(face_task(args.task), args.confidence, args.side, args.pixels)
    if args.renders is not None:
        evaluate_renders(args.renders, cfg, args.model)
    for video in args.real:
        if not video.is_file():
            raise FileNotFoundError(f"no such clip: {video}")
        print()
        evaluate_real(video, cfg, args.model)
    return 0
