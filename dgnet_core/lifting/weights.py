"""Model weights on disk: safetensors (with the config in the metadata) and ONNX export.

Owns the file formats of trained models and the location of the default model shipped
inside the package (``dgnet_core/weights/default.safetensors`` and ``default.onnx``).
Loading never unpickles anything; every failure is a one-line ``WeightsError``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import WeightsError
from .config import DGNetConfig

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_NAME = "default"
FORMAT_TAG = "dgnet-lift-v1"


def default_model_path(suffix: str = ".safetensors") -> Path:
    """Path of the shipped default model (``.safetensors`` or ``.onnx``)."""
    return WEIGHTS_DIR / f"{DEFAULT_NAME}{suffix}"


def save_weights(model, path: str | Path, *, inference_only: bool = True, half: bool = False,
                 metadata: dict[str, str] | None = None) -> Path:
    """Write a DGNet's weights as safetensors.

    Block heads are dropped when ``inference_only``; ``half`` stores float tensors as
    float16 (half the size, for the shipped model; loading casts back to float32).
    """
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    cfg = model.cfg
    if inference_only:
        state = {k: v for k, v in state.items() if not k.startswith("block_heads.")}
        from dataclasses import replace
        cfg = replace(cfg, block_heads=False)
    meta = {"format": FORMAT_TAG, "config": cfg.to_json()}
    meta.update(metadata or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=meta)
    return path


def read_config(path: str | Path) -> tuple[DGNetConfig, dict[str, str]]:
    """Config and metadata stored in a weights file, without loading the tensors."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"model weights not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises several types for a bad header
        raise WeightsError(f"model weights are corrupt or not safetensors: {path} ({exc})"
                           ) from None
    if meta.get("format") != FORMAT_TAG or "config" not in meta:
        raise WeightsError(f"not a DG-Net weights file (missing '{FORMAT_TAG}' metadata): {path}")
    try:
        return DGNetConfig.from_json(meta["config"]), meta
    except (ValueError, TypeError) as exc:
        raise WeightsError(f"weights file has an invalid config: {path} ({exc})") from None


def load_model(path: str | Path | None = None, device: str = "cpu"):
    """Build a DGNet from a safetensors file (default: the shipped model), in eval mode."""
    import torch
    from safetensors.torch import load_file

    from .model import DGNet

    path = Path(path) if path is not None else default_model_path()
    cfg, _ = read_config(path)
    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise WeightsError(f"model weights are corrupt: {path} ({exc})") from None
    model = DGNet(cfg)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    bad_shape = [k for k in state if k in expected and state[k].shape != expected[k].shape]
    if missing or unexpected or bad_shape:
        raise WeightsError(
            f"weights do not match their config: {path} (missing {len(missing)}, unexpected "
            f"{len(unexpected)}, wrong shape {len(bad_shape)})")
    for k, v in state.items():
        if not torch.isfinite(v).all() and v.is_floating_point():
            raise WeightsError(f"model weights contain NaN/inf ({k}): {path}")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()})
    return model.to(device).eval()


def export_onnx(model, path: str | Path, *, opset: int = 17, half_weights: bool = False
                ) -> Path:
    """Export an eval-mode DGNet to ONNX with a dynamic batch axis (input ``x``, output ``pose``).

    Uses the TorchScript-based exporter (no onnxscript needed); the KNN becomes TopK +
    ScatterElements. A balanced-output model also takes ``cam`` (B, 4). ``half_weights``
    stores the large weight tensors as float16 followed by a Cast to float32 (half the
    file; onnxruntime folds the casts at load, so it still computes in float32). The graph
    is stored after onnxruntime's basic optimisations (``_fold_constants``).
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = model.cfg
    model = model.eval()
    x = torch.randn(2, cfg.num_frames, cfg.num_joints, cfg.in_channels)
    args: tuple = (x,)
    names = ["x"]
    axes = {"x": {0: "batch"}, "pose": {0: "batch"}}
    if cfg.balanced:
        args = (x, torch.tensor([[1.5, 1.5, 0.0, 0.0]] * 2))
        names.append("cam")
        axes["cam"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(model, args, str(path), input_names=names, output_names=["pose"],
                          dynamic_axes=axes, opset_version=opset, dynamo=False)
    import onnx

    proto = _fold_constants(onnx.load(str(path)))
    if half_weights:
        _halve_initializers(proto)
    meta = proto.metadata_props.add()
    meta.key, meta.value = "dgnet_config", cfg.to_json()
    onnx.save(proto, str(path))
    return path


def _fold_constants(proto):
    """The graph after onnxruntime's basic optimisations (constant folding, redundant nodes
    removed; hardware-independent, standard ONNX operators): the TorchScript exporter's
    shape arithmetic leaves a graph that loads faster once folded (docs/BENCHMARKS.md).
    Unchanged when onnxruntime is not installed."""
    import tempfile

    import onnx

    try:
        import onnxruntime as ort
    except ImportError:
        return proto
    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        opts.optimized_model_filepath = str(Path(tmp) / "basic.onnx")
        ort.InferenceSession(proto.SerializeToString(), opts,
                             providers=["CPUExecutionProvider"])
        folded = onnx.load(opts.optimized_model_filepath)
    used = {n.domain for n in folded.graph.node} | {""}
    opsets = [o for o in folded.opset_import if o.domain in used]
    del folded.opset_import[:]
    folded.opset_import.extend(opsets)
    return folded


def _halve_initializers(proto, min_size: int = 1024) -> None:
    """Store float32 initializers with >= min_size elements as float16 + Cast nodes."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) < min_size:
            continue
        arr = numpy_helper.to_array(init).astype(np.float16)
        name = init.name
        init.CopyFrom(numpy_helper.from_array(arr, name + "__f16"))
        casts.append(helper.make_node("Cast", [name + "__f16"], [name], to=TensorProto.FLOAT))
    for node in reversed(casts):
        graph.node.insert(0, node)


def onnx_session(path: str | Path, threads: int | None = None):
    """An onnxruntime CPU session for an exported model, with its stored config."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"ONNX model not found: {path}")
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise WeightsError(f"ONNX model is corrupt: {path} ({str(exc).splitlines()[0]})"
                           ) from None
    meta = sess.get_modelmeta().custom_metadata_map
    if "dgnet_config" not in meta:
        raise WeightsError(f"ONNX file has no DG-Net config metadata: {path}")
    return sess, DGNetConfig.from_json(meta["dgnet_config"])


def random_model(cfg: DGNetConfig | None = None, seed: int = 0):
    """A randomly initialised eval-mode DGNet (tests and demos before training)."""
    import torch

    from .model import DGNet

    torch.manual_seed(seed)
    np.random.seed(seed)
    return DGNet(cfg or DGNetConfig()).eval()
