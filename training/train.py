"""Train DG-Net: ``python -m training.train --preset paper --out runs/paper``.

Owns the training loop: data sources from the config, the multi-level loss of
``dgnet_core.lifting.model`` (Eq. 15-17), Adam or AdamW with a linear warm-up then exponential
decay per epoch or a cosine decay per step, bf16 autocast (CUDA, and CPUs with native
bf16), torch.compile on CUDA, DDP under torchrun (NCCL on CUDA, gloo on CPU), time-bounded runs
(``--max-minutes``) with checkpoints and exact resume, a CSV log and a PNG of the curves,
and the export of the inference model (safetensors + ONNX).

Exact resume: the sample order of an epoch is a permutation seeded by (seed, epoch), and
the augmentation RNG of a step is seeded by (seed, rank, step); the checkpoint holds the
model, optimizer, scheduler and torch RNG state, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dgnet_core.lifting.model import DGNet, multilevel_loss
from dgnet_core.lifting.weights import save_weights

from . import h36m
from .checkpoint import (  # noqa: F401  (CHECKPOINT, read_checkpoint: public here too)
    CHECKPOINT,
    STOP_FILE,
    change_augment,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from .compare_runs import plot_curves
from .config import ABLATIONS, PRESETS, TrainConfig, make_config
from .export import export_model
from .predict import predict, val_mpjpe_mm  # noqa: F401  (public here too)
from .sources import (  # noqa: F401  (public here too)
    build_mocap_val,
    build_train_source,
    build_val_source,
    get_batch,
    load_data,
    to_network,
)

LOG_FIELDS = ("step", "epoch", "samples", "lr", "train_loss", "train_mpjpe_mm",
              "val_mpjpe_mm", "elapsed_min", "samples_per_s", "val_mocap_mm")


class _TrainForward(nn.Module):
    """forward() = DGNet.forward_train, so that DDP hooks see the training pass."""

    def __init__(self, net: DGNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x, cam=None):
        return self.net.forward_train(x, cam)


def _to(batch: dict, device) -> dict:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}


def make_optimizer(net: nn.Module, cfg: TrainConfig, steps_per_epoch: int):
    """Optimizer and a per-step schedule: linear warm-up from lr / 100 over
    ``warmup_steps``, then ``lr_decay`` per epoch (``exp``, the paper's) or a cosine down to
    ``min_lr_frac * lr`` at the end of the last epoch (``cosine``)."""
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    opt = cls(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = max(1, cfg.epochs * steps_per_epoch)
    warm = cfg.warmup_steps

    def factor(step: int) -> float:
        w = 1.0 if step >= warm else 0.01 + 0.99 * step / warm
        if cfg.lr_schedule == "exp":
            return w * cfg.lr_decay ** (step // steps_per_epoch)
        done = min(1.0, max(0, step - warm) / max(1, total - warm))
        return w * (cfg.min_lr_frac + (1 - cfg.min_lr_frac) * 0.5 * (1 + np.cos(np.pi * done)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def init_network(net: DGNet, source: Path, out: Path | None) -> None:
    """Start ``net`` from another run's checkpoint or from a model weights file (a
    fine-tuning stage: optimizer, schedule and step start fresh); records the source in
    ``init.json``. A weights file has no block heads (inference only): those start from
    their initialisation, every other tensor must match."""
    if not source.is_file():
        raise FileNotFoundError(f"init_from checkpoint not found: {source}")
    from safetensors import safe_open

    with safe_open(str(source), framework="pt") as f:
        is_weights = "config" in (f.metadata() or {})
    if is_weights:
        from safetensors.torch import load_file

        model = {k: v.float() if v.is_floating_point() else v
                 for k, v in load_file(str(source)).items()}
        missing, unexpected = net.load_state_dict(model, strict=False)
        if unexpected or any(not k.startswith("block_heads.") for k in missing):
            raise ValueError(f"{source} does not fit this network (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        step, samples = 0, 0
    else:
        ck = read_checkpoint(source)
        net.load_state_dict(ck["model"])
        step, samples = ck["state"]["step"], ck["state"]["samples"]
    if out is not None:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        (out / "init.json").write_text(json.dumps(
            {"init_from": str(source), "sha256": digest, "step": step,
             "samples": samples}, indent=1) + "\n")


def train_step(fwd: nn.Module, net: DGNet, opt, b: dict, lam: float = 0.1,
               balanced: bool = False, bf16: bool = False, grad_clip: float = 0.0,
               loss_kind: str = "l2"):
    """One optimisation step on a batch of tensors; returns (loss, network prediction)."""
    device_type = b["x"].device.type
    with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
        y, block_ys = fwd(b["x"], b["cam"] if balanced else None)
    loss = multilevel_loss(y.float(), [p.float() for p in block_ys], b["y"], lam, loss_kind)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    opt.step()
    return loss.detach(), y.detach()


def _dist_info() -> tuple[int, int]:
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
        return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    return 0, 1


def train(cfg: TrainConfig, out_dir: str | Path, *, resume: bool = False,
          data: h36m.H36MData | None = None, export: str | None = None,
          progress: bool = True, augment_change: dict | None = None) -> dict:
    """Run (or resume) training into ``out_dir``; returns a summary dict.

    ``augment_change`` (``AugmentConfig`` fields, only with ``resume``) changes the run's
    augmentation from the resumed step on (a curriculum): the run's ``config.json`` takes
    the new values and ``recipe_changes.jsonl`` records the step and the change, so a later
    resume continues with them.

    Stops at the end of ``epochs``, at ``max_steps``, after ``max_minutes``, or when a
    file named ``STOP`` appears in ``out_dir`` (then resume with ``resume=True``; a new
    call removes the file). Writes ``checkpoint.safetensors``, ``config.json``,
    ``log.csv``, ``curves.png`` and ``model.safetensors`` (inference weights, float32).
    """
    t0 = time.time()
    out = Path(out_dir)
    rank, world = _dist_info()
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
                          if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.set_num_threads(max(1, cfg.threads))
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT
    (out / STOP_FILE).unlink(missing_ok=True)
    if resume and (out / "config.json").exists():
        cfg_saved = TrainConfig.from_json((out / "config.json").read_text())
        # the recipe comes from the run; time limits and threads from this call
        cfg = replace(cfg_saved, max_minutes=cfg.max_minutes, max_steps=cfg.max_steps,
                      threads=cfg.threads)
        if augment_change and rank == 0:
            cfg = change_augment(cfg, augment_change, out)
    elif rank == 0:
        (out / "config.json").write_text(cfg.to_json())

    data = load_data(cfg, data)
    source = build_train_source(cfg, data)
    val_ds, val_idx = build_val_source(cfg, data)
    mocap_val = build_mocap_val(cfg) if rank == 0 else None

    torch.manual_seed(cfg.seed)
    net = DGNet(cfg.model).to(device)
    per_step = cfg.batch_size * world
    steps_per_epoch = max(1, len(source) // per_step)
    opt, sched = make_optimizer(net, cfg, steps_per_epoch)
    state = {"step": 0, "epoch": 0, "samples": 0, "train_seconds": 0.0, "done": False}
    if resume and ckpt.exists():
        state = load_checkpoint(ckpt, net, opt, sched)
    elif cfg.init_from:
        init_network(net, Path(cfg.init_from), out if rank == 0 else None)
    fwd: nn.Module = _TrainForward(net)
    if world > 1:
        fwd = nn.parallel.DistributedDataParallel(
            fwd, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile and device.type == "cuda":
        fwd = torch.compile(fwd)
    use_bf16 = cfg.bf16
    lam = cfg.model.block_loss_weight if cfg.block_loss_weight is None else cfg.block_loss_weight
    balanced = cfg.model.balanced
    log_path = out / "log.csv"
    if rank == 0 and not log_path.exists():
        with open(log_path, "w", newline="") as f:
            csv.writer(f).writerow(LOG_FIELDS)
    last_ckpt = time.time()
    stop_reason = "epochs"
    val_every = cfg.val_every_steps or steps_per_epoch
    run_loss, run_err, run_n, run_t = 0.0, 0.0, 0, time.time()

    def validate() -> tuple[float, float | None] | None:
        if rank != 0:
            return None
        v = val_mpjpe_mm(net, val_ds, val_idx, device)
        return v, None if mocap_val is None else val_mpjpe_mm(net, *mocap_val, device)

    def log_row(val: tuple[float, float | None] | None) -> None:
        nonlocal run_loss, run_err, run_n, run_t
        if rank != 0 or (run_n == 0 and val is None):
            return
        dt = time.time() - run_t
        h36m_val, mocap_mm = val if val is not None else (None, None)
        row = {"step": state["step"], "epoch": round(state["step"] / steps_per_epoch, 4),
               "samples": state["samples"], "lr": f"{opt.param_groups[0]['lr']:.6g}",
               "train_loss": f"{run_loss / max(run_n, 1):.5f}",
               "train_mpjpe_mm": f"{run_err / max(run_n, 1) * 1000:.2f}",
               "val_mpjpe_mm": "" if h36m_val is None else f"{h36m_val:.2f}",
               "elapsed_min": f"{(state['train_seconds']) / 60:.2f}",
               "samples_per_s": f"{run_n * per_step / max(dt, 1e-9):.1f}",
               "val_mocap_mm": "" if mocap_mm is None else f"{mocap_mm:.2f}"}
        with open(log_path) as f:   # a log begun before a column was added keeps its header
            header = next(csv.reader(f))
        with open(log_path, "a", newline="") as f:
            csv.DictWriter(f, header, extrasaction="ignore").writerow(row)
        run_loss, run_err, run_n, run_t = 0.0, 0.0, 0, time.time()

    def checkpoint() -> None:
        if rank == 0:
            save_checkpoint(ckpt, net, opt, sched, state)

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = None
    if progress and rank == 0 and tqdm is not None:
        bar = tqdm(total=cfg.epochs * steps_per_epoch, initial=state["step"], unit="step",
                   mininterval=5.0, file=sys.stderr)
    seg_start = time.time()
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        perm = np.random.default_rng([cfg.seed, epoch]).permutation(len(source))
        net.train()
        while state["step"] < (epoch + 1) * steps_per_epoch:
            k = state["step"] - epoch * steps_per_epoch
            idx = perm[k * per_step + rank * cfg.batch_size:
                       k * per_step + (rank + 1) * cfg.batch_size]
            rng = np.random.default_rng([cfg.seed, rank, state["step"], 1])
            b = _to(get_batch(source, idx, rng, cfg), device)
            loss, y = train_step(fwd, net, opt, b, lam, balanced, use_bf16, cfg.grad_clip,
                                 cfg.loss)
            sched.step()
            state["step"] += 1
            state["samples"] += per_step
            run_loss += float(loss)
            run_err += float((y.float() - b["y"]).norm(dim=-1).mean())
            run_n += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.4f}", refresh=False)
            now = time.time()
            state["train_seconds"] += now - seg_start
            seg_start = now
            if state["step"] % val_every == 0 and state["step"] % steps_per_epoch != 0:
                log_row(validate())
                net.train()
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                stop_reason = "max_steps"
                break
            if cfg.max_minutes and now - t0 >= cfg.max_minutes * 60:
                stop_reason = "max_minutes"
                break
            if (out / STOP_FILE).exists():  # checkpoint and stop now, as at the time limit
                stop_reason = "stop_file"
                break
            if now - last_ckpt >= cfg.ckpt_minutes * 60:
                checkpoint()
                last_ckpt = now
        if stop_reason != "epochs":
            break
        state["epoch"] += 1
        log_row(validate())
        checkpoint()
        last_ckpt = time.time()
    else:
        state["done"] = True
    if stop_reason != "epochs":
        log_row(None)
    checkpoint()
    if bar is not None:
        bar.close()
    summary = dict(state, stop_reason=stop_reason, out_dir=str(out))
    if rank == 0:
        final = DGNet(cfg.model)
        final.load_state_dict(net.state_dict())
        final.eval()
        save_weights(final, out / "model.safetensors",
                     metadata={"preset": cfg.preset, "steps": str(state["step"])})
        plot_curves(log_path, out / "curves.png")
        if export:
            summary["export"] = [str(p) for p in export_model(final, export)]
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
    if world > 1:
        torch.distributed.barrier()
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    p.add_argument("--ablation", choices=sorted(ABLATIONS))
    p.add_argument("--out", required=True, help="run directory (checkpoints, logs)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--max-minutes", type=float, default=0.0)
    p.add_argument("--max-steps", type=int, default=0)
    p.add_argument("--data", help="Human3.6M directory (shared or VideoPose3D layout)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a TrainConfig field")
    p.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                   help="override a DGNetConfig field")
    p.add_argument("--augment", action="append", default=[], metavar="KEY=VALUE",
                   help="override an AugmentConfig field (with --resume: change the "
                        "run's augmentation from its current step on)")
    p.add_argument("--export", help="also write STEM.safetensors (fp16) and STEM.onnx")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    sets = list(a.set)
    if a.data:
        sets.append(f"data_root={a.data}")
    cfg = make_config(a.preset, a.ablation, sets, a.model, a.augment)
    cfg = replace(cfg, max_minutes=a.max_minutes, max_steps=a.max_steps)
    change = None
    if a.resume and a.augment:  # a curriculum step: new augmentation from here on
        change = {k: getattr(cfg.augment, k) for k in
                  (item.partition("=")[0].strip() for item in a.augment)}
    summary = train(cfg, a.out, resume=a.resume, export=a.export,
                    progress=not a.no_progress, augment_change=change)
    if _dist_info()[0] == 0:
        print(json.dumps(summary))
        if not summary.get("done"):
            print(f"stopped ({summary['stop_reason']}) at step {summary['step']}; continue "
                  f"with: python -m training.train --out {a.out} --resume", file=sys.stderr)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main, extra=(OSError,)))
