# Sourced by build_pose_task.sh and build_face_task.sh (from the repository root): a
# throwaway venv holding the mediapipe==0.10.21 wheel from PyPI (its Apache-2.0 TFLite
# models, metadata writer and protos) without its heavy dependencies, removed when the
# sourcing script exits. Sets WHEEL_PY, that venv's python.
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
wheel_tmp=$(mktemp -d)
trap 'rm -rf "$wheel_tmp"' EXIT
"$PY" -m venv "$wheel_tmp/venv"
pip=("$wheel_tmp/venv/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" absl-py attrs flatbuffers 'numpy<2' 'protobuf>=4.25.3,<5'
"${pip[@]}" --no-deps mediapipe==0.10.21
WHEEL_PY="$wheel_tmp/venv/bin/python"
