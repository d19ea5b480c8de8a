"""Rotation toolkit shared by the skeleton fit, the BVH writer, placement and retargeting.

Owns the small set of rotation operations the engine needs, vectorised over any leading
axes: unit vectors, frames from an aim and a side line, the minimal swing between two
directions, axis-angle and quaternion conversions, matrix slerp, sign-continuous
quaternions over time and the least-squares rotation of a point set (Kabsch).

Conventions: rotations are (..., 3, 3) matrices acting on column vectors; quaternions are
(w, x, y, z) with w >= 0. Conversions are plain numpy with SciPy's formulas
(``scipy.spatial.transform.Rotation``: rotation vector -> quaternion -> matrix, matrix ->
quaternion by Markley's method, intrinsic Euler angles), checked against SciPy in
``tests/test_rotations.py``; the extension ships no SciPy (docs/BENCHMARKS.md, zip sizes).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-9


def _quat_xyzw_matrix(q: np.ndarray) -> np.ndarray:
    """(M, 3, 3) from (M, 4) quaternions (x, y, z, w), normalised first."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.stack([
        np.stack([x * x - y * y - z * z + w * w, 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), -x * x + y * y - z * z + w * w, 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), -x * x - y * y + z * z + w * w], -1),
    ], axis=-2)


def _matrix_quat_xyzw(m: np.ndarray) -> np.ndarray:
    """(M, 4) unit quaternions (x, y, z, w), w >= 0, from (M, 3, 3) (Markley's method)."""
    diag = np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=-1)
    trace = diag.sum(-1)
    choice = np.argmax(np.concatenate([diag, trace[:, None]], axis=-1), axis=-1)
    q = np.empty((len(m), 4))
    rows = np.arange(len(m))
    for i in range(3):  # the largest diagonal element picks the stable formula
        sel = rows[choice == i]
        j, k = (i + 1) % 3, (i + 2) % 3
        mm = m[sel]
        q[sel, i] = 1.0 - trace[sel] + 2.0 * mm[:, i, i]
        q[sel, j] = mm[:, j, i] + mm[:, i, j]
        q[sel, k] = mm[:, k, i] + mm[:, i, k]
        q[sel, 3] = mm[:, k, j] - mm[:, j, k]
    sel = rows[choice == 3]
    mm = m[sel]
    q[sel, 0] = mm[:, 2, 1] - mm[:, 1, 2]
    q[sel, 1] = mm[:, 0, 2] - mm[:, 2, 0]
    q[sel, 2] = mm[:, 1, 0] - mm[:, 0, 1]
    q[sel, 3] = 1.0 + trace[sel]
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[:, 3:] < 0, -q, q)


def _rotvec_quat_xyzw(rv: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(rv, axis=-1)
    small = angle <= 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(small, 0.5 - angle ** 2 / 48 + angle ** 4 / 3840,
                         np.sin(angle / 2) / angle)
    return np.concatenate([scale[:, None] * rv, np.cos(angle / 2)[:, None]], axis=-1)


def _quat_xyzw_rotvec(q: np.ndarray) -> np.ndarray:
    q = np.where(q[:, 3:] < 0, -q, q)
    angle = 2.0 * np.arctan2(np.linalg.norm(q[:, :3], axis=-1), q[:, 3])
    small = angle <= 1e-3
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(small, 2 + angle ** 2 / 12 + 7 * angle ** 4 / 2880,
                         angle / np.sin(angle / 2))
    return scale[:, None] * q[:, :3]


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
    return _quat_xyzw_matrix(_rotvec_quat_xyzw(rv.reshape(-1, 3))).reshape(lead + (3, 3))


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
    q = _matrix_quat_xyzw(m.reshape(-1, 3, 3))[:, [3, 0, 1, 2]]
    return q.reshape(lead + (4,))


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from (w, x, y, z) quaternions (..., 4) (any norm > 0)."""
    q = np.asarray(q, dtype=np.float64)
    lead = q.shape[:-1]
    m = _quat_xyzw_matrix(q.reshape(-1, 4)[:, [1, 2, 3, 0]])
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
    rv = matrix_rotvec(rel)
    return a @ rotvec_matrix(rv * np.broadcast_to(w, lead)[..., None])


def matrix_rotvec(m: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) (axis times angle in [0, pi]) of rotation matrices (..., 3, 3)."""
    m = np.asarray(m, dtype=np.float64)
    lead = m.shape[:-2]
    return _quat_xyzw_rotvec(_matrix_quat_xyzw(m.reshape(-1, 3, 3))).reshape(lead + (3,))


def matrix_euler(m: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Tait-Bryan angles (..., 3) in radians of rotation matrices (..., 3, 3).

    ``order`` is three different axes, upper case, intrinsic as in SciPy's ``as_euler``
    ("ZXY": R = Rz(a) Rx(b) Ry(c)). The middle angle is in [-pi/2, pi/2]; at gimbal lock
    the last angle is 0 (as SciPy, without its warning).
    """
    if len(order) != 3 or set(order) - set("XYZ") or len(set(order)) != 3:
        raise ValueError(f"order must be three different axes of 'XYZ', got {order!r}")
    i, j, k = ("XYZ".index(a) for a in order)
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    m = np.asarray(m, dtype=np.float64)
    mid = np.arctan2(sign * m[..., i, k], np.hypot(m[..., i, i], m[..., i, j]))
    first = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    last = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    locked = np.abs(np.cos(mid)) < 1e-7
    first = np.where(locked, np.arctan2(sign * m[..., k, j], m[..., j, j]), first)
    return np.stack([first, mid, np.where(locked, 0.0, last)], axis=-1)


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
