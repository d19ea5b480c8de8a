#!/usr/bin/env bash
# The shipped model's long CPU training run, one segment per session.
#
#   bash training/launchers/train_long_cpu.sh MINUTES [THREADS] [TRAIN ARGS...]
#
# Resumes exactly from the committed run folder training/runs/long_run/ (config.json,
# checkpoint.safetensors, log.csv, curves.png), or starts it with --preset default when the
# folder is empty, trains for MINUTES, then checkpoints and stops. Run it in the background
# and commit the folder afterwards (the checkpoint replaces the previous one):
#
#   nohup bash training/launchers/train_long_cpu.sh 90 2 > runs/long_run.out 2>&1 &
#   git add training/runs/long_run && git commit -m "long run: segment N"
#
# Extra arguments go to training.train; with a resumed run, --augment KEY=VALUE changes the
# augmentation from the current step on (recorded in recipe_changes.jsonl), e.g.
#
#   bash training/launchers/train_long_cpu.sh 90 2 --augment det_residual_prob=0.5
#
# To stop it early and cleanly (checkpoint, weights, log, curves): touch training/runs/long_run/STOP
#
# Then, if held-out P1 improved, evaluate and re-export the shipped model:
#
#   .venv/bin/python -m training.evaluate training/runs/long_run/model.safetensors \
#       --frame-step 400 --threads 2 --out runs/eval_long
#   .venv/bin/python -m training.export training/runs/long_run/model.safetensors \
#       dgnet_core/weights/default
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:?minutes}; THREADS=${2:-2}
shift $(( $# < 2 ? $# : 2 ))
RUN=training/runs/long_run
ARGS=(--out "$RUN" --max-minutes "$MINUTES" --no-progress --set "threads=$THREADS" "$@")
if [ -f "$RUN/checkpoint.safetensors" ]; then
    .venv/bin/python -m training.train --resume "${ARGS[@]}"
else
    .venv/bin/python -m training.train --preset default "${ARGS[@]}"
fi
