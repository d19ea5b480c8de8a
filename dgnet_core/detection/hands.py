"""Hands found where the body's wrists are: MediaPipe's hand landmarker on a crop per wrist.

Owns finding the offline hand model (``hand_landmarker.task``: palm detector and hand
landmarks, Apache-2.0, built at set-up by ``scripts/build_pose_task.sh`` from the
mediapipe 0.10.21 wheel; nothing is downloaded at run time) and detecting, in one frame,
the two hands of the person the body tracker follows:

- each side's crop is a square around where that hand should be (the body's wrist, index
  and pinky points, reaching a little past the wrist along the forearm), ``scale`` x the
  hand's size as the body shows it, at least ``min_side`` pixels: the palm detector then
  sees a large hand, which it misses in a whole frame (the shared dance clip: no hand in a
  quarter of the frames from the whole picture); the crop is held still while the hand
  stays near its middle, so the landmarker (VIDEO mode, one hand) follows the hand without
  a new palm search, most of its cost;
- in each crop the hand whose wrist is nearest the body's wrist, within ``gate`` x the
  hand's size, is that side's hand: left and right come from the body, never from the
  hand model's handedness, so they cannot swap; one hand found for both sides (the other
  hidden) goes to the nearer wrist only;
- a side whose body wrist is not visible or outside the picture has no hand that frame.

``HandFrames`` holds per frame and side (0 left, 1 right, the person's own) the 21 image
landmarks in the whole frame's normalised coordinates, MediaPipe's 21 metric hand world
landmarks, and a score (0: no hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LiftError
from . import mediapipe_api
from .models import find_model
from .observation import PoseObservation

HAND_TASK_ENV = "LIFT_VIDEO_HAND_TASK"
HAND_TASK_NAME = "hand_landmarker.task"
NUM_HAND = 21
# MediaPipe pose landmarks per side (left, right): elbow, wrist, pinky, index, thumb.
_ARM = ((13, 15, 17, 19, 21), (14, 16, 18, 20, 22))


def default_hand_task_path() -> Path:
    """The offline hand model: ``$LIFT_VIDEO_HAND_TASK``, else ``dgnet_core/models/``, else
    ``<repo>/.cache/models/``; ``LiftError`` naming every place looked at when none exists."""
    return find_model(HAND_TASK_NAME, HAND_TASK_ENV, "hand model",
                      "a source checkout builds it with scripts/build_pose_task.sh (the "
                      "extension zip does not hold it yet); or lift without hands")


@dataclass(frozen=True)
class HandConfig:
    """Crop and acceptance settings of ``HandDetector`` (see the module docstring)."""

    scale: float = 8.0          # crop side / the hand's size as the body shows it
    min_side: int = 64          # pixels
    gate: float = 1.5           # hand wrist to body wrist, x the hand's size
    min_visibility: float = 0.3  # the body's wrist must be at least this visible
    min_detection_confidence: float = 0.3
    min_presence_confidence: float = 0.3
    hold: float = 0.15          # a crop stays while the hand is this near (x its side)


@dataclass
class HandFrames:
    """Both hands over frames: (N, 2, 21, 3) image (frame-normalised) and world (metres)
    landmarks, NaN where a side has no hand, and (N, 2) scores (0 there)."""

    image: np.ndarray
    world: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls, n: int) -> HandFrames:
        return cls(np.full((n, 2, NUM_HAND, 3), np.nan, np.float32),
                   np.full((n, 2, NUM_HAND, 3), np.nan, np.float32),
                   np.zeros((n, 2), np.float32))

    def __len__(self) -> int:
        return len(self.score)

    def take(self, index) -> HandFrames:
        """The frames ``index`` (a slice, mask or index array)."""
        return HandFrames(self.image[index], self.world[index], self.score[index])

    @classmethod
    def join(cls, parts: list[HandFrames]) -> HandFrames:
        return cls(*(np.concatenate([getattr(p, k) for p in parts])
                     for k in ("image", "world", "score")))


def hand_crop(pose: PoseObservation, side: int, width: int, height: int,
              cfg: HandConfig) -> tuple[int, int, int, float] | None:
    """(x0, y0, side, hand size) of the square crop for the person's ``side`` hand (0 left,
    1 right), within the frame, or None when that wrist is not seen in the picture."""
    elbow, wrist, pinky, index, thumb = _ARM[side]
    if pose.visibility[wrist] < cfg.min_visibility:
        return None
    px = pose.image[:, :2] * np.array([width, height])
    hand = px[[wrist, pinky, index, thumb]]
    centre = hand.mean(axis=0)
    size = max(float(np.ptp(hand, axis=0).max()), 0.5 * float(np.linalg.norm(
        px[wrist] - px[elbow])))
    s = int(round(max(cfg.scale * size, cfg.min_side)))
    s = min(s, width, height)
    if not (0 <= px[wrist][0] < width and 0 <= px[wrist][1] < height):
        return None
    x0 = int(np.clip(round(centre[0] - s / 2), 0, width - s))
    y0 = int(np.clip(round(centre[1] - s / 2), 0, height - s))
    return x0, y0, s, size


class HandDetector:
    """MediaPipe's hand landmarker (VIDEO mode, one per side) on the two wrist crops of
    each frame; a context manager.

    A side's crop is held still while the hand stays near its middle (within ``hold`` x
    its side, and about the same size): the landmarker then follows the hand from frame
    to frame without searching for the palm again, which is most of its cost."""

    def __init__(self, task_path: str | Path | None = None,
                 config: HandConfig | None = None) -> None:
        mp, BaseOptions, vision = mediapipe_api.load()  # noqa: N806 - MediaPipe's class
        self.config = config or HandConfig()
        path = Path(task_path) if task_path is not None else default_hand_task_path()
        options = vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.VIDEO, num_hands=1,
            min_hand_detection_confidence=self.config.min_detection_confidence,
            min_hand_presence_confidence=self.config.min_presence_confidence,
            min_tracking_confidence=self.config.min_presence_confidence)
        self._landmarkers: list = []
        try:
            for _ in range(2):
                self._landmarkers.append(vision.HandLandmarker.create_from_options(options))
        except Exception as exc:  # a bad bundle
            self.close()
            raise LiftError(f"cannot load hand model {path}: {str(exc).splitlines()[0]}"
                            ) from None
        self._mp = mp
        self._crops: list[tuple[int, int, int] | None] = [None, None]
        self._ts = 0

    def __enter__(self) -> HandDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for lm in self._landmarkers:
            lm.close()
        self._landmarkers = []

    def _held(self, side: int, want: tuple[int, int, int]) -> tuple[int, int, int]:
        """The crop to use: the side's last one while ``want`` is close to it."""
        cur = self._crops[side]
        if cur is not None:
            shift = max(abs(want[0] + want[2] / 2 - cur[0] - cur[2] / 2),
                        abs(want[1] + want[2] / 2 - cur[1] - cur[2] / 2))
            if shift <= self.config.hold * cur[2] and abs(np.log(want[2] / cur[2])) < 0.2:
                return cur
        self._crops[side] = want
        return want

    def detect(self, rgb: np.ndarray, pose: PoseObservation | None) -> HandFrames:
        """The person's two hands in one RGB frame (one-frame ``HandFrames``); frames come
        in order."""
        out = HandFrames.empty(1)
        self._ts += 40
        if pose is None:
            return out
        h, w = rgb.shape[:2]
        dist = [np.inf, np.inf]
        for side in (0, 1):
            crop = hand_crop(pose, side, w, h, self.config)
            if crop is None:
                continue
            x0, y0, s = self._held(side, crop[:3])
            size = crop[3]
            image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB,
                                   data=np.ascontiguousarray(rgb[y0:y0 + s, x0:x0 + s]))
            res = self._landmarkers[side].detect_for_video(image, self._ts)
            wrist = pose.image[_ARM[side][1], :2] * np.array([w, h])
            best, best_d = None, self.config.gate * size
            for k, lms in enumerate(res.hand_landmarks):
                d = float(np.hypot(lms[0].x * s + x0 - wrist[0], lms[0].y * s + y0 - wrist[1]))
                if d < best_d:
                    best, best_d = k, d
            if best is None:
                continue
            lms = res.hand_landmarks[best]
            out.image[0, side] = [((p.x * s + x0) / w, (p.y * s + y0) / h, p.z * s / w)
                                  for p in lms]
            out.world[0, side] = [(p.x, p.y, p.z) for p in res.hand_world_landmarks[best]]
            out.score[0, side] = float(res.handedness[best][0].score) if res.handedness \
                else 1.0
            dist[side] = best_d
        if out.score[0].all():  # one hand taken by both sides: the nearer wrist keeps it
            a, b = out.image[0, 0, :, :2], out.image[0, 1, :, :2]
            if float(np.abs(a - b).max()) < 0.01:
                far = int(dist[1] > dist[0])
                out.image[0, far] = out.world[0, far] = np.nan
                out.score[0, far] = 0.0
        return out
