"""Where the offline MediaPipe models are: one rule for the pose and the hand ``.task``.

A model is ``$<ENV>`` when that variable is set (which must then name a file), else in
``dgnet_core/models/`` (inside the engine wheel), else in ``<repo>/.cache/models/`` (where
``scripts/build_pose_task.sh`` builds it in a source checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LiftError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # dgnet_core/


def find_model(name: str, env: str, what: str, hint: str) -> Path:
    """The model file ``name`` (see the module docstring); ``LiftError`` naming every place
    looked at, then ``hint``, when none exists. ``what`` names it for the user."""
    value = os.environ.get(env)
    if value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise LiftError(f"{env} points to a missing file: {path}")
        return path
    candidates = [_PACKAGE_DIR / "models" / name,
                  _PACKAGE_DIR.parent / ".cache" / "models" / name]
    for path in candidates:
        if path.is_file():
            return path
    raise LiftError(f"{what} {name} not found (looked in ${env}, "
                    f"{', '.join(str(p) for p in candidates)}); {hint}")
