"""One person seen in one frame: what the detector gives and the tracker chooses among."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PoseObservation:
    """One person in one frame: MediaPipe landmarks (33) and their visibility."""

    image: np.ndarray       # (33, 3) normalised x, y in [0, 1] of the frame, z relative
    visibility: np.ndarray  # (33,) 0..1
    world: np.ndarray       # (33, 3) metres, MediaPipe's hip-centred world frame

    def pixels(self, width: int, height: int) -> np.ndarray:
        """(33, 2) landmark positions in pixels."""
        return self.image[:, :2] * np.array([width, height], np.float32)
