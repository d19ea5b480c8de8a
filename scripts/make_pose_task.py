"""Build MediaPipe's pose (or hand) landmarker ``.task`` bundle from the Apache-2.0 TFLite
models.

Runs inside a throwaway environment that has ``mediapipe==0.10.21`` installed (its wheel
carries the pose, palm and hand-landmark models and the TFLite metadata writer; the runtime
``mediapipe==1.2.2`` has neither). Called by ``scripts/build_pose_task.sh``; never at run
time.

    python scripts/make_pose_task.py OUT.task [--kind pose|hand]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import types
import zipfile
from pathlib import Path

# Each bundle's files: name in the .task -> (model in the 0.10.21 wheel, number of outputs).
BUNDLES = {
    "pose": {"pose_detector.tflite": ("modules/pose_detection/pose_detection.tflite", 2),
             "pose_landmarks_detector.tflite":
                 ("modules/pose_landmark/pose_landmark_full.tflite", 5)},
    "hand": {"hand_detector.tflite": ("modules/palm_detection/palm_detection_full.tflite", 2),
             "hand_landmarks_detector.tflite":
                 ("modules/hand_landmark/hand_landmark_full.tflite", 4)},
}


def _with_metadata(writer_mod, model: bytes, name: str, n_outputs: int) -> bytes:
    writer = writer_mod.MetadataWriter.create(model)
    writer.add_general_info(name, f"MediaPipe {name} (Apache-2.0, from mediapipe 0.10.21)")
    writer.add_image_input(norm_mean=[0.0], norm_std=[255.0])
    for _ in range(n_outputs):
        writer.add_feature_output()
    tflite, _ = writer.populate()
    return tflite


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--kind", choices=sorted(BUNDLES), default="pose")
    args = parser.parse_args()

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        print("error: mediapipe==0.10.21 is not installed in this environment", file=sys.stderr)
        return 1
    root = Path(next(iter(spec.submodule_search_locations)))
    # Import the writer without mediapipe/__init__ (which pulls cv2, matplotlib, sounddevice).
    for pkg in ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python",
                "mediapipe.tasks.python.metadata",
                "mediapipe.tasks.python.metadata.metadata_writers"):
        mod = types.ModuleType(pkg)
        mod.__path__ = [str(root.joinpath(*pkg.split(".")[1:]))]
        sys.modules[pkg] = mod
    writer_mod = __import__(
        "mediapipe.tasks.python.metadata.metadata_writers.metadata_writer",
        fromlist=["MetadataWriter"],
    )

    files = {name: _with_metadata(writer_mod, (root / src).read_bytes(), name.split(".")[0],
                                  outputs)
             for name, (src, outputs) in BUNDLES[args.kind].items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
