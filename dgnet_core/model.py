"""DG-Net: dynamical spatial/temporal graph convolution for 2D-to-3D pose lifting.

Tensors are laid out ``(B, T, J, C)``: batch, frames of the window, joints, channels.

* FSG: fixed skeleton graph ``Y = A X W`` (normalised bones + self loops).
* DSG: dynamical spatial graph: per frame, the K nearest joints in feature space (self
  excluded) give a 0/1 mask ``D``; importance ``R(i, j) = FC([x_i, x_j])`` is soft-maxed
  over the kept neighbours, ``B = D * R``; ``Y = B X Phi``.
* FTG: fixed temporal graph: the same joint at t-1, t, t+1 with weights ``W_b, W_x, W_f``.
* DTG: dynamical temporal graph: for joint i at t, the K joints at t+1 (t-1) whose features
  are nearest to ``x_t^i`` (the forward/backward motion difference is smallest) with
  FC importance, ``Y = X_t U_x + Q_f X_{t+1} U_f + Q_b X_{t-1} U_b``.
* Each graph conv is a residual module of two layers (graph conv, BatchNorm, ReLU) computed
  on one graph built from the module's input; a spatial non-local block (embedded Gaussian,
  identity at init) follows each unit. A DG-Conv block is FSG+DSG, non-local,
  FTG+DTG+FTG, non-local. Five blocks, each with a 3D head (block loss), then a network
  head on the concatenated block features.

KNN selection is a hard top-k (no gradient through the choice; gradients reach the
features and the importance layers), exported to ONNX as TopK + ScatterElements.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from .config import DGNetConfig
from .skeleton import TEMPLATE_POSE, adjacency, normalized_adjacency

_BIG = 1e9


# ------------------------------------------------------------------------------ helpers
def pairwise_sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances (..., I, J) between rows of a (..., I, C) and b (..., J, C).

    Both sets are first centred on a's mean (distances are translation invariant): this
    keeps the |a|^2 + |b|^2 - 2ab expansion well conditioned, so torch and onnxruntime pick
    the same neighbours.
    """
    centre = a.mean(dim=-2, keepdim=True)
    a, b = a - centre, b - centre
    aa = (a * a).sum(-1, keepdim=True)
    bb = (b * b).sum(-1).unsqueeze(-2)
    return (aa + bb - 2.0 * (a @ b.transpose(-1, -2))).clamp_min(0.0)


def knn_mask(dist: Tensor, k: int) -> Tensor:
    """0/1 mask with exactly k ones per row at the k smallest distances."""
    idx = torch.topk(dist, k, dim=-1, largest=False).indices
    return torch.zeros_like(dist).scatter(-1, idx, 1.0)


def _batch_norm(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    return bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def _shift_next(h: Tensor) -> Tensor:
    """h[t+1] at t, zeros at the last frame."""
    return torch.cat([h[:, 1:], torch.zeros_like(h[:, :1])], dim=1)


def _shift_prev(h: Tensor) -> Tensor:
    """h[t-1] at t, zeros at the first frame."""
    return torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)


