"""Rotation toolkit shared by the skeleton fit, the BVH writer, placement and retargeting.

Owns the small set of rotation operations the engine needs, vectorised over any leading
axes: unit vectors, frames from an aim and a side line, the minimal swing between two
directions, axis-angle and quaternion conversions, matrix slerp, sign-continuous
quaternions over time and the least-squares rotation of a point set (Kabsch).

Conventions: rotations are (..., 3, 3) matrices acting on column vectors; quaternions are
(w, x, y, z) with w >= 0. Conversions go through ``scipy.spatial.transform.Rotation``
(imported on first use, so importing this module, e.g. at add-on registration, stays
numpy-only).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-9


def _rotation():
    from scipy.spatial.transform import Rotation

    return Rotation


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, EPS)


def frame(aim: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) whose Y column is ``aim`` and X column lies toward ``side``.

    Y is the bone axis in Blender; X = side made orthogonal to Y; Z = X x Y.
    """
    y = normalize(aim)
    x = normalize(side - np.sum(side * y, axis=-1, keepdims=True) * y)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1)


def rotvec_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from rotation vectors (..., 3) (axis times angle, rad)."""
    rv = np.asarray(rotvec, dtype=np.float64)
    lead = rv.shape[:-1]
    return _rotation().from_rotvec(rv.reshape(-1, 3)).as_matrix().reshape(lead + (3, 3))


def axis_angle_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from axes (..., 3) and angles (...) in radians.

    Axes are normalised first; a zero axis gives the identity.
    """
    axis = normalize(np.asarray(axis, dtype=np.float64))
    angle = np.asarray(angle, dtype=np.float64)
    return rotvec_matrix(axis * angle[..., None])


def swing(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Minimal rotations (..., 3, 3) taking directions ``u`` to ``v`` (broadcast together).

    Opposite directions turn by 180 degrees about an axis perpendicular to ``u``.
    """
    u, v = np.broadcast_arrays(normalize(u), normalize(v))
    axis = np.cross(u, v)
    s = np.linalg.norm(axis, axis=-1)
    c = np.sum(u * v, axis=-1)
    alt = np.cross(u, np.array([1.0, 0.0, 0.0]))
    alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) < 1e-6,
                   np.cross(u, np.array([0.0, 1.0, 0.0])), alt)
    axis = np.where((s < 1e-9)[..., None], normalize(alt), axis / np.maximum(s, EPS)[..., None])
    return rotvec_matrix(axis * np.arctan2(s, c)[..., None])


def rot_z(angle: float) -> np.ndarray:
    """Rotation matrix (3, 3) about +Z by ``angle`` radians."""
    return rotvec_matrix(np.array([0.0, 0.0, float(angle)]))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Quaternions (..., 4) as (w, x, y, z), w >= 0, from rotation matrices (..., 3, 3)."""
    m = np.asarray(m, dtype=np.float64)
    lead = m.shape[:-2]
    q = _rotation().from_matrix(m.reshape(-1, 3, 3)).as_quat(canonical=True, scalar_first=True)
    return q.reshape(lead + (4,))


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from (w, x, y, z) quaternions (..., 4) (any norm > 0)."""
    q = np.asarray(q, dtype=np.float64)
    lead = q.shape[:-1]
    m = _rotation().from_quat(q.reshape(-1, 4), scalar_first=True).as_matrix()
    return m.reshape(lead + (3, 3))


def slerp_matrix(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation (shortest arc) between rotation matrices a (w=0) and b (w=1).

    ``a``, ``b`` (..., 3, 3) and weights ``w`` (...) broadcast together.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], w.shape)
    a = np.broadcast_to(a, lead + (3, 3))
    b = np.broadcast_to(b, lead + (3, 3))
    rel = np.swapaxes(a, -1, -2) @ b
    rv = _rotation().from_matrix(rel.reshape(-1, 3, 3)).as_rotvec().reshape(lead + (3,))
    return a @ rotvec_matrix(rv * np.broadcast_to(w, lead)[..., None])


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs along axis 0 (time) so neighbours have a positive dot product."""
    q = np.array(q, dtype=np.float64, copy=True)
    for t in range(1, len(q)):
        flip = np.sum(q[t] * q[t - 1], axis=-1) < 0
        q[t][flip] *= -1
    return q


def kabsch(rest: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations best taking rest vectors (K, 3) onto cur (N, K, 3) (least squares)."""
    h = np.einsum("ki,nkj->nij", rest, cur)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    fix = np.ones((len(cur), 3))
    fix[:, 2] = np.where(d == 0, 1.0, d)
    return np.einsum("nji,nj,nkj->nik", vt, fix, u)
