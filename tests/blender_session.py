"""Helpers for the test scripts that run inside a fresh bpy process: a clean session with the
add-on enabled from the source tree, and named checks that report their tracebacks.

Used by ``test_addon.py``, ``test_export_roundtrip.py``, ``test_crowd_bake.py`` and
``test_fingers_bake.py``: the test side starts the script (``source_addon_repo``,
``run_in_bpy``) and reads its parts (``ok``); the subprocess side sets the session up
(``enable_source_addon``, ``checks``) and builds rigs (``build_armature``,
``generate_rigify``).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from script_results import run_result_script

REPO = Path(__file__).resolve().parents[1]

PKG = "bl_ext.lift_test.lift_video"


def source_addon_repo(folder: Path) -> Path:
    """An extension repository in ``folder`` whose ``lift_video`` links to ``addon/``."""
    repo = folder / "ext_repo"
    repo.mkdir(parents=True, exist_ok=True)
    (repo / "lift_video").symlink_to(REPO / "addon", target_is_directory=True)
    return repo


def run_in_bpy(script: str, args: list, tmp: Path, timeout: int = 300) -> dict:
    """Run test ``script`` in a fresh interpreter (its own Blender user folder, one OpenMP
    thread) with ``args`` on its command line (dicts as JSON); its ``RESULT`` JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLENDER")}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
    env["OMP_NUM_THREADS"] = "1"
    argv = [a if isinstance(a, str) else json.dumps(a) for a in args]
    return run_result_script([sys.executable, script, *argv], env=env, cwd=tmp,
                             timeout=timeout, tail=4000)


def ok(res: dict, name: str) -> dict:
    """One named part of a script's results, failing the test with its traceback."""
    part = res[name]
    assert "error" not in part, part.get("error")
    return part


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


def addon_session(repo: str) -> tuple[dict, Callable[[str], Callable], Callable[[str], object]]:
    """A clean session with the add-on enabled from ``repo``: the results dict, its
    ``check`` decorator and a getter of the add-on's modules (``mod("bake")``)."""
    res: dict = {}
    pkg = enable_source_addon(repo)
    return res, checks(res), lambda name: sys.modules[f"{pkg}.{name}"]


def synthetic_result(n: int):
    """A ``LiftResult`` of ``n`` frames of a rigidly posed body (``test_addon``'s)."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_addon import _posed, _result

    return _result(_posed(n))


def build_armature(context, name: str, names, parents, heads, tails, *,
                   to_armature=None, location=(0.0, 0.0, 0.0), rotation=(0.0, 0.0, 0.0),
                   scale: float = 1.0):
    """A new armature object ``name`` with one bone per name (heads and tails in armature
    space, or in world space mapped by the 3x3 ``to_armature``), parents by index (-1:
    none), rolled arbitrarily (0.7 x index: a solver must not care), at ``location`` /
    ``rotation`` (Euler) / uniform ``scale``."""
    import bpy
    from mathutils import Matrix, Vector

    m = Matrix.Identity(3) if to_armature is None else to_armature
    arm = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, arm)
    context.collection.objects.link(obj)
    obj.location, obj.rotation_euler = location, rotation
    obj.scale = (scale, scale, scale)
    context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    ebs = []
    for i, nm in enumerate(names):
        eb = arm.edit_bones.new(nm)
        eb.head = m @ Vector(heads[i])
        eb.tail = m @ Vector(tails[i])
        eb.roll = 0.7 * i
        ebs.append(eb)
    for i, p in enumerate(parents):
        if p >= 0:
            ebs[i].parent = ebs[p]
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def generate_rigify(context):
    """The generated rig of the scene's ``metarig`` (None when Rigify generation is not
    available), generated from the rest pose as Rigify asks (it copies the metarig's pose
    values onto the generated bones); the metarig keeps its action."""
    import bpy

    meta = bpy.data.objects.get("metarig")
    if meta is None or not hasattr(bpy.ops.pose, "rigify_generate"):
        return None
    context.view_layer.objects.active = meta
    keep = meta.animation_data.action if meta.animation_data else None
    if keep is not None:
        meta.animation_data.action = None
    for pb in meta.pose.bones:
        pb.location, pb.rotation_quaternion = (0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0)
    bpy.ops.pose.rigify_generate()
    if keep is not None:
        meta.animation_data.action = keep
        meta.animation_data.action_slot = keep.slots[0]
    return bpy.data.objects["rig"]
