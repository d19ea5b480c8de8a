#!/usr/bin/env bash
# Fine-tune the long run's network on new body poses, on the CPU.
#
#   bash training/launchers/train_finetune_cpu.sh MINUTES [THREADS] [RUN] [KEY=VALUE ...]
#
# Starts RUN (default training/runs/finetune_pose/) from the model tensors of training/runs/long_run's
# checkpoint (optimizer and schedule fresh; the source checkpoint's step and sha256 go to
# init.json) with the long run's recipe plus pose augmentation (training/pose_augment.py:
# bone lengths, limb swings, knee / elbow flexion, trunk bends on half the windows) and a
# short warm-up + cosine schedule from lr 1.5e-4 over 5 epochs. KEY=VALUE pairs change
# further augmentation fields, e.g. pose_crouch_prob=0.3 (squats). A second call resumes
# RUN exactly. Stop early and cleanly with: touch RUN/STOP
#
# SOURCE=DIR starts from another run folder's checkpoint.safetensors and config.json instead
# of training/runs/long_run (e.g. an earlier long-run checkpoint taken out of git history, to
# compare fine-tunes from the same start).
#
# Then evaluate it like the long run (see training/launchers/train_long_cpu.sh) and commit the folder.
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:?minutes}; THREADS=${2:-2}; RUN=${3:-training/runs/finetune_pose}
shift $(( $# < 3 ? $# : 3 ))
SOURCE=${SOURCE:-training/runs/long_run}
if [ ! -f "$RUN/config.json" ]; then
    if [ ! -f "$SOURCE/checkpoint.safetensors" ]; then
        echo "error: no checkpoint to start from: $SOURCE/checkpoint.safetensors" >&2
        exit 1
    fi
    .venv/bin/python - "$SOURCE/config.json" "$RUN/config.json" \
        "$SOURCE/checkpoint.safetensors" "$@" <<'PY'
import sys
from dataclasses import replace
from pathlib import Path

from training.config import TrainConfig, _apply

src, dst, ckpt, *extra = sys.argv[1:]
pose = {"pose_prob": 0.5, "pose_bone_scale": 0.08, "pose_swing_deg": 20.0,
        "pose_hinge_deg": 25.0, "pose_trunk_deg": 35.0}
try:
    for item in extra:
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"{item!r} is not KEY=VALUE")
        pose[key] = value
    cfg = TrainConfig.from_json(Path(src).read_text())
    cfg = replace(cfg, init_from=ckpt, lr=1.5e-4, lr_schedule="cosine", warmup_steps=300,
                  min_lr_frac=0.01, epochs=5, seed=1, augment=_apply(cfg.augment, pose))
except (OSError, ValueError, TypeError) as exc:
    sys.exit(f"error: {exc}")
Path(dst).parent.mkdir(parents=True, exist_ok=True)
Path(dst).write_text(cfg.to_json())
PY
fi
.venv/bin/python -m training.train --resume --out "$RUN" --max-minutes "$MINUTES" \
    --no-progress --set "threads=$THREADS"
