"""The engine wheel of the Lift Video extension: ``dgnet_core`` as a pure-Python wheel.

Part of the packaging (``build.py`` stages and zips; this module writes the one wheel that is
not downloaded). Standard library only, no project imports: ``build_core_wheel()`` packs
``dgnet_core/`` with its default weights and the offline pose ``.task`` model as package
data into ``dgnet_core-<version>-py3-none-any.whl`` (PEP 427), byte-identical for the same
sources.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
POSE_TASK = Path(".cache") / "models" / "pose_landmarker_full.task"
# Only these go from dgnet_core/weights/ into the wheel (never checkpoints or pickles).
WEIGHT_SUFFIXES = (".onnx", ".safetensors", ".json", ".md", ".txt")
# The PyTorch weights: only the torch back-end reads them. The extension leaves them out
# (Blender has no PyTorch; onnxruntime runs the ONNX export), which keeps 1.1 MB out of
# every zip; a pip install of the wheel keeps them.
TORCH_WEIGHTS = (".safetensors",)
CORE = "dgnet_core"
# Fixed timestamp for wheel members: the same sources give the same wheel bytes.
_WHEEL_DATE = (1980, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    """A packaging step failed (missing input, pip or validator error)."""


def core_version(root: Path = REPO) -> str:
    """The engine's version: ``[project].version`` of ``pyproject.toml``."""
    with open(Path(root) / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


def core_files(root: Path = REPO, *, torch_weights: bool = True) -> list[tuple[str, Path]]:
    """(name inside the wheel, source file) of every file the engine wheel holds, sorted.

    All of ``dgnet_core/`` except caches and hidden files; from ``weights/`` only
    ``WEIGHT_SUFFIXES`` (without ``TORCH_WEIGHTS`` when ``torch_weights`` is False); plus
    the pose ``.task`` model (``.cache/models/``) as ``dgnet_core/models/`` when it has
    been built.
    """
    root = Path(root)
    core = root / CORE
    files: dict[str, Path] = {}
    for path in sorted(core.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(
            p == "__pycache__" or p.startswith(".") for p in rel.parts
        ):
            continue
        if path.suffix in (".pyc", ".pyo"):
            continue
        if rel.parts[1] == "weights" and (
            not path.name.endswith(WEIGHT_SUFFIXES)
            or (not torch_weights and path.name.endswith(TORCH_WEIGHTS))
        ):
            continue
        files[rel.as_posix()] = path
    task = root / POSE_TASK
    if task.is_file():
        files[f"{CORE}/models/{task.name}"] = task
    else:
        warnings.warn(
            f"{task} not found: the engine wheel has no pose model and cannot detect",
            stacklevel=3,
        )
    return sorted(files.items())


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_core_wheel(dest: Path, *, root: Path = REPO, torch_weights: bool = True) -> Path:
    """Write the engine wheel ``dgnet_core-<version>-py3-none-any.whl`` into ``dest``.

    A plain wheel (PEP 427) made with the standard library: the package with its weights
    and pose model as package data, ``METADATA``, ``WHEEL`` and ``RECORD``. Members carry a
    fixed timestamp, so unchanged sources give an identical file. ``torch_weights=False``
    leaves the PyTorch weights out (the extension's wheel: only the ONNX export runs there).
    """
    root = Path(root)
    if not (root / CORE / "__init__.py").is_file():
        raise BuildError(f"{root / CORE / '__init__.py'} is missing; nothing to package")
    version = core_version(root)
    info = f"{CORE}-{version}.dist-info"
    members = [(name, src.read_bytes())
               for name, src in core_files(root, torch_weights=torch_weights)]
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {CORE}\n"
        f"Version: {version}\n"
        "Summary: Lift Video engine: video of a person -> 3D pose (DG-Net) -> animation\n"
        "License: GPL-3.0-or-later\n"
        "Requires-Python: >=3.11\n"
    )
    wheel = "Wheel-Version: 1.0\nGenerator: build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members += [
        (f"{info}/METADATA", metadata.encode()),
        (f"{info}/WHEEL", wheel.encode()),
        (f"{info}/top_level.txt", f"{CORE}\n".encode()),
    ]
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in members)
    members.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / f"{CORE}-{version}-py3-none-any.whl"
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            entry = zipfile.ZipInfo(name, date_time=_WHEEL_DATE)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(entry, data)
    tmp.replace(out)
    return out
