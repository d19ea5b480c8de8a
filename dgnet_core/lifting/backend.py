"""Which runtime lifts, decided in one place: the back-end (onnxruntime or PyTorch), the
device (CPU or a CUDA GPU) and the model file it loads; and the lifter built from that.

Owns ``resolve_runtime`` (used by ``load_lifter``, ``make_lifter`` and both command lines'
checks before the work), ``load_lifter`` (a file or the shipped model) and ``make_lifter``
(the model the pipeline options ask for).
PyTorch is looked up with ``find_spec`` and imported only when it will run: the onnx
back-end never imports it, and the auto device asks PyTorch about CUDA only when a CUDA
build of PyTorch is installed and an NVIDIA driver is present (an import costs seconds).

Rules, each failure a one-line ``WeightsError`` (``preflight`` checks the model path):

* ``device="cuda"``: PyTorch with CUDA and a visible GPU, the ``.safetensors`` weights;
  never with the onnx back-end (onnxruntime runs on the CPU here).
* ``backend="onnx"``: onnxruntime and the ``.onnx`` file, on the CPU.
* ``backend="auto"``: onnxruntime when the ``.onnx`` file and onnxruntime are there,
  unless the auto device finds a CUDA GPU that PyTorch can use; else PyTorch.
* PyTorch (asked for, or the only way to run a ``.safetensors`` model) must be installed;
  inside Blender it is not, so a ``.safetensors`` model needs its ``.onnx`` export there.
"""

from __future__ import annotations

import ctypes.util
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from ..contract import AUTO, PipelineOptions
from ..errors import WeightsError
from ..preflight import check_device, check_model_file
from .lifter import Lifter
from .weights import default_model_path


@dataclass(frozen=True)
class Runtime:
    """A resolved choice: back-end ``onnx`` or ``torch``, device ``cpu`` or ``cuda``, and
    the file that back-end loads."""

    backend: str
    device: str
    path: Path


def module_available(name: str) -> bool:
    """True when ``name`` can be imported, told without importing it."""
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def torch_has_cuda_build() -> bool:
    """False when torch is absent or a CPU-only build, told without importing torch (a CUDA
    build ships ``lib/libc10_cuda.so`` or ``c10_cuda.dll``)."""
    try:
        spec = find_spec("torch")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    return any(lib.glob("*c10_cuda*"))


def nvidia_driver_present() -> bool:
    """True when an NVIDIA driver is installed (the CUDA driver library can be found)."""
    if sys.platform.startswith("linux") and Path("/proc/driver/nvidia/version").exists():
        return True
    return ctypes.util.find_library("nvcuda" if sys.platform == "win32" else "cuda") is not None


def cuda_usable() -> bool:
    """True when PyTorch can run on a CUDA GPU; imports torch only when that is likely."""
    if not (torch_has_cuda_build() and nvidia_driver_present()):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _model_files(model_path: str | Path | None, backend: str, device: str) -> Path:
    """The model path the user gave (checked) or the shipped model's."""
    if model_path is not None:
        return check_model_file(model_path, backend, device)
    path = default_model_path()
    if path.is_file():
        return path
    if path.with_suffix(".onnx").is_file():
        return path.with_suffix(".onnx")
    raise WeightsError(f"default model missing from the installation: {path}")


def _torch_runtime(path: Path, device: str, asked: bool) -> Runtime:
    weights = path.with_suffix(".safetensors")
    if not weights.is_file():
        if not asked and device != "cuda":
            raise WeightsError(f"{path} is an ONNX model and onnxruntime is not installed")
        raise WeightsError(f"{path} is an ONNX model; the torch back-end (and the CUDA "
                           f"device) need the weights {weights.name} beside it")
    if not module_available("torch"):
        if asked:
            raise WeightsError("the torch back-end needs PyTorch, which is not installed here "
                               "(Blender has none); use the onnx (or auto) back-end")
        raise WeightsError(f"{path} is a PyTorch (.safetensors) model and PyTorch is not "
                           "installed here (Blender has none): use its ONNX export "
                           f"({weights.with_suffix('.onnx').name}, python -m training.export)")
    if device == AUTO:
        device = "cuda" if cuda_usable() else "cpu"
    return Runtime("torch", device, weights)


def resolve_runtime(model_path: str | Path | None = None, backend: str = AUTO,
                    device: str = AUTO) -> Runtime:
    """The back-end, device and file for ``model_path`` (None: the shipped model).

    Loads nothing; raises ``WeightsError`` (one line) when the combination cannot run here
    and ``ValueError`` for an unknown back-end or device.
    """
    PipelineOptions(backend=backend, device=device)  # ValueError for unknown names
    if backend == "onnx" and device == "cuda":
        raise WeightsError("the onnx back-end runs on the CPU only; use the torch (or auto) "
                           "back-end for the CUDA device, or the cpu (or auto) device")
    path = _model_files(model_path, backend, device)
    if device == "cuda":
        check_device("cuda")  # imports torch: it will run
        return _torch_runtime(path, "cuda", asked=backend == "torch")
    onnx_file = path.with_suffix(".onnx")
    if backend == "onnx":
        if not module_available("onnxruntime"):
            raise WeightsError("the onnx back-end needs onnxruntime, which is not installed")
        if not onnx_file.is_file():
            raise WeightsError(f"{path} has no ONNX export beside it ({onnx_file.name}) for "
                               "the onnx back-end; use the torch (or auto) back-end")
        return Runtime("onnx", "cpu", onnx_file)
    if backend == AUTO and onnx_file.is_file() and module_available("onnxruntime"):
        gpu = (device == AUTO and path.with_suffix(".safetensors").is_file()
               and cuda_usable())
        if not gpu:
            return Runtime("onnx", "cpu", onnx_file)
    return _torch_runtime(path, device, asked=backend == "torch")


def load_lifter(model_path: str | Path | None = None, backend: str = AUTO,
                device: str = AUTO, threads: int | None = None, **kw) -> Lifter:
    """A ``Lifter`` over ``model_path`` (``.safetensors`` or ``.onnx``; None: the shipped
    model) on the runtime ``resolve_runtime`` picks; ``kw`` go to the ``Lifter``."""
    return Lifter.from_runtime(resolve_runtime(model_path, backend, device), threads, **kw)


def make_lifter(options: PipelineOptions) -> Lifter:
    """The lifting model the options ask for (the shipped model when ``model_path`` is None).

    onnxruntime gets one intra-op thread: the pipeline lifts on a thread of its own while
    MediaPipe detects on another, and a second ORT thread would only spin on that core.
    """
    runtime = resolve_runtime(options.model_path, options.backend, options.device)
    lifter = Lifter.from_runtime(runtime, threads=1)
    if options.flip_tta is not None:
        lifter.flip_tta = options.flip_tta
    return lifter
