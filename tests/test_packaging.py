"""Packaging tests, fast part: build.py stages a valid extension with the right wheel set.

They build the engine wheel (``dgnet_core`` with its weights and pose model as package
data), stage small fixture trees (and the real addon/), run Blender's own validator, check
the pinned and excluded wheels, and run MediaPipe's PoseLandmarker with matplotlib, pillow
and SciPy blocked (the zip ships none of them). The built zips themselves, installed into
an isolated bpy, are tested in ``tests/test_packaging_zip.py`` (slow).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from script_results import run_result_script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import build  # noqa: E402

SHARED_VIDEO = REPO.parent / "shared" / "data" / "videos" / "dance_600x600.mp4"
TASK = REPO / build.POSE_TASK
DEFAULT_ONNX = REPO / "dgnet_core" / "weights" / "default.onnx"


# --------------------------------------------------------------------------------------
# Fast: manifest, staging, validator


def _fixture_root(tmp_path: Path, *, with_task: bool = True) -> Path:
    """A minimal source tree: a one-file add-on importing a tiny core package."""
    root = tmp_path / "src"
    (root / "addon").mkdir(parents=True)
    (root / "addon" / "__init__.py").write_text(
        '"""Fixture add-on."""\nimport dgnet_core\n\n\n'
        "def register():\n    pass\n\n\ndef unregister():\n    pass\n"
    )
    (root / "pyproject.toml").write_text('[project]\nname = "fixture"\nversion = "0.3.1"\n')
    core = root / "dgnet_core"
    (core / "weights").mkdir(parents=True)
    (core / "__pycache__").mkdir()
    (core / "__init__.py").write_text('"""Fixture core."""\nVALUE = 3\n')
    (core / "sub").mkdir()
    (core / "sub" / "__init__.py").write_text("")
    (core / ".hidden.py").write_text("")
    (core / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (core / "weights" / "default.onnx").write_bytes(b"onnx-bytes")
    (core / "weights" / "default.safetensors").write_bytes(b"torch-bytes")
    (core / "weights" / "checkpoint.pt").write_bytes(b"pickle")
    (root / "training").mkdir()
    (root / "training" / "train.py").write_text("")
    (root / build.MANIFEST).write_text((REPO / build.MANIFEST).read_text())
    if with_task:
        (root / build.POSE_TASK).parent.mkdir(parents=True)
        (root / build.POSE_TASK).write_bytes(b"task-bytes")
    return root


def test_manifest_template_matches_the_plan():
    data = build.read_manifest()
    assert data["id"] == "lift_video" and data["name"] == "Lift Video"
    assert data["blender_version_min"] == "4.2.0" and data["blender_version_max"] == "5.1.0"
    assert data["platforms"] == ["linux-x64", "windows-x64", "macos-arm64"]
    assert set(data["permissions"]) == {"files"}  # no network use
    assert "wheels" not in data  # build.py fills them in


@pytest.mark.parametrize("tag", ["cp311", "cp313"])
def test_stage_fixture_layout_and_validator(tmp_path, tag):
    root = _fixture_root(tmp_path)
    out = build.stage(tmp_path / "stage", python_tag=tag, root=root)
    assert out == tmp_path / "stage" / "lift_video"
    assert (out / "__init__.py").read_text().startswith('"""Fixture add-on')
    # The engine is not copied in: it ships as a wheel beside the third-party ones.
    assert not (out / "dgnet_core").exists()
    assert [p.name for p in (out / "wheels").iterdir()] == ["dgnet_core-0.3.1-py3-none-any.whl"]
    with zipfile.ZipFile(out / "wheels" / "dgnet_core-0.3.1-py3-none-any.whl") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    assert members["dgnet_core/weights/default.onnx"] == b"onnx-bytes"
    # Blender has no PyTorch: the extension's engine wheel carries only the ONNX export.
    assert "dgnet_core/weights/default.safetensors" not in members
    assert members["dgnet_core/models/pose_landmarker_full.task"] == b"task-bytes"
    assert "dgnet_core/sub/__init__.py" in members
    assert not [n for n in members if "checkpoint" in n or "pycache" in n or "hidden" in n]
    assert not list(out.rglob("__pycache__")) and not list(out.rglob("*.pyc"))
    assert not (out / "training").exists()
    manifest = tomllib.loads((out / build.MANIFEST).read_text())
    assert manifest["wheels"] == ["./wheels/dgnet_core-0.3.1-py3-none-any.whl"]
    if tag == "cp311":
        assert (manifest["blender_version_min"], manifest["blender_version_max"]) == (
            "4.2.0",
            "5.1.0",
        )
    else:
        assert manifest["blender_version_min"] == "5.1.0"
        assert "blender_version_max" not in manifest
    assert "Success" in build.validate(out)


