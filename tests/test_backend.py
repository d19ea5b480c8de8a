"""The back-end and device are resolved in one place, and ``run_pipeline``
takes a lifter, detections and a progress callback (part 3).

Checks that need torch absent or never imported run in a fresh ``python``: a meta-path
blocker makes torch unfindable there (what Blender's Python is like).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dgnet_core.errors import WeightsError
from dgnet_core.lifting.backend import Runtime, load_lifter, resolve_runtime
from dgnet_core.lifting.weights import default_model_path

REPO = Path(__file__).resolve().parents[1]
HAS_DEFAULT = default_model_path().is_file() and default_model_path(".onnx").is_file()

_NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, _NoTorch())
"""


def _python(code: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny model as .safetensors with its .onnx export, and a copy without the export."""
    pytest.importorskip("torch")
    import shutil

    from dgnet_core.lifting.config import DGNetConfig
    from dgnet_core.lifting.weights import export_onnx, load_model, random_model, save_weights

    d = tmp_path_factory.mktemp("models")
    model = random_model(DGNetConfig(num_blocks=1, channels=32, importance_hidden=8,
                                     block_head_hidden=16))
    st = save_weights(model, d / "both.safetensors")
    export_onnx(load_model(st), d / "both.onnx")
    shutil.copy(d / "both.safetensors", d / "torch_only.safetensors")
    shutil.copy(d / "both.onnx", d / "onnx_only.onnx")
    return d


def test_resolution_rules(model_dir) -> None:
    both, st_only = model_dir / "both.safetensors", model_dir / "torch_only.safetensors"
    onnx_only = model_dir / "onnx_only.onnx"
    assert resolve_runtime(both, "onnx") == Runtime("onnx", "cpu", model_dir / "both.onnx")
    assert resolve_runtime(both, "torch", "cpu") == Runtime("torch", "cpu", both)
    assert resolve_runtime(both, "auto", "cpu").backend == "onnx"
    assert resolve_runtime(onnx_only) == Runtime("onnx", "cpu", onnx_only)
    assert resolve_runtime(st_only, "auto", "cpu") == Runtime("torch", "cpu", st_only)
    with pytest.raises(WeightsError, match="has no ONNX export beside it"):
        resolve_runtime(st_only, "onnx")
    with pytest.raises(WeightsError, match="is an ONNX model; the torch back-end"):
        resolve_runtime(onnx_only, "torch")
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda, got 'gpu'"):
        resolve_runtime(both, "auto", "gpu")


def test_onnx_with_cuda_is_a_weights_error(model_dir) -> None:
    message = "the onnx back-end runs on the CPU only"
    with pytest.raises(WeightsError, match=message):
        resolve_runtime(model_dir / "both.safetensors", "onnx", "cuda")
    with pytest.raises(WeightsError, match=message):
        load_lifter(model_dir / "both.onnx", backend="onnx", device="cuda")
    with pytest.raises(WeightsError, match=message):
        resolve_runtime(None, "onnx", "cuda")  # checked before any file or GPU


def test_onnx_path_never_imports_torch(model_dir) -> None:
    # A CUDA build of torch with a driver present used to be imported just to probe CUDA
    # (1.4 s, 180 MB here): the onnx back-end must not even ask.
    proc = _python(f"""
        import sys
        import numpy as np
        import dgnet_core.lifting.backend as backend
        backend.torch_has_cuda_build = lambda: True
        backend.nvidia_driver_present = lambda: True
        from dgnet_core.contract import PipelineOptions
        kp = np.random.default_rng(0).uniform(100, 400, (6, 17, 2)).astype(np.float32)
        for model in ({str(model_dir / 'both.safetensors')!r}, None):
            lifter = backend.make_lifter(PipelineOptions(backend="onnx", model_path=model))
            y = lifter.lift(kp, None, 640, 480, intrinsics=np.eye(3) * 500)
            assert y.shape == (6, 17, 3) and lifter.backend == "onnxruntime", lifter.backend
        print("torch" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "False"


def test_without_torch(model_dir) -> None:
    proc = _python(_NO_TORCH + f"""
import json
import numpy as np
from dgnet_core.lifting.backend import make_lifter, resolve_runtime
from dgnet_core.contract import PipelineOptions
from dgnet_core.errors import WeightsError
from dgnet_core.preflight import check_device

out = {{}}
for name, call in {{
        "safetensors": lambda: resolve_runtime({str(model_dir / 'torch_only.safetensors')!r}),
        "torch": lambda: resolve_runtime({str(model_dir / 'both.safetensors')!r}, "torch"),
        "cuda": lambda: check_device("cuda"),
        "cuda_auto": lambda: resolve_runtime({str(model_dir / 'both.safetensors')!r}, "auto",
                                             "cuda")}}.items():
    try:
        call()
        out[name] = None
    except WeightsError as exc:
        out[name] = str(exc)
lifter = make_lifter(PipelineOptions(model_path={str(model_dir / 'both.safetensors')!r}))
kp = np.random.default_rng(0).uniform(100, 400, (5, 17, 2)).astype(np.float32)
out["auto_backend"] = lifter.backend
out["auto_shape"] = list(lifter.lift(kp, None, 640, 480, intrinsics=np.eye(3) * 500).shape)
print(json.dumps(out))
""")
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    r = json.loads(proc.stdout.strip().splitlines()[-1])
    st = model_dir / "torch_only.safetensors"
    assert r["safetensors"] == (
        f"{st} is a PyTorch (.safetensors) model and PyTorch is not installed here (Blender "
        "has none): use its ONNX export (torch_only.onnx, python -m training.export)")
    assert r["torch"].startswith("the torch back-end needs PyTorch, which is not installed")
    assert r["cuda"].startswith("the CUDA device needs PyTorch with CUDA, which is not "
                                "installed")
    assert r["cuda_auto"] == r["cuda"]
    assert r["auto_backend"] == "onnxruntime" and r["auto_shape"] == [5, 17, 3]


def _detections(n: int = 40, width: int = 640, height: int = 480):
    from dgnet_core.detection.detect import Detections

    rng = np.random.default_rng(1)
    shape = rng.uniform(-0.15, 0.15, (33, 2))
    t = np.arange(n)[:, None]
    xy = shape[None] + np.stack([0.5 + 0.2 * np.sin(t / 9), 0.5 + 0.02 * np.cos(t / 5)], -1)
    image = np.concatenate([xy, np.zeros((n, 33, 1))], -1).astype(np.float32)
    return Detections(image, np.full((n, 33), 0.9, np.float32),
                      np.zeros((n, 33, 3), np.float32), np.ones(n, bool), np.arange(n),
                      30.0, width, height, "synthetic.mp4")


def test_run_pipeline_with_lifter_detections_and_progress(model_dir) -> None:
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.pipeline import PipelineJob, run_pipeline

    det = _detections()
    lifter = load_lifter(model_dir / "both.onnx", threads=1)
    seen = []
    result = run_pipeline("synthetic.mp4", PipelineOptions(smoothing="none"), lifter=lifter,
                          detections=det, progress=seen.append)
    assert len(result) == 40 and np.isfinite(result.joints_world).all()
    assert seen[0].stage == "detect" and seen[-1].stage == "done"
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen)
    assert {p.stage for p in seen} == {"detect", "lift", "place", "done"}
    # The same job stepped (as the Blender operator does) gives the same result.
    job = PipelineJob("synthetic.mp4", PipelineOptions(smoothing="none"), lifter=lifter,
                      detections=det)
    steps = 0
    while not job.step(0.0):
        steps += 1
    assert steps == len(seen) and job.progress.stage == "done"  # one Progress a step
    assert np.array_equal(job.result.joints_world, result.joints_world)


@pytest.mark.skipif(not HAS_DEFAULT, reason="needs the shipped model (safetensors + onnx)")
def test_default_model_resolves_without_loading() -> None:
    rt = resolve_runtime(None, "auto", "cpu")
    assert rt == Runtime("onnx", "cpu", default_model_path(".onnx"))
    assert resolve_runtime(None, "torch", "cpu") == Runtime("torch", "cpu",
                                                            default_model_path())
