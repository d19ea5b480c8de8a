"""Export a trained model in the shipped form: ``python -m training.export WEIGHTS STEM``.

Reads a float32 ``.safetensors`` (e.g. ``runs/default/model.safetensors``) and writes
``STEM.safetensors`` (float16, block heads dropped) and ``STEM.onnx`` (float16 weights
cast to float32 at load), then checks that onnxruntime and torch agree on a random batch
and that both files together stay under the 12 MB the extension allows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dgnet_core.lifting.weights import export_onnx, load_model, onnx_session, save_weights

SIZE_LIMIT = 12 * 2**20


def export_model(net, stem: str | Path) -> list[Path]:
    """Shipped form of a DGNet: float16 safetensors (no block heads) + ONNX with float16
    weights."""
    stem = Path(stem)
    st = save_weights(net, stem.with_suffix(".safetensors"), half=True)
    onnx_path = export_onnx(load_model(st), stem.with_suffix(".onnx"), half_weights=True)
    return [st, onnx_path]


def export(weights: str | Path, stem: str | Path) -> dict:
    import torch

    net = load_model(weights)
    st, onnx_path = export_model(net, stem)
    size = st.stat().st_size + onnx_path.stat().st_size
    if size >= SIZE_LIMIT:
        raise ValueError(f"exported model is {size / 2**20:.1f} MiB (limit 12 MiB)")
    half = load_model(st)
    sess, cfg = onnx_session(onnx_path)
    x = np.random.default_rng(0).normal(size=(8, cfg.num_frames, cfg.num_joints,
                                              cfg.in_channels)).astype(np.float32) * 0.3
    with torch.no_grad():
        ref = half(torch.from_numpy(x)).numpy()
    got = sess.run(None, {"x": x})[0]
    return {"safetensors": str(st), "onnx": str(onnx_path), "bytes": size,
            "max_abs_diff_m": float(np.abs(ref - got).max())}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights")
    p.add_argument("stem", help="output path without suffix, e.g. dgnet_core/weights/default")
    a = p.parse_args(argv)
    print(export(a.weights, a.stem))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
