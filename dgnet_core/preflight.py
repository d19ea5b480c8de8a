"""Checks that run before a job starts, so a bad setting fails in a second, not at the end.

Owns the environment checks every entry point shares (the engine CLI, the Blender CLI and
the add-on through ``backend.resolve_runtime``):

* ``check_output_dir``: the output folder is not a file, not under a file, and writable;
  nothing is created (bad input leaves the disk as it was).
* ``check_device``: a ``cuda`` device needs PyTorch built with CUDA and a visible GPU
  (looked up with ``find_spec`` before torch is imported).
* ``check_model_file``: a model path exists, ends in ``.safetensors`` or ``.onnx``, and the
  file the chosen back-end loads (the ``.safetensors`` for torch, the ``.onnx`` for
  onnxruntime) is there; errors name the path the user gave.

Each raises a ``LiftError`` subclass with a one-line message.
"""

from __future__ import annotations

import os
import tempfile
from importlib.util import find_spec
from pathlib import Path

from .contract import AUTO
from .errors import OutputError, WeightsError

MODEL_SUFFIXES = (".safetensors", ".onnx")


def check_output_dir(path: str | Path) -> Path:
    """Raise ``OutputError`` unless ``path`` is, or can be created as, a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output folder is an existing file: {path}")
    anchor = path
    while not anchor.exists():
        if anchor.parent == anchor:
            break
        anchor = anchor.parent
    if anchor.exists() and not anchor.is_dir():
        raise OutputError(f"output folder {path} is under a file: {anchor}")
    if not _writable(anchor):
        where = "" if anchor == path else f" (cannot create it in {anchor})"
        raise OutputError(f"output folder is not writable: {path}{where}")
    return path


def _writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (tried: root ignores permission bits,
    read-only file systems do not). The probe file has no name and vanishes on close."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def check_device(device: str) -> None:
    """Raise ``WeightsError`` when ``device == "cuda"`` cannot run here."""
    if device != "cuda":
        return
    try:
        found = find_spec("torch") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise WeightsError("the CUDA device needs PyTorch with CUDA, which is not installed; "
                           "use the cpu (or auto) device")
    import torch  # found, and asked to run on CUDA
    if not torch.cuda.is_available():
        why = ("this PyTorch is built without CUDA" if torch.version.cuda is None
               else "no CUDA GPU is visible")
        raise WeightsError(f"the CUDA device is not available ({why}, torch "
                           f"{torch.__version__}); use the cpu (or auto) device")


def check_model_file(path: str | Path, backend: str = AUTO, device: str = AUTO) -> Path:
    """Raise ``WeightsError`` naming ``path`` when the model cannot be loaded as asked."""
    path = Path(path)
    accepted = " or ".join(MODEL_SUFFIXES)
    if not path.exists():
        raise WeightsError(f"model file not found: {path}")
    if not path.is_file():
        raise WeightsError(f"model path is not a file: {path}")
    if path.suffix not in MODEL_SUFFIXES:
        raise WeightsError(f"model file must end in {accepted}: {path}")
    torch_file, onnx_file = path.with_suffix(".safetensors"), path.with_suffix(".onnx")
    if path == onnx_file and not torch_file.is_file() and (backend == "torch"
                                                          or device == "cuda"):
        raise WeightsError(f"{path} is an ONNX model; the torch back-end (and the CUDA "
                           f"device) need the weights {torch_file.name} beside it")
    if path == torch_file and not onnx_file.is_file() and backend == "onnx" \
            and device != "cuda":
        raise WeightsError(f"{path} has no ONNX export beside it ({onnx_file.name}) for the "
                           "onnx back-end; use the torch (or auto) back-end")
    return path
