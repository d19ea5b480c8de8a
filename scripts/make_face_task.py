"""Build MediaPipe's face landmarker ``.task`` bundle from the Apache-2.0 TFLite models, for
the research check ``python -m training.diagnose face`` (never used by the product).

Runs inside a throwaway environment that has ``mediapipe==0.10.21`` installed: its wheel
carries the BlazeFace short-range face detector, the 468-point face mesh model, the TFLite
metadata writer and the face-geometry proto module. Called by
``scripts/build_face_task.sh``; never at run time.

    python scripts/make_face_task.py OUT.task [--geometry FILE.pbtxt]

Two workarounds make these older models run in the runtime's (``mediapipe==1.2.2``) Tasks
``FaceLandmarker``:

* **468 -> 478 points.** The Tasks graph decodes 478 landmarks (the 468 mesh points and 10
  iris points of the newer model) from the landmark model's first output. The wheel's
  ``face_landmark.tflite`` gives 468 points (1,404 values), which the graph does not
  refuse: it reads them as 478 points of 1404 // 478 = 2 values, so every point after the
  first is garbled and ``z`` is 0. The patch appends one CONCATENATION operator to the
  model that puts 30 zeros (10 dummy iris points at the origin) after the 1,404 values and
  makes its 1,434-value result the first output; the 468 mesh points are untouched and the
  check reads only those.
* **Face-geometry metadata.** With ``output_facial_transformation_matrixes`` the graph
  needs ``geometry_pipeline_metadata_landmarks.binarypb`` in the bundle ("No file with name:
  geometry_pipeline_metadata_landmarks.binarypb" otherwise): the canonical face mesh and
  the landmark weights of its Procrustes fit. The wheel does not carry it; its text form
  (Apache-2.0, from google-ai-edge/mediapipe) is committed in
  ``training/diagnose/face_data/`` and encoded here with the wheel's
  ``geometry_pipeline_metadata_pb2`` (protobuf binary serialisation).

The models get the input normalisation of MediaPipe's own graphs in their metadata: the
face detector [-1, 1] (mean 127.5, std 127.5), the face mesh [0, 1] (mean 0, std 255).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from make_pose_task import (  # the script's own folder is on sys.path
    metadata_writer,
    stub_packages,
    wheel_root,
    with_metadata,
    write_task,
)

REPO = Path(__file__).resolve().parents[1]
GEOMETRY = REPO / "training/diagnose/face_data/geometry_pipeline_metadata_landmarks.pbtxt"
DETECTOR = "modules/face_detection/face_detection_short_range.tflite"
MESH = "modules/face_landmark/face_landmark.tflite"
MESH_VALUES, PADDED_VALUES = 468 * 3, 478 * 3


def pad_to_478(schema, model: bytes) -> bytes:
    """The face mesh model with its first output padded from 468 to 478 points (see the
    module docstring); ``schema`` is the wheel's TFLite flatbuffer schema module."""
    import flatbuffers
    import numpy as np

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    sg = m.subgraphs[0]
    out0 = sg.outputs[0]
    shape = list(sg.tensors[out0].shape)
    if shape != [1, 1, 1, MESH_VALUES]:
        raise ValueError(f"unexpected face mesh output shape {shape}")
    pad = PADDED_VALUES - MESH_VALUES
    buf = schema.BufferT()
    buf.data = np.zeros(pad, np.float32).tobytes()
    m.buffers.append(buf)
    const, result = schema.TensorT(), schema.TensorT()
    const.shape, const.type, const.buffer, const.name = (
        [1, 1, 1, pad], schema.TensorType.FLOAT32, len(m.buffers) - 1, b"iris_pad")
    result.shape, result.type, result.buffer, result.name = (
        [1, 1, 1, PADDED_VALUES], schema.TensorType.FLOAT32, 0, b"landmarks_478")
    sg.tensors += [const, result]
    const_i, result_i = len(sg.tensors) - 2, len(sg.tensors) - 1
    concat = schema.BuiltinOperator.CONCATENATION
    code = next((i for i, c in enumerate(m.operatorCodes)
                 if max(c.builtinCode, c.deprecatedBuiltinCode) == concat), None)
    if code is None:
        c = schema.OperatorCodeT()
        c.builtinCode = c.deprecatedBuiltinCode = concat
        c.version = 1
        m.operatorCodes.append(c)
        code = len(m.operatorCodes) - 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = code, [out0, const_i], [result_i]
    op.builtinOptionsType = schema.BuiltinOptions.ConcatenationOptions
    op.builtinOptions = schema.ConcatenationOptionsT()
    op.builtinOptions.axis = 3
    sg.operators.append(op)
    sg.outputs = [result_i] + list(sg.outputs[1:])
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def encode_geometry(root: Path, pbtxt: Path) -> bytes:
    """The face-geometry metadata text as ``.binarypb`` (the wheel's proto module)."""
    from google.protobuf import text_format

    stub_packages(root, "mediapipe", "mediapipe.tasks", "mediapipe.tasks.cc",
                   "mediapipe.tasks.cc.vision", "mediapipe.tasks.cc.vision.face_geometry",
                   "mediapipe.tasks.cc.vision.face_geometry.proto")
    from mediapipe.tasks.cc.vision.face_geometry.proto import (
        geometry_pipeline_metadata_pb2 as geometry,
    )

    meta = text_format.Parse(pbtxt.read_text(encoding="utf-8"),
                             geometry.GeometryPipelineMetadata())
    if len(meta.canonical_mesh.vertex_buffer) != 468 * 5 or not meta.procrustes_landmark_basis:
        raise ValueError(f"{pbtxt}: not the 468-point face-geometry metadata")
    return meta.SerializeToString()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--geometry", type=Path, default=GEOMETRY,
                        help="face-geometry metadata, protobuf text (default: %(default)s)")
    args = parser.parse_args()

    root = wheel_root()
    if root is None:
        print("error: mediapipe==0.10.21 is not installed in this environment", file=sys.stderr)
        return 1
    geometry = encode_geometry(root, args.geometry)
    writer_mod = metadata_writer(root)
    from mediapipe.tasks.metadata import schema_py_generated as schema

    mesh = pad_to_478(schema, (root / MESH).read_bytes())
    write_task(args.out, {
        "face_detector.tflite": with_metadata(
            writer_mod, (root / DETECTOR).read_bytes(), "face_detector", 2, 127.5, 127.5),
        "face_landmarks_detector.tflite": with_metadata(
            writer_mod, mesh, "face_landmarks_detector", 2, 0.0, 255.0),
        "geometry_pipeline_metadata_landmarks.binarypb": geometry,
    })
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
