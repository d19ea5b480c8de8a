"""Predictions of a network over a windowed dataset, read as the lifter reads them.

``predict`` gives one pose per asked frame of a ``training.data.WindowDataset``, in the
real camera's axes whatever the network's input frame (``sources.to_network`` /
``dgnet_core.lifting.input_frame.decode``), with the same per-frame readings as
``dgnet_core.lifting.lifter.Lifter`` (``center``, ``mean``, ``tiled``) and optional flip
test-time augmentation. ``val_mpjpe_mm`` is the held-out check a training run logs.
"""

from __future__ import annotations

import numpy as np
import torch

from dgnet_core.lifting.input_frame import decode
from dgnet_core.lifting.model import DGNet
from dgnet_core.skeleton import flip_pose

from .sources import to_network


@torch.no_grad()
def _predict_windows(net: DGNet, ds, centres: np.ndarray, device, batch: int,
                     flip_tta: bool) -> np.ndarray:
    """Network output for the windows around ``centres``: (N, T, 17, 3) or (N, 17, 3)."""
    out = []
    balanced = net.cfg.balanced
    for s in range(0, len(centres), batch):
        b, rot = to_network(ds.batch(centres[s:s + batch]), net.cfg)
        x = torch.from_numpy(b["x"]).to(device)
        cam = torch.from_numpy(b["cam"]).to(device) if balanced else None
        y = net(x, cam).float().cpu().numpy()
        if flip_tta:
            xf = torch.from_numpy(flip_pose(b["x"])).to(device)
            camf = None
            if balanced:
                camf = cam.clone()
                camf[:, 2] *= -1
            y = 0.5 * (y + flip_pose(net(xf, camf).float().cpu().numpy()))
        out.append(decode(y, rot))
    return np.concatenate(out)


def predict(net: DGNet, ds, idx: np.ndarray, device="cpu", batch: int = 1024,
            flip_tta: bool = False, aggregate: str = "center") -> np.ndarray:
    """Predictions (len(idx), 17, 3) for frames ``idx`` of a WindowDataset.

    For a model that predicts every frame of its window, ``aggregate`` picks how a frame's
    pose is read (``dgnet_core.lifting.lifter.AGGREGATES``): ``center`` from the window centred on
    it, ``mean`` averaged over every window that contains it, ``tiled`` from the one window
    of consecutive non-overlapping windows that holds it (one window per T frames).
    """
    net.eval()
    idx = np.asarray(idx)
    if len(idx) == 0:
        return np.zeros((0, 17, 3), np.float32)
    cfg = net.cfg
    if not cfg.all_frames:
        return _predict_windows(net, ds, idx, device, batch, flip_tta)
    t, ti = cfg.num_frames, cfg.target_index
    if aggregate == "center":
        positions = [np.full(len(idx), ti)]
    elif aggregate == "tiled":
        positions = [(idx - ds.starts[idx]) % t]
    elif aggregate == "mean":
        positions = [np.full(len(idx), p) for p in range(t)]
    else:
        raise ValueError(f"aggregate must be center, mean or tiled, got {aggregate!r}")
    total = np.zeros((len(idx), 17, 3), np.float32)
    count = np.zeros(len(idx), np.float32)
    for pos in positions:
        centres = np.clip(idx - pos + ti, ds.starts[idx], ds.ends[idx] - 1)
        ok = ds.windows(centres)[np.arange(len(idx)), pos] == idx
        y = _predict_windows(net, ds, centres[ok], device, batch, flip_tta)
        total[ok] += y[np.arange(int(ok.sum())), pos[ok]]
        count[ok] += 1
    return total / count[:, None, None]


def val_mpjpe_mm(net: DGNet, ds, idx, device) -> float:
    pred = predict(net, ds, idx, device)
    return float(np.linalg.norm(pred - ds.targets[idx], axis=-1).mean() * 1000)


# ----------------------------------------------------------------------------- train
