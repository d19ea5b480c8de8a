"""Writing (and reading back) a ``LiftResult``: npz, JSON and BVH files.

Owns the on-disk layout of results:

* ``.npz``: every array of the result under its own name (``joints`` = world joints,
  ``joints_camera``, ``keypoints_2d``, ``confidence``, ``mp_world``, ``mp_image``,
  ``contacts``, ``detected``, ``frame_indices``, ``intrinsics``, ``gaps``, and
  ``rest_offsets`` (17, 3), the clip's body, ``joints_lifted``, the network's
  root-relative output before placement, ``foot_dirs``, heel -> toe directions, and
  ``segments`` (K, 2), the stretches between long gaps, when the result has them;
  ``others`` (N,) bool, frames where somebody else was in view; ``person``, which
  tracked person, when several were lifted; with ``--hands``: ``hand_points`` (N, 2, 21,
  3) MediaPipe's hand world landmarks, ``hand_score`` (N, 2), ``finger_flex`` (N, 2, 5, 3)
  and ``finger_spread`` (N, 2, 5) radians, ``hand_weight`` (N, 2), ``palm`` (N, 2, 3, 3),
  ``hand_image`` (N, 2, 21, 3) the points in the frame;
  side 0 is the person's left), scalars
  ``fps``, ``width``, ``height``, and the skeleton (``joint_names``, ``parents``). No
  pickled objects: ``np.load`` works without ``allow_pickle`` and ``load_npz`` restores
  the ``LiftResult``.
* ``.json``: the same content as nested lists (NaN -> null), for tools without numpy.
* ``.bvh``: the world joints as motion on the project skeleton (see ``bvh.py``), on the
  result's body (``rest_offsets``): FK of the file gives back the npz joints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..contract import HandResult, LiftResult
from ..errors import FormatError, LiftError
from ..skeleton import JOINT_NAMES, MP_NAMES, PARENTS
from .bvh import write_bvh

FORMATS = ("npz", "json", "bvh")
FORMAT_VERSION = 1


def parse_formats(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"npz,json"`` or a list -> validated unique list; ``FormatError`` for unknown ones."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in (i.strip().lower().lstrip(".") for i in items):
        if not item:
            continue
        if item not in FORMATS:
            raise FormatError(f"unknown output format {item!r} (choose from "
                              f"{', '.join(FORMATS)})")
        if item not in out:
            out.append(item)
    if not out:
        raise FormatError(f"no output format given (choose from {', '.join(FORMATS)})")
    return out


def _arrays(result: LiftResult) -> dict[str, np.ndarray]:
    return {
        "joints": np.asarray(result.joints_world, np.float32),
        "joints_camera": np.asarray(result.joints_camera, np.float32),
        "keypoints_2d": np.asarray(result.keypoints_2d, np.float32),
        "confidence": np.asarray(result.confidence, np.float32),
        "mp_world": np.asarray(result.mp_world, np.float32),
        "mp_image": np.asarray(result.mp_image, np.float32),
        "contacts": np.asarray(result.contacts, bool),
        "detected": np.asarray(result.detected, bool),
        "frame_indices": np.asarray(result.frame_indices, np.int64),
        "intrinsics": np.asarray(result.intrinsics, np.float64),
        "gaps": np.asarray(result.gaps, np.int64).reshape(-1, 2),
        **({} if getattr(result, "rest_offsets", None) is None else
           {"rest_offsets": np.asarray(result.rest_offsets, np.float64)}),
        **{k: np.asarray(getattr(result, k), np.float32) for k in ("joints_lifted", "foot_dirs")
           if getattr(result, k, None) is not None},
        **({} if not getattr(result, "segments", None) else
           {"segments": np.asarray(result.segments, np.int64).reshape(-1, 2)}),
        **({} if getattr(result, "others", None) is None else
           {"others": np.asarray(result.others, bool)}),
        **({} if getattr(result, "person", None) is None else
           {"person": np.int64(result.person)}),
        **_hand_arrays(getattr(result, "hands", None)),
    }


# npz / JSON keys of the hands (``contract.HandResult`` fields).
HAND_KEYS = {"hand_points": "points", "hand_score": "score", "finger_flex": "flex",
             "finger_spread": "spread", "hand_weight": "weight", "palm": "palm",
             "hand_image": "image"}


def _hand_arrays(hands) -> dict[str, np.ndarray]:
    if hands is None:
        return {}
    return {key: np.asarray(getattr(hands, field), np.float32)
            for key, field in HAND_KEYS.items() if getattr(hands, field) is not None}


def save_npz(result: LiftResult, path: str | Path) -> Path:
    """Write the result as a compressed npz (see the module docstring for the keys)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path, **_arrays(result), fps=np.float64(result.fps), width=np.int64(result.width),
        height=np.int64(result.height), source=np.str_(result.source),
        joint_names=np.array(JOINT_NAMES), parents=np.array(PARENTS, np.int64),
        mp_names=np.array(MP_NAMES), format_version=np.int64(FORMAT_VERSION))
    return path


