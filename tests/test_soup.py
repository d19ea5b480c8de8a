"""training.soup: the mean of fine-tunes' weights, traced to its inputs."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from dgnet_core.errors import WeightsError
from dgnet_core.lifting.config import DGNetConfig
from dgnet_core.lifting.weights import load_model, random_model, read_config, save_weights
from training.soup import average_weights, main

SMALL = dict(channels=16, num_blocks=1, importance_hidden=8, block_head_hidden=8,
             block_heads=False)


def _two(tmp_path):
    a = save_weights(random_model(DGNetConfig(**SMALL), seed=1), tmp_path / "a.safetensors")
    b = save_weights(random_model(DGNetConfig(**SMALL), seed=2), tmp_path / "b.safetensors")
    return a, b


def test_soup_is_the_mean_of_the_weights(tmp_path) -> None:
    a, b = _two(tmp_path)
    sa, sb = load_model(a).state_dict(), load_model(b).state_dict()
    soup = average_weights([a, b]).state_dict()
    floats = [k for k, v in sa.items() if v.is_floating_point()]
    assert floats and any(not torch.equal(sa[k], sb[k]) for k in floats)
    for k in floats:
        torch.testing.assert_close(soup[k], (sa[k] + sb[k]) / 2)


def test_soup_file_records_its_inputs(tmp_path, capsys) -> None:
    a, b = _two(tmp_path)
    out = tmp_path / "soup.safetensors"
    assert main([str(a), str(b), "--out", str(out)]) == 0
    _, meta = read_config(out)
    sources = json.loads(meta["soup_of"])
    assert [s["sha256"] for s in sources] == [hashlib.sha256(p.read_bytes()).hexdigest()
                                              for p in (a, b)]
    x = torch.randn(2, 4, 17, 2)
    with torch.no_grad():
        assert torch.isfinite(load_model(out)(x)).all()


def test_soup_refuses_different_networks_and_a_single_file(tmp_path) -> None:
    a, _ = _two(tmp_path)
    wide = save_weights(random_model(DGNetConfig(**{**SMALL, "channels": 24})),
                        tmp_path / "wide.safetensors")
    with pytest.raises(WeightsError, match="different configs"):
        average_weights([a, wide])
    with pytest.raises(ValueError, match="at least two"):
        average_weights([a])
