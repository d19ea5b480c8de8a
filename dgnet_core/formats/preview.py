"""Preview images: a video frame with the detected 2D skeleton beside the lifted 3D pose.

One PNG a person can glance at to see whether detection and lifting worked: for a few
frames of the clip, the frame with the 17 adapted joints drawn on it, and the lifted 3D
joints (world, Z up) from the front and from the side. Uses matplotlib's Agg back-end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..skeleton import BONES, LEFT, RIGHT


def _bone_colour(parent: int, child: int) -> str:
    if child in LEFT:
        return "tab:blue"
    if child in RIGHT:
        return "tab:red"
    return "0.3"


def _read_frame(video: Path, index: int) -> np.ndarray | None:
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
    finally:
        cap.release()
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None


def save_preview(path: str | Path, video: str | Path, kp2d: np.ndarray,
                 joints_world: np.ndarray, frames: list[int] | None = None,
                 title: str = "", frame_indices: np.ndarray | None = None) -> Path:
    """Write a PNG with, per chosen frame: image + 2D joints, 3D front view, 3D side view.

    kp2d (N, 17, 2) pixels; joints_world (N, 17, 3) metres, Z up. Frames (result indices)
    default to four evenly spaced ones; ``frame_indices`` maps them to video frame numbers
    when the result starts later than the video.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(joints_world)
    if frames is None:
        frames = sorted({int(i) for i in np.linspace(0, n - 1, min(4, n))})
    fig, axes = plt.subplots(len(frames), 3, figsize=(10, 3.2 * len(frames)), squeeze=False)
    lo = joints_world.reshape(-1, 3).min(0)
    hi = joints_world.reshape(-1, 3).max(0)
    pad = 0.1
    for row, f in zip(axes, frames):
        src = int(frame_indices[f]) if frame_indices is not None else f
        img = _read_frame(Path(video), src)
        if img is not None:
            row[0].imshow(img)
        for p, c in BONES:
            row[0].plot(kp2d[f, [p, c], 0], kp2d[f, [p, c], 1], "-", lw=2,
                        color=_bone_colour(p, c))
            for ax, (a, b) in ((row[1], (0, 2)), (row[2], (1, 2))):
                ax.plot(joints_world[f, [p, c], a], joints_world[f, [p, c], b], "-o", ms=2,
                        lw=2, color=_bone_colour(p, c))
        row[0].set_title(f"frame {src}: 2D")
        row[0].axis("off")
        for ax, (a, b), name in ((row[1], (0, 2), "front (x, z)"), (row[2], (1, 2), "side (y, z)")):
            ax.set_xlim(lo[a] - pad, hi[a] + pad)
            ax.set_ylim(min(lo[b], 0) - pad, hi[b] + pad)
            ax.set_aspect("equal")
            ax.axhline(0, color="0.7", lw=1)
            ax.set_title(f"3D {name}, m")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


# The hand's bones: each finger's chain from the wrist (``motion.hands.CHAINS``).
_HAND_CHAINS = ((0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12), (0, 13, 14, 15, 16),
                (0, 17, 18, 19, 20))


def save_hands_preview(path: str | Path, video: str | Path, result, count: int = 4) -> Path:
    """Write a PNG of the person's hands: for up to ``count`` frames where both (else one)
    were found, a close crop of each hand with its 21 points drawn and its mean finger
    curl (degrees of flexion over the four fingers' middle joints). ``result`` is a
    ``LiftResult`` with ``hands``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hands = result.hands
    seen = np.asarray(hands.score) > 0
    both = np.flatnonzero(seen.all(axis=1))
    pick = both if len(both) else np.flatnonzero(seen.any(axis=1))
    rows = [int(i) for i in pick[np.linspace(0, len(pick) - 1, min(count, len(pick))).astype(
        int)]] if len(pick) else []
    fig, axes = plt.subplots(max(len(rows), 1), 2, figsize=(6, 3 * max(len(rows), 1)),
                             squeeze=False)
    size = np.array([result.width, result.height], np.float64)
    for row, f in zip(axes, rows):
        img = _read_frame(Path(video), int(result.frame_indices[f]))
        for side, ax in enumerate(row):
            ax.axis("off")
            if not seen[f, side]:
                ax.set_title(f"{('left', 'right')[side]}: not found")
                continue
            if hands.image is None:
                continue
            pts = np.asarray(hands.image[f, side], np.float64)[:, :2] * size
            lo, hi = pts.min(0), pts.max(0)
            pad = 0.4 * float((hi - lo).max()) + 8
            if img is not None:
                ax.imshow(img)
            for chain in _HAND_CHAINS:
                ax.plot(pts[list(chain), 0], pts[list(chain), 1], "-o", ms=2, lw=1.5,
                        color="tab:blue" if side == 0 else "tab:red")
            ax.set_xlim(lo[0] - pad, hi[0] + pad)
            ax.set_ylim(hi[1] + pad, lo[1] - pad)
            curl = float(np.degrees(np.asarray(hands.flex[f, side])[1:, 1]).mean())
            ax.set_title(f"frame {int(result.frame_indices[f])} "
                         f"{('left', 'right')[side]}: curl {curl:.0f} deg", fontsize=9)
    return _save(fig, path)