def load_npz(path: str | Path) -> LiftResult:
    """Read a file written by ``save_npz`` back into a ``LiftResult``."""
    path = Path(path)
    try:
        with np.load(path) as z:
            a = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise LiftError(f"cannot read result file {path}: {exc}") from None
    missing = {"joints", "fps", "width", "height"} - set(a)
    if missing:
        raise LiftError(f"{path} is not a lift result (missing {', '.join(sorted(missing))})")
    return LiftResult(
        joints_world=a["joints"], joints_camera=a["joints_camera"],
        keypoints_2d=a["keypoints_2d"], confidence=a["confidence"], mp_world=a["mp_world"],
        mp_image=a["mp_image"], contacts=a["contacts"], detected=a["detected"],
        frame_indices=a["frame_indices"], fps=float(a["fps"]), width=int(a["width"]),
        height=int(a["height"]), intrinsics=a["intrinsics"],
        gaps=[(int(s), int(e)) for s, e in a["gaps"]], source=str(a.get("source", "")),
        rest_offsets=a.get("rest_offsets"), joints_lifted=a.get("joints_lifted"),
        foot_dirs=a.get("foot_dirs"),
        segments=[(int(s), int(e)) for s, e in a["segments"]] if "segments" in a else None,
        others=a.get("others"),
        person=int(a["person"]) if "person" in a else None,
        hands=HandResult(**{f: a[k] for k, f in HAND_KEYS.items() if k in a})
        if "finger_flex" in a else None)


def _listify(x: np.ndarray, decimals: int) -> list:
    x = np.asarray(x)
    if x.dtype.kind == "f":
        x = np.round(x.astype(np.float64), decimals)
        return np.where(np.isfinite(x), x, None).tolist()
    return x.tolist()


def save_json(result: LiftResult, path: str | Path, decimals: int = 5) -> Path:
    """Write the result as JSON: metadata plus arrays as nested lists (NaN -> null)."""
    path = Path(path)
    doc = {
        "format": "lift-video-result", "format_version": FORMAT_VERSION,
        "source": result.source, "fps": float(result.fps), "width": int(result.width),
        "height": int(result.height), "num_frames": int(len(result.joints_world)),
        "joint_names": list(JOINT_NAMES), "parents": list(PARENTS),
        "mediapipe_names": list(MP_NAMES),
        "axes": {"joints": "world, metres, Z up, floor z=0, person facing camera faces -Y",
                 "joints_camera": "metres, x right, y down, z forward",
                 "keypoints_2d": "pixels", "contacts": "(left foot, right foot)"},
    }
    doc.update({k: _listify(v, decimals) for k, v in _arrays(result).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return path


def save_bvh(result: LiftResult, path: str | Path) -> Path:
    """Write the world joints as a BVH file on the project skeleton (Y-up, metres)."""
    return write_bvh(path, result.joints_world, result.fps,
                     offsets=getattr(result, "rest_offsets", None),
                     hands=getattr(result, "hands", None))


_WRITERS = {"npz": save_npz, "json": save_json, "bvh": save_bvh}


def save_outputs(result: LiftResult, out_dir: str | Path, formats=FORMATS, stem: str | None = None
                 ) -> list[Path]:
    """Write the result in each format to ``out_dir/<stem>.<ext>`` (stem: the video name)."""
    names = parse_formats(formats)
    out_dir = Path(out_dir)
    stem = stem or (Path(result.source).stem if result.source else "lift")
    return [_WRITERS[f](result, out_dir / f"{stem}.{f}") for f in names]
