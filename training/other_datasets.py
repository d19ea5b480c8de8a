"""HumanEva-I and MPI-INF-3DHP loaders (their public formats) mapped to the 17 joints.

HumanEva-I, VideoPose3D layout: ``data_3d_humaneva15.npz`` (``positions_3d[subject]
[action]`` (T, 15, 3) metres) and ``data_2d_humaneva15_<det>.npz`` (``positions_2d
[subject][action][cam]`` (T, 15, 2) px). Subjects are ``Train/S1``, ``Validate/S2`` ...
These files hold pickled dicts: opened only with ``trusted=True`` (a local file you made).
The 15 joints (VideoPose3D's order) map to the 17: Spine is the pelvis-thorax mid-point
and Neck/Nose the thorax-head mid-point, both with confidence 0.5.

MPI-INF-3DHP test set: ``TS<k>/annot_data.mat`` with ``annot2`` (px), ``annot3`` /
``univ_annot3`` (mm) and ``valid_frame``. The official files are MATLAB v7.3 (HDF5) and
need ``h5py``; h5py is NOT a dependency of this project, so without it only MATLAB v5
files (``scipy.io.loadmat``; e.g. re-saved with ``save -v7``) can be read, and v7.3 files
raise a clear error. Metrics: PCK at 150 mm and AUC over 0-150 mm (``dgnet_core.metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ----------------------------------------------------------------------------- HumanEva
HUMANEVA15_NAMES: tuple[str, ...] = (
    "pelvis", "thorax", "lshoulder", "lelbow", "lwrist", "rshoulder", "relbow", "rwrist",
    "lhip", "lknee", "lankle", "rhip", "rknee", "rankle", "head",
)
# 17-joint index -> HumanEva-15 index (None: derived)
HUMANEVA15_TO_H36M17: tuple[int | None, ...] = (
    0, 11, 12, 13, 8, 9, 10, None, 1, None, 14, 2, 3, 4, 5, 6, 7)


def humaneva15_to_h36m(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 15, C) -> (..., 17, C) and a (..., 17) confidence (0.5 on derived joints)."""
    p = np.asarray(p)
    out = np.zeros(p.shape[:-2] + (17, p.shape[-1]), dtype=p.dtype)
    conf = np.ones(p.shape[:-2] + (17,), np.float32)
    for j, s in enumerate(HUMANEVA15_TO_H36M17):
        if s is not None:
            out[..., j, :] = p[..., s, :]
    out[..., 7, :] = 0.5 * (p[..., 0, :] + p[..., 1, :])
    out[..., 9, :] = 0.5 * (p[..., 1, :] + p[..., 14, :])
    conf[..., [7, 9]] = 0.5
    return out, conf


@dataclass
class HumanEvaData:
    poses: dict[str, dict[str, np.ndarray]]               # (T, 15, 3)
    keypoints: dict[str, dict[str, list[np.ndarray]]]     # (T, 15, 2) per camera


def load_humaneva(path_3d: str | Path, path_2d: str | Path | None = None, *,
                  trusted: bool = False) -> HumanEvaData:
    """Read VideoPose3D's HumanEva-I npz files (pickled dicts: needs ``trusted=True``)."""
    if not trusted:
        raise ValueError("HumanEva npz files contain pickles; pass trusted=True only for a "
                         "local file you trust")
    raw = np.load(path_3d, allow_pickle=True)["positions_3d"].item()
    poses = {s: {a: np.asarray(v, np.float32) for a, v in acts.items()}
             for s, acts in raw.items()}
    for s, acts in poses.items():
        for a, v in acts.items():
            if v.ndim != 3 or v.shape[1:] != (15, 3):
                raise ValueError(f"HumanEva {s}/{a}: expected (T, 15, 3), got {v.shape}")
    kps: dict[str, dict[str, list[np.ndarray]]] = {}
    if path_2d is not None:
        raw2 = np.load(path_2d, allow_pickle=True)["positions_2d"].item()
        kps = {s: {a: [np.asarray(c, np.float32)[..., :2] for c in cams]
                   for a, cams in acts.items()} for s, acts in raw2.items()}
    return HumanEvaData(poses, kps)


