"""Lifting a whole clip of 2D joints to root-relative 3D with DG-Net.

Owns the model's input conventions (screen normalisation, windows of T frames around
every frame with edge padding, optional confidence channel), batching, flip test-time
augmentation, and the two back-ends: torch (CPU or CUDA) and onnxruntime, which give the
same result (checked to 1e-4 in the tests). Which back-end and device a model file gets is
``backend.resolve_runtime``'s choice.

    lifter = load_lifter()                               # backend: shipped model, best runtime
    joints3d = lifter.lift(kp_px, conf, width, height)   # (N,17,2), (N,17) -> (N,17,3)

A model that predicts every frame of its window (``output_frames="all"``, Eq. 15-17) gives
each frame several estimates; ``AGGREGATES`` names how one pose per frame is read:
``mean`` (average over every window holding the frame), ``center`` (the window centred on
it, like a one-frame model) or ``tiled`` (non-overlapping windows: one model call per T
frames, T times cheaper).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..motion.camera import intrinsics as default_intrinsics
from ..skeleton import flip_pose
from .config import DGNetConfig
from .input_frame import decode, encode
from .weights import load_model, onnx_session

AGGREGATES = ("mean", "center", "tiled")


def normalize_screen(px: np.ndarray, width: float, height: float) -> np.ndarray:
    """Pixels (..., 2) -> screen-normalised ``x / w * 2 - [1, h / w]`` (aspect kept)."""
    px = np.asarray(px, dtype=np.float32)
    return px / float(width) * 2.0 - np.array([1.0, height / width], dtype=np.float32)


def normalize_intrinsics(fx: float, fy: float, cx: float, cy: float, width: float,
                         height: float) -> np.ndarray:
    """Intrinsics in the same screen-normalised units as ``normalize_screen``."""
    return np.array([fx / width * 2, fy / width * 2, cx / width * 2 - 1,
                     cy / width * 2 - height / width], dtype=np.float32)


def window_indices(n: int, num_frames: int, target_index: int) -> np.ndarray:
    """(n, T) frame indices of the window around every frame, clamped at the clip ends."""
    offsets = np.arange(num_frames) - target_index
    return np.clip(np.arange(n)[:, None] + offsets[None, :], 0, n - 1)


def make_windows(seq: np.ndarray, num_frames: int = 4, target_index: int | None = None
                 ) -> np.ndarray:
    """(N, J, C) sequence -> (N, T, J, C) windows, frame t at ``target_index`` (T // 2)."""
    seq = np.asarray(seq)
    if target_index is None:
        target_index = num_frames // 2
    return seq[window_indices(len(seq), num_frames, target_index)]


# How far outside the picture a joint may lie, as a share of the picture's width and height;
# a joint further out is held at that border and counts as missing (confidence 0).
OUT_OF_FRAME_MARGIN = 0.25


def clamp_to_frame(kp_px: np.ndarray, conf: np.ndarray | None, width, height,
                   margin: float = OUT_OF_FRAME_MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Joints (..., 17, 2) in pixels held within ``margin`` of the picture; those moved get
    confidence 0. ``width`` / ``height`` broadcast against ``kp_px[..., 0]``. Returns
    new arrays (keypoints, confidence); ``conf`` None means all 1."""
    kp = np.asarray(kp_px, np.float32)
    c = (np.ones(kp.shape[:-1], np.float32) if conf is None
         else np.array(conf, np.float32, copy=True))
    w = np.asarray(width, np.float32)
    h = np.asarray(height, np.float32)
    lo = np.stack(np.broadcast_arrays(-margin * w, -margin * h), -1)
    hi = np.stack(np.broadcast_arrays((1 + margin) * w, (1 + margin) * h), -1)
    out = np.clip(kp, lo, hi)
    c[np.any(out != kp, axis=-1)] = 0.0
    return out, c


def model_input(kp_px: np.ndarray, conf: np.ndarray | None, width: float, height: float,
                cfg: DGNetConfig) -> np.ndarray:
    """Per-frame model features (N, 17, C): normalised x, y (and confidence if C = 3);
    joints far outside the picture are held at its margin as missing (``clamp_to_frame``)."""
    kp, c = clamp_to_frame(kp_px, conf, width, height)
    xy = normalize_screen(kp, width, height)
    if cfg.in_channels == 3:
        return np.concatenate([xy, c[..., None]], axis=-1)
    return xy


def camera_input(K: np.ndarray | None, width: float, height: float) -> np.ndarray | None:
    """(3, 3) pixel intrinsics -> the (4,) screen-normalised ``cam`` a model takes (or None)."""
    if K is None:
        return None
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"intrinsics must be a (3, 3) matrix, got {K.shape}")
    return normalize_intrinsics(K[0, 0], K[1, 1], K[0, 2], K[1, 2], width, height)


def flip_camera(cam: np.ndarray) -> np.ndarray:
    """Mirror normalised intrinsics (..., 4) as ``skeleton.flip_pose`` mirrors joints:
    negate cx."""
    cam = np.array(cam, dtype=np.float32)
    cam[..., 2] *= -1
    return cam


def flip_tta_helps(cfg: DGNetConfig) -> bool:
    """Whether averaging with the mirrored input is a second opinion for this network: it
    gives the mirrored output for mirrored input (the ``root_ray`` input frame sees the
    mirror image as a person in the same place; v1's shared skeleton weights are symmetric).
    A screen-frame v2 network sees the mirror image at the other side of the picture."""
    return cfg.fsg_weighting == "shared" or cfg.input_frame == "root_ray"


# A run function takes windows (B, T, J, C) and, for balanced-output models, cam (B, 4).
RunBatch = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


@dataclass
class Lifter:
    """Runs a DG-Net over clips. Build with ``backend.load_lifter`` (a model file or the
    shipped one, on the runtime ``backend.resolve_runtime`` picks), ``from_runtime``,
    ``from_onnx`` or ``from_model``.

    ``flip_tta`` (None: auto) averages with the mirrored input (``skeleton.flip_pose``);
    auto turns it on for networks that give mirrored output for mirrored input
    (``flip_tta_helps``: the left/right-symmetric v1 networks and the ``root_ray`` input
    frame), where the average is a second opinion, and off for a screen-frame v2 network,
    whose mirror image of a person sits elsewhere in the picture (docs/BENCHMARKS.md).
    ``batch_size`` is the number of windows per model call; with ``flip_tta`` half of them
    are the mirrored copies of the other half (one call, not two). Small calls are faster
    on the CPU (docs/BENCHMARKS.md); ``from_model`` on CUDA uses 1024.
    """

    cfg: DGNetConfig
    run_batch: RunBatch
    backend: str
    flip_tta: bool | None = None
    batch_size: int = 32
    aggregate: str = "mean"

    def __post_init__(self) -> None:
        if self.flip_tta is None:  # auto: only where it helps (docs/BENCHMARKS.md)
            self.flip_tta = flip_tta_helps(self.cfg)
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")

    def context(self) -> tuple[int, int]:
        """Frames (before, after) that frame f's pose depends on: a piece of a clip lifted
        with that many frames on each side (or up to the clip's ends) equals lifting the
        whole clip. ``tiled`` reading also needs pieces that start at multiples of T
        (``tile``)."""
        t, ti = self.cfg.num_frames, self.cfg.target_index
        if not self.cfg.all_frames or self.aggregate == "center":
            return ti, t - 1 - ti
        if self.aggregate == "tiled":
            return 0, t - 1
        return t - 1, t - 1

    @property
    def tile(self) -> int:
        """Pieces must start at a multiple of this frame count (T when ``tiled``, else 1)."""
        return self.cfg.num_frames if self.cfg.all_frames and self.aggregate == "tiled" else 1

    @property
    def needs_camera(self) -> bool:
        """True when the model needs intrinsics (balanced output or the root_ray input)."""
        return self.cfg.needs_camera

    @classmethod
    def from_model(cls, model, device: str = "cpu", **kw) -> Lifter:
        """Wrap an in-memory torch DGNet (eval mode is set)."""
        import torch

        model = model.to(device).eval()
        if device != "cpu":
            kw.setdefault("batch_size", 1024)

        def run(x: np.ndarray, cam: np.ndarray | None = None) -> np.ndarray:
            with torch.inference_mode():
                c = None if cam is None else torch.from_numpy(cam).to(device)
                return model(torch.from_numpy(x).to(device), c).float().cpu().numpy()

        return cls(cfg=model.cfg, run_batch=run, backend=f"torch-{device}", **kw)

    @classmethod
    def from_onnx(cls, path: str | Path, threads: int | None = None, **kw) -> Lifter:
        """An onnxruntime session over an exported model (``threads``: intra-op threads)."""
        sess, cfg = onnx_session(path, threads)
        names = {i.name for i in sess.get_inputs()}

        def run(x: np.ndarray, cam: np.ndarray | None = None) -> np.ndarray:
            feeds = {"x": x}
            if "cam" in names:
                if cam is None:
                    raise ValueError("this model predicts balanced output and needs the "
                                     "camera intrinsics")
                feeds["cam"] = cam
            return sess.run(None, feeds)[0]

        return cls(cfg=cfg, run_batch=run, backend="onnxruntime", **kw)

    @classmethod
    def from_runtime(cls, runtime, threads: int | None = None, **kw) -> Lifter:
        """Load a resolved ``backend.Runtime``: onnxruntime with ``threads`` intra-op
        threads, or PyTorch on its device."""
        if runtime.backend == "onnx":
            return cls.from_onnx(runtime.path, threads=threads, **kw)
        return cls.from_model(load_model(runtime.path), device=runtime.device, **kw)

    def lift(self, kp_px: np.ndarray, conf: np.ndarray | None, width: float, height: float,
             progress: Callable[[int, int], None] | None = None,
             intrinsics: np.ndarray | None = None) -> np.ndarray:
        """2D joints in pixels (N, 17, 2) (+ confidence (N, 17)) -> (N, 17, 3) metres.

        Output is camera-space (x right, y down, z forward), root-relative, one pose per
        input frame. ``progress(done, total)`` is called after each batch. ``intrinsics``
        (3, 3) pixels is used by models that need the camera (``needs_camera``: the
        ``root_ray`` input frame or a balanced output); without it they assume the
        pipeline's default camera (``motion.camera.intrinsics``: 55 degrees across, centred).
        Other models ignore it.
        """
        kp_px = np.asarray(kp_px, dtype=np.float32)
        if kp_px.ndim != 3 or kp_px.shape[1:] != (self.cfg.num_joints, 2):
            raise ValueError(f"expected (N, {self.cfg.num_joints}, 2) keypoints, got "
                             f"{kp_px.shape}")
        if self.needs_camera and intrinsics is None:
            intrinsics = default_intrinsics(int(width), int(height))
        cam = camera_input(intrinsics, width, height) if self.needs_camera else None
        n = len(kp_px)
        if n == 0:
            return np.zeros((0, self.cfg.num_joints, 3), np.float32)
        feats = model_input(kp_px, conf, width, height, self.cfg)
        t, ti = self.cfg.num_frames, self.cfg.target_index
        tiled = self.cfg.all_frames and self.aggregate == "tiled"
        if tiled:  # windows start at 0, T, 2T, ...; the last one is clamped at the clip end
            idx = np.clip(np.arange(0, n, t)[:, None] + np.arange(t)[None], 0, n - 1)
        else:
            idx = window_indices(n, t, ti)
        positions = (np.arange(t) if self.cfg.all_frames and self.aggregate != "center"
                     else np.array([ti]))
        total = np.zeros((n, self.cfg.num_joints, 3), np.float64)
        count = np.zeros(n, np.float64)
        step = max(self.batch_size // 2, 1) if self.flip_tta else self.batch_size
        for start in range(0, len(idx), step):
            win = idx[start:start + step]
            b = len(win)
            cams = None if cam is None else np.repeat(cam[None], b, axis=0)
            x, cams, rot = encode(feats[win], cams, self.cfg.input_frame, ti)
            if not self.cfg.balanced:
                cams = None
            if self.flip_tta:
                x = np.concatenate([x, flip_pose(x)])
                if cams is not None:
                    cams = np.concatenate([cams, flip_camera(cams)])
            y = self.run_batch(np.ascontiguousarray(x, dtype=np.float32), cams)
            if self.flip_tta:
                y = 0.5 * (y[:b] + flip_pose(y[b:]))
            y = decode(y, rot)
            if not self.cfg.all_frames:
                y = y[:, None].repeat(t, axis=1)
            for p in positions:
                np.add.at(total, win[:, p], y[:, p])
                np.add.at(count, win[:, p], 1.0)
            if progress is not None:
                progress(min(n, int(win.max()) + 1), n)
        return (total / count[:, None, None]).astype(np.float32)