def test_stage_warns_without_task_and_replaces_old_stage(tmp_path):
    root = _fixture_root(tmp_path, with_task=False)
    (tmp_path / "stage" / "lift_video").mkdir(parents=True)
    (tmp_path / "stage" / "lift_video" / "stale.py").write_text("")
    with pytest.warns(UserWarning, match="pose_landmarker_full.task"):
        out = build.stage(tmp_path / "stage", root=root)
    assert not (out / "stale.py").exists()
    (whl,) = (out / "wheels").iterdir()
    with zipfile.ZipFile(whl) as zf:
        assert not [n for n in zf.namelist() if "/models/" in n]


def test_stage_refuses_missing_addon_and_bad_tag(tmp_path):
    root = _fixture_root(tmp_path)
    with pytest.raises(build.BuildError, match="python_tag"):
        build.stage(tmp_path / "s", python_tag="cp312", root=root)
    (root / "addon" / "__init__.py").unlink()
    with pytest.raises(build.BuildError, match="__init__.py is missing"):
        build.stage(tmp_path / "s", root=root)


def test_validator_rejects_a_bad_manifest(tmp_path):
    root = _fixture_root(tmp_path)
    out = build.stage(tmp_path / "stage", root=root)
    text = (out / build.MANIFEST).read_text()
    bad = re.sub(r'(?m)^files = ".*"$', 'files = "Ends with a dot."', text)
    assert bad != text
    (out / build.MANIFEST).write_text(bad)
    with pytest.raises(build.BuildError, match="validate failed"):
        build.validate(out)


def test_wheel_tags_and_pins():
    fits = build.wheel_fits
    assert fits("mediapipe-1.2.2-py3-none-manylinux_2_28_x86_64.whl", "cp313")
    assert fits("opencv_python_headless-4.11.0.86-cp37-abi3-win_amd64.whl", "cp311")
    assert fits("pillow-13.0.0-cp311-cp311-win_amd64.whl", "cp311")
    assert not fits("pillow-13.0.0-cp311-cp311-win_amd64.whl", "cp313")
    assert not fits("protobuf-7.36.2-cp314-abi3-win_amd64.whl", "cp313")
    for b in build.BUILDS.values():
        names = {r.split("==")[0] for r in b.requirements}
        assert all("==" in r for r in b.requirements)
        assert "numpy" not in names  # Blender ships numpy
        assert {"mediapipe", "onnxruntime"} <= names
        assert not names & set(build.EXCLUDED), names & set(build.EXCLUDED)
        assert not {"scipy", "matplotlib", "pillow"} - set(build.EXCLUDED)


_NO_PLOTTING = r"""
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("matplotlib", "PIL", "scipy", "kiwisolver", "pyparsing"):
            raise ImportError(f"{name} is blocked (the extension ships none)")
sys.meta_path.insert(0, Block())
import numpy as np
from dgnet_core.detection.detect import PoseDetector
res = {}
task = sys.argv[1]
if task:
    with PoseDetector(task) as det:
        res["poses"] = len(det.detect(np.zeros((240, 320, 3), np.uint8), 0))
from mediapipe.tasks.python import vision
du = vision.drawing_utils
try:
    du.draw_landmarks
except ImportError as exc:
    res["drawing"] = str(exc)
res["loaded"] = sorted({m.split(".")[0] for m in sys.modules}
                       & {"matplotlib", "PIL", "scipy", "kiwisolver"})
print("RESULT " + json.dumps(res))
"""


def test_mediapipe_detects_without_matplotlib_and_pillow(tmp_path):
    """The extension ships no matplotlib: MediaPipe's PoseLandmarker must not need it."""
    res = run_result_script(
        [sys.executable, "-c", _NO_PLOTTING, str(TASK) if TASK.is_file() else ""],
        env=dict(os.environ), cwd=tmp_path, timeout=120)
    assert res["loaded"] == []
    assert "matplotlib" in res["drawing"]
    if TASK.is_file():
        assert res["poses"] == 0  # a black frame: the landmarker ran


def _record_ok(zf: zipfile.ZipFile) -> bool:
    """Every RECORD line names a member with that sha256 and size (RECORD itself unhashed)."""
    (record,) = [n for n in zf.namelist() if n.endswith(".dist-info/RECORD")]
    rows = [line.split(",") for line in zf.read(record).decode().splitlines()]
    assert sorted(r[0] for r in rows) == sorted(zf.namelist())
    for name, digest, size in rows:
        if name == record:
            assert digest == size == ""
            continue
        data = zf.read(name)
        if digest != build._record_hash(data) or int(size) != len(data):
            return False
    return True


