"""Packaging tests, slow part: the built zip installs and runs in an isolated Blender.

They build the linux-x64 cp311 zip with its wheels (cached in build/wheels-cache), check
its contents and size, and install it with ``bpy.ops.extensions.package_install_files``
into an ISOLATED bpy 5.0.1: a ``python -S`` subprocess whose sys.path holds only bpy and
numpy, so mediapipe, av (PyAV), onnxruntime and dgnet_core can come only from the
extension's wheels (and OpenCV, SciPy, matplotlib and pillow, which the zip leaves out, from
nowhere). There it
enables the add-on, reads and detects a short clip, lifts it, runs the Lift operator, and
uninstalls. The cp313 wheel set runs under Python 3.13 + numpy 2 when one is at hand. The
zip's size is guarded against the targets of issue 14 (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import warnings
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
# Heavy: the real linux-x64 cp311 zip in an isolated bpy


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    """The linux-x64 cp311 zip of the real project."""
    tmp = tmp_path_factory.mktemp("pkg")
    try:
        (zip_path,) = build.build_zips(
            "cp311",
            ["linux-x64"],
            root=REPO,
            out_dir=tmp / "dist",
            work_dir=tmp / "work",
            wheels_cache=REPO / build.WHEELS_CACHE,
        )
    except build.BuildError as exc:
        if "pip download failed" in str(exc):
            pytest.skip(f"wheels not cached and PyPI unreachable: {exc}")
        raise
    return zip_path


@pytest.mark.slow
def test_zip_contents(linux_zip):
    with zipfile.ZipFile(linux_zip) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read(build.MANIFEST).decode())
        (core,) = [n for n in names if n.startswith("wheels/dgnet_core-")]
        with zipfile.ZipFile(zf.open(core)) as core_zf:
            core_names = core_zf.namelist()
    wheels = [n for n in names if n.startswith("wheels/")]
    assert manifest["platforms"] == ["linux-x64"]
    assert sorted("./" + w for w in wheels) == sorted(manifest["wheels"])
    assert len(names) == len(set(names))  # no member twice (pure-Python wheels once)
    assert len(wheels) == len(build.BUILDS["cp311"].requirements) + 1  # + the engine
    assert all(("manylinux" in w or "-none-any" in w) for w in wheels), wheels
    assert not any(Path(w).name.startswith("numpy-") for w in wheels)
    excluded = {build._norm(n) for n in build.EXCLUDED}
    assert not [w for w in wheels if build._parse_wheel(Path(w).name)[0] in excluded], wheels
    assert "__init__.py" in names and not any(n.startswith("dgnet_core/") for n in names)
    assert "licenses/THIRD_PARTY.md" in names and "licenses/GPL-2.0.txt" in names
    assert not any(n.startswith(("training/", "tests/")) or "__pycache__" in n for n in names)
    assert "dgnet_core/__init__.py" in core_names
    if TASK.is_file():
        assert "dgnet_core/models/pose_landmarker_full.task" in core_names


# The linux-x64 cp311 zip measured 99.1 MB with PyAV in place of OpenCV (`python build.py
# --sizes`, docs/BENCHMARKS.md; 181.1 MB before issue 14, whose target is 110 MB): this
# guard catches a wheel slipping back in (OpenCV alone is 50 MB, SciPy 41) while leaving
# room for the engine to grow a little.
LINUX_ZIP_LIMIT = 102_000_000


@pytest.mark.slow
def test_zip_size(linux_zip):
    size = linux_zip.stat().st_size
    parts = ", ".join(f"{n} {b / 1e6:.1f}" for n, b in build.zip_parts(linux_zip)[:5])
    assert size <= LINUX_ZIP_LIMIT, f"{size / 1e6:.1f} MB > {LINUX_ZIP_LIMIT / 1e6:.0f} MB: {parts}"


@pytest.fixture(scope="module")
def lift_onnx(tmp_path_factory) -> Path:
    """The shipped ONNX model, or (until one is trained) a random DG-Net exported here."""
    if DEFAULT_ONNX.is_file():
        return DEFAULT_ONNX
    pytest.importorskip("torch")
    from dgnet_core.lifting.weights import export_onnx, random_model

    return Path(export_onnx(random_model(), tmp_path_factory.mktemp("onnx") / "random.onnx"))


def _write_clip(path: Path, n: int = 12) -> None:
    """A small synthetic clip (a moving disc) written with this venv's OpenCV."""
    import cv2
    import numpy as np

    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for i in range(n):
        img = np.full((240, 320, 3), 40, np.uint8)
        cv2.circle(img, (40 + 20 * i, 120), 30, (255, 255, 255), -1)
        wr.write(img)
    wr.release()


