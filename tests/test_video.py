"""The video reader (dgnet_core.detection.video): frame ranges, cut-off and stream-copy files,
clear errors for files that are not videos."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from engine_helpers import write_clip

from dgnet_core.detection.video import VideoReader
from dgnet_core.errors import VideoError


def test_video_reader_range_and_errors(tmp_path) -> None:
    clip = tmp_path / "c.avi"
    write_clip(clip)
    with VideoReader(clip) as reader:
        assert (reader.info.width, reader.info.height, reader.info.frame_count) == (160, 120, 20)
        assert reader.info.fps == pytest.approx(25.0)
        got = [(i, f.shape) for i, f in reader.frames(5, 9)]
    assert got == [(i, (120, 160, 3)) for i in range(5, 9)]
    data = clip.read_bytes()
    (tmp_path / "t.avi").write_bytes(data[: len(data) // 2])
    with VideoReader(tmp_path / "t.avi") as r:  # a cut-off file: what decodes is the video
        got = [i for i, _ in r.frames()]
        assert r.info.frame_count == 20 and 0 < len(got) < 20 and r.frames_read == len(got)
    assert got == list(range(len(got)))
    with pytest.raises(VideoError, match=rf"start frame 25 is past the end .*\({len(got)} "
                       r"frames\)"), VideoReader(tmp_path / "t.avi") as r:
        list(r.frames(25))
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).bytes(50_000))
    with pytest.raises(VideoError, match="cannot open"):
        VideoReader(tmp_path / "junk.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        VideoReader(tmp_path / "empty.mp4")
    with pytest.raises(VideoError, match="not found"):
        VideoReader(tmp_path / "nope.mp4")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to "
                    "make a stream-copy cut (apt-get install ffmpeg)")
def test_stream_copy_cut_reads_the_frames_that_decode(tmp_path) -> None:
    # A stream-copy cut keeps the whole stream behind an edit list: the container announces
    # every frame, fewer decode (measured: 60 announced, 34 decode).
    src, cut = tmp_path / "src.mp4", tmp_path / "cut.mp4"
    ff = ["ffmpeg", "-loglevel", "error", "-y"]
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc=size=160x120:rate=20", "-frames:v",
                    "60", "-c:v", "mpeg4", "-g", "1000", str(src)], check=True, timeout=60)
    subprocess.run([*ff, "-ss", "1.3", "-i", str(src), "-c", "copy", str(cut)], check=True,
                   timeout=60)
    with VideoReader(cut) as r:
        decoded = [i for i, _ in r.frames()]
        announced = r.info.frame_count
    assert announced == 60 and 20 < len(decoded) < announced
    assert decoded == list(range(len(decoded)))
    with VideoReader(cut) as r:
        tail = [i for i, _ in r.frames(len(decoded) - 3)]
    assert tail == decoded[-3:]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=60)


def _opencv_frames(path, auto_rotate: bool = False) -> list[np.ndarray]:
    """What OpenCV reads (RGB): the engine's reader before PyAV, and the reference here."""
    cv2 = pytest.importorskip("cv2")
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1 if auto_rotate else 0)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command to "
                    "write rotation metadata (apt-get install ffmpeg)")
def test_rotated_phone_clip_is_read_upright(tmp_path) -> None:
    # A phone clip stores landscape pixels plus a display matrix ("turn by 90 degrees"):
    # the frames come turned as players show them, the same pixels as OpenCV's reading with
    # its auto-rotation on, and VideoInfo gives the turned size.
    src = tmp_path / "src.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=20", "-frames:v", "8",
            "-c:v", "mpeg4", "-q:v", "2", str(src))
    with VideoReader(src) as r:
        upright = [f for _, f in r.frames()]
        assert (r.info.width, r.info.height, r.info.rotation) == (160, 120, 0)
    for rotate in (90, 180, 270):
        clip = tmp_path / f"r{rotate}.mp4"
        _ffmpeg("-i", str(src), "-c", "copy", "-metadata:s:v", f"rotate={rotate}", str(clip))
        with VideoReader(clip) as r:
            got = [f for _, f in r.frames()]
            info = r.info
        turned = (120, 160) if rotate != 180 else (160, 120)
        assert (info.width, info.height) == turned and info.frame_count == 8
        assert all(f.shape == (turned[1], turned[0], 3) and f.flags.c_contiguous for f in got)
        opencv = _opencv_frames(clip, auto_rotate=True)
        assert len(opencv) == len(got) == 8
        assert all(np.array_equal(a, b) for a, b in zip(opencv, got, strict=True)), rotate
        # a counter-clockwise turn of the stored pixels by the rotation the reader reports
        k = info.rotation // 90
        assert all(np.array_equal(np.rot90(u, k), g) for u, g in zip(upright, got, strict=True))


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command "
                    "(apt-get install ffmpeg)")
@pytest.mark.parametrize("name, encode", [
    ("odd420.mkv", ["-c:v", "ffv1", "-pix_fmt", "yuv420p"]),
    ("odd10bit.mkv", ["-c:v", "ffv1", "-pix_fmt", "yuv420p10le"]),
    ("odd422.avi", ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"]),
    ("oddgray.mkv", ["-c:v", "ffv1", "-pix_fmt", "gray"]),
    ("vfr.mp4", ["-vf", r"select=lt(n\,6)+not(mod(n\,3))", "-fps_mode", "vfr",
                 "-c:v", "mpeg4", "-q:v", "2"]),
])
def test_sizes_pixel_formats_and_variable_rate_give_rgb(tmp_path, name, encode) -> None:
    size = "160x120" if name.startswith("vfr") else "161x121"  # odd sizes decode too
    clip = tmp_path / name
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size}:rate=20", "-frames:v", "12", *encode,
            str(clip))
    with VideoReader(clip) as r:
        got = [f for _, f in r.frames()]
        info = r.info
    w, h = map(int, size.split("x"))
    assert (info.width, info.height) == (w, h) and info.fps_known and info.fps > 0
    assert len(got) == 12 and r.frames_read == 12
    assert all(f.shape == (h, w, 3) and f.dtype == np.uint8 and f.flags.c_contiguous
               for f in got)
    opencv = _opencv_frames(clip)
    assert len(opencv) == 12
    # the same pictures; chroma upsampling of odd sizes differs by about 1 level on average
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(opencv, got, strict=True)) < 2


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command "
                    "(apt-get install ffmpeg)")
def test_sound_only_file_has_no_picture(tmp_path) -> None:
    audio = tmp_path / "voice.m4a"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", str(audio))
    with pytest.raises(VideoError, match=r"^video has no picture \(size 0x0\): "):
        VideoReader(audio)


def test_unknown_frame_rate_falls_back(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    from dgnet_core.detection import video

    assert video._frame_rate(SimpleNamespace(average_rate=None, guessed_rate=None)) == 0.0
    clip = tmp_path / "c.avi"
    write_clip(clip)
    monkeypatch.setattr(video, "_frame_rate", lambda stream: 0.0)
    with VideoReader(clip) as r:
        assert (r.info.fps, r.info.fps_known) == (video.DEFAULT_FPS, False)
        assert len([i for i, _ in r.frames()]) == 20
