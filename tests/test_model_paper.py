"""DG-Net against the paper's equations, each computed directly on small inputs.

Eq. 3 (DSG neighbours include the joint), Eq. 5-6 (one FC layer on [x_i, x_j], B = D * R),
Eq. 10 (DTG neighbours by motion), Eq. 15-17 (squared L2 over all frames and joints, block
losses with lambda), Table XI (balanced UV-D output), FSG per-edge weights (SemGCN) that let
the network tell left from right, and the fused temporal layer against its concatenated
form.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dgnet_core.lifting.config import DGNetConfig
from dgnet_core.lifting.graphs import EdgeWeighting, SpatialGraph, TemporalGraph
from dgnet_core.lifting.model import DGNet, GraphConvModule, multilevel_loss
from dgnet_core.skeleton import FLIP_PERM

SMALL = {"channels": 16, "num_blocks": 2, "importance_hidden": 8, "block_head_hidden": 8}


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_torch_thread):
    """Every test here runs torch on one thread (the fixture lives in conftest.py)."""


def _x(b: int, cfg: DGNetConfig, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, cfg.num_frames, cfg.num_joints, cfg.in_channels, generator=g)


def _knn_sets(dist: np.ndarray, k: int) -> list[set[int]]:
    return [set(np.argsort(row, kind="stable")[:k].tolist()) for row in dist]


def test_dtg_neighbours_are_eq10_motion_knn() -> None:
    """For joint i at t: the K joints j minimising ||(x_{t+1}^j - x_t^j) - (x_{t+1}^i - x_t^i)||."""
    cfg = DGNetConfig(**SMALL)
    graph = TemporalGraph(cfg)
    rng = np.random.default_rng(0)
    h = rng.normal(size=(3, 4, 17, 16)).astype(np.float32)
    fwd, bwd = graph(torch.from_numpy(h))
    for b in range(3):
        for t in range(3):
            motion = h[b, t + 1] - h[b, t]  # (17, C)
            dist = ((motion[:, None] - motion[None]) ** 2).sum(-1)
            want = _knn_sets(dist, cfg.k_temporal)
            got_f = [set(np.flatnonzero(r).tolist()) for r in fwd[b, t].detach().numpy()]
            got_b = [set(np.flatnonzero(r).tolist()) for r in bwd[b, t].detach().numpy()]
            assert got_f == want and got_b == want
            assert all(i in s for i, s in enumerate(got_f))  # the joint itself, distance 0


def test_dsg_neighbours_are_eq3_knn_including_self() -> None:
    cfg = DGNetConfig(**SMALL)
    g = SpatialGraph(cfg, "dynamical", 3, 17, include_self=True)
    h = torch.randn(2, 4, 17, 16)
    a = g(h).detach().numpy()
    hn = h.numpy()
    for b in range(2):
        for t in range(4):
            dist = ((hn[b, t][:, None] - hn[b, t][None]) ** 2).sum(-1)
            want = _knn_sets(dist, 3)
            got = [set(np.flatnonzero(r).tolist()) for r in a[b, t]]
            assert got == want
            assert all(i in s and len(s) == 3 for i, s in enumerate(got))  # self + 2 others


@pytest.mark.parametrize("activation", ["none", "sigmoid"])
def test_fc_importance_is_one_fc_layer_on_the_concatenation(activation: str) -> None:
    """Eq. 5-6: R(i, j) = FC([x_i, x_j]); B = D * R (no normalisation); ``sigmoid`` bounds R."""
    torch.manual_seed(0)
    w = EdgeWeighting("fc", 6, 0, 3, activation)
    torch.nn.init.normal_(w.fc.weight)
    hi, hj = torch.randn(2, 5, 6), torch.randn(2, 7, 6)
    mask = (torch.rand(2, 5, 7) > 0.5).float()
    pairs = torch.cat([hi[:, :, None].expand(-1, -1, 7, -1),
                       hj[:, None].expand(-1, 5, -1, -1)], dim=-1)  # (2, 5, 7, 12)
    r = w.fc(pairs).squeeze(-1)
    want = (torch.sigmoid(r) if activation == "sigmoid" else r) * mask
    assert torch.allclose(w(hi, hj, mask), want, atol=1e-5)


def test_loss_is_eq15_17_by_hand() -> None:
    rng = np.random.default_rng(1)
    y, t = rng.normal(size=(2, 4, 17, 3)), rng.normal(size=(2, 4, 17, 3))
    blocks = [rng.normal(size=(2, 4, 17, 3)) for _ in range(3)]
    # Eq. 15-16: sum over frames and joints of the squared distance, per sample, batch mean
    def l2(p):
        return sum(((p[b] - t[b]) ** 2).sum() for b in range(2)) / 2
    want = l2(y) + 0.1 * sum(l2(p) for p in blocks)  # Eq. 17, lambda = 0.1
    got = multilevel_loss(torch.tensor(y), [torch.tensor(p) for p in blocks], torch.tensor(t),
                          0.1, kind="l2")
    assert abs(float(got) - want) < 1e-9


def test_balanced_output_is_table_xi_formula_by_hand() -> None:
    """P = ((X + Z (U - c_x) / f_x) / 2, (Y + Z (V - c_y) / f_y) / 2, Z), root-relative."""
    cfg = DGNetConfig(**SMALL, output="balanced")
    torch.manual_seed(0)
    net = DGNet(cfg).eval()
    x = _x(2, cfg)
    cam = torch.tensor([[1.4, 1.5, 0.05, -0.1], [2.0, 2.1, -0.2, 0.0]])
    with torch.no_grad():
        feats = net._features(x, None)
        raw = net.head(torch.cat(feats, dim=-1)).numpy()  # (B, T, J, 3): X, Y, Z - 5 m
        got = net(x, cam).numpy()
    u, v = x[..., 0].numpy(), x[..., 1].numpy()
    fx, fy, cx, cy = (cam[:, i].numpy()[:, None, None] for i in range(4))
    z = raw[..., 2] + cfg.balanced_depth
    p = np.stack([(raw[..., 0] + z * (u - cx) / fx) / 2,
                  (raw[..., 1] + z * (v - cy) / fy) / 2, z], -1)
    want = p - p[..., :1, :]
    assert np.abs(got - want).max() < 1e-5


def _swap_left_right(x: torch.Tensor) -> torch.Tensor:
    return x[..., list(FLIP_PERM), :]


@pytest.mark.parametrize("style, symmetric", [("shared", True), ("semgcn", False)])
def test_fsg_per_edge_weights_break_left_right_symmetry(style: str, symmetric: bool) -> None:
    """Swapping left/right labels of the input (no mirroring) gives exactly the swapped output
    when every joint shares its weights; SemGCN's per-edge weights (here perturbed as
    training moves them) let the network tell the two sides apart."""
    cfg = DGNetConfig(**SMALL, fsg_weighting=style)
    torch.manual_seed(0)
    net = DGNet(cfg).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("edge_logit"):
                p.add_(0.3 * torch.randn_like(p))
        x = _x(8, cfg, seed=2)
        y = net(x)
        y_swapped = _swap_left_right(net(_swap_left_right(x)))
    diff_mm = float((y - y_swapped).norm(dim=-1).mean()) * 1000
    if symmetric:
        assert diff_mm < 1e-3
    else:
        assert diff_mm > 1.0


@pytest.mark.parametrize("kind", ["FTG", "DTG"])
def test_fused_temporal_layer_equals_concatenated_form(kind: str) -> None:
    """``[X_t, G_f X_{t+1}, G_b X_{t-1}] W + b`` (zeros beyond the window), computed directly."""
    cfg = DGNetConfig(**SMALL)
    torch.manual_seed(0)
    m = GraphConvModule(kind, cfg)
    h = torch.randn(3, 4, 17, 16)
    graph = m.build_graph(h)
    lin = m.lin[0]
    zero = torch.zeros_like(h[:, :1])
    if kind == "FTG":
        nxt = torch.cat([h[:, 1:], zero], 1)
        prev = torch.cat([zero, h[:, :-1]], 1)
    else:
        q_f, q_b = graph
        nxt = torch.cat([q_f @ h[:, 1:], zero], 1)
        prev = torch.cat([zero, q_b @ h[:, :-1]], 1)
    want = lin(torch.cat([h, nxt, prev], -1))
    got = m._temporal_layer(lin, h, graph)
    assert torch.allclose(got, want, atol=1e-5)


def test_config_written_before_v2_reads_as_trained() -> None:
    """Old weights keep the model they were trained with (v1 choices), new configs default to
    the paper's."""
    old = json.loads(DGNetConfig().to_json())
    for k in ("dsg_include_self", "dtg_distance", "fsg_weighting", "head", "output_frames",
              "balanced_depth", "version"):
        old.pop(k)
    old["weighting"] = "fc"
    cfg = DGNetConfig.from_json(json.dumps(old))
    assert (cfg.weighting, cfg.dtg_distance, cfg.head, cfg.output_frames, cfg.version) == (
        "mlp", "cross_frame", "mlp", "center", 1)
    assert not cfg.dsg_include_self and cfg.fsg_weighting == "shared"
    new = DGNetConfig.from_json(DGNetConfig().to_json())
    assert (new.weighting, new.dtg_distance, new.head, new.output_frames) == (
        "fc", "motion", "fsg", "all")
