#!/usr/bin/env bash
# Build the offline MediaPipe models once into .cache/models/: pose_landmarker_full.task (the
# body) and hand_landmarker.task (palm detector + hand landmarks, for --hands). The runtime
# mediapipe (1.2.2) ships no such model and none is downloaded at run time; the Apache-2.0
# TFLite models and the metadata writer come from the mediapipe==0.10.21 wheel on PyPI,
# installed (without its heavy dependencies) into a throwaway venv that is removed after.
set -euo pipefail
cd "$(dirname "$0")/.."
pose=.cache/models/pose_landmarker_full.task
hand=.cache/models/hand_landmarker.task
if [ -s "$pose" ] && [ -s "$hand" ]; then
  echo "    $pose and $hand already built"
  exit 0
fi
source scripts/mediapipe_wheel.sh
[ -s "$pose" ] || "$WHEEL_PY" scripts/make_pose_task.py "$pose" --kind pose
[ -s "$hand" ] || "$WHEEL_PY" scripts/make_pose_task.py "$hand" --kind hand
