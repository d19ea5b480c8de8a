"""Decode speed of a video: OpenCV, PyAV and Blender's own FFmpeg reading (bpy).

Answers one packaging question (issue 14): which video reader should the extension ship?
Every reader delivers what the engine needs, (H, W, 3) uint8 RGB frames in memory, and the
time to each frame is measured.

- ``cv2``: ``cv2.VideoCapture.read`` + BGR -> RGB (the engine's reader before PyAV).
- ``av`` / ``av1``: PyAV, ``container.decode`` + ``to_ndarray(format="rgb24")``, with
  FFmpeg's own decoding threads (``thread_type = "AUTO"``) or on one thread.
- ``engine``: ``dgnet_core.video.VideoReader.frames`` (PyAV with one colour converter kept
  for the whole clip: ``to_ndarray(format=...)`` builds a new one for every frame, the
  ``av`` rows), opening the clip included.
- ``blender``: the only frame-addressable route found in bpy 5.0.1 without a GPU.
  ``Image.pixels`` of a MOVIE image always returns its first frame (no image user),
  and a texture's image user does not change that, so each frame goes through the
  compositor (Image node at the scene frame -> Group Output), is written as an
  uncompressed BMP and read back as an Image's float pixels -> uint8 RGB.

    python scripts/bench_decode.py VIDEO [--frames 60] [--only cv2 --only av] [--repeat 3]

Prints frames/s per reader (and a checksum of frame 10 so the two can be compared).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def bench_cv2(video: str, frames: int) -> tuple[float, int]:
    """(frames/s, checksum of frame 10) with OpenCV."""
    import cv2

    cap = cv2.VideoCapture(video)
    n, check, t0 = 0, 0, time.perf_counter()
    while n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        n += 1
        if n == 10:
            check = int(rgb.astype(np.int64).sum())
    dt = time.perf_counter() - t0
    cap.release()
    return n / dt, check


def bench_av(video: str, frames: int, threaded: bool = True) -> tuple[float, int]:
    """(frames/s, checksum of frame 10) with PyAV (FFmpeg threads when ``threaded``)."""
    import av

    n, check, t0 = 0, 0, time.perf_counter()
    with av.open(video) as container:
        stream = container.streams.video[0]
        if threaded:
            stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            n += 1
            if n == 10:
                check = int(rgb.astype(np.int64).sum())
            if n >= frames:
                break
    return n / (time.perf_counter() - t0), check


def bench_engine(video: str, frames: int) -> tuple[float, int]:
    """(frames/s, checksum of frame 10) with the engine's own reader."""
    from dgnet_core.video import VideoReader

    n, check, t0 = 0, 0, time.perf_counter()
    with VideoReader(video) as reader:
        for _, rgb in reader.frames(0, frames):
            n += 1
            if n == 10:
                check = int(rgb.astype(np.int64).sum())
    return n / (time.perf_counter() - t0), check


def bench_blender(video: str, frames: int) -> tuple[float, int]:
    """(frames/s, checksum of frame 10) through Blender's compositor and FFmpeg."""
    import bpy

    sc = bpy.context.scene
    img = bpy.data.images.load(video)
    w, h = img.size
    sc.render.resolution_x, sc.render.resolution_y = w, h
    sc.render.resolution_percentage = 100
    sc.view_settings.view_transform = "Standard"
    ng = bpy.data.node_groups.new("decode", "CompositorNodeTree")
    sc.compositing_node_group = ng
    node = ng.nodes.new("CompositorNodeImage")
    node.image = img
    node.frame_duration, node.frame_start = img.frame_duration, 1
    ng.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    out = ng.nodes.new("NodeGroupOutput")
    ng.links.new(node.outputs[0], out.inputs[0])
    sc.render.use_compositing, sc.render.use_sequencer = True, False
    sc.render.image_settings.file_format = "BMP"
    tmp = Path(tempfile.mkdtemp()) / "frame.bmp"
    sc.render.filepath = str(tmp)
    buf = np.empty(w * h * 4, np.float32)
    n, check, t0 = 0, 0, time.perf_counter()
    for f in range(1, min(frames, img.frame_duration) + 1):
        sc.frame_set(f)
        bpy.ops.render.render(write_still=True)
        still = bpy.data.images.load(str(tmp), check_existing=False)
        still.pixels.foreach_get(buf)
        bpy.data.images.remove(still)
        rgb = (buf.reshape(h, w, 4)[::-1, :, :3] * 255.0 + 0.5).astype(np.uint8)
        n += 1
        if n == 10:
            check = int(rgb.astype(np.int64).sum())
    return n / (time.perf_counter() - t0), check


def main() -> None:
    """Command line: the readers on one video, ``--repeat`` rounds alternating them."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--only", action="append", choices=list(READERS),
                    help="these readers only (repeatable; default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds, readers alternating")
    args = ap.parse_args()
    for _ in range(args.repeat):
        for name, fn in READERS.items():
            if not args.only or name in args.only:
                fps, check = fn(args.video, args.frames)
                print(f"{name:8s} {fps:7.1f} frames/s  frame-10 checksum {check}", flush=True)


READERS = {
    "cv2": bench_cv2,
    "av": bench_av,
    "av1": lambda video, frames: bench_av(video, frames, threaded=False),
    "engine": bench_engine,
    "blender": bench_blender,
}


if __name__ == "__main__":
    main()
