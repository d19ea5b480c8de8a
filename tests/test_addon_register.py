"""The add-on registers straight from the source tree: no build step, no staging.

``addon/`` imports the engine as the package ``dgnet_core`` (installed in the venv with
``pip install -e .``), the same import that a built extension satisfies from its wheel.
A fresh ``python`` with bpy runs ``import addon; addon.register(); addon.unregister()``
from the repository root and reports which ``dgnet_core`` the add-on got.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from script_results import run_result_script

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1)")
pytestmark = pytest.mark.blender

_SCRIPT = r"""
import json, sys
import bpy
import addon
addon.register()
registered = {"ops": sorted(n for n in dir(bpy.ops.lift_video) if not n.startswith("_")),
              "scene_prop": hasattr(bpy.types.Scene, "lift_video")}
addon.unregister()
import dgnet_core
print("RESULT " + json.dumps({
    "registered": registered,
    "unregistered": {"ops": sorted(n for n in dir(bpy.ops.lift_video) if not n.startswith("_")),
                     "scene_prop": hasattr(bpy.types.Scene, "lift_video")},
    "addon_file": addon.__file__,
    "core_file": dgnet_core.__file__,
    "rig_core": sys.modules["addon.rig"].RigSpec.__module__,
    "sub_package": "addon.dgnet_core" in sys.modules,
}))
"""


def test_register_from_source_tree_without_build(tmp_path):
    assert not (REPO / "addon" / "dgnet_core").exists()  # nothing staged into the source
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER", "PYTHON"))}
    env["BLENDER_USER_RESOURCES"] = str(tmp_path / "user")
    res = run_result_script([sys.executable, "-c", _SCRIPT], env=env, cwd=REPO, timeout=180)
    assert res["registered"] == {"ops": ["bonemap_fill", "bonemap_load", "bonemap_save", "export",
                                         "lift"],
                                 "scene_prop": True}
    assert res["unregistered"] == {"ops": [], "scene_prop": False}
    assert Path(res["addon_file"]) == REPO / "addon" / "__init__.py"
    assert Path(res["core_file"]).resolve() == REPO / "dgnet_core" / "__init__.py"
    assert res["rig_core"].startswith("dgnet_core.retarget") and not res["sub_package"]
