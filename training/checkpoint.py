"""Training checkpoints and mid-run recipe changes.

A checkpoint is one safetensors file: model and optimizer tensors plus the torch RNG state,
with the scheduler, optimizer groups and loop state as JSON metadata, so nothing is
unpickled on resume. Written atomically. A file named ``STOP`` in a run folder asks the
run to checkpoint and stop at its next step.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from dgnet_core.lifting.model import DGNet

from .config import TrainConfig, _apply

CHECKPOINT = "checkpoint.safetensors"
STOP_FILE = "STOP"  # create it in a run folder to stop that run cleanly at the next step


def change_augment(cfg: TrainConfig, change: dict, out: Path) -> TrainConfig:
    """Apply a mid-run augmentation change; record it in config.json and
    recipe_changes.jsonl (with the step it starts at)."""
    new = replace(cfg, augment=_apply(cfg.augment, change))
    step = 0
    if (out / CHECKPOINT).exists():
        with safe_open(str(out / CHECKPOINT), "pt") as f:
            step = int(json.loads(f.metadata()["state"])["step"])
    with open(out / "recipe_changes.jsonl", "a") as f:
        f.write(json.dumps({"step": step, "augment": {k: getattr(new.augment, k)
                                                       for k in change}}) + "\n")
    (out / "config.json").write_text(new.to_json())
    return new


def save_checkpoint(path: Path, net: DGNet, opt, sched, state: dict) -> None:
    """Model, optimizer, scheduler, RNG and loop state in one safetensors file (tensors, with
    the rest as JSON metadata: nothing is unpickled on resume); written atomically."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    opt_state = opt.state_dict()
    for pid, st in opt_state["state"].items():
        for k, v in st.items():
            tensors[f"optim.{pid}.{k}"] = torch.as_tensor(v).detach().cpu().contiguous()
    tensors["torch_rng"] = torch.get_rng_state()
    meta = {"param_groups": json.dumps(opt_state["param_groups"]),
            "sched": json.dumps({k: v for k, v in sched.state_dict().items()
                                 if k != "lr_lambdas"}),
            "state": json.dumps(state)}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    """The parts of a checkpoint: ``model`` and ``optim`` state dicts, ``sched``, ``state``,
    ``torch_rng``."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    model = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    optim: dict = {"state": {}, "param_groups": json.loads(meta["param_groups"])}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, name = k.split(".", 2)
            optim["state"].setdefault(int(pid), {})[name] = v
    return {"model": model, "optim": optim, "sched": json.loads(meta["sched"]),
            "state": json.loads(meta["state"]), "torch_rng": tensors["torch_rng"]}


def load_checkpoint(path: Path, net: DGNet, opt, sched) -> dict:
    ck = read_checkpoint(path)
    net.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optim"])
    sched.load_state_dict({**sched.state_dict(), **ck["sched"]})
    torch.set_rng_state(ck["torch_rng"])
    return ck["state"]
