"""BVH motion files of the add-on's own armature: joint positions -> rotations -> text.

The file is the armature the add-on builds (``retarget.lift_rig``: one joint per joint of
the skeleton, the shoulders hanging off the spine joint as the armature's shoulder bones
hang off its spine bone), on the clip's one body (``body.clip_body``: the pipeline's
``rest_offsets``, else ``body.fit_body``), and its rotations are the retarget solver's
(``retarget.solver.retarget`` on ``lift_rig.lift_spec``: the same role rotations, with the
same limb twist, as a bake onto that armature). So the BVH and a baked armature move
alike, and a pipeline result comes back from the file by forward kinematics. A result
with hands adds each hand's fifteen finger joints (the armature's finger bones) and turns
the wrists to the palms, as the bake does.

Coordinates: our world is Z-up (metres); BVH is written Y-up (x, z, -y), which Blender's
BVH importer (forward -Z, up Y) maps back to our world. Rotation channels are
``Zrotation Xrotation Yrotation`` (R = Rz Rx Ry, intrinsic), degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..motion.body import clip_body, length_body, rest_joints
from ..motion.hands import palm_frame
from ..retarget.fingers import finger_quats, rest_points, wrist_delta
from ..retarget.lift_rig import hand_bones, lift_bone_parent, lift_spec
from ..retarget.solver import RetargetOptions, retarget
from ..rotations import matrix_euler, quat_to_matrix
from ..skeleton import JOINT_NAMES, LELB, LWRI, NUM_JOINTS, RELB, ROOT, RWRI

# Z-up world -> Y-up BVH: (x, y, z) -> (x, z, -y).
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
EULER_ORDER = "ZXY"


# The file's hierarchy: the armature's parents (each joint's bone hangs off its parent bone).
BVH_PARENTS: tuple[int, ...] = tuple(lift_bone_parent(j) for j in range(NUM_JOINTS))
BVH_CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c in range(NUM_JOINTS) if BVH_PARENTS[c] == j) for j in range(NUM_JOINTS))


def _order(parents: list[int], j: int = ROOT) -> list[int]:
    """Depth-first order of a hierarchy (the order of the file's joints and channels)."""
    return [j] + [k for c in range(len(parents)) if parents[c] == j for k in _order(parents, c)]


DFS_ORDER: tuple[int, ...] = tuple(_order(list(BVH_PARENTS)))  # the 17 joints' order
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
               offsets: np.ndarray | None = None, hands=None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (J, 3) from each joint's file parent at rest, and motion channels
    (N, 3 + 3 * J), in BVH (Y-up) axes, degrees; J = 17, or 47 with ``hands``.

    The body: the template's directions at ``bone_lengths`` (``body.length_body``) when
    given, else the clip's body, ``body.clip_body(joints_world, offsets)``. Channel groups
    follow the hierarchy's depth-first order (``DFS_ORDER`` for the 17 joints).
    """
    return _file(joints_world, bone_lengths, offsets, hands)[2:4]


def _file(joints_world: np.ndarray, bone_lengths: np.ndarray | None, offsets, hands):
    """Names, parents, offsets (J, 3), motion (N, 3 + 3 J) and end-site offsets (by joint,
    where not along the bone) of the file: one body, one solve."""
    joints = np.asarray(joints_world, np.float64)
    if offsets is None and bone_lengths is not None:
        body = length_body(bone_lengths)
    else:
        body = clip_body(joints, offsets)
    rest = rest_joints(offsets=body.offsets)
    rots = global_rotations(joints, body.offsets)
    names = [JOINT_NAMES[j] for j in range(NUM_JOINTS)]
    parents = list(BVH_PARENTS)
    tips: dict[int, np.ndarray] = {}
    if hands is not None:
        f_names, f_parents, heads, tails, rots = hand_rotations(rest, rots, hands)
        names += f_names
        parents += f_parents
        rest = np.concatenate([rest, heads])
        tips = {NUM_JOINTS + k: (tails[k] - heads[k]) @ WORLD_TO_BVH.T
                for k in range(len(f_names)) if k % 3 == 2}
    file_offsets = np.zeros((len(names), 3))
    for j, p in enumerate(parents):
        if p >= 0:
            file_offsets[j] = rest[j] - rest[p]
    channels = [joints[:, ROOT] @ WORLD_TO_BVH.T]
    for j in _order(parents):
        parent = rots[:, parents[j]] if parents[j] >= 0 else np.eye(3)
        local_bvh = WORLD_TO_BVH @ np.swapaxes(parent, -1, -2) @ rots[:, j] @ WORLD_TO_BVH.T
        channels.append(np.degrees(matrix_euler(local_bvh, EULER_ORDER)))
    return (names, parents, file_offsets @ WORLD_TO_BVH.T, np.concatenate(channels, axis=1),
            tips)


def hand_rotations(rest: np.ndarray, rots: np.ndarray, hands
                   ) -> tuple[list[str], list[int], np.ndarray, np.ndarray, np.ndarray]:
    """The finger joints of a file with hands: names, parents (indices into the 17 joints
    then these), rest heads and tails (30, 3) of ``lift_rig.hand_bones`` on the rest body
    ``rest``, and the world rotations (N, 47, 3, 3) of all joints: ``rots`` (N, 17, 3, 3)
    with each wrist turned to its palm (``retarget.fingers.wrist_delta``) and the fingers
    turned by ``retarget.fingers.finger_quats`` (in frames aligned with the world, which
    BVH rotations are), as a bake onto the add-on's armature with hands."""
    names, parents, heads, tails = [], [], [], []
    for side in (0, 1):
        n_, p_, h_, t_ = hand_bones(rest, side, NUM_JOINTS + len(names))
        names += n_
        parents += p_
        heads.append(h_)
        tails.append(t_)
    heads, tails = np.concatenate(heads), np.concatenate(tails)
    n = len(rots)
    out = np.concatenate([rots, np.zeros((n, len(names), 3, 3))], axis=1)
    world = np.tile(np.eye(3), (5, 3, 1, 1))
    for side, (wrist_j, elbow_j) in enumerate(((LWRI, LELB), (RWRI, RELB))):
        sl = slice(15 * side, 15 * side + 15)
        pts = rest_points(rest[wrist_j], heads[sl].reshape(5, 3, 3), tails[sl].reshape(5, 3, 3))
        w = np.asarray(hands.weight, np.float64)[:, side]
        out[:, wrist_j] = wrist_delta(rots[:, elbow_j], palm_frame(pts, side),
                                      np.asarray(hands.palm, np.float64)[:, side], w)
        q = quat_to_matrix(finger_quats(pts, world, side, hands.flex[:, side],
                                        hands.spread[:, side], w))
        for k in range(15):
            j = NUM_JOINTS + 15 * side + k
            out[:, j] = out[:, parents[15 * side + k]] @ q[:, k // 3, k % 3]
    return names, parents, heads, tails, out


def write_bvh(path: str | Path, joints_world: np.ndarray, fps: float,
              bone_lengths: np.ndarray | None = None, offsets: np.ndarray | None = None,
              hands=None) -> Path:
    """Write joint positions (N, 17, 3), Z-up metres, as a BVH file of the add-on's armature
    (the body as in ``bvh_motion``); ``hands`` (a ``contract.HandResult``) adds the fifteen
    finger joints of each hand (named as the armature's finger bones) and the wrists'
    turn."""
    path = Path(path)
    names, parents, file_offsets, motion, tips = _file(joints_world, bone_lengths, offsets,
                                                       hands)
    children = [[c for c in range(len(names)) if parents[c] == j] for j in range(len(names))]
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        o = file_offsets[j]
        lines.append(f"{pad}{'ROOT' if j == ROOT else 'JOINT'} {names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {o[0]:.6f} {o[1]:.6f} {o[2]:.6f}")
        if j == ROOT:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition "
                         "Zrotation Xrotation Yrotation")
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            tip = tips.get(j)
            if tip is None:
                tip = file_offsets[j] / max(np.linalg.norm(file_offsets[j]), 1e-9) * _END_SITE_M
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

