"""Who may import what (docs/ARCHITECTURE.md), read from the source with ``ast``.

- ``dgnet_core`` never imports Blender (``bpy`` and its companions), ``training`` or
  ``addon``: the engine runs in plain Python and ships as its own wheel.
- ``addon`` never imports ``training``.
- OpenCV (``cv2``) only in ``dgnet_core/preview.py`` (overlay previews, a command-line
  feature), which the add-on never imports: the extension ships PyAV, not OpenCV.
- Only the model modules (``dgnet_core/model.py``, ``dgnet_core/graphs.py``) import torch
  at module level; everywhere else in ``dgnet_core`` and ``addon`` torch is imported inside
  the function that needs it, so the add-on and the ONNX path start without torch. A
  module-level import of the model modules counts as importing torch.

A subprocess then imports every other engine module and the add-on and checks that torch
and training were not loaded along the way.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "dgnet_core"
ADDON = REPO / "addon"
MODEL_MODULES = {"dgnet_core.lifting.model", "dgnet_core.lifting.graphs"}
BLENDER_MODULES = {"bpy", "bpy_extras", "bpy_types", "mathutils", "addon_utils", "bmesh",
                   "gpu", "gpu_extras", "bl_ui", "bl_operators", "idprop", "aud", "freestyle"}


def _module_name(path: Path) -> str:
    """Dotted name of a source file (the add-on's package is ``addon``)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py")
                  if "__pycache__" not in p.parts)


def _imported(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    """Absolute names a statement imports (``from x import y`` gives ``x`` and ``x.y``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        package = _module_name(path).split(".")
        if path.name != "__init__.py":
            package = package[:-1]
        base = ".".join(package[: len(package) - (node.level - 1)])
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    return [module] + [f"{module}.{a.name}" for a in node.names if a.name != "*"]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, *, top_level: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements; with ``top_level`` only those run when the module is imported
    (module and class bodies, not functions, not ``if TYPE_CHECKING:`` blocks)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            elif top_level and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef
                                          | ast.Lambda):
                continue
            elif top_level and isinstance(child, ast.If) and _is_type_checking(child):
                stack.extend(child.orelse)
            else:
                stack.append(child)


def _root(name: str) -> str:
    return name.split(".")[0]


def _violations(paths: list[Path], bad, *, top_level: bool) -> list[str]:
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree, top_level=top_level):
            hits = sorted({n for n in _imported(node, path) if bad(n)})
            if hits:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} imports {hits}")
    return found


def test_the_sources_are_where_the_rules_look():
    names = {_module_name(p) for p in _sources(CORE, ADDON)}
    assert MODEL_MODULES <= names and {"dgnet_core.lifting.lifter", "addon.rig"} <= names
    assert len(names) > 20


def test_engine_imports_neither_blender_nor_training_nor_the_addon():
    def bad(name: str) -> bool:
        return _root(name) in BLENDER_MODULES | {"training", "addon"}

    assert _violations(_sources(CORE), bad, top_level=False) == []


def test_addon_never_imports_training():
    assert _violations(_sources(ADDON), lambda n: _root(n) == "training",
                       top_level=False) == []


def test_opencv_only_in_the_preview_which_the_addon_never_imports():
    preview = CORE / "formats" / "preview.py"
    others = [p for p in _sources(CORE) if p != preview]
    assert _violations(others, lambda n: _root(n) == "cv2", top_level=False) == []
    assert _violations(_sources(ADDON), lambda n: _root(n) == "cv2" or n.startswith(
        "dgnet_core.formats.preview"), top_level=False) == []


def test_torch_is_imported_at_module_level_only_by_the_model_modules():
    def bad(name: str) -> bool:
        return _root(name) == "torch" or any(
            name == m or name.startswith(m + ".") for m in MODEL_MODULES)

    others = [p for p in _sources(CORE, ADDON) if _module_name(p) not in MODEL_MODULES]
    assert _violations(others, bad, top_level=True) == []


def test_rule_checker_catches_what_it_should():
    """The checker itself: each kind of forbidden import is reported, the allowed ones not."""
    fake = CORE / "lifting" / "_rule_probe.py"  # a name that is never written to disk
    tree = ast.parse(
        "import torch.nn\n"
        "from .model import DGNet\n"
        "from . import graphs\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def f():\n    import torch\n    import bpy\n"
        "class C:\n    from training import data\n")
    top = [sorted(n for n in _imported(node, fake)) for node in _imports(tree, top_level=True)]
    every = [_imported(node, fake)[0] for node in _imports(tree, top_level=False)]
    assert top == [["torch.nn"], ["dgnet_core.lifting.model", "dgnet_core.lifting.model.DGNet"],
                   ["dgnet_core.lifting", "dgnet_core.lifting.graphs"],
                   ["typing", "typing.TYPE_CHECKING"],
                   ["training", "training.data"]]
    assert sorted(every) == sorted(["torch.nn", "dgnet_core.lifting.model", "dgnet_core.lifting",
                                    "typing", "torch", "torch", "bpy", "training"])


def _engine_graph(top_level: bool = False) -> dict[str, set[str]]:
    """Engine module -> the engine modules it imports (anywhere in it but ``TYPE_CHECKING``
    blocks, or with ``top_level`` only when it is imported; ``from x import y`` counts
    ``x.y`` when that is a module, else ``x``)."""
    paths = _sources(CORE)
    modules = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        me = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        deps = set()
        for node in _imports(tree, top_level=top_level):
            names = _imported(node, path)
            hits = [n for n in names[1:] if n in modules] or (
                [names[0]] if names[0] in modules else [])
            deps.update(h for h in hits if h != me)
        graph[me] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_loops_in_the_engine():
    assert _cycles(_engine_graph()) == []
    # the checker finds a loop where there is one
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_contract_imports_nothing_heavy():
    """The job's shape is read by the add-on's panel and the readers of results: when it is
    imported it imports only the option schema and the camera's constants."""
    assert _engine_graph(top_level=True)["dgnet_core.contract"] <= {
        "dgnet_core.schema", "dgnet_core.motion.camera"}


def test_no_module_is_over_400_lines():
    long = [f"{p.relative_to(REPO)}: {n}" for p in _sources(CORE, ADDON, REPO / "training")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert long == []


_PROBE = r"""
import importlib, json, pkgutil, sys
import dgnet_core
names = sorted(m.name for m in pkgutil.walk_packages(dgnet_core.__path__, "dgnet_core."))
skip = {"dgnet_core.lifting.model", "dgnet_core.lifting.graphs", "dgnet_core.__main__"}
for name in names:
    if name not in skip:
        importlib.import_module(name)
engine = {"torch": "torch" in sys.modules, "training": "training" in sys.modules}
with_addon = None
try:
    import bpy  # noqa: F401
except ImportError:
    pass
else:
    import addon  # noqa: F401
    with_addon = {"torch": "torch" in sys.modules, "training": "training" in sys.modules}
print("RESULT " + json.dumps({"modules": len(names), "engine": engine, "addon": with_addon}))
"""


def test_importing_the_engine_and_the_addon_loads_no_torch():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER", "PYTHON"))}
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-3000:]
    res = json.loads(lines[-1][len("RESULT "):])
    assert res["modules"] > 20
    assert res["engine"] == {"torch": False, "training": False}
    if res["addon"] is None:
        pytest.skip("bpy not installed: the add-on half was not imported")
    assert res["addon"] == {"torch": False, "training": False}
