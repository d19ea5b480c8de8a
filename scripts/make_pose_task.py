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


def with_metadata(writer_mod, model: bytes, name: str, n_outputs: int, mean: float = 0.0,
                  std: float = 255.0) -> bytes:
    """``model`` with the TFLite metadata MediaPipe Tasks reads: its name, an image input
    normalised as (pixel - ``mean``) / ``std`` and ``n_outputs`` feature outputs."""
    writer = writer_mod.MetadataWriter.create(model)
    writer.add_general_info(name, f"MediaPipe {name} (Apache-2.0, from mediapipe 0.10.21)")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in range(n_outputs):
        writer.add_feature_output()
    tflite, _ = writer.populate()
    return tflite


def wheel_root() -> Path | None:
    """The installed mediapipe 0.10.21 package folder (None when it is not installed)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def stub_packages(root: Path, *names: str) -> None:
    """Make MediaPipe's subpackages ``names`` importable without ``mediapipe/__init__``
    (which pulls cv2, matplotlib, sounddevice)."""
    for pkg in names:
        if pkg in sys.modules:
            continue
        mod = types.ModuleType(pkg)
        mod.__path__ = [str(root.joinpath(*pkg.split(".")[1:]))]
        sys.modules[pkg] = mod


def metadata_writer(root: Path):
    """The wheel's TFLite metadata writer module."""
    stub_packages(root, "mediapipe", "mediapipe.tasks", "mediapipe.tasks.metadata",
                  "mediapipe.tasks.python", "mediapipe.tasks.python.metadata",
                  "mediapipe.tasks.python.metadata.metadata_writers")
    return __import__("mediapipe.tasks.python.metadata.metadata_writers.metadata_writer",
                      fromlist=["MetadataWriter"])


def write_task(out: Path, files: dict[str, bytes]) -> None:
    """A ``.task`` bundle (an uncompressed zip) of ``files``, written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    tmp.replace(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--kind", choices=sorted(BUNDLES), default="pose")
    args = parser.parse_args()

    root = wheel_root()
    if root is None:
        print("error: mediapipe==0.10.21 is not installed in this environment", file=sys.stderr)
        return 1
    writer_mod = metadata_writer(root)
    write_task(args.out, {name: with_metadata(writer_mod, (root / src).read_bytes(),
                                              name.split(".")[0], outputs)
                          for name, (src, outputs) in BUNDLES[args.kind].items()})
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
