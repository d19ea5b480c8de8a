"""Script entry for batch lifting without the UI.

    blender -b --python addon/headless.py -- clips/ -o out/ [options]
    blender -b rig.blend --python <extension>/headless.py -- clip.mp4 -o out/ --target Armature
    python addon/headless.py clips/ -o out/          # plain Python with the bpy module

Works from the source tree (``addon/`` beside ``dgnet_core/``) and from a staged or
installed extension (``dgnet_core`` inside it). It loads the add-on package under the name
``lift_video`` without touching ``sys.path`` and runs ``cli.main``; the exit code is 0 when
every clip worked, 1 when some failed, 2 on a usage error. ``--help`` lists the options.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGE = "lift_video"


def _load(name: str, folder: Path):
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_package(addon_dir: Path | None = None):
    """Import the add-on as package ``lift_video`` (its engine as ``lift_video.dgnet_core``)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    addon_dir = Path(addon_dir or Path(__file__).resolve().parent)
    core = addon_dir / "dgnet_core"
    if not core.is_dir():  # source tree: the engine sits beside addon/
        core = addon_dir.parent / "dgnet_core"
    if not (core / "__init__.py").is_file():
        raise SystemExit(f"headless.py: dgnet_core not found next to {addon_dir}")
    import bpy  # noqa: F401  (fail early, clearly, without Blender's module)

    # Engine first, so the add-on's `from .dgnet_core import ...` finds it.
    _load(f"{PACKAGE}.dgnet_core", core)
    return _load(PACKAGE, addon_dir)


def script_args(argv: list[str]) -> list[str]:
    """Arguments after ``--`` inside Blender; all arguments under plain Python."""
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    return argv[1:]


def main() -> int:
    pkg = load_package()
    from importlib import import_module

    cli = import_module(f"{pkg.__name__}.cli")
    return cli.main(script_args(sys.argv))


if __name__ == "__main__":
    sys.exit(main())
