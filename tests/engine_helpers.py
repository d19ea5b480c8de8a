"""Small helpers shared by the engine unit tests: a synthetic clip, a tiny lifter, a hand-made
pose observation and a rigidly posed joint sequence."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from dgnet_core.detection.observation import PoseObservation
from dgnet_core.skeleton import NUM_JOINTS, PARENTS, TEMPLATE_POSE


def write_clip(path, n: int = 20, size=(160, 120)) -> None:
    """An MJPG clip of random frames whose top-left corner encodes the frame index."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, size)
    rng = np.random.default_rng(0)
    for i in range(n):
        frame = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        frame[:10, :10] = i * 10
        writer.write(frame)
    writer.release()


def tiny_lifter(output: str = "xyz"):
    """A one-block random DG-Net as a Lifter (fast on CPU)."""
    from dgnet_core.lifting.config import DGNetConfig
    from dgnet_core.lifting.lifter import Lifter
    from dgnet_core.lifting.weights import random_model

    cfg = DGNetConfig(num_blocks=1, channels=32, importance_hidden=8, block_head_hidden=16,
                      output=output)
    return Lifter.from_model(random_model(cfg))


def obs(centre: tuple[float, float], size: float = 0.3) -> PoseObservation:
    """A fully visible 33-landmark person of ``size`` around ``centre`` (normalised)."""
    shape = np.random.default_rng(0).uniform(-0.5, 0.5, (33, 2))
    pts = np.array(centre) + shape * size
    img = np.concatenate([pts, np.zeros((33, 1))], 1).astype(np.float32)
    return PoseObservation(img, np.ones(33, np.float32), np.zeros((33, 3), np.float32))


def posed_sequence(n: int = 25) -> np.ndarray:
    """World joints posed by FK from the template with random rotations (rigid bones)."""
    rng = np.random.default_rng(3)
    rest = TEMPLATE_POSE
    out = np.zeros((n, NUM_JOINTS, 3))
    for t in range(n):
        glob = [None] * NUM_JOINTS
        out[t, 0] = [0.1 * t, 2.0 - 0.05 * t, 0.95]
        for j in range(NUM_JOINTS):
            local = Rotation.from_rotvec(rng.normal(0, 0.4, 3))
            p = PARENTS[j]
            glob[j] = local if p < 0 else glob[p] * local
            if p >= 0:
                out[t, j] = out[t, p] + glob[p].apply(rest[j] - rest[p])
    return out