def test_core_wheel_is_a_reproducible_valid_wheel(tmp_path):
    root = _fixture_root(tmp_path)
    first = build.build_core_wheel(tmp_path / "a", root=root)
    second = build.build_core_wheel(tmp_path / "b", root=root)
    assert first.name == "dgnet_core-0.3.1-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert _record_ok(zf)
        assert "dgnet_core/weights/default.safetensors" in zf.namelist()  # pip keeps torch
        wheel_meta = zf.read("dgnet_core-0.3.1.dist-info/WHEEL").decode()
        meta = zf.read("dgnet_core-0.3.1.dist-info/METADATA").decode()
    assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py3-none-any" in wheel_meta
    assert "Name: dgnet_core\nVersion: 0.3.1\n" in meta


def test_real_core_wheel_installs_and_finds_its_weights(tmp_path):
    """pip installs the real engine wheel; that copy finds its default weights and pose
    model as package data (not the source tree's)."""
    whl = build.build_core_wheel(tmp_path / "dist")
    with zipfile.ZipFile(whl) as zf:
        assert _record_ok(zf)
        names = set(zf.namelist())
    assert {"dgnet_core/skeleton.py", "dgnet_core/weights/default.onnx"} <= names
    assert not [n for n in names if n.startswith(("training/", "addon/", "tests/"))]
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(site), str(whl)], check=True)
    code = ("import json, dgnet_core, dgnet_core.lifting.weights as w, "
            "dgnet_core.detection.detect as d; "
            "print(json.dumps([dgnet_core.__file__, str(w.default_model_path()), "
            "str(d.default_task_path()) if (w.WEIGHTS_DIR.parent / 'models').is_dir() "
            "else '']))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LIFT_VIDEO"))}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    core_file, weights, task = json.loads(out.stdout.strip().splitlines()[-1])
    assert core_file.startswith(str(site)), core_file
    assert weights.startswith(str(site)) and Path(weights).is_file()
    if TASK.is_file():
        assert task.startswith(str(site)) and Path(task).is_file()


# Licence texts the zips need beside the wheels' own dist-info ones (addon/licenses/, staged
# with the rest of addon/): FFmpeg (LGPL-3.0+), x264 / x265 (GPL-2.0+), OpenSSL 1.1.1 and the
# other libraries inside the PyAV wheel, which carries only PyAV's BSD licence.
LICENCE_TEXTS: tuple[str, ...] = (
    "GPL-3.0.txt", "LGPL-3.0.txt", "GPL-2.0.txt", "LGPL-2.1.txt", "MPL-2.0.txt",
    "Apache-2.0.txt", "OpenSSL-1.1.1.txt", "GCC-exception-3.1.txt",
)


def test_staged_extension_carries_the_licence_texts(tmp_path):
    out = build.stage(tmp_path, python_tag="cp311")
    folder = out / "licenses"
    assert (folder / "THIRD_PARTY.md").is_file(), "addon/licenses/ was not staged"
    names = {p.name for p in folder.iterdir()}
    assert set(LICENCE_TEXTS) <= names, sorted(set(LICENCE_TEXTS) - names)
    table = (folder / "THIRD_PARTY.md").read_text(encoding="utf-8")
    for part in ("FFmpeg", "x264", "x265", "OpenSSL"):
        assert part in table, part
    # Every text the table points to is in the folder (LICENSE.txt is PyAV's, in its wheel).
    cited = set(re.findall(r"`([\w.-]+\.txt)`", table)) - {"LICENSE.txt"}
    assert cited and cited <= names, sorted(cited - names)
    assert "Version 3, 29 June 2007" in (folder / "GPL-3.0.txt").read_text(encoding="utf-8")
    openssl = (folder / "OpenSSL-1.1.1.txt").read_text(encoding="utf-8")
    assert "OpenSSL License" in openssl and "Original SSLeay License" in openssl
    assert sum(p.stat().st_size for p in folder.iterdir()) < 200_000  # plain text, small


def test_stage_real_addon_validates(tmp_path):
    out = build.stage(tmp_path, python_tag="cp311")
    assert "Success" in build.validate(out)
    assert not (out / "dgnet_core").exists()
    (core,) = (out / "wheels").glob("dgnet_core-*-py3-none-any.whl")
    with zipfile.ZipFile(core) as zf:
        assert "dgnet_core/skeleton.py" in zf.namelist()
    for name in ("training", "tests", "build.py", "blender_manifest.toml.orig"):
        assert not (out / name).exists()
    # The add-on imports the engine as the package dgnet_core (as in the source tree), never
    # as a sub-package of itself, and never imports training.
    absolute = 0
    for py in out.rglob("*.py"):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            where = f"{py.name}:{getattr(node, 'lineno', 0)}"
            assert not [n for n in names if n.startswith(".dgnet_core")], where
            assert not [n for n in names if n.split(".")[0] == "training"], where
            absolute += sum(n.split(".")[0] == "dgnet_core" for n in names)
    assert absolute > 0
