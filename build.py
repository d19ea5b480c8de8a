"""Build the "Lift Video" Blender extension: the engine wheel, the staged layout, the zips.

This module owns packaging only (stdlib, no project imports). The engine ``dgnet_core`` is
an ordinary installable package: in development ``pip install -e .`` (scripts/setup.sh)
puts it on the venv's path, and in the extension it is a wheel like every other run-time
dependency, so ``addon/`` imports ``dgnet_core`` the same way in both.
``build_core_wheel()`` writes that wheel (pure Python, ``py3-none-any``) with the default
weights and the offline pose ``.task`` model as package data. ``stage()`` lays out the
extension source tree the way Blender installs it::

    <dest>/lift_video/
        __init__.py ...              contents of addon/
        wheels/dgnet_core-<v>-py3-none-any.whl   the engine (weights, models/*.task inside)
        wheels/*.whl                 the third-party wheels, only with ``with_wheels=True``
        blender_manifest.toml        patched for the Python build (cp311 / cp313)

``python build.py`` downloads the run-time wheels from PyPI into ``build/wheels-cache`` and
writes one zip per platform and Python build to ``dist/``, each checked with Blender's own
extension validator (``blender_ext.py`` from the bpy wheel). numpy is never bundled (Blender
ships its own), nor SciPy, matplotlib or OpenCV (``EXCLUDED``: the engine runs without
them in Blender, and they were most of the zip; video is read with PyAV).
``python build.py --core-wheel DIR`` writes only the engine wheel. ``python build.py
--sizes`` also lists each zip's parts, largest first.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The engine wheel (build_core.py); the redundant aliases re-export it for tests and scripts.
from build_core import CORE as CORE
from build_core import POSE_TASK as POSE_TASK
from build_core import WEIGHT_SUFFIXES as WEIGHT_SUFFIXES
from build_core import BuildError as BuildError
from build_core import _record_hash as _record_hash
from build_core import build_core_wheel as build_core_wheel
from build_core import core_files as core_files
from build_core import core_version as core_version

REPO = Path(__file__).resolve().parent
EXT_ID = "lift_video"
MANIFEST = "blender_manifest.toml"
WHEELS_CACHE = Path("build") / "wheels-cache"
DIST = Path("dist")
PLATFORMS: tuple[str, ...] = ("linux-x64", "windows-x64", "macos-arm64")
PYTHON_TAGS: tuple[str, ...] = ("cp311", "cp313")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")


# --------------------------------------------------------------------------------------
# Python builds (Blender version range <-> Python version <-> wheel pins)


@dataclass(frozen=True)
class PythonBuild:
    """One Python build of the extension: which Blender versions run it and which wheels."""

    tag: str  # "cp311" / "cp313"
    python_version: str  # for pip download --python-version
    blender_min: str
    blender_max: str | None  # exclusive, None = open
    requirements: tuple[str, ...]  # exact pins, downloaded with --no-deps


# Run-time wheels, exact pins, fetched with --no-deps so nothing undeclared slips in
# (tests/test_packaging.py proves import + detection + ONNX lifting with exactly this set).
# Measured with `python -S` and only numpy + these wheels on sys.path (mediapipe 1.2.2):
# `import mediapipe` would import cv2 and matplotlib.pyplot from its drawing helpers
# (vision/drawing_utils.py), which the engine never uses; dgnet_core.detection.mediapipe_api puts
# placeholders for them in sys.modules when matplotlib is missing, so the PoseLandmarker
# needs only certifi (core/base_options.py) beside numpy.
# Video is read with PyAV (dgnet_core.detection.video, the engine's one reader), not
# OpenCV: the same decoding speed (FFmpeg in both; scripts/bench_decode.py) in a smaller wheel,
# OpenCV-headless 50.0 / 39.4 / 37.3 MB (linux / windows / macOS) against PyAV 15.1.0's
# 39.6 / 31.3 / 21.8 MB. One PyAV on every platform and both Python builds: 15.1.0 is the
# newest with a macOS 13 arm64 wheel (later releases have none; the OpenCV it replaces
# needed macOS 13 too), so what the linux tests run is what the Mac zip ships, and its
# per-version cp311 / cp313 wheels are not abi3 (OpenCV's and PyAV 18.1.0's linux and
# windows wheels are), which Blender 4.3.0's installer skips. PyAV 18.1.0 on linux and
# windows alone would save 3.8 / 3.7 MB more. Blender's own FFmpeg reading is 40x slower
# from Python (docs/BENCHMARKS.md).
# Left out on purpose (EXCLUDED): numpy (Blender's own), scipy (the engine's four SciPy
# routines are numpy in dgnet_core.numeric / dgnet_core.rotations; 30-45 MB per zip),
# matplotlib, pillow, kiwisolver, cycler, pyparsing, python-dateutil, packaging (MediaPipe's
# drawing helpers and dgnet_core.formats.preview, a CLI / training feature; 15-18 MB per zip),
# OpenCV in every build (37-50 MB per zip; dgnet_core.formats.preview, overlay previews on the
# command line, still uses it, and the extension never imports it), contourpy, fonttools,
# sounddevice, absl-py, flatbuffers, protobuf, coloredlogs, sympy.
_RUNTIME: tuple[str, ...] = (
    "mediapipe==1.2.2",
    "av==15.1.0",  # PyAV (BSD-3-Clause) with FFmpeg 7.1 (LGPL-2.1+) inside
    "certifi==2026.10.19.post1",
)
# onnxruntime per Python build. cp311 (Blender 4.2-5.0, numpy 1.x): 1.18.1, whose wheels are
# 10.6 / 7.9 / 1.3 MB smaller (linux / windows / macOS) than 1.23.2's, with the same lifted
# joints (max 4e-7 m apart on the default model) and no slower (docs/BENCHMARKS.md).
# cp313 (Blender 5.1+, numpy 2): 1.23.2, the newest with macosx_13 arm64 wheels.
_ORT_CP311 = "onnxruntime==1.18.1"
_ORT_CP313 = "onnxruntime==1.23.2"
# Never in a zip: each would undo a measured saving (tests/test_packaging.py checks).
EXCLUDED: tuple[str, ...] = (
    "numpy", "scipy", "matplotlib", "pillow", "kiwisolver", "cycler", "pyparsing",
    "python-dateutil", "packaging", "contourpy", "fonttools", "torch",
    "opencv-python", "opencv-python-headless", "opencv-contrib-python",
    "opencv-contrib-python-headless",
)

BUILDS: dict[str, PythonBuild] = {
    "cp311": PythonBuild(
        tag="cp311",
        python_version="3.11",
        blender_min="4.2.0",
        blender_max="5.1.0",
        requirements=(*_RUNTIME, _ORT_CP311),
    ),
    "cp313": PythonBuild(
        tag="cp313",
        python_version="3.13",
        blender_min="5.1.0",
        blender_max=None,
        requirements=(*_RUNTIME, _ORT_CP313),
    ),
}

# pip --platform tags per Blender platform (pip expands them to older compatible tags).
PIP_PLATFORMS: dict[str, tuple[str, ...]] = {
    # Blender 4.2+ needs glibc 2.28; pip does not expand manylinux_2_x tags by itself.
    "linux-x64": tuple(f"manylinux_2_{v}_x86_64" for v in range(28, 16, -1))
    + ("manylinux2014_x86_64",),
    "windows-x64": ("win_amd64",),
    # pip expands macosx_13_0 to older macOS tags; onnxruntime 1.23 needs macOS 13+.
    "macos-arm64": ("macosx_13_0_arm64",),
}


# --------------------------------------------------------------------------------------
# Manifest


def read_manifest(root: Path = REPO) -> dict:
    """The top-level manifest as a dict."""
    with open(root / MANIFEST, "rb") as fh:
        return tomllib.load(fh)


def _toml_list(values: Iterable[str]) -> str:
    items = [f'  "{v}",' for v in values]
    return "[\n" + "\n".join(items) + "\n]" if items else "[]"


def render_manifest(
    text: str, build: PythonBuild, platforms: Sequence[str], wheels: Sequence[str]
) -> str:
    """Patch the template manifest text for one Python build, platform set and wheel list.

    The version range, ``platforms`` and ``wheels`` replace the template's
    ``blender_version_min`` line; template comments are dropped.
    """
    block = [f"# Generated by build.py: {build.tag} build (Python {build.python_version})."]
    block.append(f'blender_version_min = "{build.blender_min}"')
    if build.blender_max:
        block.append(f'blender_version_max = "{build.blender_max}"')
    block.append(f"platforms = {_toml_list(platforms)}")
    if wheels:
        block.append(f"wheels = {_toml_list(wheels)}")
    lines: list[str] = []
    for line in text.splitlines():
        key = re.match(r"\s*(blender_version_min|blender_version_max|platforms|wheels)\s*=", line)
        if key and key.group(1) == "blender_version_min":
            lines.extend(block)
        elif not key and not line.lstrip().startswith("#"):
            lines.append(line)
    rendered = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip() + "\n")
    data = tomllib.loads(rendered)  # fail here, not in Blender, on a broken edit
    if data.get("blender_version_min") != build.blender_min or data.get("platforms") != list(
        platforms
    ):
        raise BuildError("the template manifest needs a top-level blender_version_min line")
    if data.get("wheels", []) != list(wheels):
        raise BuildError("manifest patch failed (wheels)")
    return rendered


# --------------------------------------------------------------------------------------
# Staging


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=_IGNORE, dirs_exist_ok=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


# --------------------------------------------------------------------------------------
# Staging


def stage(
    dest: Path,
    *,
    with_wheels: bool = False,
    python_tag: str = "cp311",
    platforms: Sequence[str] = PLATFORMS,
    root: Path = REPO,
    wheels_cache: Path | None = None,
) -> Path:
    """Lay out the extension source tree in ``dest/lift_video`` and return that folder.

    ``addon/`` goes to the top, the engine wheel (``build_core_wheel``: ``dgnet_core`` with
    its weights and pose model) to ``wheels/``, and the manifest is patched for
    ``python_tag``. With ``with_wheels`` the third-party wheels for ``platforms`` are
    downloaded (cached) and listed too. An existing ``dest/lift_video`` is replaced.
    """
    if python_tag not in BUILDS:
        raise BuildError(f"unknown python_tag {python_tag!r}; expected one of {list(BUILDS)}")
    unknown = sorted(set(platforms) - set(PIP_PLATFORMS))
    if unknown:
        raise BuildError(f"unknown platform(s) {unknown}; expected some of {list(PIP_PLATFORMS)}")
    build = BUILDS[python_tag]
    root = Path(root)
    addon = root / "addon"
    if not (addon / "__init__.py").is_file():
        raise BuildError(f"{addon / '__init__.py'} is missing; nothing to stage")
    if not (root / CORE / "__init__.py").is_file():
        raise BuildError(f"{root / CORE / '__init__.py'} is missing; nothing to stage")

    out = Path(dest) / EXT_ID
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _copy_tree(addon, out)
    if (out / CORE).exists():
        raise BuildError(f"addon/{CORE} exists; the engine ships as a wheel, not inside addon/")
    # Blender has no PyTorch: the extension runs the ONNX export, so its engine wheel leaves
    # the .safetensors weights out (a torch back-end asked for there fails in one line).
    core_wheel = build_core_wheel(out / "wheels", root=root, torch_weights=False)
    wheel_names = [f"./wheels/{core_wheel.name}"]

    if with_wheels:
        cache = Path(wheels_cache) if wheels_cache else root / WHEELS_CACHE
        for whl in download_wheels(build, platforms, cache):
            if f"./wheels/{whl.name}" in wheel_names:
                continue  # a pure-Python wheel serves every platform: list it once
            _link_or_copy(whl, out / "wheels" / whl.name)
            wheel_names.append(f"./wheels/{whl.name}")

    template = (root / MANIFEST).read_text(encoding="utf-8")
    rendered = render_manifest(template, build, platforms, sorted(wheel_names))
    (out / MANIFEST).write_text(rendered, encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------
# Blender's extension tool (from the bpy wheel; runs with any Python >= 3.11)


def blender_ext_tool() -> Path:
    """Path of ``blender_ext.py`` inside the bpy wheel (bpy itself is not imported).

    Looks in the running Python first, then in the repository's ``.venv``.
    """
    bases = []
    spec = importlib.util.find_spec("bpy")
    if spec is not None and spec.submodule_search_locations:
        bases.append(Path(next(iter(spec.submodule_search_locations))))
    bases += sorted(REPO.glob(".venv/lib/python3*/site-packages/bpy"))
    for base in bases:
        found = sorted(base.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
        if found:
            return found[-1]
    raise BuildError("blender_ext.py not found: `pip install bpy==5.0.1` provides the validator")


def _run_tool(args: Sequence[str]) -> str:
    cmd = [sys.executable, str(blender_ext_tool()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(args[:1])} failed: {output}")
    return output


def validate(path: Path) -> str:
    """Run Blender's validator on a staged folder or a zip; raise BuildError if it fails."""
    return _run_tool(["validate", str(path)])


