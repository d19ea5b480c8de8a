"""Small synthetic data in the shared file formats (tests and smoke runs).

``write_fake_h36m(dir)`` writes ``h36m_3d17.npz``, ``h36m_sh2d16.npz`` and
``cameras.json`` exactly as the shared data README describes (int16 temporal deltas), with
a template body walking, turning and swinging its limbs, seen by four cameras.
``write_fake_mocap(dir)`` writes the motion-capture folder's ``bandai_h36m17.npz`` and its
``_meta.json`` the same way, labelled clips of a smaller body. They let the training,
evaluation and DDP code run where the research data is absent; they say nothing about
accuracy on real data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dgnet_core.skeleton import SH16_TO_H36M17, TEMPLATE_POSE

from .h36m import SCALE_2D, SCALE_3D, Camera

_LEGS = {1: (2, 3), 4: (5, 6)}          # hip -> (knee, foot)
_ARMS = {14: (15, 16), 11: (12, 13)}    # shoulder -> (elbow, wrist)


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def fake_motion(n: int, seed: int = 0) -> np.ndarray:
    """(n, 17, 3) world metres (Z up): walking with turning heading and limb swings."""
    rng = np.random.default_rng(seed)
    omega = rng.uniform(0.15, 0.3)
    amp_leg, amp_arm = rng.uniform(0.3, 0.6), rng.uniform(0.2, 0.9)
    heading0, turn = rng.uniform(0, 2 * np.pi), rng.uniform(-0.02, 0.02)
    out = np.empty((n, 17, 3))
    pos = np.zeros(3)
    for t in range(n):
        p = TEMPLATE_POSE.copy()
        ph = omega * t
        for k, (hip, (a, b)) in enumerate(_LEGS.items()):
            r = _rot_x(amp_leg * np.sin(ph + np.pi * k))
            p[[a, b]] = (p[[a, b]] - p[hip]) @ r.T + p[hip]
        for k, (sh, (a, b)) in enumerate(_ARMS.items()):
            r = _rot_x(amp_arm * np.sin(ph + np.pi * (1 - k)))
            p[[a, b]] = (p[[a, b]] - p[sh]) @ r.T + p[sh]
        h = heading0 + turn * t
        c, s = np.cos(h), np.sin(h)
        rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        pos = pos + rz @ np.array([0.0, -0.02, 0.0])
        out[t] = p @ rz.T + pos
    return out


def fake_cameras(seed: int = 0) -> list[dict]:
    """Four cameras around the origin, 5 m away, 1.5 m high, looking at (0, 0, 1)."""
    cams = []
    for i in range(4):
        az = np.pi / 4 + i * np.pi / 2
        centre = np.array([5 * np.cos(az), 5 * np.sin(az), 1.5])
        fwd = np.array([0.0, 0.0, 1.0]) - centre
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        cams.append({"id": str(54138969 + i), "R": np.stack([right, down, fwd]).tolist(),
                     "T": centre.tolist(), "f": [1145.0, 1144.0], "c": [500.0, 500.0],
                     "k": [0, 0, 0], "p": [0, 0], "res_w": 1000, "res_h": 1000})
    return cams


def _encode(x: np.ndarray, scale: float) -> np.ndarray:
    q = np.round(np.asarray(x, np.float64) * scale).astype(np.int64)
    d = np.concatenate([q[:1], np.diff(q, axis=0)])
    if np.abs(d).max() > 32767:
        raise ValueError("values too large for int16 deltas")
    return d.astype(np.int16)


def write_fake_h36m(root: str | Path, subjects=("S1", "S9"),
                    actions=("Walking", "Directions 1"), frames: int = 120,
                    det_noise_px: float = 4.0, seed: int = 0) -> Path:
    """Write a small dataset in the shared format into ``root``; returns ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cams_json, d3, d2 = {}, {}, {}
    sh_of = [SH16_TO_H36M17.index(k) for k in range(16)]  # 16-index -> 17-index
    for si, s in enumerate(subjects):
        cams_json[s] = fake_cameras()
        cams = [Camera.from_dict(c) for c in cams_json[s]]
        for ai, a in enumerate(actions):
            world = fake_motion(frames, seed=seed + 100 * si + ai)
            d3[f"{s}/{a}"] = _encode(world, SCALE_3D)
            for cam in cams:
                px = cam.project(cam.to_camera(world))
                px = px + rng.normal(scale=det_noise_px, size=px.shape)
                d2[f"{s}/{a}/{cam.id}"] = _encode(px[:, sh_of], SCALE_2D)
    np.savez_compressed(root / "h36m_3d17.npz", **d3)
    np.savez_compressed(root / "h36m_sh2d16.npz", **d2)
    (root / "cameras.json").write_text(json.dumps(cams_json))
    return root


def write_fake_mocap(root: str | Path, contents=("walk", "wave-left-hand", "run"),
                     styles=("normal", "elderly", "active"), takes: int = 12,
                     frames: int = 60, scale: float = 0.88, seed: int = 0) -> Path:
    """Write a small motion-capture folder in the shared format (``training.mocap``):
    every content in every style, ``takes`` takes each, a body ``scale`` times the
    template's; returns ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    clips, meta = {}, []
    k = 0
    for content in contents:
        for style in styles:
            for take in range(1, takes + 1):
                key = f"bandai/dataset-2_{content}_{style}_{take:03d}"
                world = fake_motion(frames, seed=seed + k) * scale
                clips[key] = _encode(world, 4000.0)
                meta.append({"key": key, "frames": frames, "dataset": 2, "content": content,
                             "style": style, "take": take})
                k += 1
    np.savez_compressed(root / "bandai_h36m17.npz", **clips)
    (root / "bandai_h36m17_meta.json").write_text(json.dumps({"clips": meta}))
    return root