_SCRIPT = r"""
import json, os, sys, time
from pathlib import Path
args = json.loads(sys.argv[1])
res = {}
import bpy, addon_utils
bpy.ops.wm.read_factory_settings(use_empty=True)
assert bpy.ops.extensions.package_install_files(
    filepath=args["zip"], repo="user_default", enable_on_install=True) == {"FINISHED"}
pkg = "bl_ext.user_default.lift_video"
res["enabled"] = pkg in {a.module for a in bpy.context.preferences.addons}
import importlib
ext = importlib.import_module(pkg)
ext_dir = Path(ext.__file__).parent
res["ext_dir"] = str(ext_dir)
import dgnet_core as core
res["core_file"] = core.__file__
from dgnet_core.detection import mediapipe_api
mediapipe_api.load()
import av, mediapipe, onnxruntime
res["modules"] = {m.__name__: m.__file__ for m in (av, mediapipe, onnxruntime)}
for bad in ("torch", "sounddevice", "contourpy", "fontTools", "absl", "flatbuffers",
            "scipy", "matplotlib", "PIL", "kiwisolver", "cv2"):
    res.setdefault("absent", {})[bad] = importlib.util.find_spec(bad) is None

# A clip: the shared dance video when present, else a small one written by the test. Read
# with the engine's own reader (PyAV from the zip), RGB frames as the pipeline gets them.
video = args["video"] or args["fallback"]
from dgnet_core.detection.video import VideoReader
with VideoReader(video) as reader:
    frames = [rgb for _, rgb in reader.frames(0, args["frames"])]
res["frames_read"] = len(frames)

task = Path(core.__file__).parent / "models" / "pose_landmarker_full.task"
if task.is_file():
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions
    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(task)),
        running_mode=vision.RunningMode.VIDEO)
    found = 0
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        for i, frame in enumerate(frames):
            img = mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=frame)
            found += bool(lm.detect_for_video(img, int(i * 40)).pose_landmarks)
    res["detected"] = found

lifting = importlib.import_module("dgnet_core.lifting.lifter")
backend = importlib.import_module("dgnet_core.lifting.backend")
lifter = (lifting.Lifter.from_onnx(args["onnx"]) if args["onnx"]
          else backend.load_lifter(backend="onnx"))
import numpy as np
rng = np.random.default_rng(0)
kp = rng.uniform(100, 200, (len(frames) or 8, 17, 2)).astype(np.float32)
out = lifter.lift(kp, None, 320, 240)
res["lift_shape"] = list(out.shape)
res["lift_finite"] = bool(np.isfinite(out).all())
res["lift_backend"] = lifter.backend

op = getattr(bpy.ops, "lift_video", None)
res["operators"] = sorted(dir(op)) if op is not None else []

# The add-on's own operator end to end (synchronous in background): 20 frames of the
# shared clip onto a new armature, with only the extension's wheels importable.
if op is not None and args["video"] and task.is_file():
    props = bpy.context.scene.lift_video
    props.source_type, props.filepath, props.target_mode = "FILE", video, "NEW"
    props.use_frame_range, props.frame_start, props.frame_end = True, 0, 19
    try:
        done = bpy.ops.lift_video.lift(model_path=args["onnx"])
        arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
        act = arms[0].animation_data.action if arms and arms[0].animation_data else None
        res["operator"] = {"result": sorted(done), "armatures": len(arms),
                           "action": act.name if act else None}
    except Exception as exc:  # reported (one line) by the test
        res["operator"] = {"error": f"{type(exc).__name__}: {exc}"}

assert bpy.ops.extensions.package_uninstall(
    repo_directory=str(ext_dir.parent), pkg_id="lift_video") == {"FINISHED"}
res["enabled_after_remove"] = pkg in {a.module for a in bpy.context.preferences.addons}
res["dir_after_remove"] = ext_dir.exists()
print("RESULT " + json.dumps(res))
"""