# --------------------------------------------------------------------------------------
# Wheels


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _parse_wheel(filename: str) -> tuple[str, str, str, str]:
    """(normalised name, version, python tags, abi tag) of a wheel file name."""
    parts = filename[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise BuildError(f"not a wheel file name: {filename}")
    return _norm(parts[0]), parts[1], parts[-3], parts[-2]


def wheel_fits(filename: str, python_tag: str) -> bool:
    """True if the wheel can be imported by CPython ``python_tag`` (e.g. "cp311")."""
    _, _, pytags, abi = _parse_wheel(filename)
    target = int(python_tag[2:])
    for tag in pytags.split("."):
        if tag in ("py3", "py2"):
            return True
        if tag == python_tag:
            return True
        if abi == "abi3" and tag.startswith("cp") and int(tag[2:]) <= target:
            return True
    return False


def cached_wheel(cache: Path, requirement: str, python_tag: str) -> Path | None:
    """The wheel in ``cache`` for ``name==version`` that ``python_tag`` can import, if any."""
    name, _, version = requirement.partition("==")
    hits = [
        whl
        for whl in sorted(cache.glob("*.whl"))
        if _parse_wheel(whl.name)[:2] == (_norm(name), version) and wheel_fits(whl.name, python_tag)
    ]
    return hits[-1] if hits else None


def download_wheels(build: PythonBuild, platforms: Sequence[str], cache: Path) -> list[Path]:
    """Return the pinned wheels for ``platforms``, downloading missing ones from PyPI.

    Wheels are cached per platform in ``cache/<platform>/``; when all are cached, pip (and
    the network) is not used at all.
    """
    found: list[Path] = []
    for platform in platforms:
        pdir = cache / platform
        pdir.mkdir(parents=True, exist_ok=True)
        missing = [r for r in build.requirements if cached_wheel(pdir, r, build.tag) is None]
        if missing:
            pip_download(missing, build, platform, pdir)
        for req in build.requirements:
            whl = cached_wheel(pdir, req, build.tag)
            if whl is None:
                raise BuildError(f"pip gave no {build.tag} {platform} wheel for {req}")
            if _parse_wheel(whl.name)[0] in {_norm(n) for n in EXCLUDED}:
                raise BuildError(f"{whl.name} must never be bundled (build.EXCLUDED)")
            found.append(whl)
    return found


def pip_download(reqs: Sequence[str], build: PythonBuild, platform: str, dest: Path) -> None:
    """``pip download --no-deps --only-binary`` of ``reqs`` for one Python build and platform."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    cmd += ["--python-version", build.python_version, "--implementation", "cp"]
    for tag in PIP_PLATFORMS[platform]:
        cmd += ["--platform", tag]
    cmd += ["--dest", str(dest), "--disable-pip-version-check", "--quiet", *reqs]
    print(f"[build] pip download {build.tag} {platform}: {' '.join(reqs)}", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BuildError(f"pip download failed for {platform} {build.tag}: {' | '.join(tail)}")


# --------------------------------------------------------------------------------------
# Zips


def build_zips(
    python_tag: str,
    platforms: Sequence[str] = PLATFORMS,
    *,
    root: Path = REPO,
    out_dir: Path | None = None,
    work_dir: Path | None = None,
    wheels_cache: Path | None = None,
) -> list[Path]:
    """Stage one Python build with wheels, zip it per platform, validate each zip.

    Returns ``out_dir/lift_video-<version>-<platform>-<python_tag>.zip`` for each platform.
    """
    root = Path(root)
    out_dir = Path(out_dir) if out_dir else root / DIST
    work = Path(work_dir) if work_dir else root / "build" / f"stage-{python_tag}"
    src = stage(
        work,
        with_wheels=True,
        python_tag=python_tag,
        platforms=platforms,
        root=root,
        wheels_cache=wheels_cache,
    )
    zips_tmp = work / "zips"
    if zips_tmp.exists():
        shutil.rmtree(zips_tmp)
    zips_tmp.mkdir()
    _run_tool(
        ["build", "--source-dir", str(src), "--output-dir", str(zips_tmp), "--split-platforms"]
    )
    version = read_manifest(root)["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    result = []
    for platform in platforms:
        made = zips_tmp / f"{EXT_ID}-{version}-{platform.replace('-', '_')}.zip"
        if not made.is_file():
            raise BuildError(f"Blender's build made no zip for {platform}: {made.name}")
        final = out_dir / f"{EXT_ID}-{version}-{platform}-{python_tag}.zip"
        final.unlink(missing_ok=True)
        shutil.move(made, final)
        validate(final)
        result.append(final)
    return result


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def zip_parts(zip_path: Path) -> list[tuple[str, int]]:
    """(member, compressed bytes) of a zip, wheels by name and the add-on's files as one
    ``(add-on files)`` entry, largest first."""
    parts: dict[str, int] = {}
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            wheel = info.filename.startswith("wheels/")
            key = Path(info.filename).name if wheel else "(add-on files)"
            parts[key] = parts.get(key, 0) + info.compress_size
    return sorted(parts.items(), key=lambda kv: -kv[1])


def main(argv: Sequence[str] | None = None) -> int:
    """``python build.py``: all platforms x both Python builds into dist/."""
    parser = argparse.ArgumentParser(description="Build the Lift Video extension zips.")
    parser.add_argument("--platform", action="append", choices=PLATFORMS, dest="platforms")
    parser.add_argument("--python", action="append", choices=PYTHON_TAGS, dest="tags")
    parser.add_argument("--out", type=Path, default=REPO / DIST, help="output folder (dist/)")
    parser.add_argument("--sizes", action="store_true", help="list each zip's parts (MB)")
    parser.add_argument("--core-wheel", type=Path, metavar="DIR",
                        help="write only the dgnet_core wheel into DIR")
    args = parser.parse_args(argv)
    platforms = args.platforms or list(PLATFORMS)
    try:
        if args.core_wheel:
            whl = build_core_wheel(args.core_wheel)
            print(f"{whl}  {_mb(whl)}", flush=True)
            return 0
        for tag in args.tags or PYTHON_TAGS:
            for zip_path in build_zips(tag, platforms, out_dir=args.out):
                digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:12]
                print(f"{zip_path.name}  {_mb(zip_path)}  sha256:{digest}  validated", flush=True)
                for name, size in zip_parts(zip_path) if args.sizes else ():
                    print(f"    {size / 1e6:6.1f} MB  {name}", flush=True)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
