"""What a training run reads: its data, its batches in the network's frame, its held-out sets.

* ``load_data``: Human3.6M for the config's subjects (detections when the recipe uses them).
* ``build_train_source``: fixed 2D windows (``gt`` / ``det``) or random-camera reprojection
  (``reproject``), optionally mixed with motion capture (``mocap_share`` of the samples from
  ``training.mocap``'s training clips, each window given a drawn body; random cameras only).
* ``MixedSampler``: that mix, deterministic in the step's RNG (exact resume).
* ``build_val_source`` / ``build_mocap_val``: the held-out Human3.6M subset (GT 2D unless
  training on detections) and the held-out motion-capture clips (fixed 2D, seeded cameras).
* ``get_batch`` / ``to_network``: a batch in the frame the network sees
  (``dgnet_core.lifting.input_frame``): inputs re-projected and targets rotated for ``root_ray``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dgnet_core.lifting.input_frame import encode, into_virtual

from . import h36m
from .config import TrainConfig
from .data import WindowDataset, build_windows
from .reproject import ReprojectSampler


def load_data(cfg: TrainConfig, data: h36m.H36MData | None = None) -> h36m.H36MData:
    if data is not None:
        return data
    subjects = tuple(cfg.train_subjects) + tuple(cfg.test_subjects)
    return h36m.load(cfg.data_root, subjects=subjects,
                     detections=cfg.input_source == "det" or cfg.augment.det_residual_prob > 0)


class MixedSampler:
    """Samples from ``main`` and, with probability ``share`` each, from ``second``.

    An epoch still covers every window of ``main`` once (``len`` grows by ``1 / (1 -
    share)``); a sample of ``second`` is a uniformly drawn window of it. Both draws come
    from the step's RNG, so the mix is reproduced exactly on resume."""

    def __init__(self, main: ReprojectSampler, second: ReprojectSampler, share: float) -> None:
        if not 0.0 < share < 1.0:
            raise ValueError(f"share must be in (0, 1), got {share}")
        self.main, self.second, self.share = main, second, share

    def __len__(self) -> int:
        return int(round(len(self.main) / (1.0 - self.share)))

    def batch(self, idx: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        idx = np.asarray(idx)
        pick = rng.random(len(idx)) < self.share
        parts = []
        if (~pick).any():
            parts.append((~pick, self.main.batch(idx[~pick] % len(self.main), rng)))
        if pick.any():
            parts.append((pick, self.second.batch(
                rng.integers(len(self.second), size=int(pick.sum())), rng)))
        out = {}
        for key in parts[0][1]:
            first = parts[0][1][key]
            arr = np.empty((len(idx),) + first.shape[1:], first.dtype)
            for mask, b in parts:
                arr[mask] = b[key]
            out[key] = arr
        return out


def mocap_sampler(cfg: TrainConfig):
    """The training clips of ``cfg.mocap_root`` as a random-camera sampler with drawn bodies
    (never a held-out clip: ``training.mocap.read_split``)."""
    from .mocap import SPLIT_FILE, SUBJECT, BodyRange, load_mocap, read_split

    mocap = load_mocap(cfg.mocap_root)
    keys = mocap.keys(held_out=False, split=read_split(cfg.mocap_split or SPLIT_FILE))
    aug = replace(cfg.augment, real_camera_prob=0.0, det_residual_prob=0.0)
    return ReprojectSampler(mocap.as_h36m(keys), (SUBJECT,), cfg.model.num_frames, aug,
                            frame_step=cfg.frame_step, all_frames=cfg.model.all_frames,
                            bodies=BodyRange())


def build_train_source(cfg: TrainConfig, data: h36m.H36MData):
    if cfg.input_source == "reproject":
        main = ReprojectSampler(data, cfg.train_subjects, cfg.model.num_frames, cfg.augment,
                                frame_step=cfg.frame_step, actions=cfg.train_actions,
                                all_frames=cfg.model.all_frames)
        if cfg.mocap_share > 0:
            return MixedSampler(main, mocap_sampler(cfg), cfg.mocap_share)
        return main
    if cfg.mocap_share > 0:
        raise ValueError("mocap_share needs input_source 'reproject' (random cameras)")
    return build_windows(data, cfg.train_subjects, source=cfg.input_source,
                         in_channels=cfg.model.in_channels, num_frames=cfg.model.num_frames,
                         actions=cfg.train_actions, frame_step=cfg.frame_step)


def build_val_source(cfg: TrainConfig, data: h36m.H36MData):
    """Held-out subset (test subjects, GT 2D unless training on detections)."""
    src = "det" if cfg.input_source == "det" else "gt"
    ds = build_windows(data, cfg.test_subjects, source=src, in_channels=cfg.model.in_channels,
                       num_frames=cfg.model.num_frames)
    return ds, np.arange(0, len(ds), max(1, cfg.val_frame_step))


def build_mocap_val(cfg: TrainConfig) -> tuple[WindowDataset, np.ndarray] | None:
    """The held-out motion-capture clips as fixed 2D (None when the run uses none)."""
    if cfg.mocap_share <= 0:
        return None
    from .mocap import SPLIT_FILE, held_out_windows, load_mocap, read_split

    mocap = load_mocap(cfg.mocap_root)
    keys = mocap.keys(held_out=True, split=read_split(cfg.mocap_split or SPLIT_FILE))
    if not keys:
        raise ValueError(f"no held-out clips of {cfg.mocap_root} are in the split list")
    return held_out_windows(mocap, keys, frame_step=max(1, cfg.val_frame_step // 4),
                            in_channels=cfg.model.in_channels,
                            num_frames=cfg.model.num_frames)


def get_batch(source, idx: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> dict:
    """A training batch in the frame the network sees (``dgnet_core.lifting.input_frame``)."""
    if isinstance(source, (ReprojectSampler, MixedSampler)):
        b = source.batch(idx, rng)
    else:
        b = source.batch(idx, rng, flip_prob=cfg.flip_prob, noise_px=cfg.noise_px,
                         all_frames=cfg.model.all_frames)
    return to_network(b, cfg.model)[0]


def to_network(b: dict, model_cfg) -> tuple[dict, np.ndarray | None]:
    """A batch (``x`` in screen units, ``cam``, optional ``y``) in the frame the network
    sees (``dgnet_core.lifting.input_frame``), and the rotation that ``decode`` undoes."""
    x, cam, rot = encode(b["x"], b["cam"], model_cfg.input_frame, model_cfg.target_index)
    out = {"x": x, "cam": cam}
    if "y" in b:
        out["y"] = b["y"] if rot is None else into_virtual(b["y"], rot)
    return out, rot
