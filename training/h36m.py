"""Human3.6M data: reading, cameras, projection and the train/test split.

Reads two layouts into one in-memory form (``H36MData``):

* the shared flat npz files (``h36m_3d17.npz``, ``h36m_sh2d16.npz``, ``cameras.json``;
  int16 temporal deltas, decoded by a cumulative sum; see the data README), and
* the public VideoPose3D layout users bring (``data_3d_h36m.npz`` with
  ``positions_3d[subject][action]`` as (T, 32, 3) world metres, and
  ``data_2d_h36m_<det>.npz`` with ``positions_2d[subject][action][cam]``). Those files are
  stored as pickled object arrays; they are read with ``allow_pickle=True`` ONLY when the
  caller passes ``trusted=True`` for a local file they made or downloaded themselves.

Conventions (VideoPose3D's): 17 joints in ``dgnet_core.skeleton`` order, world metres,
camera space ``X_cam = (X_world - T) @ R.T`` (x right, y down, z forward), pinhole
projection without distortion, targets root-relative in metres.

Stacked-Hourglass detections have 16 joints; ``sh16_to_h36m`` fills the missing
Neck/Nose either as the Thorax-Head mid-point (confidence 0.5) or with confidence 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dgnet_core.skeleton import sh16_to_h36m

TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
TEST_SUBJECTS: tuple[str, ...] = ("S9", "S11")
ACTIONS: tuple[str, ...] = (
    "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing",
    "Purchases", "Sitting", "SittingDown", "Smoking", "Waiting", "WalkDog", "Walking",
    "WalkTogether",
)
SCALE_3D = 4000.0
SCALE_2D = 4.0
# VideoPose3D keeps these 17 of the 32 Human3.6M mocap joints.
H36M32_TO_17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
_ACTION_ALIASES = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}


def action_group(name: str) -> str:
    """'Walking 1' -> 'Walking'; also maps the TakingPhoto/WalkingDog aliases."""
    base = re.sub(r"[ _]?\d+$", "", name.strip())
    return _ACTION_ALIASES.get(base, base)


@dataclass(frozen=True)
class Camera:
    """One calibrated camera: world->camera rotation R, centre T (m), focal f, centre c (px)."""

    id: str
    R: np.ndarray
    T: np.ndarray
    f: np.ndarray
    c: np.ndarray
    width: int
    height: int

    @classmethod
    def from_dict(cls, d: dict) -> Camera:
        return cls(id=str(d["id"]), R=np.asarray(d["R"], np.float64),
                   T=np.asarray(d["T"], np.float64), f=np.asarray(d["f"], np.float64),
                   c=np.asarray(d["c"], np.float64), width=int(d["res_w"]),
                   height=int(d["res_h"]))

    def to_camera(self, world: np.ndarray) -> np.ndarray:
        return (np.asarray(world, np.float64) - self.T) @ self.R.T

    def project(self, cam_xyz: np.ndarray) -> np.ndarray:
        return project(cam_xyz, self.f, self.c)


def project(cam_xyz: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-space points (..., 3) to pixels (..., 2)."""
    z = np.maximum(cam_xyz[..., 2:], 1e-6)
    return cam_xyz[..., :2] / z * f + c


@dataclass
class H36MData:
    """Sequences of world-space 3D joints, cameras and (optional) 2D detections.

    ``poses[subject][action]`` is (T, 17, 3) float32 world metres; ``cameras[subject]`` a
    list of 4 ``Camera``; ``detections[subject][action][cam_index]`` (T, 17, 2) pixels
    plus ``det_conf`` of the same layout (T, 17).
    """

    poses: dict[str, dict[str, np.ndarray]]
    cameras: dict[str, list[Camera]]
    detections: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)
    det_conf: dict[str, dict[str, list[np.ndarray]]] = field(default_factory=dict)

    def sequences(self, subjects, actions=None) -> list[tuple[str, str]]:
        """(subject, action) keys for the given subjects (and action groups), sorted."""
        out = []
        for s in subjects:
            for a in sorted(self.poses.get(s, {})):
                if actions is None or action_group(a) in actions:
                    out.append((s, a))
        return out

    def camera_poses(self, subject: str, action: str, cam: int) -> np.ndarray:
        """(T, 17, 3) camera-space joints in metres (float32)."""
        return self.cameras[subject][cam].to_camera(self.poses[subject][action]).astype(
            np.float32)

    def gt_2d(self, subject: str, action: str, cam: int) -> np.ndarray:
        """(T, 17, 2) ground truth projected to pixels (no distortion)."""
        camera = self.cameras[subject][cam]
        return camera.project(self.camera_poses(subject, action, cam)).astype(np.float32)


def _decode(a: np.ndarray, scale: float) -> np.ndarray:
    return (np.cumsum(a, axis=0, dtype=np.int32) / scale).astype(np.float32)


