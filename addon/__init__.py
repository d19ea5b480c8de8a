"""Lift Video: turn a video of a person into an armature animation (Blender extension).

Registers the add-on: settings and preferences (``props``), the ``lift_video.lift`` operator
and bone map tools (``operators``), the sidebar panels (``panels``) and the
``blender --command lift_video`` batch command (``cli``). The engine lives in the
``dgnet_core`` sub-package (no bpy); see ``headless.py`` for script use.
"""

from __future__ import annotations

from . import cli, operators, panels, props

_MODULES = (props, operators, panels, cli)


def register() -> None:
    for mod in _MODULES:
        mod.register()


def unregister() -> None:
    for mod in reversed(_MODULES):
        mod.unregister()
