#!/usr/bin/env bash
# Full Human3.6M evaluation of a trained model on the GPU machine (< 9 minutes).
#
#   bash training/launchers/gpu_eval.sh WEIGHTS [FRAME_STEP]
#
# Writes the per-action tables (P1, P2, N-MPJPE, MPJVE, with and without flip TTA) for GT
# and Stacked-Hourglass 2D, the noise-robustness table and the affinity plot into $OUT
# (or runs/eval_gpu). FRAME_STEP 1 (default) is the full protocol.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:?weights}; STEP=${2:-1}
DATA=${DATA:-runs/h36m_pack}
DEST=${OUT:-runs/eval_gpu}
PY=${PYTHON:-python}
$PY -m training.evaluate "$W" --data "$DATA" --frame-step "$STEP" --out "$DEST"
$PY -m training.evaluate "$W" --data "$DATA" --frame-step "$STEP" --source det --out "$DEST"
$PY -m training.evaluate "$W" --data "$DATA" --frame-step "$STEP" --protocol noise --out "$DEST"
$PY -m training.evaluate "$W" --data "$DATA" --protocol affinity --out "$DEST"
