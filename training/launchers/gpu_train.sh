#!/usr/bin/env bash
# One <= 9-minute training command for the lent GPU machine.
#
#   bash training/launchers/gpu_train.sh PRESET NAME [MINUTES] [extra training.train args...]
#
# Runs `python -m training.train --preset PRESET --out runs/gpu/NAME --resume` for
# MINUTES (default 8) on the data packed by `python -m training.pack_data` (carry
# "runs/h36m_pack"), then copies what must come back into $OUT (at most 8 files of 16 MB):
#   model.safetensors   inference weights (float32, ~9.6 MB)
#   run.tar             log.csv, curves.png, summary.json, config.json
#   ckpt.part00..       checkpoint.safetensors split into 15 MB parts (exact resume elsewhere)
# The checkpoint also stays in runs/gpu/NAME on a warm machine (runs/ is git-ignored and
# kept between calls), so the next call simply resumes. If the machine was returned, put
# the fetched parts back into runs/gpu/NAME/ and carry that folder: the parts are joined
# before resuming. Exits 0 when time is up; summary.json says whether the run is done.
set -euo pipefail
cd "$(dirname "$0")/../.."
PRESET=${1:?preset}; NAME=${2:?run name}; MINUTES=${3:-8}; shift $(( $# < 3 ? $# : 3 ))
RUN=runs/gpu/$NAME
DATA=${DATA:-runs/h36m_pack}
PY=${PYTHON:-python}
mkdir -p "$RUN"
if [ ! -f "$RUN/checkpoint.safetensors" ] && ls "$RUN"/ckpt.part* >/dev/null 2>&1; then
    cat "$RUN"/ckpt.part* > "$RUN/checkpoint.safetensors"
    [ -f "$RUN/run.tar" ] && tar -xf "$RUN/run.tar" -C "$RUN"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
$PY -m training.train --preset "$PRESET" --out "$RUN" --data "$DATA" --resume \
    --max-minutes "$MINUTES" --no-progress --set threads=8 "$@"
if [ -n "${OUT:-}" ]; then
    cp "$RUN/model.safetensors" "$OUT/"
    tar -cf "$OUT/run.tar" -C "$RUN" log.csv curves.png summary.json config.json
    split -b 15M -d "$RUN/checkpoint.safetensors" "$OUT/ckpt.part"
    ls -la "$OUT"
fi
