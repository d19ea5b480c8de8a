"""Reading video files frame by frame with PyAV (FFmpeg's libraries).

Owns opening a clip, its properties (fps, size, frame count from the container) and a
streaming iterator over frames: one frame in memory at a time, whatever the clip length.
Every failure a user can cause (missing, unreadable or empty file, no picture, no decodable
frame) is a one-line ``VideoError``. This is the one reader of the engine, for the command
line and the Blender extension alike (the extension ships PyAV, not OpenCV: build.py).

Frames come as the clip is meant to be shown: a phone clip whose display matrix says "turn
by 90 degrees" is turned (and ``VideoInfo`` gives the turned width and height), in whole
quarter turns; other angles are ignored. Any pixel format, size or frame rate decodes to
HxWx3 uint8 RGB. FFmpeg's own log stays off (PyAV's default), so a damaged file prints
nothing: what decodes is read, and the errors are ours.

The container's frame count is only a hint (for progress bars): a stream-copy cut (phone
trims, ``ffmpeg -ss 1.3 -i a.mp4 -c copy b.mp4``) keeps the whole stream behind an edit
list, so the count can be far above what decodes. The frames that decode are the video.

    with VideoReader("clip.mp4") as video:
        for index, rgb in video.frames(start=0, stop=None):
            ...
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import VideoError

DEFAULT_FPS = 30.0
# Packets that fail to decode (damaged data) before the rest of the stream counts as lost.
MAX_BAD_PACKETS = 64


@dataclass(frozen=True)
class VideoInfo:
    """Properties of an opened clip. ``frame_count`` comes from the container (0 = unknown)
    and is a hint only: fewer frames may decode (edit lists, truncated files). ``width`` and
    ``height`` are those of the frames delivered (after the display rotation)."""

    path: str
    fps: float
    width: int
    height: int
    frame_count: int
    fps_known: bool = True
    rotation: int = 0  # degrees counter-clockwise applied to each frame: 0, 90, 180, 270


class VideoReader:
    """A clip opened for sequential reading (context manager; ``close()`` releases it)."""

    def __init__(self, path: str | Path) -> None:
        import av
        from av.video.reformatter import VideoReformatter

        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"video not found: {self.path}")
        if not self.path.is_file():
            raise VideoError(f"not a video file: {self.path}")
        if self.path.stat().st_size == 0:
            raise VideoError(f"video file is empty: {self.path}")
        try:
            self._container: Any = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError):
            raise VideoError(f"cannot open video (unknown format or corrupt file): {self.path}"
                             ) from None
        streams = self._container.streams.video
        ctx = streams[0].codec_context if streams else None
        width, height = (ctx.width, ctx.height) if ctx is not None else (0, 0)
        if width <= 0 or height <= 0:
            self._container.close()
            raise VideoError(f"video has no picture (size {width}x{height}): {self.path}")
        self._stream = streams[0]
        self._stream.thread_type = "AUTO"  # FFmpeg's own decoding threads
        self._reformatter = VideoReformatter()  # one colour converter for every frame
        fps = _frame_rate(self._stream)
        fps_known = math.isfinite(fps) and 0.5 < fps < 1000.0
        count = _frame_count(self._container, self._stream, fps if fps_known else 0.0)
        self._decoded = self._decode()
        self._pending = next(self._decoded, None)  # the first frame carries the rotation
        self._turns = _quarter_turns(self._pending)
        if self._turns % 2:
            width, height = height, width
        self.info = VideoInfo(str(self.path), fps if fps_known else DEFAULT_FPS, width, height,
                              count, fps_known, 90 * self._turns)
        self._position = 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._decoded.close()
            self._container.close()
            self._container = None
            self._pending = None

    def frames(self, start: int = 0, stop: int | None = None, rgb: bool = True
               ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, image)`` for frames ``start <= i < stop`` (``stop``
        exclusive, as ``range``; the user-facing ``frame_end`` is inclusive) (HxWx3 uint8 RGB,
        or BGR with ``rgb=False``).

        Frames before ``start`` are decoded and dropped (exact, unlike container seeking).
        The stream ends where decoding stops, whatever count the container announces
        (``frames_read`` tells how many decoded). Raises ``VideoError`` when no frame decodes
        at all, or when ``start`` is past the last decodable frame.
        """
        if self._container is None:
            raise VideoError(f"video is closed: {self.path}")
        if start < 0 or (stop is not None and stop <= start):
            raise VideoError(f"empty frame range [{start}, {stop}) for {self.path}")
        if self._position > start:
            raise VideoError("frames must be read forwards; open the video again")
        while self._position < start:
            if self._next_frame() is None:
                self._check_end()
                raise VideoError(f"start frame {start} is past the end of the video "
                                 f"({self._position} frames): {self.path}")
            self._position += 1
        fmt = "rgb24" if rgb else "bgr24"
        while stop is None or self._position < stop:
            frame = self._next_frame()
            if frame is None:
                self._check_end()
                return
            index = self._position
            self._position += 1
            # rows may be padded: a strided view until made contiguous below
            image = self._reformatter.reformat(frame, format=fmt).to_ndarray()
            if self._turns:
                image = np.rot90(image, self._turns)
            yield index, np.ascontiguousarray(image)

    @property
    def frames_read(self) -> int:
        """Frames decoded (or skipped over) so far."""
        return self._position

    def _next_frame(self) -> Any:
        """The next decoded ``av.VideoFrame``, or None at the end of what decodes."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return next(self._decoded, None)

    def _decode(self) -> Iterator[Any]:
        """Every frame that decodes, in order. A read error ends the stream (after the
        decoder gives back what it holds); a damaged packet is skipped, up to
        ``MAX_BAD_PACKETS`` of them."""
        import av

        packets = self._container.demux(self._stream)
        bad = 0
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError:
                packet = None  # the rest of the file is unreadable: flush the decoder
            try:
                decoded = self._stream.decode(packet)
            except av.FFmpegError:
                bad += 1
                decoded = []
            yield from decoded
            if packet is None or bad > MAX_BAD_PACKETS:
                return

    def _check_end(self) -> None:
        """The stream ended at ``self._position``: raise if nothing decoded at all."""
        if self._position == 0:
            raise VideoError(f"no frame could be decoded (empty or corrupt video): {self.path}")


def _frame_rate(stream: Any) -> float:
    """Frames per second: the stream's average rate, else FFmpeg's guess (0.0 if none)."""
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            return float(Fraction(rate))
    return 0.0


def _frame_count(container: Any, stream: Any, fps: float) -> int:
    """The container's frame count, else duration x fps (0 when neither is known)."""
    if stream.frames and stream.frames > 0:
        return int(stream.frames)
    seconds = 0.0
    if container.duration and container.duration > 0:
        seconds = container.duration / 1_000_000  # AV_TIME_BASE
    elif stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    return max(int(math.floor(seconds * fps + 0.5)), 0)


def _quarter_turns(frame: Any) -> int:
    """Counter-clockwise quarter turns (0-3) that show ``frame`` upright: its display
    matrix's rotation when that is a multiple of 90 degrees, else 0."""
    angle = float(getattr(frame, "rotation", 0) or 0) if frame is not None else 0.0
    turns = round(angle / 90.0)
    return turns % 4 if abs(angle - 90.0 * turns) < 1.0 else 0


def probe_video(path: str | Path) -> VideoInfo:
    """Open a clip just to read its properties (raises ``VideoError`` if it cannot)."""
    with VideoReader(path) as reader:
        return reader.info
