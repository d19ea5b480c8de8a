"""Training configuration: one dataclass, named presets and the paper's ablations.

``TrainConfig`` defaults are the paper's recipe (Adam, lr 1e-3, exponential decay,
multi-level loss with lambda 0.1 from ``dgnet_core.lifting.model``, batch 64, 200 epochs, ground
truth 2D). Presets change only what differs; ``--set key=value`` and ``--model
key=value`` on the command line override single fields.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from dgnet_core.lifting.config import DGNetConfig

from .reproject import AugmentConfig

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "h36m"
DEFAULT_MOCAP = REPO.parent / "shared" / "data" / "mocap"
INPUT_SOURCES = ("gt", "det", "reproject")
LR_SCHEDULES = ("exp", "cosine")
OPTIMIZERS = ("adam", "adamw")
LOSS_KINDS = ("l2", "mpjpe")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; serialised to JSON next to its checkpoints."""

    preset: str = "paper"
    model: DGNetConfig = field(default_factory=DGNetConfig)
    data_root: str = str(DEFAULT_DATA)
    train_subjects: tuple[str, ...] = ("S1", "S5", "S6", "S7", "S8")
    test_subjects: tuple[str, ...] = ("S9", "S11")
    train_actions: tuple[str, ...] | None = None    # None = all 15 (cross-action: one)
    input_source: str = "gt"                        # gt | det | reproject
    mocap_root: str = str(DEFAULT_MOCAP)            # second motion-capture source
    mocap_share: float = 0.0                        # share of samples from it (reproject)
    mocap_split: str = ""                           # its held-out list ("" = the committed
                                                    # training/splits/bandai_held_out.txt)
    frame_step: int = 1                             # keep every n-th training frame
    flip_prob: float = 0.5                          # fixed-2D sources
    noise_px: float = 0.0                           # fixed-2D sources: Gaussian std (px)
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # reproject source
    epochs: int = 200
    batch_size: int = 64                            # per process
    lr: float = 1e-3
    lr_schedule: str = "exp"                        # exp (per epoch) | cosine (per step)
    lr_decay: float = 0.95                          # exp: factor per epoch
    warmup_steps: int = 0                           # linear warm-up from lr / 100
    min_lr_frac: float = 0.01                       # cosine: final lr / lr
    optimizer: str = "adam"                         # adam | adamw
    weight_decay: float = 0.0
    grad_clip: float = 0.0                          # 0 = off
    loss: str = "l2"                                # l2 (Eq. 15-17) | mpjpe
    block_loss_weight: float | None = None          # None = model.block_loss_weight (0.1)
    bf16: bool = False                              # bf16 autocast (CUDA, or CPUs with bf16)
    compile: bool = False                           # torch.compile on CUDA only
    seed: int = 0
    val_frame_step: int = 100                       # held-out subset used during training
    val_every_steps: int = 0                        # 0 = once per epoch
    ckpt_minutes: float = 5.0
    max_minutes: float = 0.0                        # 0 = no limit
    max_steps: int = 0                              # 0 = no limit (tests)
    threads: int = 1                                # torch CPU threads
    init_from: str = ""                             # fine-tune: start from this run's
                                                    # checkpoint (model tensors only)

    def __post_init__(self) -> None:
        if self.input_source not in INPUT_SOURCES:
            raise ValueError(f"input_source must be one of {INPUT_SOURCES}")
        for name, value, allowed in (("lr_schedule", self.lr_schedule, LR_SCHEDULES),
                                     ("optimizer", self.optimizer, OPTIMIZERS),
                                     ("loss", self.loss, LOSS_KINDS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}")
        if not 0.0 <= self.mocap_share < 1.0:
            raise ValueError("mocap_share must be in [0, 1)")
        if self.augment.in_channels != self.model.in_channels:
            object.__setattr__(self, "augment",
                               replace(self.augment, in_channels=self.model.in_channels))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        d = json.loads(text)
        d["model"] = DGNetConfig(**d["model"])
        aug = d["augment"]
        aug["aspects"] = tuple(tuple(a) for a in aug["aspects"])
        d["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in aug.items()})
        for k in ("train_subjects", "test_subjects", "train_actions"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)


PRESETS: dict[str, dict] = {
    # The paper's recipe: ground-truth 2D, 2 input channels, batch 64, 200 epochs, the
    # balanced UV-D output of its headline numbers (Table XI).
    "paper": {"model": {"output": "balanced"}},
    # Same with the Stacked-Hourglass detections as input.
    "paper_det": {"model": {"output": "balanced"}, "input_source": "det"},
    # Large-batch GPU form of the paper's recipe (linear lr scaling, fewer epochs, bf16 +
    # compile on CUDA).
    "fast": {"model": {"output": "balanced"}, "batch_size": 1024, "lr": 4e-3, "epochs": 60,
             "lr_decay": 0.93, "bf16": True, "compile": True, "val_frame_step": 20},
    "fast_det": {"model": {"output": "balanced"}, "input_source": "det", "batch_size": 1024,
                 "lr": 4e-3, "epochs": 60, "lr_decay": 0.93, "bf16": True, "compile": True,
                 "val_frame_step": 20},
    # The shipped model: the paper's network (v2) at half width (64 channels) with
    # (x, y, confidence) input, random cameras and detector-like corruption; the CPU long
    # run (time-bounded, every 4th frame as a window centre). 64 channels: 3.5x cheaper per
    # sample than 128, and lifting costs a quarter of the FLOPs. MPJPE loss instead of the
    # paper's squared L2: it learned faster in a side-by-side trial (docs/BENCHMARKS.md).
    "default": {"model": {"in_channels": 3, "channels": 64, "block_head_hidden": 56},
                "input_source": "reproject", "frame_step": 4, "epochs": 40, "lr_decay": 0.9,
                "loss": "mpjpe",
                "val_frame_step": 200, "ckpt_minutes": 4.0, "val_every_steps": 500,
                "augment": {"real_camera_prob": 0.6}},
    # The same on a GPU: all frames, large batches.
    "default_gpu": {"model": {"in_channels": 3}, "input_source": "reproject",
                    "frame_step": 1, "batch_size": 1024, "lr": 4e-3, "epochs": 60,
                    "lr_decay": 0.93, "bf16": True, "compile": True, "val_frame_step": 20},
    # Tiny model and data for tests and smoke runs.
    "tiny": {"model": {"channels": 32, "num_blocks": 1, "importance_hidden": 8,
                       "block_head_hidden": 16}, "train_subjects": ("S1",),
             "test_subjects": ("S9",), "frame_step": 10, "epochs": 2, "batch_size": 32,
             "val_frame_step": 50},
}

# The paper's ablations (Tables II-XI) as DGNetConfig overrides.
ABLATIONS: dict[str, dict] = {
    **{f"k_spatial_{k}": {"k_spatial": k} for k in (1, 2, 3, 4, 5)},
    **{f"k_temporal_{k}": {"k_temporal": k} for k in (1, 2, 3, 4, 5)},
    **{f"spatial_{g}": {"spatial_graph": g}
       for g in ("fixed", "symmetry", "full", "random", "precomputed", "dynamical")},
    **{f"temporal_{g}": {"temporal_graph": g} for g in ("fixed", "full", "random", "dynamical")},
    **{f"weighting_{w}": {"weighting": w} for w in ("none", "fc", "gaussian")},
    "unit_fsg": {"spatial_unit": ("FSG",), "temporal_unit": ("FTG",)},
    "unit_fsg_dsg": {"spatial_unit": ("FSG", "DSG"), "temporal_unit": ("FTG",)},
    "unit_ftg_dtg": {"spatial_unit": ("FSG", "DSG"), "temporal_unit": ("FTG", "DTG")},
    "unit_ftg_dtg_ftg": {"spatial_unit": ("FSG", "DSG"), "temporal_unit": ("FTG", "DTG", "FTG")},
    **{f"blocks_{b}": {"num_blocks": b} for b in (1, 2, 3, 4, 5, 6)},
    **{f"frames_{t}": {"num_frames": t} for t in (1, 2, 3, 4, 6, 8)},
    "unified": {"factorised": False},
    "no_non_local": {"non_local": False},
    "no_block_loss": {"block_heads": False},
    "balanced": {"output": "balanced"},
}


def _parse_value(text: str, current):
    if isinstance(current, bool):
        return text.lower() in ("1", "true", "yes", "on")
    if isinstance(current, int) and not isinstance(current, bool):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, tuple) or current is None and "," in text:
        return tuple(s for s in text.split(",") if s)
    if current is None:
        return None if text.lower() == "none" else (text,)
    return text


def _apply(obj, overrides: dict):
    valid = {f.name: f for f in fields(obj)}
    changes = {}
    for k, v in overrides.items():
        if k not in valid:
            raise ValueError(f"unknown field {k!r} of {type(obj).__name__}")
        cur = getattr(obj, k)
        if isinstance(v, dict):
            v = _apply(cur, v)
        elif isinstance(v, str) and not isinstance(cur, str):
            v = _parse_value(v, cur)
        changes[k] = v
    return replace(obj, **changes)


def make_config(preset: str = "paper", ablation: str | None = None,
                sets: list[str] | None = None, model_sets: list[str] | None = None,
                augment_sets: list[str] | None = None) -> TrainConfig:
    """Build a config from a preset, an optional ablation and ``key=value`` overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    cfg = _apply(TrainConfig(preset=preset), PRESETS[preset])
    if ablation:
        if ablation not in ABLATIONS:
            raise ValueError(f"unknown ablation {ablation!r}; choose from {sorted(ABLATIONS)}")
        cfg = replace(cfg, model=_apply(cfg.model, ABLATIONS[ablation]))

    def kv(items):
        out = {}
        for item in items or []:
            k, _, v = item.partition("=")
            out[k.strip()] = v.strip()
        return out

    if sets:
        cfg = _apply(cfg, kv(sets))
    if model_sets:
        cfg = replace(cfg, model=_apply(cfg.model, kv(model_sets)))
    if augment_sets:
        cfg = replace(cfg, augment=_apply(cfg.augment, kv(augment_sets)))
    return replace(cfg, augment=replace(cfg.augment, in_channels=cfg.model.in_channels))