def _random_mask(rows: int, cols: int, k: int, seed: int, exclude_self: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        choices = [j for j in range(cols) if not (exclude_self and j == i)]
        m[i, rng.choice(choices, size=k, replace=False)] = 1.0
    return m


# ------------------------------------------------------------------------ edge weighting
class EdgeWeighting(nn.Module):
    """Importance of the kept edges, normalised over each row's kept neighbours.

    ``fc``: score = v . relu(A x_i + B x_j) (an FC layer on the concatenation [x_i, x_j]);
    ``gaussian``: score = theta(x_i) . phi(x_j) / sqrt(d); ``none``: uniform 1/K.
    """

    def __init__(self, kind: str, channels: int, hidden: int) -> None:
        super().__init__()
        self.kind = kind
        self.hidden = hidden
        if kind == "fc":
            self.query = nn.Linear(channels, hidden)
            self.key = nn.Linear(channels, hidden, bias=False)
            self.score = nn.Linear(hidden, 1, bias=False)  # softmax ignores a bias
        elif kind == "gaussian":
            self.query = nn.Linear(channels, hidden, bias=False)
            self.key = nn.Linear(channels, hidden, bias=False)

    def forward(self, hi: Tensor, hj: Tensor, mask: Tensor) -> Tensor:
        if self.kind == "none":
            return mask / mask.sum(-1, keepdim=True).clamp_min(1.0)
        if self.kind == "fc":
            pair = torch.relu(self.query(hi).unsqueeze(-2) + self.key(hj).unsqueeze(-3))
            s = self.score(pair).squeeze(-1)
        else:
            s = self.query(hi) @ self.key(hj).transpose(-1, -2) / math.sqrt(self.hidden)
        s = s + (mask - 1.0) * _BIG
        return torch.softmax(s, dim=-1) * mask


# ------------------------------------------------------------------------ graph builders
class FixedSkeletonGraph(nn.Module):
    """FSG operator: the normalised skeleton adjacency (bones + self loops)."""

    def __init__(self, cfg: DGNetConfig) -> None:
        super().__init__()
        a = normalized_adjacency(adjacency(self_loops=True))
        self.register_buffer("adj", torch.from_numpy(a), persistent=False)

    def forward(self, h: Tensor) -> Tensor:
        return self.adj


class SpatialGraph(nn.Module):
    """DSG slot: (B, T, J, J) affinity over joints of each frame.

    ``dynamical`` builds a KNN graph on the features (self excluded); other styles use a
    fixed 0/1 mask. Kept edges are weighted by ``EdgeWeighting``.
    """

    def __init__(self, cfg: DGNetConfig, style: str, k: int, nodes: int) -> None:
        super().__init__()
        self.style, self.k = style, k
        self.weighting = EdgeWeighting(cfg.weighting, cfg.channels, cfg.importance_hidden)
        if style != "dynamical":
            mask = _static_spatial_mask(style, k, nodes, cfg.graph_seed)
            self.register_buffer("static_mask", torch.from_numpy(mask), persistent=False)
        self.register_buffer("not_self", torch.eye(nodes) * _BIG, persistent=False)

    def forward(self, h: Tensor) -> Tensor:
        if self.style == "dynamical":
            mask = knn_mask(pairwise_sq_dist(h, h) + self.not_self, self.k)
        else:
            mask = self.static_mask.expand(h.shape[0], h.shape[1], -1, -1)
        return self.weighting(h, h, mask)


def _static_spatial_mask(style: str, k: int, nodes: int, seed: int) -> np.ndarray:
    eye = np.eye(nodes, dtype=np.float32)
    if style == "fixed":
        return adjacency(self_loops=False)
    if style == "symmetry":
        return adjacency(self_loops=False, symmetric_links=True)
    if style == "full":
        return np.ones((nodes, nodes), dtype=np.float32) - eye
    if style == "random":
        return _random_mask(nodes, nodes, k, seed, exclude_self=True)
    if style == "precomputed":
        d = ((TEMPLATE_POSE[:, None] - TEMPLATE_POSE[None]) ** 2).sum(-1) + eye * _BIG
        m = np.zeros((nodes, nodes), dtype=np.float32)
        np.put_along_axis(m, np.argsort(d, axis=1)[:, :k], 1.0, axis=1)
        return m
    raise ValueError(f"unknown spatial graph style {style!r}")


class TemporalGraph(nn.Module):
    """DTG slot: forward (t -> t+1) and backward (t -> t-1) affinities, each (B, T-1, J, J).

    ``dynamical``: for joint i at t, the K joints j at t+1 minimising the motion difference
    ||x_{t+1}^j - x_t^i|| (backward: ||x_t^i - x_{t-1}^j||), FC-weighted.
    """

    def __init__(self, cfg: DGNetConfig) -> None:
        super().__init__()
        j, k = cfg.num_joints, cfg.k_temporal
        self.style, self.k = cfg.temporal_graph, k
        self.weight_fwd = EdgeWeighting(cfg.weighting, cfg.channels, cfg.importance_hidden)
        self.weight_bwd = EdgeWeighting(cfg.weighting, cfg.channels, cfg.importance_hidden)
        if self.style == "fixed":
            mask = np.eye(j, dtype=np.float32)
        elif self.style == "full":
            mask = np.ones((j, j), dtype=np.float32)
        elif self.style == "random":
            mask = _random_mask(j, j, k, cfg.graph_seed + 1, exclude_self=False)
        else:
            mask = None
        if mask is not None:
            self.register_buffer("static_mask", torch.from_numpy(mask), persistent=False)

    def _mask(self, q: Tensor, kv: Tensor) -> Tensor:
        if self.style == "dynamical":
            return knn_mask(pairwise_sq_dist(q, kv), self.k)
        return self.static_mask.expand(q.shape[0], q.shape[1], -1, -1)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        cur, nxt = h[:, :-1], h[:, 1:]
        q_fwd = self.weight_fwd(cur, nxt, self._mask(cur, nxt))
        q_bwd = self.weight_bwd(nxt, cur, self._mask(nxt, cur))
        return q_fwd, q_bwd


# ----------------------------------------------------------------------- graph modules
class GraphConvModule(nn.Module):
    """Residual module of two graph-conv layers sharing one graph built from its input.

    kind: FSG, DSG, FTG, DTG, or DUG (unified space-time dynamical graph over T*J nodes).
    """

    def __init__(self, kind: str, cfg: DGNetConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.kind = kind
        fan_in = {"FSG": c, "DSG": c, "DUG": c, "FTG": 3 * c, "DTG": 3 * c}[kind]
        self.lin = nn.ModuleList([nn.Linear(fan_in, c) for _ in range(2)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(c) for _ in range(2)])
        self.drop = nn.Dropout(cfg.dropout)
        if kind == "FSG":
            self.graph = FixedSkeletonGraph(cfg)
        elif kind == "DSG":
            self.graph = SpatialGraph(cfg, cfg.spatial_graph, cfg.k_spatial, cfg.num_joints)
        elif kind == "DUG":
            self.graph = SpatialGraph(cfg, "dynamical", cfg.k_spatial + cfg.k_temporal,
                                      cfg.num_joints * cfg.num_frames)
        elif kind == "DTG":
            self.graph = TemporalGraph(cfg)

    def build_graph(self, h: Tensor):
        if self.kind == "FTG":
            return None
        if self.kind == "DUG":
            b, t, j, c = h.shape
            return self.graph(h.reshape(b, 1, t * j, c))
        return self.graph(h)

    def _layer(self, i: int, h: Tensor, graph) -> Tensor:
        if self.kind == "FSG":
            agg = graph @ h
        elif self.kind == "DSG":
            agg = graph @ h
        elif self.kind == "DUG":
            b, t, j, c = h.shape
            agg = (graph @ h.reshape(b, 1, t * j, c)).reshape(b, t, j, c)
        elif self.kind == "FTG":
            agg = torch.cat([h, _shift_next(h), _shift_prev(h)], dim=-1)
        else:  # DTG
            q_fwd, q_bwd = graph
            fwd = torch.cat([q_fwd @ h[:, 1:], torch.zeros_like(h[:, :1])], dim=1)
            bwd = torch.cat([torch.zeros_like(h[:, :1]), q_bwd @ h[:, :-1]], dim=1)
            agg = torch.cat([h, fwd, bwd], dim=-1)
        return _batch_norm(self.bn[i], self.lin[i](agg))

    def forward(self, x: Tensor, collect: list | None = None, name: str = "") -> Tensor:
        graph = self.build_graph(x)
        if collect is not None and graph is not None and self.kind != "FSG":
            collect.append((name, graph))
        h = self.drop(torch.relu(self._layer(0, x, graph)))
        h = self._layer(1, h, graph)
        return torch.relu(x + h)


class SpatialNonLocal(nn.Module):
    """Embedded-Gaussian non-local block over the joints of each frame (near identity at init)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        inner = channels // 2
        self.theta = nn.Linear(channels, inner)
        self.phi = nn.Linear(channels, inner)
        self.g = nn.Linear(channels, inner)
        self.out = nn.Linear(inner, channels)
        self.bn = nn.BatchNorm1d(channels)
        # Near-identity start (Cai et al. use exactly zero; a small gain lets gradients
        # reach theta/phi/g from the first step).
        nn.init.constant_(self.bn.weight, 1e-2)
        nn.init.zeros_(self.bn.bias)

    def forward(self, x: Tensor) -> Tensor:
        attn = torch.softmax(self.theta(x) @ self.phi(x).transpose(-1, -2), dim=-1)
        return x + _batch_norm(self.bn, self.out(attn @ self.g(x)))


class DGConvBlock(nn.Module):
    """Spatial unit, non-local, temporal unit, non-local."""

    def __init__(self, cfg: DGNetConfig) -> None:
        super().__init__()
        if cfg.factorised:
            spatial, temporal = cfg.spatial_unit, cfg.temporal_unit
        else:  # unified: one dynamical graph over all T*J nodes replaces DSG and DTG
            spatial = tuple("DUG" if m == "DSG" else m for m in cfg.spatial_unit)
            temporal = tuple(m for m in cfg.temporal_unit if m != "DTG")
        self.spatial = nn.ModuleList([GraphConvModule(k, cfg) for k in spatial])
        self.temporal = nn.ModuleList([GraphConvModule(k, cfg) for k in temporal])
        use_nl = cfg.non_local
        self.nl_spatial = SpatialNonLocal(cfg.channels) if use_nl else nn.Identity()
        self.nl_temporal = SpatialNonLocal(cfg.channels) if use_nl else nn.Identity()

    def forward(self, x: Tensor, collect: list | None = None, prefix: str = "") -> Tensor:
        for i, m in enumerate(self.spatial):
            x = m(x, collect, f"{prefix}s{i}.{m.kind}")
        x = self.nl_spatial(x)
        for i, m in enumerate(self.temporal):
            x = m(x, collect, f"{prefix}t{i}.{m.kind}")
        return self.nl_temporal(x)


class PoseHead(nn.Module):
    """Per-joint head over the window's features: (B, T, J, C) -> (B, J, out)."""

    def __init__(self, frames: int, channels: int, hidden: int | None, out: int) -> None:
        super().__init__()
        width = frames * channels
        if hidden:
            self.net = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out))
        else:
            self.net = nn.Linear(width, out)

    def forward(self, x: Tensor) -> Tensor:
        b, t, j, c = x.shape
        return self.net(x.permute(0, 2, 1, 3).reshape(b, j, t * c))