def load_cameras(path: str | Path) -> dict[str, list[Camera]]:
    data = json.loads(Path(path).read_text())
    return {s: [Camera.from_dict(c) for c in cams] for s, cams in data.items()}


def load_shared(root: str | Path, subjects=None, detections: bool = True,
                neck: str = "interpolate") -> H36MData:
    """Read the shared flat npz files of ``root`` (see its README)."""
    root = Path(root)
    cams = load_cameras(root / "cameras.json")
    poses: dict[str, dict[str, np.ndarray]] = {}
    with np.load(root / "h36m_3d17.npz") as z:
        for key in z.files:
            s, a = key.split("/", 1)
            if subjects is None or s in subjects:
                poses.setdefault(s, {})[a] = _decode(z[key], SCALE_3D)
    data = H36MData(poses=poses, cameras=cams)
    det_path = root / "h36m_sh2d16.npz"
    if detections and det_path.exists():
        with np.load(det_path) as z:
            for key in z.files:
                s, a, cid = key.rsplit("/", 2)
                if s not in poses or a not in poses[s]:
                    continue
                ci = [c.id for c in cams[s]].index(cid)
                kp, conf = sh16_to_h36m(_decode(z[key], SCALE_2D), neck=neck)
                data.detections.setdefault(s, {}).setdefault(a, [None] * 4)[ci] = kp
                data.det_conf.setdefault(s, {}).setdefault(a, [None] * 4)[ci] = conf
    return data


def load_videopose3d(path_3d: str | Path, path_2d: str | Path | None = None, *,
                     cameras: str | Path | dict | None = None, trusted: bool = False,
                     subjects=None) -> H36MData:
    """Read VideoPose3D's ``data_3d_h36m.npz`` (+ ``data_2d_h36m_<det>.npz``).

    These files hold pickled Python dicts, so they are opened only with ``trusted=True``
    (a local copy you made or downloaded yourself; never an untrusted file). Cameras come
    from a ``cameras.json`` in the shared layout (VideoPose3D keeps them in code).
    2D with 16 joints (SH) is mapped with ``sh16_to_h36m``; 17 joints are used as is.
    """
    if not trusted:
        raise ValueError("VideoPose3D npz files contain pickles; pass trusted=True only for "
                         "a local file you trust")
    if cameras is None:
        raise ValueError("cameras (a cameras.json path or dict) are required")
    cams = (cameras if isinstance(cameras, dict) else load_cameras(cameras))
    raw = np.load(path_3d, allow_pickle=True)["positions_3d"].item()
    poses: dict[str, dict[str, np.ndarray]] = {}
    for s, acts in raw.items():
        if subjects is not None and s not in subjects:
            continue
        for a, p in acts.items():
            p = np.asarray(p, np.float32)
            if p.shape[1] == 32:
                p = p[:, list(H36M32_TO_17)]
            poses.setdefault(s, {})[a] = p
    data = H36MData(poses=poses, cameras=cams)
    if path_2d is not None:
        raw2 = np.load(path_2d, allow_pickle=True)["positions_2d"].item()
        for s, acts in raw2.items():
            if s not in poses:
                continue
            for a, per_cam in acts.items():
                if a not in poses[s]:
                    continue
                kps, confs = [], []
                for kp in per_cam:
                    kp = np.asarray(kp, np.float32)[..., :2]
                    n = min(len(kp), len(poses[s][a]))
                    if kp.shape[1] == 16:
                        kp, conf = sh16_to_h36m(kp[:n])
                    else:
                        kp, conf = kp[:n], np.ones(kp[:n].shape[:2], np.float32)
                    kps.append(kp)
                    confs.append(conf)
                data.detections.setdefault(s, {})[a] = kps
                data.det_conf.setdefault(s, {})[a] = confs
    return data


def load(root: str | Path, subjects=None, **kw) -> H36MData:
    """Load a directory: the shared layout if ``h36m_3d17.npz`` exists, else VideoPose3D's."""
    root = Path(root)
    if (root / "h36m_3d17.npz").exists():
        return load_shared(root, subjects=subjects, **kw)
    if not (root / "data_3d_h36m.npz").exists():
        raise FileNotFoundError(f"no Human3.6M data in {root}: expected h36m_3d17.npz "
                                "(shared layout) or data_3d_h36m.npz (VideoPose3D layout)")
    det = kw.pop("detections_name", "sh_pt_mpii")
    p2 = root / f"data_2d_h36m_{det}.npz"
    return load_videopose3d(root / "data_3d_h36m.npz", p2 if p2.exists() else None,
                            cameras=kw.get("cameras", root / "cameras.json"),
                            trusted=kw.get("trusted", False), subjects=subjects)
