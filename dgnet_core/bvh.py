"""BVH motion files on the project skeleton: joint positions -> local rotations -> text.

Owns the BVH hierarchy (joints and parents from ``skeleton.py``; rest offsets from the
clip's one body, ``body.fit_body``, the same fit the pipeline re-poses its joints with and
the add-on builds its armature from, so a pipeline result comes back from the file within
float precision) and the conversion of world joint positions to per-joint rotations with
``scipy.spatial.transform.Rotation``:

* joints with several children (pelvis, thorax) take the rotation that best aligns all
  their rest bone directions with the current ones (``Rotation.align_vectors``);
* joints with one child take the smallest rotation from their parent-carried rest
  direction to the current one (no invented twist);
* end joints (feet, wrists, head) follow their parent.

Coordinates: our world is Z-up (metres); BVH is written Y-up (x, z, -y), which Blender's
BVH importer (forward -Z, up Y) maps back to our world. Rotation channels are
``Zrotation Xrotation Yrotation`` (R = Rz Rx Ry, intrinsic), degrees.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .skeleton import BONES, JOINT_NAMES, NUM_JOINTS, PARENTS, ROOT, TEMPLATE_POSE

# Z-up world -> Y-up BVH: (x, y, z) -> (x, z, -y).
WORLD_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
EULER_ORDER = "ZXY"
def _dfs(j: int = ROOT) -> list[int]:
    return [j] + [k for c in range(NUM_JOINTS) if PARENTS[c] == j for k in _dfs(c)]


CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c, p in enumerate(PARENTS) if p == j) for j in range(NUM_JOINTS))
DFS_ORDER: tuple[int, ...] = tuple(_dfs())  # order of the joints (and channels) in the file
_END_SITE_M = 0.08


def rest_offsets(bone_lengths: np.ndarray | None = None) -> np.ndarray:
    """(17, 3) offset of each joint from its parent in the rest pose (world axes).

    Directions are the template body's; lengths are ``bone_lengths`` (16, BONES order)
    when given, the template's otherwise. The root's offset is zero.
    """
    off = np.zeros((NUM_JOINTS, 3))
    for k, (p, c) in enumerate(BONES):
        d = TEMPLATE_POSE[c] - TEMPLATE_POSE[p]
        length = np.linalg.norm(d) if bone_lengths is None else float(bone_lengths[k])
        off[c] = d / np.linalg.norm(d) * length
    return off


def global_rotations(joints: np.ndarray, offsets: np.ndarray):
    """Per-frame world rotation of every joint (list of 17 ``Rotation`` of length N)."""
    from scipy.spatial.transform import Rotation

    joints = np.asarray(joints, np.float64)
    n = len(joints)
    rots: list = [None] * NUM_JOINTS
    for j in range(NUM_JOINTS):  # parents come before children in the H36M order
        kids = CHILDREN[j]
        parent = rots[PARENTS[j]] if PARENTS[j] >= 0 else Rotation.identity(n)
        if not kids:
            rots[j] = parent
        elif len(kids) == 1:
            c = kids[0]
            rest = parent.apply(np.broadcast_to(offsets[c], (n, 3)))
            cur = joints[:, c] - joints[:, j]
            rots[j] = _swing(rest, cur) * parent
        else:
            cur = joints[:, list(kids)] - joints[:, j:j + 1]
            rots[j] = Rotation.from_matrix(_kabsch(offsets[list(kids)], cur))
    return rots


def _kabsch(rest: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations best taking rest vectors (K, 3) onto cur (N, K, 3) (least squares)."""
    h = np.einsum("ki,nkj->nij", rest, cur)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    fix = np.ones((len(cur), 3))
    fix[:, 2] = d
    return np.einsum("nji,nj,nkj->nik", vt, fix, u)


def _swing(a: np.ndarray, b: np.ndarray):
    """Smallest rotations taking directions a (N, 3) to b (N, 3)."""
    from scipy.spatial.transform import Rotation

    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.clip((a * b).sum(-1), -1.0, 1.0)
    angle = np.arctan2(s, c)
    # Opposite vectors: any axis perpendicular to a.
    perp = np.cross(a, np.array([1.0, 0.0, 0.0]))
    perp_alt = np.cross(a, np.array([0.0, 1.0, 0.0]))
    perp = np.where((np.linalg.norm(perp, axis=-1) < 1e-6)[:, None], perp_alt, perp)
    axis = np.where((s < 1e-9)[:, None], perp, axis)
    axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    return Rotation.from_rotvec(axis * angle[:, None])


def bvh_motion(joints_world: np.ndarray, bone_lengths: np.ndarray | None = None,
               offsets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (17, 3) and motion channels (N, 3 + 3 * 17) in BVH (Y-up) axes, degrees.

    Rest offsets (world axes): ``offsets`` (a ``body.Body``'s), else the template's
    directions at ``bone_lengths``, else ``body.fit_body(joints_world)``'s. Channel groups
    follow ``DFS_ORDER`` (the order joints appear in the hierarchy).
    """
    from scipy.spatial.transform import Rotation

    from .body import fit_body

    joints = np.asarray(joints_world, np.float64)
    if offsets is not None:
        offsets = np.asarray(offsets, np.float64)
    elif bone_lengths is not None:
        offsets = rest_offsets(bone_lengths)
    else:
        offsets = fit_body(joints).offsets
    rots = global_rotations(joints, offsets)
    conv = Rotation.from_matrix(WORLD_TO_BVH)
    channels = [joints[:, ROOT] @ WORLD_TO_BVH.T]
    for j in DFS_ORDER:
        parent = rots[PARENTS[j]] if PARENTS[j] >= 0 else Rotation.identity(len(joints))
        local = parent.inv() * rots[j]
        local_bvh = conv * local * conv.inv()
        channels.append(np.degrees(local_bvh.as_euler(EULER_ORDER)))
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