# ---------------------------------------------------------------------------- network
class DGNet(nn.Module):
    """The DG-Net lifter. ``forward(x)`` -> (B, 17, 3) root-relative pose of frame T//2."""

    def __init__(self, cfg: DGNetConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or DGNetConfig()
        self.cfg = cfg
        c = cfg.channels
        adj = torch.from_numpy(normalized_adjacency(adjacency()))
        self.register_buffer("adj", adj, persistent=False)
        self.embed = nn.Linear(cfg.in_channels, c)  # FSG input layer: 2D -> 128-d
        self.embed_bn = nn.BatchNorm1d(c)
        self.blocks = nn.ModuleList([DGConvBlock(cfg) for _ in range(cfg.num_blocks)])
        self.block_heads = nn.ModuleList(
            [PoseHead(cfg.num_frames, c, cfg.block_head_hidden, 3)
             for _ in range(cfg.num_blocks)]) if cfg.block_heads else None
        self.fuse = nn.Linear(cfg.num_blocks * c, c)
        self.fuse_bn = nn.BatchNorm1d(c)
        self.head = PoseHead(cfg.num_frames, c, None, 4 if cfg.output == "balanced" else 3)

    # -- features
    def _features(self, x: Tensor, collect: list | None) -> list[Tensor]:
        cfg = self.cfg
        expected = (cfg.num_frames, cfg.num_joints, cfg.in_channels)
        if not torch.jit.is_tracing() and (x.dim() != 4 or tuple(x.shape[1:]) != expected):
            raise ValueError(f"expected input (B, {cfg.num_frames}, {cfg.num_joints}, "
                             f"{cfg.in_channels}), got {tuple(x.shape)}")
        h = torch.relu(_batch_norm(self.embed_bn, self.adj @ self.embed(x)))
        feats = []
        for b, block in enumerate(self.blocks):
            h = block(h, collect, f"block{b}.")
            feats.append(h)
        return feats

    def _network_head(self, feats: list[Tensor], x: Tensor, cam: Tensor | None) -> Tensor:
        fused = torch.relu(_batch_norm(self.fuse_bn, self.fuse(torch.cat(feats, dim=-1))))
        raw = self.head(fused)
        if self.cfg.output == "balanced":
            return self._balanced(raw, x, cam)
        return raw - raw[:, :1]

    def _balanced(self, raw: Tensor, x: Tensor, cam: Tensor | None) -> Tensor:
        """Average predicted X/Y with UV back-projected at the predicted depth (Table XI)."""
        if cam is None:
            raise ValueError("output='balanced' needs cam = (B, 4) [fx, fy, cx, cy] in "
                             "screen-normalised units")
        xyz = raw[..., :3] - raw[:, :1, :3]
        depth = raw[..., 3] + 5.0  # absolute depth in metres, centred on a typical 5 m
        uv = x[:, self.cfg.target_index, :, :2]
        f, c = cam[:, None, :2], cam[:, None, 2:]
        back = (uv - c) / f * depth.unsqueeze(-1)
        back = back - back[:, :1]
        rel_depth = depth - depth[:, :1]
        xy = 0.5 * (xyz[..., :2] + back)
        z = 0.5 * (xyz[..., 2] + rel_depth)
        return torch.cat([xy, z.unsqueeze(-1)], dim=-1)

    def forward(self, x: Tensor, cam: Tensor | None = None) -> Tensor:
        return self._network_head(self._features(x, None), x, cam)

    def forward_train(self, x: Tensor, cam: Tensor | None = None
                      ) -> tuple[Tensor, list[Tensor]]:
        """Network prediction plus one root-relative prediction per block (block heads)."""
        feats = self._features(x, None)
        y = self._network_head(feats, x, cam)
        if self.block_heads is None:
            return y, []
        block_ys = []
        for head, f in zip(self.block_heads, feats):
            p = head(f)
            block_ys.append(p - p[:, :1])
        return y, block_ys

    @torch.no_grad()
    def affinities(self, x: Tensor) -> dict[str, Tensor]:
        """The dynamical graphs each module built for input x (for plots and tests).

        DSG/DUG entries are (B, T, N, N); DTG entries are a (forward, backward) pair of
        (B, T-1, J, J) tensors.
        """
        collect: list = []
        self._features(x, collect)
        return dict(collect)

    def drop_block_heads(self) -> DGNet:
        """Remove the training-only block heads (the inference model of the paper)."""
        self.block_heads = None
        self.cfg = _replace(self.cfg, block_heads=False)
        return self


def _replace(cfg: DGNetConfig, **changes) -> DGNetConfig:
    from dataclasses import replace
    return replace(cfg, **changes)


def mpjpe(pred: Tensor, target: Tensor) -> Tensor:
    """Mean per-joint position error (same units as the inputs)."""
    return (pred - target).norm(dim=-1).mean()


def multilevel_loss(y: Tensor, block_ys: list[Tensor], target: Tensor,
                    weight: float = 0.1) -> Tensor:
    """Network loss + weight * sum of block losses (Eq. 15-17; weight is lambda = 0.1)."""
    loss = mpjpe(y, target)
    for b in block_ys:
        loss = loss + weight * mpjpe(b, target)
    return loss


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