@pytest.fixture(scope="module")
def installed(linux_zip, lift_onnx, tmp_path_factory) -> dict:
    """Run the install/enable/detect/lift/remove script in an isolated bpy; its findings."""
    tmp = tmp_path_factory.mktemp("blender")
    only = tmp / "site"
    only.mkdir()
    for name in ("bpy", "numpy"):  # nothing else from this venv is importable there
        pkg_dir = Path(importlib.util.find_spec(name).origin).parent
        (only / name).symlink_to(pkg_dir)
        libs = pkg_dir.with_name(name + ".libs")
        if libs.is_dir():
            (only / libs.name).symlink_to(libs)
    fallback = tmp / "clip.avi"
    _write_clip(fallback)
    args = {
        "zip": str(linux_zip),
        "tmp": str(tmp),
        "video": str(SHARED_VIDEO) if SHARED_VIDEO.is_file() else "",
        "fallback": str(fallback),
        "frames": 30,
        "onnx": "" if lift_onnx == DEFAULT_ONNX else str(lift_onnx),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BLENDER"))}
    env.update(BLENDER_USER_RESOURCES=str(tmp / "user"), PYTHONPATH=str(only))
    res = run_result_script([sys.executable, "-S", "-c", _SCRIPT, json.dumps(args)],
                            env=env, cwd=tmp, timeout=300)
    res["video"] = args["video"]
    res["user"] = str(tmp / "user")
    return res


@pytest.mark.slow
@pytest.mark.blender
def test_installed_zip_uses_only_its_own_wheels(installed):
    wheels_site = str(Path(installed["user"]) / "extensions" / ".local")
    assert installed["enabled"]
    assert installed["core_file"].startswith(wheels_site), installed["core_file"]
    for name, path in installed["modules"].items():
        assert path.startswith(wheels_site), f"{name} came from {path}"
    assert all(installed["absent"].values()), installed["absent"]
    assert "lift" in installed["operators"]  # bpy.ops.lift_video.lift registered


@pytest.mark.slow
@pytest.mark.blender
def test_installed_zip_reads_detects_and_lifts(installed):
    assert installed["frames_read"] >= 12
    assert installed["lift_backend"] == "onnxruntime"
    assert installed["lift_shape"] == [installed["frames_read"], 17, 3]
    assert installed["lift_finite"]
    if "detected" not in installed:
        pytest.skip(f"{TASK} missing: the zip has no pose model, detection not exercised")
    if installed["video"]:
        # A real person in every frame of the shared clip: nearly all must be found.
        assert installed["detected"] >= 0.9 * installed["frames_read"]


@pytest.mark.slow
@pytest.mark.blender
def test_installed_zip_runs_the_lift_operator(installed):
    if "operator" not in installed:
        pytest.skip("needs the real add-on, the shared dance clip and the pose task")
    op = installed["operator"]
    assert "error" not in op, op["error"]
    assert op == {"result": ["FINISHED"], "armatures": 1, "action": "dance_600x600"}


@pytest.mark.slow
@pytest.mark.blender
def test_installed_zip_is_removed_cleanly(installed):
    assert not installed["enabled_after_remove"]
    assert not installed["dir_after_remove"]


# --------------------------------------------------------------------------------------
# The cp313 wheel set (Blender 5.1+) under Python 3.13 + numpy 2, when both are at hand


def _python313() -> str | None:
    """A runnable CPython 3.13 (PATH, then pyenv), or None."""
    candidates = [shutil.which("python3.13")]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"))
    for exe in filter(None, candidates):
        probe = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 13)":
            return exe
    return None


_SCRIPT_313 = r"""
import json, sys
from dgnet_core.detection import mediapipe_api
mediapipe_api.load()
import numpy, av, mediapipe, onnxruntime
from mediapipe.tasks.python import vision
from dgnet_core.lifting.lifter import Lifter
from dgnet_core.detection.video import VideoReader
args = json.loads(sys.argv[1])
with VideoReader(args["video"]) as reader:
    frame = next((rgb for _, rgb in reader.frames()), None)
lifter = Lifter.from_onnx(args["onnx"])
out = lifter.lift(numpy.full((5, 17, 2), 100.0, numpy.float32), None, 320, 240)
print("RESULT " + json.dumps({
    "python": sys.version_info[:2], "numpy": numpy.__version__,
    "frame": list(frame.shape) if frame is not None else None, "lift": list(out.shape),
    "files": [m.__file__ for m in (av, mediapipe, onnxruntime)],
}))
"""


@pytest.mark.slow
def test_cp313_wheels_run_under_python313_with_numpy2(tmp_path, lift_onnx):
    py313 = _python313()
    if py313 is None:
        pytest.skip("no runnable python3.13; the cp313 build is checked only by the validator")
    cache = REPO / build.WHEELS_CACHE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a missing pose task is not what this checks
            out = build.stage(
                tmp_path / "stage",
                with_wheels=True,
                python_tag="cp313",
                platforms=["linux-x64"],
                wheels_cache=cache,
            )
        # numpy 2 stands in for Blender 5.1's own; it is never part of the zip.
        np_cache, np_req = cache / "test-only-numpy", "numpy==2.3.5"
        np_cache.mkdir(parents=True, exist_ok=True)
        if build.cached_wheel(np_cache, np_req, "cp313") is None:
            build.pip_download([np_req], build.BUILDS["cp313"], "linux-x64", np_cache)
        numpy_whl = build.cached_wheel(np_cache, np_req, "cp313")
    except build.BuildError as exc:
        pytest.skip(f"wheels not cached and PyPI unreachable: {exc}")
    assert "Success" in build.validate(out)
    site = tmp_path / "site"
    for whl in [*sorted((out / "wheels").glob("*.whl")), numpy_whl]:
        with zipfile.ZipFile(whl) as zf:
            zf.extractall(site)
    video = tmp_path / "clip.avi"
    _write_clip(video)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    args = {"video": str(video), "onnx": str(lift_onnx)}
    res = run_result_script([py313, "-S", "-c", _SCRIPT_313, json.dumps(args)],
                            env=env, cwd=tmp_path, timeout=120, tail=2000)
    assert res["python"] == [3, 13] and res["numpy"].startswith("2.")
    assert res["frame"] == [240, 320, 3] and res["lift"] == [5, 17, 3]
    assert all(f.startswith(str(site)) for f in res["files"]), res["files"]
