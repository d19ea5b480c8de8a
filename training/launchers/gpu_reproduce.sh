#!/usr/bin/env bash
# The paper reproduction on the GPU machine, as a list of <= 9-minute commands.
# Run each line as ONE `run` call (carry ["runs/h36m_pack"]; the run folder stays on the
# warm machine between calls). Prepare on the development machine first:
#
#   .venv/bin/python -m training.pack_data --out runs/h36m_pack      # 47 MB, one transfer
#
# 1. throughput check (about 1 minute):
#      python -m training.bench --preset fast --steps 50 --threads 8
# 2. GT 2D, resumed call after call (... until summary.json says done), both recipes:
#      bash training/launchers/gpu_train.sh paper paper_gt 8   # the paper's: batch 64, Adam 1e-3,
#                                                   # x0.95 per epoch, 200 epochs, balanced
#      bash training/launchers/gpu_train.sh fast gt 8          # large-batch form of the same network
# 3. with Stacked-Hourglass detections:
#      bash training/launchers/gpu_train.sh fast_det det 8
# 4. the shipped model (x, y, confidence input, random cameras):
#      bash training/launchers/gpu_train.sh default_gpu default 8
#      then on the development machine:
#      .venv/bin/python -m training.export runs/gpu/default/model.safetensors \
#          dgnet_core/weights/default
# 5. evaluation (full protocol):
#      bash training/launchers/gpu_eval.sh runs/gpu/gt/model.safetensors
#
# This file, run as a script, does step 1 and one segment of each recipe of step 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
$PY -m training.bench --preset fast --steps 30 --threads 8
bash training/launchers/gpu_train.sh paper paper_gt "${MINUTES:-4}"
bash training/launchers/gpu_train.sh fast gt "${MINUTES:-4}"
