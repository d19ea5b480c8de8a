"""MediaPipe's Tasks API without its drawing helpers, so the extension ships no matplotlib.

``import mediapipe`` imports ``mediapipe.tasks.python.vision``, whose ``__init__`` imports
``drawing_utils`` and ``drawing_styles``; ``drawing_utils`` imports ``cv2`` and
``matplotlib.pyplot`` (and so pillow, kiwisolver, cycler, pyparsing, dateutil and
packaging) at module level. The engine never draws with MediaPipe: it only runs the
``PoseLandmarker``. The Blender extension therefore leaves matplotlib and its dependencies
out (build.py, about 18 MB of every zip), and when matplotlib is not installed ``load()``
imports MediaPipe with two placeholder modules in their place; any use of them says why.
With matplotlib installed (development, training) nothing changes.

``tests/test_packaging.py`` runs detection with matplotlib and pillow blocked, and the
installed-zip test does the same inside Blender with only the zip's wheels.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types
from typing import Any

_DRAWING = ("mediapipe.tasks.python.vision.drawing_utils",
            "mediapipe.tasks.python.vision.drawing_styles")


class _Placeholders(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the two drawing modules as placeholders (a finder, so the import system binds
    them on their package as MediaPipe's ``vision/__init__.py`` expects)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.util.spec_from_loader(name, self) if name in _DRAWING else None

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        module = types.ModuleType(name, "Placeholder: MediaPipe's drawing helpers need "
                                  "matplotlib.")

        def __getattr__(attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            raise ImportError(f"{name}.{attr} is not available: MediaPipe's drawing helpers "
                              "need matplotlib, which the Lift Video extension does not ship")

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # a blocked or broken package counts as missing
        return True


def _needs_placeholders() -> bool:
    if "mediapipe" in sys.modules:
        return False  # already imported (with its drawing helpers or with ours)
    return _missing("matplotlib") or _missing("cv2")


def load() -> tuple[types.ModuleType, Any, types.ModuleType]:
    """``(mediapipe, BaseOptions, mediapipe.tasks.python.vision)``, imported once."""
    if _needs_placeholders():
        finder = _Placeholders()
        sys.meta_path.insert(0, finder)
        try:
            import mediapipe
        finally:
            sys.meta_path.remove(finder)
    import mediapipe
    from mediapipe.tasks.python import BaseOptions, vision

    return mediapipe, BaseOptions, vision
