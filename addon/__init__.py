"""Lift Video: turn a video of a person into an armature animation (Blender extension).

Registers the add-on: settings and preferences (``props``), the ``lift_video.lift`` operator
and bone map tools (``operators``), the sidebar panels (``panels``) and the
``blender --command lift_video`` batch command (``cli``). The engine is the separate
package ``dgnet_core`` (no bpy), imported the same way from the source tree (installed
with ``pip install -e .``) and from the extension (a wheel in ``wheels/``), so
``import addon; addon.register()`` works with no build step. See ``headless.py`` for
script use.
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
