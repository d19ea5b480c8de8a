"""MediaPipe's Tasks API without importing its drawing helpers.

``import mediapipe`` imports ``mediapipe.tasks.python.vision``, whose ``__init__`` imports
``drawing_utils`` and ``drawing_styles``; ``drawing_utils`` imports ``cv2`` and
``matplotlib.pyplot`` (and so pillow, kiwisolver, cycler, pyparsing, dateutil and
packaging) at module level. The engine never draws with MediaPipe: it only runs the
``PoseLandmarker``. So ``load()`` imports MediaPipe with two placeholder modules in place of
the drawing helpers:

* the Blender extension leaves matplotlib and its dependencies out (build.py, about 18 MB
  of every zip); there any use of a placeholder raises ``ImportError`` saying why;
* where matplotlib is installed, the first use of a placeholder imports the real module
  and hands it over (``vision.drawing_utils.draw_landmarks`` works as before), but a run
  that never draws never pays for matplotlib's start-up time and memory
  (docs/BENCHMARKS.md).

``tests/test_packaging.py`` runs detection with matplotlib and pillow blocked, and the
installed-zip test does the same inside Blender with only the zip's wheels;
``tests/test_detect.py`` checks that the real helpers still come on first use.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

_DRAWING = ("mediapipe.tasks.python.vision.drawing_utils",
            "mediapipe.tasks.python.vision.drawing_styles")


def _real_module(name: str, placeholder: types.ModuleType) -> types.ModuleType:
    """Import the real ``name`` in place of its placeholder (ImportError if it cannot)."""
    if sys.modules.get(name) is placeholder:
        del sys.modules[name]
    try:
        real = importlib.import_module(name)  # binds it on its package too
    except ImportError as exc:
        sys.modules[name] = placeholder
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, placeholder)
        raise ImportError(f"{name} is not available: MediaPipe's drawing helpers need "
                          f"matplotlib, which the Lift Video extension does not ship ({exc})"
                          ) from None
    return real


class _Placeholders(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the two drawing modules as placeholders (a finder, so the import system binds
    them on their package as MediaPipe's ``vision/__init__.py`` expects)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        return importlib.util.spec_from_loader(name, self) if name in _DRAWING else None

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        module = types.ModuleType(name, "Placeholder: MediaPipe's drawing helpers, imported "
                                  "on first use (they need matplotlib).")

        def __getattr__(attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            return getattr(_real_module(name, module), attr)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def load() -> tuple[types.ModuleType, Any, types.ModuleType]:
    """``(mediapipe, BaseOptions, mediapipe.tasks.python.vision)``, imported once."""
    if "mediapipe" not in sys.modules:
        finder = _Placeholders()
        sys.meta_path.insert(0, finder)
        try:
            import mediapipe
        finally:
            sys.meta_path.remove(finder)
    import mediapipe
    from mediapipe.tasks.python import BaseOptions, vision

    return mediapipe, BaseOptions, vision
