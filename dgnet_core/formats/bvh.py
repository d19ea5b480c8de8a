"""BVH motion files of the add-on's own armature: joint positions -> rotations -> text.

The file is the armature the add-on builds (``retarget.lift_rig``: one joint per joint of
the skeleton, the shoulders hanging off the spine joint as the armature's shoulder bones
hang off its spine bone), on the clip's one body (``body.clip_body``: the pipeline's
``rest_offsets``, else ``body.fit_body``), and its rotations are the retarget solver's
(``retarget.solver.retarget`` on ``lift_rig.lift_spec``: the same role rotations, with the
same limb twist, as a bake onto that armature). So the BVH and a baked armature move
alike, and a pipeline result comes back from the file by forward kinematics.

Coordinates: our world is Z-up (metres); BVH is written Y-up (x, z, -y), which Blender's
BVH importer (forward -Z, up Y) maps back to our world. Rotation channels are
``Zrotation Xrotation Yrotation`` (R = Rz Rx Ry, intrinsic), degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..motion.body import clip_body, length_body, rest_joints
from ..retarget.lift_rig import lift_bone_parent, lift_spec
from ..retarget.solver import RetargetOptions, retarget
from ..rotations import matrix_euler
from ..skeleton import JOINT_NAMES, NUM_JOINTS, ROOT

# Z-up world -> Y-up BVH: (x, y, z) -> (x, z, -y).
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
EULER_ORDER = "ZXY"


# The file's hierarchy: the armature's parents (each joint's bone hangs off its parent bone).
BVH_PARENTS: tuple[int, ...] = tuple(lift_bone_parent(j) for j in range(NUM_JOINTS))
BVH_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(NUM_JOINTS) if BVH_PARENTS[c] == j) for j in range(NUM_JOINTS))


def _dfs(j: int = ROOT) -> list[int]:
    return [j] + [k for c in BVH_CHILDREN[j] for k in _dfs(c)]


DFS_ORDER: tuple[int, ...] = tuple(_dfs())  # order of the joints (and channels) in the file
_END_SITE_M = 0.08


def global_rotations(joints: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(N, 17, 3, 3) world rotation of every joint's bone against the rest pose of the body
    ``offsets``: the retarget solver's on the add-on's armature (``lift_spec``); bones no
    body part drives (hands, feet, head top) follow their parent."""
    joints = np.asarray(joints, np.float64)
    res = retarget(joints, lift_spec(offsets), RetargetOptions(scale_to_rig=False))
    eye = np.broadcast_to(np.eye(3), (len(joints), 3, 3))
    rots = np.empty((len(joints), NUM_JOINTS, 3, 3))
    for j in range(NUM_JOINTS):  # parents come first
        parent = BVH_PARENTS[j]
        rots[:, j] = res.world_delta.get(j, rots[:, parent] if parent >= 0 else eye)
    return rots


def bvh_motion(joints_world: np.ndarray, bone_lengths: np.ndarray | None = None,
               offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (17, 3) from each joint's file parent at rest, and motion channels
    (N, 3 + 3 * 17), in BVH (Y-up) axes, degrees.

    The body: the template's directions at ``bone_lengths`` (``body.length_body``) when
    given, else the clip's body, ``body.clip_body(joints_world, offsets)``. Channel groups
    follow ``DFS_ORDER`` (the order joints appear in the hierarchy).
    """
    joints = np.asarray(joints_world, np.float64)
    if offsets is None and bone_lengths is not None:
        body = length_body(bone_lengths)
    else:
        body = clip_body(joints, offsets)
    rest = rest_joints(offsets=body.offsets)
    file_offsets = np.zeros((NUM_JOINTS, 3))
    for j, p in enumerate(BVH_PARENTS):
        if p >= 0:
            file_offsets[j] = rest[j] - rest[p]
    rots = global_rotations(joints, body.offsets)
    channels = [joints[:, ROOT] @ WORLD_TO_BVH.T]
    for j in DFS_ORDER:
        parent = rots[:, BVH_PARENTS[j]] if BVH_PARENTS[j] >= 0 else np.eye(3)
        local_bvh = WORLD_TO_BVH @ np.swapaxes(parent, -1, -2) @ rots[:, j] @ WORLD_TO_BVH.T
        channels.append(np.degrees(matrix_euler(local_bvh, EULER_ORDER)))
    return file_offsets @ WORLD_TO_BVH.T, np.concatenate(channels, axis=1)


def write_bvh(path: str | Path, joints_world: np.ndarray, fps: float,
              bone_lengths: np.ndarray | None = None, offsets: np.ndarray | None = None
              ) -> Path:
    """Write joint positions (N, 17, 3), Z-up metres, as a BVH file of the add-on's armature
    (the body as in ``bvh_motion``)."""
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
        if BVH_CHILDREN[j]:
            for c in BVH_CHILDREN[j]:
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
