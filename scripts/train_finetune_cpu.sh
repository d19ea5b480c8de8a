#!/usr/bin/env bash
# Fine-tune the long run's network on new body poses (issue 11), on the CPU.
#
#   bash scripts/train_finetune_cpu.sh MINUTES [THREADS]
#
# Starts training/finetune_pose/ from the model tensors of training/long_run's checkpoint
# (optimizer and schedule fresh; the source checkpoint's step and sha256 go to init.json)
# with the long run's recipe plus pose augmentation (training/pose_augment.py: bone
# lengths, limb swings, knee / elbow flexion, trunk bends on half the windows) and a short
# warm-up + cosine schedule from lr 1.5e-4 over 5 epochs. A second call resumes it exactly.
# Stop early and cleanly with: touch training/finetune_pose/STOP
#
# Then evaluate it like the long run (see scripts/train_long_cpu.sh) and commit the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:?minutes}; THREADS=${2:-2}
RUN=training/finetune_pose
SOURCE=training/long_run
if [ ! -f "$RUN/config.json" ]; then
    mkdir -p "$RUN"
    .venv/bin/python - "$SOURCE/config.json" "$RUN/config.json" "$SOURCE/checkpoint.safetensors" <<'EOF'
import sys
from dataclasses import replace
from pathlib import Path

from training.config import TrainConfig, _apply

src, dst, ckpt = sys.argv[1:]
cfg = TrainConfig.from_json(Path(src).read_text())
cfg = replace(cfg, init_from=ckpt, lr=1.5e-4, lr_schedule="cosine", warmup_steps=300,
              min_lr_frac=0.01, epochs=5, seed=1,
              augment=_apply(cfg.augment, {"pose_prob": 0.5, "pose_bone_scale": 0.08,
                                           "pose_swing_deg": 20.0, "pose_hinge_deg": 25.0,
                                           "pose_trunk_deg": 35.0}))
Path(dst).write_text(cfg.to_json())
EOF
fi
.venv/bin/python -m training.train --resume --out "$RUN" --max-minutes "$MINUTES" \
    --no-progress --set "threads=$THREADS"
