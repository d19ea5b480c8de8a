#!/usr/bin/env bash
# Set-up and main job: create .venv (Python 3.11), install the pinned dependencies, build
# the offline MediaPipe pose model, then run the demo end to end (render a clip, detect,
# lift with the embedded default model, bake onto armatures, save .blend + preview).
#   bash scripts/setup.sh            # install + demo
#   bash scripts/setup.sh --no-demo  # install only (used by scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PY=python3.11; else PY=python3; fi
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "error: Python 3.11 is required (bpy 5.0.1 is built for it); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing pinned dependencies (torch CPU, bpy 5.0.1, mediapipe, onnxruntime, ...)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi

echo "==> building the offline MediaPipe pose model (.cache/models)"
bash scripts/build_pose_task.sh

if [ "${1:-}" != "--no-demo" ]; then
  echo "==> demo: video -> 2D -> 3D -> baked armature"
  .venv/bin/python scripts/demo.py --out out/demo
fi
