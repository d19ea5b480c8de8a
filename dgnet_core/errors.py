"""User-facing errors of the engine: one clear line each, no traceback needed.

Everything a user can cause (bad file, no person, wrong rig, corrupt weights) raises a
subclass of ``LiftError``; the CLI prints ``error: <message>`` and exits non-zero, the
Blender add-on reports the message. Also owns that contract for every command-line entry
point (``one_line_errors``: one ``error:`` line on stderr, exit 1; 130 when interrupted).
"""

from __future__ import annotations

import sys
from collections.abc import Callable


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


def one_line_errors(run: Callable[[], int],
                    extra: tuple[type[BaseException], ...] = ()) -> int:
    """Run a command; ``LiftError``, ``ValueError`` or ``extra`` become one ``error:`` line.

    The error contract shared by every command-line entry point of the project: exit 1
    with a single line on stderr (no traceback), 130 when interrupted.
    """
    try:
        return run()
    except (LiftError, ValueError, *extra) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
