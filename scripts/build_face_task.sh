#!/usr/bin/env bash
# Build .cache/models/face_landmarker.task (face detector + face mesh + face-geometry
# metadata) for the research check `python -m training.diagnose face`, on demand: the
# product never uses it and scripts/setup.sh does not build it. As for the pose model
# (scripts/build_pose_task.sh; both through scripts/mediapipe_wheel.sh), the Apache-2.0
# TFLite models, the metadata writer and the face-geometry proto come from the
# mediapipe==0.10.21 wheel on PyPI, installed (without its heavy dependencies) into a
# throwaway venv that is removed after; the geometry
# metadata text is committed in training/diagnose/face_data/. Nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
face=.cache/models/face_landmarker.task
if [ -s "$face" ]; then
  echo "    $face already built"
  exit 0
fi
source scripts/mediapipe_wheel.sh
"$WHEEL_PY" scripts/make_face_task.py "$face"
