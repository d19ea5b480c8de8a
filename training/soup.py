"""Weight averaging of fine-tunes that share one start (a "uniform model soup", Wortsman
et al., ICML 2022): ``python -m training.soup A B [C ...] --out W.safetensors``.

Networks fine-tuned from the same checkpoint stay in one basin of the loss, so the mean of
their weights is itself a good network, often better than each of them. Every input must
be a DG-Net weights file with the same config (checked). Floating-point tensors, BatchNorm
running statistics included, are averaged; integer ones (BatchNorm's batch counters) are
taken from the first file. The output records each input's sha256 in its metadata
(``soup_of``), so a shipped soup can be traced to its fine-tunes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from dgnet_core.errors import WeightsError
from dgnet_core.lifting.weights import load_model, save_weights


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def average_weights(paths: list[str | Path]):
    """A DGNet whose tensors are the mean of the models in ``paths`` (same config)."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ValueError("a soup needs at least two weights files")
    models = [load_model(p) for p in paths]
    if any(m.cfg != models[0].cfg for m in models[1:]):
        raise WeightsError("weights files have different configs; only fine-tunes of one "
                           "network can be averaged")
    states = [m.state_dict() for m in models]
    mean = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            mean[key] = torch.stack([s[key] for s in states]).mean(0)
        else:
            mean[key] = first
    soup = models[0]
    soup.load_state_dict(mean)
    return soup


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", nargs="+", help="safetensors files of one network's fine-tunes")
    p.add_argument("--out", required=True, help="safetensors file to write")
    a = p.parse_args(argv)
    soup = average_weights(a.weights)
    sources = [{"path": str(w), "sha256": _sha256(Path(w))} for w in a.weights]
    out = save_weights(soup, a.out, metadata={"soup_of": json.dumps(sources)})
    print(json.dumps({"out": str(out), "soup_of": sources}))
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError, ValueError)))
