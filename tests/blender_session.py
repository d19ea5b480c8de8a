"""Helpers for the test scripts that run inside a fresh bpy process: a clean session with the
add-on enabled from the source tree, and named checks that report their tracebacks.

Used by the subprocess side of ``test_addon.py`` and ``test_export_roundtrip.py``.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

PKG = "bl_ext.lift_test.lift_video"


def enable_source_addon(repo: str) -> str:
    """Factory settings, an extension repository at ``repo`` (whose ``lift_video`` links to
    ``addon/``) and the add-on enabled from it; returns the add-on's package name."""
    import addon_utils
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.extensions.repos.new(
        name="Lift Test", module="lift_test", custom_directory=repo)
    addon_utils.enable(PKG, default_set=True, handle_error=None)
    return PKG


def checks(res: dict) -> Callable[[str], Callable]:
    """A decorator factory: ``@check("name")`` runs the function at once and stores its
    return value, or ``{"error": traceback}``, as ``res["name"]``."""
    def check(name: str) -> Callable:
        def deco(fn: Callable) -> Callable:
            try:
                res[name] = fn()
            except Exception:  # noqa: BLE001 - reported to pytest
                res[name] = {"error": traceback.format_exc()[-3000:]}
            return fn
        return deco
    return check
