"""DG-Net's graphs: which joints talk to which, and how strongly.

Owns the affinity builders of the four graph-conv kinds (docs/MODEL.md cites each
equation):

* ``SkeletonConv``: the FSG layer (Eq. 1-2). ``semgcn``: SemGCN's learnable weight per
  skeleton edge, soft-maxed over each row, with separate transforms for the joint itself
  and its neighbours (joint identity is visible to the network); ``shared``: one
  normalised adjacency ``D^-1/2 (A + I) D^-1/2`` and one transform for every joint.
* ``SpatialGraph``: the DSG affinity (Eq. 3-6): per frame, the K nearest joints in feature
  space (joint i itself included, Eq. 3) give a 0/1 mask D; importance R; ``B = D * R``.
* ``TemporalGraph``: the DTG affinities (Eq. 10-13): for joint i at t, the K joints whose
  motion ``x_{t+1}^j - x_t^j`` is nearest to joint i's motion ``x_{t+1}^i - x_t^i``
  (forward to t+1, and the same motion backward from t+1 to t); importance H; ``Q = L * H``.
* ``EdgeWeighting``: R and H. ``fc`` (Eq. 5 / 11): one FC layer on ``[x_i, x_j]``, that is
  ``w_a . x_i + w_b . x_j + b``, multiplied into the mask with no normalisation.

KNN selection is a hard top-k (no gradient through the choice); gradients reach the
features and the importance layers. ONNX export turns it into TopK + ScatterElements.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from ..skeleton import TEMPLATE_POSE, adjacency, normalized_adjacency
from .config import DGNetConfig

_BIG = 1e9


def pairwise_sq_dist(a: Tensor, b: Tensor) -> Tensor:
    """Squared Euclidean distances (..., I, J) between rows of a (..., I, C) and b (..., J, C).

    Both sets are first centred on a's mean (distances are translation invariant): this
    keeps the |a|^2 + |b|^2 - 2ab expansion well conditioned, so torch and onnxruntime pick
    the same neighbours. Computed in float32 even under autocast (neighbour choice must
    not depend on the precision of the step).
    """
    a, b = a.float(), b.float()
    centre = a.mean(dim=-2, keepdim=True)
    a, b = a - centre, b - centre
    aa = (a * a).sum(-1, keepdim=True)
    bb = (b * b).sum(-1).unsqueeze(-2)
    with torch.autocast(a.device.type, enabled=False):
        ab = a @ b.transpose(-1, -2)
    return (aa + bb - 2.0 * ab).clamp_min(0.0)


def knn_mask(dist: Tensor, k: int) -> Tensor:
    """0/1 mask with exactly k ones per row at the k smallest distances."""
    idx = torch.topk(dist, k, dim=-1, largest=False).indices
    return torch.zeros_like(dist).scatter(-1, idx, 1.0)


def _random_mask(rows: int, cols: int, k: int, seed: int, exclude_self: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros((rows, cols), dtype=np.float32)
    for i in range(rows):
        choices = [j for j in range(cols) if not (exclude_self and j == i)]
        m[i, rng.choice(choices, size=k, replace=False)] = 1.0
    return m


# ------------------------------------------------------------------------ edge weighting
class EdgeWeighting(nn.Module):
    """Importance of the kept edges of a 0/1 mask (B, T, I, J).

    ``fc`` (the paper's, Eq. 5 / 11): ``R(i, j) = w_a . x_i + w_b . x_j + b`` (one FC layer on
    the concatenation), ``B = D * R``; with ``activation="sigmoid"`` (the default, a named
    deviation) ``R = sigmoid(FC)``, bounded in (0, 1). Starts uniform (w = 0; b = 0, or
    1 / K without the sigmoid).
    ``mlp``: ``v . relu(A x_i + B x_j)`` soft-maxed over the kept neighbours (before v2).
    ``gaussian``: ``theta(x_i) . phi(x_j) / sqrt(d)`` soft-maxed. ``none``: uniform 1/K.
    """

    def __init__(self, kind: str, channels: int, hidden: int, k: int,
                 activation: str = "sigmoid") -> None:
        super().__init__()
        self.kind = kind
        self.hidden = hidden
        self.activation = activation
        if kind == "fc":
            self.fc = nn.Linear(2 * channels, 1)
            nn.init.zeros_(self.fc.weight)
            nn.init.constant_(self.fc.bias, 0.0 if activation == "sigmoid" else 1.0 / k)
        elif kind == "mlp":
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
            c = hi.shape[-1]
            w = self.fc.weight[0]
            # FC([x_i, x_j]) = w[:C] . x_i + w[C:] . x_j + b, as an outer sum: no (I, J, 2C)
            si = (hi @ w[:c].to(hi.dtype)).unsqueeze(-1) + self.fc.bias.to(hi.dtype)
            sj = (hj @ w[c:].to(hj.dtype)).unsqueeze(-2)
            r = torch.sigmoid(si + sj) if self.activation == "sigmoid" else si + sj
            return r * mask.to(si.dtype)
        if self.kind == "mlp":
            pair = torch.relu(self.query(hi).unsqueeze(-2) + self.key(hj).unsqueeze(-3))
            s = self.score(pair).squeeze(-1)
        else:
            s = self.query(hi) @ self.key(hj).transpose(-1, -2) / math.sqrt(self.hidden)
        s = s.float() + (mask - 1.0) * _BIG
        return (torch.softmax(s, dim=-1) * mask).to(hi.dtype)


# ------------------------------------------------------------------------ FSG
class SkeletonConv(nn.Module):
    """One FSG graph-conv layer (B, T, J, Cin) -> (B, T, J, Cout) on the skeleton graph.

    ``shared``: ``Y = A (X W) + b`` with the fixed normalised adjacency (bones + self loops).
    ``semgcn``: ``Y = diag(M) X W_0 + (M - diag(M)) X W_1 + b`` where M is a row-wise softmax
    of one learnable logit per skeleton edge (initialised to 1, SemGCN's choice).
    """

    def __init__(self, cin: int, cout: int, style: str) -> None:
        super().__init__()
        self.style = style
        if style == "shared":
            self.lin = nn.Linear(cin, cout)
            adj = torch.from_numpy(normalized_adjacency(adjacency(self_loops=True)))
            self.register_buffer("adj", adj, persistent=False)
            return
        mask = torch.from_numpy(adjacency(self_loops=True)) > 0
        self.register_buffer("edge_mask", mask, persistent=False)
        self.register_buffer("eye", torch.eye(len(mask)), persistent=False)
        self.edge_logit = nn.Parameter(torch.ones(int(mask.sum())))
        self.w_self = nn.Linear(cin, cout)
        self.w_neigh = nn.Linear(cin, cout, bias=False)

    def affinity(self) -> Tensor:
        """The (J, J) row-stochastic skeleton affinity M (``shared``: the fixed A)."""
        if self.style == "shared":
            return self.adj
        logits = torch.full(self.edge_mask.shape, -_BIG, device=self.edge_logit.device,
                            dtype=self.edge_logit.dtype)
        logits = logits.masked_scatter(self.edge_mask, self.edge_logit)
        return torch.softmax(logits, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        if self.style == "shared":
            return self.lin(self.adj.to(x.dtype) @ x)
        m = self.affinity()
        diag = torch.diagonal(m).unsqueeze(-1)
        off = (m * (1.0 - self.eye)).to(x.dtype)
        return diag.to(x.dtype) * self.w_self(x) + off @ self.w_neigh(x)


# ------------------------------------------------------------------------ DSG
class SpatialGraph(nn.Module):
    """DSG slot: (B, T, J, J) affinity over the joints of each frame.

    ``dynamical`` builds a KNN graph on the features (Eq. 3; with ``include_self`` joint i
    is one of its K neighbours); other styles use a fixed 0/1 mask. Kept edges are
    weighted by ``EdgeWeighting``.
    """

    def __init__(self, cfg: DGNetConfig, style: str, k: int, nodes: int,
                 include_self: bool) -> None:
        super().__init__()
        self.style, self.k = style, k
        self.weighting = EdgeWeighting(cfg.weighting, cfg.channels, cfg.importance_hidden, k,
                                       cfg.fc_activation)
        if style != "dynamical":
            mask = _static_spatial_mask(style, k, nodes, cfg.graph_seed)
            self.register_buffer("static_mask", torch.from_numpy(mask), persistent=False)
        self.register_buffer("not_self", torch.eye(nodes) * (0.0 if include_self else _BIG),
                             persistent=False)

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


# ------------------------------------------------------------------------ DTG
def motion_knn_mask(h: Tensor, k: int) -> Tensor:
    """Eq. 10: (B, T-1, J, J) mask; row i of step t keeps the K joints j whose motion
    ``h[t+1, j] - h[t, j]`` is nearest to joint i's motion ``h[t+1, i] - h[t, i]``."""
    motion = h[:, 1:] - h[:, :-1]
    return knn_mask(pairwise_sq_dist(motion, motion), k)


class TemporalGraph(nn.Module):
    """DTG slot: forward (t -> t+1) and backward (t+1 -> t) affinities, each (B, T-1, J, J).

    ``dynamical`` with ``motion`` distance (Eq. 10): one KNN over the motions between t and
    t+1 serves both directions (the backward motion ``x_{t+1} - x_t`` of frame t+1 is the
    forward motion of frame t). ``cross_frame`` (before v2): joints j at t+1 nearest to
    ``x_t^i``. Kept edges are FC-weighted (Eq. 11-13).
    """

    def __init__(self, cfg: DGNetConfig) -> None:
        super().__init__()
        j, k = cfg.num_joints, cfg.k_temporal
        self.style, self.k, self.distance = cfg.temporal_graph, k, cfg.dtg_distance
        args = (cfg.weighting, cfg.channels, cfg.importance_hidden, k, cfg.fc_activation)
        self.weight_fwd = EdgeWeighting(*args)
        self.weight_bwd = EdgeWeighting(*args)
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

    def masks(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(forward, backward) 0/1 masks before importance weighting."""
        cur, nxt = h[:, :-1], h[:, 1:]
        if self.style != "dynamical":
            m = self.static_mask.expand(cur.shape[0], cur.shape[1], -1, -1)
            return m, m
        if self.distance == "motion":
            m = motion_knn_mask(h, self.k)
            return m, m
        return (knn_mask(pairwise_sq_dist(cur, nxt), self.k),
                knn_mask(pairwise_sq_dist(nxt, cur), self.k))

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        cur, nxt = h[:, :-1], h[:, 1:]
        m_fwd, m_bwd = self.masks(h)
        return self.weight_fwd(cur, nxt, m_fwd), self.weight_bwd(nxt, cur, m_bwd)
