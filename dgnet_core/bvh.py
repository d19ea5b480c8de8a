"""BVH motion files on the project skeleton: joint positions -> local rotations -> text.

Owns the BVH hierarchy (joints, parents and children from ``skeleton.py``) and the
conversion of world joint positions to per-joint rotations. Rest offsets are the clip's
one body, ``body.clip_body`` (the pipeline's ``rest_offsets``, else ``body.fit_body``):
the same skeleton fit the pipeline re-poses its joints with, the add-on builds its
armature from and the retarget measures the standing height with, so a pipeline result
comes back from the file within float precision. Rotations use the shared toolkit
(``rotations.py``):

* joints with several children (pelvis, thorax) take the rotation that best aligns all
  their rest bone directions with the current ones (``rotations.kabsch``);
* joints with one child take the smallest rotation from their parent-carried rest
  direction to the current one (``rotations.swing``, no invented twist);
* end joints (feet, wrists, head) follow their parent.

Coordinates: our world is Z-up (metres); BVH is written Y-up (x, z, -y), which Blender's
BVH importer (forward -Z, up Y) maps back to our world. Rotation channels are
``Zrotation Xrotation Yrotation`` (R = Rz Rx Ry, intrinsic), degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .body import clip_body, length_body
from .rotations import kabsch, matrix_euler, swing
from .skeleton import CHILDREN, JOINT_NAMES, NUM_JOINTS, PARENTS, ROOT

# Z-up world -> Y-up BVH: (x, y, z) -> (x, z, -y).
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
EULER_ORDER = "ZXY"


def _dfs(j: int = ROOT) -> list[int]:
    return [j] + [k for c in CHILDREN[j] for k in _dfs(c)]


DFS_ORDER: tuple[int, ...] = tuple(_dfs())  # order of the joints (and channels) in the file
_END_SITE_M = 0.08


def global_rotations(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N, 17, 3, 3) world rotation of every joint taking its rest offsets (17, 3) to the
    joints (N, 17, 3)."""
    joints = np.asarray(joints, np.float64)
    n = len(joints)
    rots = np.empty((n, NUM_JOINTS, 3, 3))
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    for j in range(NUM_JOINTS):  # parents come before children in the H36M order
        kids = CHILDREN[j]
        parent = rots[:, PARENTS[j]] if PARENTS[j] >= 0 else eye
        if not kids:
            rots[:, j] = parent
        elif len(kids) == 1:
            c = kids[0]
            rest = parent @ offsets[c]
            rots[:, j] = swing(rest, joints[:, c] - joints[:, j]) @ parent
        else:
            rots[:, j] = kabsch(offsets[list(kids)], joints[:, list(kids)] - joints[:, j:j + 1])
    return rots


def bvh_motion(joints_world: np.ndarray, bone_lengths: np.ndarray | None = None,
               offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (17, 3) and motion channels (N, 3 + 3 * 17) in BVH (Y-up) axes, degrees.

    Rest offsets (world axes): the template's directions at ``bone_lengths``
    (``body.length_body``) when given, else the clip's body, ``body.clip_body(joints_world,
    offsets)``. Channel groups follow ``DFS_ORDER`` (the order joints appear in the
    hierarchy).
    """
    joints = np.asarray(joints_world, np.float64)
    if offsets is None and bone_lengths is not None:
        body = length_body(bone_lengths)
    else:
        body = clip_body(joints, offsets)
    offsets = body.offsets
    rots = global_rotations(joints, offsets)
    channels = [joints[:, ROOT] @ WORLD_TO_BVH.T]
    for j in DFS_ORDER:
        parent = rots[:, PARENTS[j]] if PARENTS[j] >= 0 else np.eye(3)
        local_bvh = WORLD_TO_BVH @ np.swapaxes(parent, -1, -2) @ rots[:, j] @ WORLD_TO_BVH.T
        channels.append(np.degrees(matrix_euler(local_bvh, EULER_ORDER)))
    return offsets @ WORLD_TO_BVH.T, np.concatenate(channels, axis=1)


def write_bvh(path: str | Path, joints_world: np.ndarray, fps: float,
              bone_lengths: np.ndarray | None = None, offsets: np.ndarray | None = None
              ) -> Path:
    """Write joint positions (N, 17, 3), Z-up metres, as a BVH file on the project skeleton
    (rest offsets as in ``bvh_motion``)."""
    path = Path(path)
    offsets, motion = bvh_motion(joints_world, bone_lengths, offsets)
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        o = offsets[j]
        if j == ROOT:
            lines.append(f"{pad}ROOT {JOINT_NAMES[j]}")
        else:
            lines.append(f"{pad}JOINT {JOINT_NAMES[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        if j == ROOT:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition "
                         "Zrotation Xrotation Yrotation")
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
        if CHILDREN[j]:
            for c in CHILDREN[j]:
                emit(c, depth + 1)
        else:
            tip = offsets[j] / max(np.linalg.norm(offsets[j]), 1e-9) * _END_SITE_M
            lines.append(f"{pad}  End Site")
            lines.append(f"{pad}  {{")
            lines.append(f"{pad}    OFFSET {tip[0]:.6f} {tip[1]:.6f} {tip[2]:.6f}")
            lines.append(f"{pad}  }}")
        lines.append(f"{pad}}}")

    emit(ROOT, 0)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {1.0 / fps:.8f}"]
    lines += [" ".join(f"{v:.5f}" for v in row) for row in motion]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path
