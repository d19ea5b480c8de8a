"""Keeping batch runs' console to our own lines: native log lines and exporter chatter off,
errors from Blender operators cut down to one line.

* ``quiet_native_logs()``: environment that mutes MediaPipe's glog and TFLite (read when
  mediapipe is first imported; the pipeline imports it lazily).
* ``console_silenced()``: file descriptors 1 and 2 to /dev/null for a block (C/C++ logging,
  Blender's operator reports and Python prints alike), for the exporters.
* ``operator_error(exc)``: the one line that matters from a ``RuntimeError`` raised by
  ``bpy.ops`` (which embeds the operator's whole Python traceback).

The pipeline's own native lines (TFLite, MediaPipe) are muted with the engine's
``dgnet_core.cli.native_stderr_silenced``, which keeps Python's stderr.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
_NOISE = ("Traceback", "File ", "Location:", "^")


def quiet_native_logs() -> None:
    """Ask glog (MediaPipe) and TensorFlow Lite to log errors only (unless the user set it)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextmanager
def console_silenced(enabled: bool = True) -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null inside the block."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def operator_error(exc: BaseException) -> str:
    """One line for an error raised through ``bpy.ops``: the innermost exception's line
    (``IsADirectoryError: [Errno 21] Is a directory: 'out/clip.fbx'``) when the message
    embeds a traceback, else the message itself, whitespace collapsed."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    causes = [ln for ln in lines if _EXCEPTION_LINE.match(ln)]
    if causes:
        return causes[-1]
    kept = [ln for ln in lines if not ln.startswith(_NOISE)]
    text = " ".join(" ".join(kept).split())
    return text.removeprefix("Error: ") or type(exc).__name__