# --------------------------------------------------------------------------- 3DHP
MPI3DHP_NAMES: tuple[str, ...] = (
    "head_top", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "pelvis", "spine", "head",
)
# 17-joint (H36M order) index -> 3DHP test-set index
MPI3DHP_TO_H36M17: tuple[int, ...] = (14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4)
MPI3DHP_RESOLUTION = {f"TS{i}": (2048, 2048) for i in range(1, 5)} | {
    "TS5": (1920, 1080), "TS6": (1920, 1080)}


@dataclass
class MPI3DHPSequence:
    name: str
    joints_2d: np.ndarray   # (N, 17, 2) px, H36M order
    joints_3d: np.ndarray   # (N, 17, 3) metres, camera space, H36M order
    valid: np.ndarray       # (N,) bool
    width: int
    height: int


def _to_nj(a: np.ndarray, c: int) -> np.ndarray:
    """Any MATLAB/HDF5 layout of (N, 1, 17, C) -> (N, 17, C)."""
    a = np.squeeze(np.asarray(a))
    if a.ndim != 3:
        raise ValueError(f"expected a 3-d joint array after squeeze, got {a.shape}")
    j_ax = [i for i, s in enumerate(a.shape) if s == 17]
    c_ax = [i for i, s in enumerate(a.shape) if s == c and i not in j_ax[:1]]
    if not j_ax or not c_ax:
        raise ValueError(f"cannot find the 17-joint and {c}-coordinate axes in {a.shape}")
    n_ax = ({0, 1, 2} - {j_ax[0], c_ax[0]}).pop()
    return np.transpose(a, (n_ax, j_ax[0], c_ax[0]))


def read_mat(path: str | Path) -> dict[str, np.ndarray]:
    """annot_data.mat as a dict of arrays (v5 via scipy; v7.3 via h5py when installed)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(128)
    if b"MATLAB 7.3" in head or head[:8] == b"\x89HDF\r\n\x1a\n":
        try:
            import h5py
        except ImportError:
            raise ValueError(f"{path} is MATLAB v7.3 (HDF5) and needs h5py, which is not "
                             "installed; install h5py or re-save it with 'save -v7'") from None
        with h5py.File(path, "r") as f:
            return {k: np.asarray(f[k]) for k in f.keys() if isinstance(f[k], h5py.Dataset)}
    from scipy.io import loadmat

    return {k: v for k, v in loadmat(path).items() if not k.startswith("__")}


def load_3dhp_sequence(path: str | Path, name: str | None = None,
                       universal: bool = True) -> MPI3DHPSequence:
    """Read one test sequence's ``annot_data.mat`` into the 17-joint H36M order."""
    path = Path(path)
    name = name or path.parent.name
    m = read_mat(path)
    a2 = _to_nj(m["annot2"], 2)
    a3 = _to_nj(m["univ_annot3" if universal and "univ_annot3" in m else "annot3"], 3)
    valid = np.squeeze(np.asarray(m.get("valid_frame", np.ones(len(a2))))).astype(bool)
    w, h = MPI3DHP_RESOLUTION.get(name, (2048, 2048))
    idx = list(MPI3DHP_TO_H36M17)
    return MPI3DHPSequence(name, a2[:, idx].astype(np.float32),
                           (a3[:, idx] / 1000.0).astype(np.float32), valid.reshape(-1), w, h)


def evaluate_3dhp(lift, seq: MPI3DHPSequence) -> dict[str, float]:
    """PCK@150mm, AUC and MPJPE (mm) of ``lift(kp_px, width, height) -> (N, 17, 3)``.

    Both poses are made root-relative (pelvis); only valid frames count.
    """
    from dgnet_core.metrics import auc, mpjpe, pck

    pred = lift(seq.joints_2d, seq.width, seq.height)
    gt = seq.joints_3d - seq.joints_3d[:, :1]
    pred = pred - pred[:, :1]
    v = seq.valid
    return {"PCK": float(pck(pred[v], gt[v]).mean() * 100),
            "AUC": float(auc(pred[v], gt[v]).mean() * 100),
            "MPJPE": float(mpjpe(pred[v], gt[v]).mean() * 1000)}
