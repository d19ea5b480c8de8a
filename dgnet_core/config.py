"""DG-Net configuration: one dataclass whose defaults are the paper's model.

The paper (Zhang et al., "Learning Dynamical Human-Joint Affinity for 3D Pose Estimation in
Videos", TIP 2021) fixes the structure; every ablation it reports is reachable from here:

* ``k_spatial`` / ``k_temporal``: K of the DSG (3) and DTG (4) nearest-neighbour graphs.
* ``spatial_graph``: what fills the DSG slot: ``dynamical`` (per-frame KNN over joint
  features, the paper's), ``fixed`` (skeleton bones), ``symmetry`` (bones + left/right
  links), ``full`` (all joints), ``random`` (K random joints per row, fixed at init),
  ``precomputed`` (K nearest joints of a template body, fixed).
* ``temporal_graph``: what fills the DTG slot: ``dynamical`` (KNN over motion differences,
  the paper's), ``fixed`` (the same joint at t-1/t+1), ``full``, ``random``.
* ``weighting``: importance of the kept edges: ``fc`` (fully-connected layer on the
  concatenated features, the paper's), ``gaussian`` (embedded Gaussian), ``none`` (uniform).
* ``spatial_unit`` / ``temporal_unit``: unit composition (Table VIII; best FSG+DSG and
  FTG+DTG+FTG).
* ``num_blocks`` and ``num_frames``.
* ``factorised``: True = spatial then temporal unit (the paper's); False = one unified
  space-time dynamical graph over all T*J nodes (``DUG``) in place of DSG and DTG.
* ``output``: ``xyz`` (root-relative camera XYZ) or ``balanced`` (Table XI: also predict
  depth, back-project the input UV with the intrinsics and average the two X/Y estimates).

Choices the paper leaves open are documented in docs/MODEL.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

SPATIAL_GRAPHS = ("dynamical", "fixed", "symmetry", "full", "random", "precomputed")
TEMPORAL_GRAPHS = ("dynamical", "fixed", "full", "random")
WEIGHTINGS = ("fc", "gaussian", "none")
MODULE_KINDS = ("FSG", "DSG", "FTG", "DTG")
OUTPUTS = ("xyz", "balanced")


@dataclass(frozen=True)
class DGNetConfig:
    """DG-Net hyper-parameters; defaults are the paper's (T=4, 5 blocks, 128 channels)."""

    num_joints: int = 17
    in_channels: int = 2
    num_frames: int = 4
    channels: int = 128
    num_blocks: int = 5
    k_spatial: int = 3
    k_temporal: int = 4
    spatial_graph: str = "dynamical"
    temporal_graph: str = "dynamical"
    weighting: str = "fc"
    spatial_unit: tuple[str, ...] = ("FSG", "DSG")
    temporal_unit: tuple[str, ...] = ("FTG", "DTG", "FTG")
    factorised: bool = True
    non_local: bool = True
    block_heads: bool = True
    block_loss_weight: float = 0.1
    importance_hidden: int = 32
    block_head_hidden: int = 112
    dropout: float = 0.0
    output: str = "xyz"
    graph_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "spatial_unit", tuple(self.spatial_unit))
        object.__setattr__(self, "temporal_unit", tuple(self.temporal_unit))
        checks = [
            (self.spatial_graph in SPATIAL_GRAPHS,
             f"spatial_graph must be one of {SPATIAL_GRAPHS}"),
            (self.temporal_graph in TEMPORAL_GRAPHS,
             f"temporal_graph must be one of {TEMPORAL_GRAPHS}"),
            (self.weighting in WEIGHTINGS, f"weighting must be one of {WEIGHTINGS}"),
            (self.output in OUTPUTS, f"output must be one of {OUTPUTS}"),
            (all(m in MODULE_KINDS for m in self.spatial_unit + self.temporal_unit),
             f"unit modules must be among {MODULE_KINDS}"),
            (self.in_channels in (2, 3), "in_channels must be 2 (x, y) or 3 (x, y, confidence)"),
            (self.num_frames >= 1 and self.num_blocks >= 1, "num_frames and num_blocks >= 1"),
            (0 < self.k_spatial < self.num_joints, "k_spatial must be in [1, num_joints)"),
            (0 < self.k_temporal <= self.num_joints, "k_temporal must be in [1, num_joints]"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    @property
    def target_index(self) -> int:
        """Frame of the window whose pose is predicted: T // 2 (frame t of [t-2, t-1, t, t+1])."""
        return self.num_frames // 2

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DGNetConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown DGNetConfig fields: {sorted(unknown)}")
        return cls(**data)
