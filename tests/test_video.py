"""The video reader (dgnet_core.video): frame ranges, cut-off and stream-copy files,
clear errors for files that are not videos."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from engine_helpers import write_clip

from dgnet_core.errors import VideoError
from dgnet_core.video import VideoReader


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
    # every frame, fewer decode (measured: 60 announced, 34 decode). Issue 12.
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
