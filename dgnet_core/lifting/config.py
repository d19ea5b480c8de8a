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
* ``weighting``: importance of the kept edges: ``fc`` (Eq. 5-6 / 11-12: one FC layer on
  the concatenation ``[x_i, x_j]``, ``B = D * R``, the paper's), ``mlp`` (a 2-layer
  perceptron soft-maxed over the kept neighbours; before v2), ``gaussian`` (embedded
  Gaussian), ``none`` (uniform). ``fc_activation``: ``sigmoid`` bounds R in (0, 1) (our
  deviation: the literal linear R made eval-mode outputs overflow in training, see
  docs/MODEL.md), ``none`` is the literal form.
* ``dsg_include_self``: Eq. 3 taken literally: joint i is its own nearest neighbour, so K
  counts it (the paper's); False takes K *other* joints (before v2).
* ``dtg_distance``: ``motion`` (Eq. 10: joints whose motion ``x_{t+1}^j - x_t^j`` is nearest
  to joint i's motion, the paper's) or ``cross_frame`` (``||x_{t+1}^j - x_t^i||``, before v2).
* ``fsg_weighting``: ``semgcn`` (learnable per-edge weights and separate self/neighbour
  transforms, SemGCN's good practice that the paper's FSG follows; breaks the left/right
  symmetry) or ``shared`` (one normalised adjacency for every joint, before v2).
* ``head``: ``fsg`` (block and network heads are a final FSG layer, the paper's) or
  ``mlp`` (per-joint perceptron over the window, before v2).
* ``output_frames``: ``all`` (Eq. 15-17: a pose for every frame of the window, the
  paper's) or ``center`` (frame T // 2 only, before v2).
* ``spatial_unit`` / ``temporal_unit``: unit composition (Table VIII; best FSG+DSG and
  FTG+DTG+FTG).
* ``num_blocks`` and ``num_frames``.
* ``factorised``: True = spatial then temporal unit (the paper's); False = one unified
  space-time dynamical graph over all T*J nodes (``DUG``) in place of DSG and DTG.
* ``input_frame``: ``screen`` (screen-normalised pixels, the paper's) or ``root_ray`` (each
  window re-projected into a virtual camera looking along the ray through the pelvis, so
  the input does not depend on where the person stands in the picture; our deviation,
  ``dgnet_core.lifting.input_frame``, measured in docs/BENCHMARKS.md).
* ``output``: ``xyz`` (root-relative camera XYZ), ``balanced`` (Table XI as its discussion
  defines it: ``P = ((X + X_bar) / 2, (Y + Y_bar) / 2, Z)`` with ``X_bar = Z (U - c_x) / f``)
  or ``balanced_xyzd`` (before v2: a 4th depth channel, Z averaged as well).

Stored configs carry ``version``; a config written before v2 (no version) is read with the
values it was trained with (``LEGACY_V1``), so old weights load unchanged.

Choices the paper leaves open are documented in docs/MODEL.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

SPATIAL_GRAPHS = ("dynamical", "fixed", "symmetry", "full", "random", "precomputed")
TEMPORAL_GRAPHS = ("dynamical", "fixed", "full", "random")
WEIGHTINGS = ("fc", "mlp", "gaussian", "none")
DTG_DISTANCES = ("motion", "cross_frame")
FC_ACTIVATIONS = ("sigmoid", "none")
FSG_WEIGHTINGS = ("semgcn", "shared")
HEADS = ("fsg", "mlp")
OUTPUT_FRAMES = ("all", "center")
CONFIG_VERSION = 2
# What a stored config without ``version`` meant (the model as it was before v2).
LEGACY_V1 = {"dsg_include_self": False, "dtg_distance": "cross_frame",
             "fsg_weighting": "shared", "head": "mlp", "output_frames": "center"}
MODULE_KINDS = ("FSG", "DSG", "FTG", "DTG")
OUTPUTS = ("xyz", "balanced", "balanced_xyzd")
INPUT_FRAMES = ("screen", "root_ray")


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
    fc_activation: str = "sigmoid"  # fc importance: sigmoid(FC) in (0, 1), or none (literal)
    dsg_include_self: bool = True
    dtg_distance: str = "motion"
    fsg_weighting: str = "semgcn"
    head: str = "fsg"
    output_frames: str = "all"
    balanced_depth: float = 5.0     # metres added to the predicted Z before back-projection
    input_frame: str = "screen"     # screen (paper) | root_ray (dgnet_core.lifting.input_frame)
    version: int = CONFIG_VERSION

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
            (self.input_frame in INPUT_FRAMES, f"input_frame must be one of {INPUT_FRAMES}"),
            (self.dtg_distance in DTG_DISTANCES, f"dtg_distance must be one of {DTG_DISTANCES}"),
            (self.fc_activation in FC_ACTIVATIONS,
             f"fc_activation must be one of {FC_ACTIVATIONS}"),
            (self.fsg_weighting in FSG_WEIGHTINGS,
             f"fsg_weighting must be one of {FSG_WEIGHTINGS}"),
            (self.head in HEADS, f"head must be one of {HEADS}"),
            (self.output_frames in OUTPUT_FRAMES,
             f"output_frames must be one of {OUTPUT_FRAMES}"),
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
    def all_frames(self) -> bool:
        """True when the network predicts every frame of its window, (B, T, J, 3)."""
        return self.output_frames == "all"

    @property
    def balanced(self) -> bool:
        """True when the output uses the camera intrinsics (either balanced form)."""
        return self.output.startswith("balanced")

    @property
    def needs_camera(self) -> bool:
        """True when lifting needs the intrinsics (balanced output or the root_ray input)."""
        return self.balanced or self.input_frame == "root_ray"

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
        if "version" not in data:  # written before v2: keep what it was trained with
            data = {**LEGACY_V1, **data, "version": 1}
            if data.get("weighting") == "fc":
                data["weighting"] = "mlp"
            if data.get("output") == "balanced":
                data["output"] = "balanced_xyzd"
        return cls(**data)
