"""Script entry for batch lifting without the UI.

    blender -b --python addon/headless.py -- clips/ -o out/ [options]
    blender -b rig.blend --python <extension>/headless.py -- clip.mp4 -o out/ --target Armature
    python addon/headless.py clips/ -o out/          # plain Python with the bpy module

The engine is the installed package ``dgnet_core``: in development ``pip install -e .``
(scripts/setup.sh) puts it in the venv, in an installed extension Blender unpacks it from
the extension's ``wheels/``. This script loads the add-on folder it sits in as the package
``lift_video`` (a script run puts only that folder on ``sys.path``, so the add-on's relative
imports need a package) and runs ``cli.main``; the exit code is 0 when every clip worked,
1 when some failed, 2 on a usage error. ``--help`` lists the options.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGE = "lift_video"


def load_package(addon_dir: Path | None = None):
    """Import the add-on folder (this script's by default) as the package ``lift_video``."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    addon_dir = Path(addon_dir or Path(__file__).resolve().parent)
    if importlib.util.find_spec("dgnet_core") is None:
        raise SystemExit("headless.py: the engine package dgnet_core is not importable; "
                         "run scripts/setup.sh (pip install -e .) or install the extension")
    import bpy  # noqa: F401  (fail early, clearly, without Blender's module)

    spec = importlib.util.spec_from_file_location(
        PACKAGE, addon_dir / "__init__.py", submodule_search_locations=[str(addon_dir)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)
    return module


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
