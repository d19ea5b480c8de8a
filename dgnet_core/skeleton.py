"""The one definition of the project's skeleton: the 17-joint Human3.6M layout.

Everything else (model graphs, data loaders, the MediaPipe adapter, BVH export, armature
building, retargeting) takes joint names, parents, left/right symmetry and adjacency from
here. Also owns the index maps from other layouts into it: MediaPipe Pose (33 landmarks)
and the 16-joint Stacked-Hourglass detections shipped with Human3.6M.

Joint order (the common VideoPose3D order)::

    0 Hip(pelvis) 1 RHip 2 RKnee 3 RFoot 4 LHip 5 LKnee 6 LFoot 7 Spine 8 Thorax
    9 Neck/Nose 10 Head 11 LShoulder 12 LElbow 13 LWrist 14 RShoulder 15 RElbow 16 RWrist
"""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
    "Neck", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
)
NUM_JOINTS: int = len(JOINT_NAMES)
ROOT: int = 0
# Named joint indices (JOINT_NAMES order; NOSE is the "Neck/Nose" joint 9).
HIP, RHIP, RKNEE, RFOOT, LHIP, LKNEE, LFOOT, SPINE, THORAX, NOSE, HEAD = range(11)
LSHO, LELB, LWRI, RSHO, RELB, RWRI = range(11, 17)

# Parent of each joint (-1 for the root). Kinematic tree used for bones and BVH.
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

LEFT: tuple[int, ...] = (4, 5, 6, 11, 12, 13)
RIGHT: tuple[int, ...] = (1, 2, 3, 14, 15, 16)

# Permutation that swaps left and right joints (used for flip augmentation / flip TTA).
FLIP_PERM: tuple[int, ...] = tuple(
    RIGHT[LEFT.index(j)] if j in LEFT else LEFT[RIGHT.index(j)] if j in RIGHT else j
    for j in range(NUM_JOINTS)
)

# Bones as (parent, child) pairs, in joint order of the child.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)
# Children of each joint (pelvis and thorax have several, end joints none).
CHILDREN: tuple[tuple[int, ...], ...] = tuple(
    tuple(c for c, p in enumerate(PARENTS) if p == j) for j in range(NUM_JOINTS))


def _subtree(joint: int) -> tuple[int, ...]:
    return (joint,) + tuple(k for c in CHILDREN[joint] for k in _subtree(c))


# Each joint and every joint below it in the tree (moving a joint with its limb).
SUBTREES: tuple[tuple[int, ...], ...] = tuple(_subtree(j) for j in range(NUM_JOINTS))

# Left/right mirror pairs (used by the "symmetry" graph style).
SYMMETRIC_PAIRS: tuple[tuple[int, int], ...] = tuple(zip(LEFT, RIGHT))

FEET: tuple[int, int] = (RFOOT, LFOOT)  # ankles, used for grounding and contacts


def joint_index(name: str) -> int:
    """Index of a joint by name (raises ``KeyError`` with the valid names)."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown joint {name!r}; valid: {', '.join(JOINT_NAMES)}") from None


def adjacency(self_loops: bool = True, symmetric_links: bool = False) -> np.ndarray:
    """Binary (17, 17) skeleton adjacency: bones both ways, optional self loops and L/R links."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for p, c in BONES:
        a[p, c] = a[c, p] = 1.0
    if symmetric_links:
        for left, right in SYMMETRIC_PAIRS:
            a[left, right] = a[right, left] = 1.0
    if self_loops:
        a += np.eye(NUM_JOINTS, dtype=np.float32)
    return a


def normalized_adjacency(a: np.ndarray) -> np.ndarray:
    """Symmetric normalisation D^-1/2 A D^-1/2 of a non-negative adjacency (GCN style)."""
    deg = a.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
    return (a * inv[:, None] * inv[None, :]).astype(np.float32)


