"""User-facing errors of the engine: one clear line each, no traceback needed.

Everything a user can cause (bad file, no person, wrong rig, corrupt weights) raises a
subclass of ``LiftError``; the CLI prints ``error: <message>`` and exits non-zero, the
Blender add-on reports the message.
"""

from __future__ import annotations


class LiftError(Exception):
    """Base class for errors caused by the user's input or environment."""


class VideoError(LiftError):
    """Missing, unreadable, truncated or empty video."""


class NoPersonError(LiftError):
    """No person detected (at all, or in too long a stretch to fill)."""


class WeightsError(LiftError):
    """Missing, corrupt or incompatible model weights."""


class RigError(LiftError):
    """Target is not an armature, or lacks bones the mapping needs."""


class FormatError(LiftError):
    """Unknown or unsupported output format."""


class OutputError(LiftError):
    """Output folder that is a file, lies under a file, or cannot be written."""


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (empty messages become the exception's type)."""
    return " ".join(str(exc).split()) or type(exc).__name__
