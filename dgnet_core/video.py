"""Reading video files frame by frame with OpenCV.

Owns opening a clip, its properties (fps, size, frame count from the container) and a
streaming iterator over frames: one frame in memory at a time, whatever the clip length.
Every failure a user can cause (missing, unreadable or empty file, no decodable frame) is a
one-line ``VideoError``.

The container's frame count is only a hint (for progress bars): a stream-copy cut (phone
trims, ``ffmpeg -ss 1.3 -i a.mp4 -c copy b.mp4``) keeps the whole stream behind an edit
list, so the count can be far above what decodes. The frames that decode are the video.

    with VideoReader("clip.mp4") as video:
        for index, rgb in video.frames(start=0, end=None):
            ...
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import VideoError

DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """Properties of an opened clip. ``frame_count`` comes from the container (0 = unknown)
    and is a hint only: fewer frames may decode (edit lists, truncated files)."""

    path: str
    fps: float
    width: int
    height: int
    frame_count: int
    fps_known: bool = True


class VideoReader:
    """A clip opened for sequential reading (context manager; ``close()`` releases it)."""

    def __init__(self, path: str | Path) -> None:
        import cv2

        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"video not found: {self.path}")
        if not self.path.is_file():
            raise VideoError(f"not a video file: {self.path}")
        if self.path.stat().st_size == 0:
            raise VideoError(f"video file is empty: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise VideoError(f"cannot open video (unknown format or corrupt file): {self.path}")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        fps_known = math.isfinite(fps) and 0.5 < fps < 1000.0
        width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        count = int(max(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0, 0))
        if width <= 0 or height <= 0:
            self._cap.release()
            raise VideoError(f"video has no picture (size {width}x{height}): {self.path}")
        self.info = VideoInfo(str(self.path), fps if fps_known else DEFAULT_FPS, width, height,
                              count, fps_known)
        self._position = 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def frames(self, start: int = 0, end: int | None = None, rgb: bool = True
               ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, image)`` for frames ``start <= i < end`` (HxWx3 uint8).

        Frames before ``start`` are decoded and dropped (exact, unlike container seeking).
        The stream ends where decoding stops, whatever count the container announces
        (``frames_read`` tells how many decoded). Raises ``VideoError`` when no frame decodes
        at all, or when ``start`` is past the last decodable frame.
        """
        import cv2

        if self._cap is None:
            raise VideoError(f"video is closed: {self.path}")
        if start < 0 or (end is not None and end <= start):
            raise VideoError(f"empty frame range [{start}, {end}) for {self.path}")
        if self._position > start:
            raise VideoError("frames must be read forwards; open the video again")
        while self._position < start:
            if not self._cap.grab():
                self._check_end()
                raise VideoError(f"start frame {start} is past the end of the video "
                                 f"({self._position} frames): {self.path}")
            self._position += 1
        while end is None or self._position < end:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                self._check_end()
                return
            index = self._position
            self._position += 1
            yield index, (cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame)

    @property
    def frames_read(self) -> int:
        """Frames decoded (or skipped over) so far."""
        return self._position

    def _check_end(self) -> None:
        """The stream ended at ``self._position``: raise if nothing decoded at all."""
        if self._position == 0:
            raise VideoError(f"no frame could be decoded (empty or corrupt video): {self.path}")


def probe_video(path: str | Path) -> VideoInfo:
    """Open a clip just to read its properties (raises ``VideoError`` if it cannot)."""
    with VideoReader(path) as reader:
        return reader.info