def flip_pose(x: np.ndarray, width_axis: int = 0) -> np.ndarray:
    """Mirror poses (..., 17, C): negate the horizontal coordinate and swap left/right joints."""
    y = np.array(x, copy=True)[..., list(FLIP_PERM), :]
    y[..., width_axis] *= -1
    return y


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Bone lengths (..., 16) of joint positions (..., 17, 3), in ``BONES`` order."""
    p = np.array([b[0] for b in BONES])
    c = np.array([b[1] for b in BONES])
    return np.linalg.norm(joints[..., c, :] - joints[..., p, :], axis=-1)


def bone_vectors(joints: np.ndarray) -> np.ndarray:
    """Joint positions (..., 17, 3) -> bone vectors (child minus parent), indexed by the
    child joint; the root keeps its position (the inverse of ``from_bone_vectors``)."""
    joints = np.asarray(joints)
    bones = joints - joints[..., [max(p, 0) for p in PARENTS], :]
    bones[..., 0, :] = joints[..., 0, :]
    return bones


def from_bone_vectors(bones: np.ndarray) -> np.ndarray:
    """Bone vectors (..., 17, 3) from ``bone_vectors`` -> joint positions."""
    x = np.array(bones, copy=True)
    for j, p in enumerate(PARENTS):  # parents come before children
        if p >= 0:
            x[..., j, :] = x[..., p, :] + x[..., j, :]
    return x


# --------------------------------------------------------------------------------------
# MediaPipe Pose (33 landmarks) -> 17 joints
# --------------------------------------------------------------------------------------
MP_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
MP_NUM: int = len(MP_NAMES)
_MP = {n: i for i, n in enumerate(MP_NAMES)}

# Each of the 17 joints as a weighted sum of MediaPipe landmarks. Choices:
#  * Hip (pelvis) = mid-point of the two hips (H36M's pelvis sits between the hip joints).
#  * Thorax = mid-point of the shoulders (H36M's thorax is at the shoulder line).
#  * Spine = mid-point of pelvis and thorax (H36M's spine joint is at mid-torso).
#  * Neck/Nose = mean of the nose and the two mouth corners: H36M's joint 9 sits between
#    nose and chin, below MediaPipe's nose landmark.
#  * Head (top) = ear mid-point + (eye mid-point - mouth mid-point): the ears sit at eye
#    height at the back of the head; adding the mouth-to-eye vector moves that point up by
#    about a third of a face, to the forehead/crown where H36M puts its head joint. It
#    uses only eyes, ears and mouth, so it stays defined when the person turns away.
#  * Limbs map one to one (ankles are H36M's "Foot").
_MP_WEIGHTS: dict[int, dict[str, float]] = {
    0: {"left_hip": 0.5, "right_hip": 0.5},
    1: {"right_hip": 1.0},
    2: {"right_knee": 1.0},
    3: {"right_ankle": 1.0},
    4: {"left_hip": 1.0},
    5: {"left_knee": 1.0},
    6: {"left_ankle": 1.0},
    7: {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    8: {"left_shoulder": 0.5, "right_shoulder": 0.5},
    9: {"nose": 1 / 3, "mouth_left": 1 / 3, "mouth_right": 1 / 3},
    10: {"left_ear": 0.5, "right_ear": 0.5, "left_eye": 0.5, "right_eye": 0.5,
         "mouth_left": -0.5, "mouth_right": -0.5},
    11: {"left_shoulder": 1.0},
    12: {"left_elbow": 1.0},
    13: {"left_wrist": 1.0},
    14: {"right_shoulder": 1.0},
    15: {"right_elbow": 1.0},
    16: {"right_wrist": 1.0},
}


def mediapipe_to_h36m_matrix() -> np.ndarray:
    """(17, 33) linear map from MediaPipe landmarks to the 17 joints (rows sum to 1)."""
    m = np.zeros((NUM_JOINTS, MP_NUM), dtype=np.float64)
    for j, weights in _MP_WEIGHTS.items():
        for name, w in weights.items():
            m[j, _MP[name]] = w
    return m


def mediapipe_to_h36m(landmarks: np.ndarray, visibility: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Adapt MediaPipe landmarks (..., 33, C) to the 17 joints (..., 17, C).

    Returns the joints and a (..., 17) confidence: a derived joint is as confident as the
    least visible landmark it is built from. Without ``visibility`` every confidence is 1.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape[-2] != MP_NUM:
        raise ValueError(f"expected {MP_NUM} MediaPipe landmarks, got shape {landmarks.shape}")
    m = mediapipe_to_h36m_matrix()
    joints = np.einsum("jk,...kc->...jc", m, landmarks)
    if visibility is None:
        conf = np.ones(landmarks.shape[:-2] + (NUM_JOINTS,))
    else:
        visibility = np.asarray(visibility, dtype=np.float64)
        conf = np.stack([visibility[..., m[j] != 0].min(axis=-1) for j in range(NUM_JOINTS)],
                        axis=-1)
    return joints, conf


# --------------------------------------------------------------------------------------
# Stacked-Hourglass 16-joint detections (Human3.6M release) -> 17 joints
# --------------------------------------------------------------------------------------
SH16_NAMES: tuple[str, ...] = (
    "RFoot", "RKnee", "RHip", "LHip", "LKnee", "LFoot", "Hip", "Spine", "Thorax", "Head",
    "RWrist", "RElbow", "RShoulder", "LShoulder", "LElbow", "LWrist",
)
# 17-index -> 16-index; Neck/Nose (9) has no detection.
SH16_TO_H36M17: tuple[int | None, ...] = (
    6, 2, 1, 0, 3, 4, 5, 7, 8, None, 9, 13, 14, 15, 12, 11, 10)


def sh16_to_h36m(sh: np.ndarray, neck: str = "interpolate") -> tuple[np.ndarray, np.ndarray]:
    """Map SH detections (..., 16, 2) to (..., 17, 2) plus a (..., 17) confidence.

    The missing Neck/Nose stands at the mid-point of Thorax and Head (never at a fixed
    pixel), with confidence 0.5 (``"interpolate"``, the usual stand-in) or 0 (``"missing"``:
    a joint the detector did not give, as models trained with missing joints see them).
    """
    if neck not in ("interpolate", "missing"):
        raise ValueError(f"neck must be 'interpolate' or 'missing', got {neck!r}")
    sh = np.asarray(sh)
    out = np.zeros(sh.shape[:-2] + (NUM_JOINTS, sh.shape[-1]), dtype=sh.dtype)
    conf = np.ones(sh.shape[:-2] + (NUM_JOINTS,), dtype=np.float32)
    for j, s in enumerate(SH16_TO_H36M17):
        if s is not None:
            out[..., j, :] = sh[..., s, :]
    out[..., 9, :] = 0.5 * (out[..., 8, :] + out[..., 10, :])
    conf[..., 9] = 0.5 if neck == "interpolate" else 0.0
    return out, conf


# --------------------------------------------------------------------------------------
# Template body: a standing person, Z up, metres, facing -Y (Blender's front), left at +X,
# about 1.75 m tall with arms hanging. Used for default armature proportions and the
# "precomputed" graph style (K nearest joints of this body).
# --------------------------------------------------------------------------------------
TEMPLATE_POSE: np.ndarray = np.array([
    [0.00, 0.00, 0.95],   # Hip
    [-0.12, 0.00, 0.93],  # RHip
    [-0.12, 0.00, 0.50],  # RKnee
    [-0.12, 0.03, 0.08],  # RFoot
    [0.12, 0.00, 0.93],   # LHip
    [0.12, 0.00, 0.50],   # LKnee
    [0.12, 0.03, 0.08],   # LFoot
    [0.00, 0.00, 1.18],   # Spine
    [0.00, 0.00, 1.45],   # Thorax
    [0.00, -0.06, 1.58],  # Neck/Nose
    [0.00, 0.00, 1.72],   # Head
    [0.17, 0.00, 1.45],   # LShoulder
    [0.19, 0.00, 1.18],   # LElbow
    [0.20, 0.00, 0.93],   # LWrist
    [-0.17, 0.00, 1.45],  # RShoulder
    [-0.19, 0.00, 1.18],  # RElbow
    [-0.20, 0.00, 0.93],  # RWrist
], dtype=np.float64)

# The one ankle height: ankles above the floor when standing (metres). Placement puts the
# planted feet there, contacts measure from it, the rest pose stands on it and the
# synthetic motions are grounded with it.
ANKLE_HEIGHT: float = float(TEMPLATE_POSE[list(FEET), 2].mean())
