"""DG-Net: dynamical spatial/temporal graph convolution for 2D-to-3D pose lifting.

Tensors are laid out ``(B, T, J, C)``: batch, frames of the window, joints, channels.
The graphs (FSG, DSG, DTG affinities and their importance weighting) live in
``dgnet_core.lifting.graphs``; this module assembles them (docs/MODEL.md cites every equation):

* Each graph conv is a residual module of two layers (graph conv, BatchNorm, ReLU) computed
  on one graph built from the module's input. FTG (Eq. 8-9) is ``X_t W_x + X_{t+1} W_f +
  X_{t-1} W_b``; DTG (Eq. 13-14) adds ``Q_f X_{t+1} U_f + Q_b X_{t-1} U_b``.
* A spatial non-local block (embedded Gaussian, near identity at init) follows each unit.
  A DG-Conv block is FSG+DSG, non-local, FTG+DTG+FTG, non-local.
* Five blocks, each with a 3D head (block loss); a network head on the concatenated block
  features. With ``head="fsg"`` (the paper's) both are a final FSG layer, and with
  ``output_frames="all"`` they predict every frame of the window (Eq. 15-17).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..skeleton import adjacency, normalized_adjacency
from .config import DGNetConfig
from .graphs import SkeletonConv, SpatialGraph, TemporalGraph


# ------------------------------------------------------------------------------ helpers
def _batch_norm(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    return bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)


# ----------------------------------------------------------------------- graph modules
class GraphConvModule(nn.Module):
    """Residual module of two graph-conv layers sharing one graph built from its input.

    kind: FSG, DSG, FTG, DTG, or DUG (unified space-time dynamical graph over T*J nodes).
    """

    def __init__(self, kind: str, cfg: DGNetConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.kind = kind
        self.semantic_fsg = kind == "FSG" and cfg.fsg_weighting == "semgcn"
        if self.semantic_fsg:
            self.lin = nn.ModuleList([SkeletonConv(c, c, "semgcn") for _ in range(2)])
        else:
            fan_in = {"FSG": c, "DSG": c, "DUG": c, "FTG": 3 * c, "DTG": 3 * c}[kind]
            self.lin = nn.ModuleList([nn.Linear(fan_in, c) for _ in range(2)])
        self.bn = nn.ModuleList([nn.BatchNorm1d(c) for _ in range(2)])
        self.drop = nn.Dropout(cfg.dropout)
        if kind == "FSG" and not self.semantic_fsg:
            adj = torch.from_numpy(normalized_adjacency(adjacency(self_loops=True)))
            self.register_buffer("adj", adj, persistent=False)
        elif kind == "DSG":
            self.graph = SpatialGraph(cfg, cfg.spatial_graph, cfg.k_spatial, cfg.num_joints,
                                      cfg.dsg_include_self)
        elif kind == "DUG":
            self.graph = SpatialGraph(cfg, "dynamical", cfg.k_spatial + cfg.k_temporal,
                                      cfg.num_joints * cfg.num_frames, cfg.dsg_include_self)
        elif kind == "DTG":
            self.graph = TemporalGraph(cfg)

    def build_graph(self, h: Tensor):
        if self.kind == "FTG" or self.semantic_fsg:
            return None
        if self.kind == "FSG":
            return self.adj
        if self.kind == "DUG":
            b, t, j, c = h.shape
            return self.graph(h.reshape(b, 1, t * j, c))
        return self.graph(h)

    def _layer(self, i: int, h: Tensor, graph) -> Tensor:
        if self.semantic_fsg:
            return _batch_norm(self.bn[i], self.lin[i](h))
        if self.kind in ("FSG", "DSG"):
            agg = graph.to(h.dtype) @ h
        elif self.kind == "DUG":
            b, t, j, c = h.shape
            agg = (graph @ h.reshape(b, 1, t * j, c)).reshape(b, t, j, c)
        else:  # FTG, DTG
            return _batch_norm(self.bn[i], self._temporal_layer(self.lin[i], h, graph))
        return _batch_norm(self.bn[i], self.lin[i](agg))

    def _temporal_layer(self, lin: nn.Linear, h: Tensor, graph) -> Tensor:
        """``[X_t, G_f X_{t+1}, G_b X_{t-1}] W + b`` computed as ``X_t W_x + b + G_f (X_{t+1}
        W_f) + G_b (X_{t-1} W_b)``: one (C -> 3C) product, no concatenated copy (same maths;
        FTG has G = identity, DTG G = Q). Frames beyond the window contribute zero."""
        c_out, c_in = lin.weight.shape[0], h.shape[-1]
        w = lin.weight.reshape(c_out, 3, c_in).transpose(0, 1).reshape(3 * c_out, c_in)
        z = nn.functional.linear(h, w)
        zx, zf, zb = z[..., :c_out], z[..., c_out:2 * c_out], z[..., 2 * c_out:]
        nxt, prev = zf[:, 1:], zb[:, :-1]
        if graph is not None:
            q_fwd, q_bwd = graph
            nxt, prev = q_fwd.to(z.dtype) @ nxt, q_bwd.to(z.dtype) @ prev
        pad = nn.functional.pad
        return (zx + lin.bias.to(z.dtype) + pad(nxt, (0, 0, 0, 0, 0, 1))
                + pad(prev, (0, 0, 0, 0, 1, 0)))

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
    """Per-joint perceptron over the window's features (before v2):
    (B, T, J, C) -> (B, J, out * frames_out)."""

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


def _out_channels(cfg: DGNetConfig) -> int:
    return 4 if cfg.output == "balanced_xyzd" else 3


# ---------------------------------------------------------------------------- network
class DGNet(nn.Module):
    """The DG-Net lifter.

    ``forward(x)`` -> root-relative poses: (B, T, 17, 3) for every frame of the window
    (``output_frames="all"``) or (B, 17, 3) for frame T // 2 (``"center"``).
    """

    def __init__(self, cfg: DGNetConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or DGNetConfig()
        self.cfg = cfg
        c = cfg.channels
        if cfg.fsg_weighting == "semgcn":  # FSG input layer: 2D -> C on the skeleton graph
            self.embed = SkeletonConv(cfg.in_channels, c, "semgcn")
        else:
            adj = torch.from_numpy(normalized_adjacency(adjacency()))
            self.register_buffer("adj", adj, persistent=False)
            self.embed = nn.Linear(cfg.in_channels, c)
        self.embed_bn = nn.BatchNorm1d(c)
        self.blocks = nn.ModuleList([DGConvBlock(cfg) for _ in range(cfg.num_blocks)])
        out = _out_channels(cfg)
        if cfg.head == "fsg":
            self.block_heads = nn.ModuleList(
                [SkeletonConv(c, 3, cfg.fsg_weighting) for _ in range(cfg.num_blocks)]
            ) if cfg.block_heads else None
            self.head = SkeletonConv(cfg.num_blocks * c, out, cfg.fsg_weighting)
        else:
            frames_out = cfg.num_frames if cfg.all_frames else 1
            self.block_heads = nn.ModuleList(
                [PoseHead(cfg.num_frames, c, cfg.block_head_hidden, 3 * frames_out)
                 for _ in range(cfg.num_blocks)]) if cfg.block_heads else None
            self.fuse = nn.Linear(cfg.num_blocks * c, c)
            self.fuse_bn = nn.BatchNorm1d(c)
            self.head = PoseHead(cfg.num_frames, c, None, out * frames_out)

    # -- features
    def _features(self, x: Tensor, collect: list | None) -> list[Tensor]:
        cfg = self.cfg
        expected = (cfg.num_frames, cfg.num_joints, cfg.in_channels)
        if not torch.jit.is_tracing() and (x.dim() != 4 or tuple(x.shape[1:]) != expected):
            raise ValueError(f"expected input (B, {cfg.num_frames}, {cfg.num_joints}, "
                             f"{cfg.in_channels}), got {tuple(x.shape)}")
        if cfg.fsg_weighting == "semgcn":
            h = self.embed(x)
        else:
            h = self.adj @ self.embed(x)
        h = torch.relu(_batch_norm(self.embed_bn, h))
        feats = []
        for b, block in enumerate(self.blocks):
            h = block(h, collect, f"block{b}.")
            feats.append(h)
        return feats

    def _head(self, head: nn.Module, f: Tensor, out: int) -> Tensor:
        """(B, T, J, out) for every frame, or (B, J, out) for the target frame."""
        cfg = self.cfg
        if cfg.head == "fsg":
            y = head(f)
            return y if cfg.all_frames else y[:, cfg.target_index]
        y = head(f)
        if not cfg.all_frames:
            return y
        b, j, _ = y.shape
        return y.reshape(b, j, cfg.num_frames, out).transpose(1, 2)

    def _network_head(self, feats: list[Tensor], x: Tensor, cam: Tensor | None) -> Tensor:
        cat = torch.cat(feats, dim=-1)
        if self.cfg.head == "fsg":
            raw = self._head(self.head, cat, _out_channels(self.cfg))
        else:
            fused = torch.relu(_batch_norm(self.fuse_bn, self.fuse(cat)))
            raw = self._head(self.head, fused, _out_channels(self.cfg))
        raw = raw.float()
        if self.cfg.balanced:
            return self._balanced(raw, x, cam)
        return raw - raw[..., :1, :]

    def _balanced(self, raw: Tensor, x: Tensor, cam: Tensor | None) -> Tensor:
        """Table XI: average predicted X/Y with the input UV back-projected at depth Z.

        ``balanced`` (the paper): ``P = ((X + Z (U - c_x) / f_x) / 2, (Y + Z (V - c_y) / f_y)
        / 2, Z)`` with Z the predicted camera depth (``balanced_depth`` + the raw Z).
        ``balanced_xyzd`` (before v2): a 4th channel is the depth, and Z is averaged too.
        """
        if cam is None:
            raise ValueError("a balanced-output model needs cam = (B, 4) [fx, fy, cx, cy] in "
                             "screen-normalised units")
        cam = cam.float()
        uv = x[..., :2].float()
        if not self.cfg.all_frames:
            uv = uv[:, self.cfg.target_index]
        shape = (-1,) + (1,) * (uv.dim() - 2) + (2,)
        f, c = cam[:, :2].reshape(shape), cam[:, 2:].reshape(shape)
        if self.cfg.output == "balanced":
            depth = raw[..., 2] + self.cfg.balanced_depth
            back = (uv - c) / f * depth.unsqueeze(-1)
            p = torch.cat([0.5 * (raw[..., :2] + back), depth.unsqueeze(-1)], dim=-1)
            return p - p[..., :1, :]
        xyz = raw[..., :3] - raw[..., :1, :3]
        depth = raw[..., 3] + self.cfg.balanced_depth
        back = (uv - c) / f * depth.unsqueeze(-1)
        back = back - back[..., :1, :]
        rel_depth = depth - depth[..., :1]
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
            p = self._head(head, f, 3).float()
            block_ys.append(p - p[..., :1, :])
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


def l2_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Eq. 15-16: squared L2 error summed over the frames and joints, averaged over the batch.

    ``pred``/``target`` are (B, T, J, 3) or (B, J, 3) (one frame).
    """
    return ((pred - target) ** 2).sum(-1).reshape(pred.shape[0], -1).sum(-1).mean()


LOSSES = {"l2": l2_loss, "mpjpe": mpjpe}


def multilevel_loss(y: Tensor, block_ys: list[Tensor], target: Tensor,
                    weight: float = 0.1, kind: str = "mpjpe") -> Tensor:
    """Eq. 17: network loss + weight * sum of block losses (weight is lambda = 0.1).

    ``kind``: ``l2`` (Eq. 15-16, the paper's) or ``mpjpe`` (mean joint distance).
    """
    fn = LOSSES[kind]
    for p in (y, *block_ys):
        if p.shape != target.shape:
            raise ValueError(f"prediction {tuple(p.shape)} and target {tuple(target.shape)} "
                             "differ in shape")
    loss = fn(y, target)
    for b in block_ys:
        loss = loss + weight * fn(b, target)
    return loss


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
