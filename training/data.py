"""Training batches from fixed 2D: windows of screen-normalised 2D with camera-space 3D.

Batches are numpy ``{"x": (B, T, 17, C), "y": (B, 17, 3), "cam": (B, 4)}`` (C = 2: x, y;
C = 3: x, y, confidence; ``y`` root-relative camera metres of frame T // 2, or with
``all_frames`` ``(B, T, 17, 3)``, every frame of the window, Eq. 15-17; ``cam`` the
screen-normalised intrinsics):

* ``WindowDataset``: fixed 2D per (subject, action, camera): ground truth projected with
  the Human3.6M cameras, or detections. Windows of T frames around every frame with edge
  padding (``dgnet_core.lifting.lifter.window_indices`` per sequence). Optional flip and 2D
  Gaussian noise augmentation. Used by the paper recipe and by evaluation.
* ``normalize_px``: screen normalisation with per-sample width and height, exactly
  ``dgnet_core.lifting.lifter.normalize_screen``: ``px / w * 2 - [1, h / w]``.

Random cameras over world-space 3D (the shipped recipe) are ``training.reproject``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgnet_core.lifting.lifter import normalize_intrinsics, window_indices
from dgnet_core.skeleton import flip_pose

from .h36m import H36MData


def normalize_px(px: np.ndarray, width, height) -> np.ndarray:
    """Vectorised ``normalize_screen`` with per-sample width/height (broadcast on axis 0)."""
    w = np.asarray(width, np.float32).reshape((-1,) + (1,) * (px.ndim - 1))
    h = np.asarray(height, np.float32).reshape((-1,) + (1,) * (px.ndim - 1))
    out = px / w * 2.0
    out[..., 0] -= 1.0
    out[..., 1] -= (h / w)[..., 0]
    return out.astype(np.float32)


def flip_batch(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror inputs (..., 17, C) and targets (..., 17, 3): negate x, swap left/right."""
    return flip_pose(x), flip_pose(y)


# ----------------------------------------------------------------------------- fixed 2D
@dataclass
class WindowDataset:
    """Concatenated per-camera sequences with per-frame windows inside each sequence."""

    inputs: np.ndarray      # (N, 17, C) normalised (+ confidence)
    targets: np.ndarray     # (N, 17, 3) camera-space root-relative metres
    starts: np.ndarray      # (N,) first frame of the sequence of each frame
    ends: np.ndarray        # (N,) one past its last frame
    widths: np.ndarray      # (N,) image width in px of each frame (noise scaling)
    keys: list[tuple[str, str, int]]
    seq_of_frame: np.ndarray  # (N,) index into keys
    num_frames: int = 4
    cams: np.ndarray | None = None  # (N, 4) normalised intrinsics fx, fy, cx, cy

    def __len__(self) -> int:
        return len(self.inputs)

    def windows(self, idx: np.ndarray) -> np.ndarray:
        """(B, T) global frame indices of the windows around frames ``idx``."""
        t = self.num_frames
        off = np.arange(t) - t // 2
        return np.clip(idx[:, None] + off[None], self.starts[idx, None], self.ends[idx, None] - 1)

    def batch(self, idx: np.ndarray, rng: np.random.Generator | None = None,
              flip_prob: float = 0.0, noise_px: float = 0.0, all_frames: bool = False
              ) -> dict[str, np.ndarray]:
        win = self.windows(idx)
        x = self.inputs[win].copy()
        y = self.targets[win if all_frames else idx].copy()
        cam = (self.cams[idx] if self.cams is not None else np.zeros((len(idx), 4))
               ).astype(np.float32).copy()
        if noise_px > 0 and rng is not None:
            scale = (noise_px * 2.0 / self.widths[idx]).reshape(-1, 1, 1, 1)
            x[..., :2] += rng.normal(size=x[..., :2].shape).astype(np.float32) * scale
        if flip_prob > 0 and rng is not None:
            m = rng.random(len(idx)) < flip_prob
            if m.any():
                x[m], y[m] = flip_batch(x[m], y[m])
                cam[m, 2] *= -1
        return {"x": x, "y": y, "cam": cam}


def build_windows(data: H36MData, subjects, *, source: str = "gt", in_channels: int = 2,
                  num_frames: int = 4, actions=None, cameras=(0, 1, 2, 3),
                  frame_step: int = 1) -> WindowDataset:
    """Fixed-2D dataset. ``source``: ``gt`` (projected 3D) or ``det`` (detections).

    ``frame_step`` keeps every n-th frame (windows then step over the kept frames, i.e.
    a lower frame rate; use 1 for evaluation).
    """
    xs, ys, starts, ends, widths, keys, seq_ids, cams = [], [], [], [], [], [], [], []
    n = 0
    for s, a in data.sequences(subjects, actions):
        for ci in cameras:
            cam = data.cameras[s][ci]
            c3 = data.camera_poses(s, a, ci)
            if source == "gt":
                px = cam.project(c3).astype(np.float32)
                conf = np.ones(px.shape[:2], np.float32)
            elif source == "det":
                dets = data.detections.get(s, {}).get(a)
                if dets is None or dets[ci] is None:
                    continue
                px = dets[ci]
                conf = data.det_conf[s][a][ci]
            else:
                raise ValueError(f"source must be 'gt' or 'det', got {source!r}")
            m = min(len(px), len(c3))
            px, conf, c3 = px[:m:frame_step], conf[:m:frame_step], c3[:m:frame_step]
            x = normalize_px(px[None], cam.width, cam.height)[0]
            if in_channels == 3:
                x = np.concatenate([x, conf[..., None].astype(np.float32)], axis=-1)
            xs.append(x)
            ys.append(c3 - c3[:, :1])
            k = len(x)
            starts.append(np.full(k, n))
            ends.append(np.full(k, n + k))
            widths.append(np.full(k, cam.width, np.float32))
            cams.append(np.repeat(normalize_intrinsics(*cam.f, *cam.c, cam.width, cam.height
                                                       )[None], k, axis=0))
            seq_ids.append(np.full(k, len(keys)))
            keys.append((s, a, ci))
            n += k
    if not xs:
        raise ValueError(f"no sequences for subjects {subjects} (source {source!r})")
    return WindowDataset(np.concatenate(xs), np.concatenate(ys).astype(np.float32),
                         np.concatenate(starts), np.concatenate(ends), np.concatenate(widths),
                         keys, np.concatenate(seq_ids), num_frames, np.concatenate(cams))


def check_windows_match_core(n: int, num_frames: int) -> bool:
    """Our windowing equals dgnet_core's for one sequence (used by the tests)."""
    starts, ends = np.zeros(n, int), np.full(n, n)
    ds = WindowDataset(np.zeros((n, 17, 2)), np.zeros((n, 17, 3)), starts, ends,
                       np.ones(n), [], np.zeros(n, int), num_frames)
    return bool(np.array_equal(ds.windows(np.arange(n)),
                               window_indices(n, num_frames, num_frames // 2)))
