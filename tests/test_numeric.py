"""The numpy stand-ins for SciPy (dgnet_core.numeric, dgnet_core.rotations) against SciPy.

The extension ships no SciPy (build.py); the engine's results must not change for it.
SciPy stays in the development venv, so each routine is compared with the original on
random and edge-case inputs, and the engine is imported with SciPy blocked.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import median_filter as sp_median
from scipy.signal import savgol_filter as sp_savgol
from scipy.spatial.transform import Rotation

from dgnet_core import numeric, rotations


@pytest.mark.parametrize("n,window,order", [(40, 5, 2), (40, 31, 3), (9, 9, 2), (7, 3, 1),
                                            (100, 21, 1), (12, 11, 0)])
def test_savgol_matches_scipy(n, window, order):
    x = np.random.default_rng(n + window).normal(size=(n, 17, 3)).cumsum(0)
    ours = numeric.savgol_filter(x, window, order)
    ref = sp_savgol(x, window, order, axis=0, mode="interp")
    np.testing.assert_allclose(ours, ref, atol=1e-9, rtol=0)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 15])
def test_median_filter_matches_scipy(size):
    rng = np.random.default_rng(size)
    x1 = rng.normal(size=30)
    x2 = rng.normal(size=(30, 2))
    b = (rng.random(30) > 0.5).astype(np.uint8)
    np.testing.assert_array_equal(numeric.median_filter(x1, size),
                                  sp_median(x1, size=size, mode="nearest"))
    np.testing.assert_array_equal(numeric.median_filter(x2, size),
                                  sp_median(x2, size=(size, 1), mode="nearest"))
    np.testing.assert_array_equal(numeric.median_filter(b, size),
                                  sp_median(b, size=size, mode="nearest"))


@pytest.mark.parametrize("knots", [2, 3, 4, 25])
def test_pchip_matches_scipy(knots):
    rng = np.random.default_rng(knots)
    t = np.sort(rng.choice(60, knots, replace=False)).astype(float)
    y = rng.normal(size=(knots, 17, 2))
    y[1:3] = y[1]  # a flat stretch and a sign change exercise the zero-slope branches
    tq = np.arange(t[0], t[-1] + 1)
    ref = PchipInterpolator(t, y, axis=0)(tq)
    np.testing.assert_allclose(numeric.pchip_interpolate(t, y, tq), ref, atol=1e-12)


def _random_rotations(n: int = 500) -> np.ndarray:
    m = Rotation.random(n, random_state=3).as_matrix()
    special = [np.eye(3), np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1]),
               Rotation.from_rotvec([0, 0, 1e-5]).as_matrix(),
               Rotation.from_rotvec([np.pi - 1e-6, 0, 0]).as_matrix(),
               Rotation.from_euler("ZXY", [0.3, np.pi / 2, 0.2]).as_matrix(),
               Rotation.from_euler("ZXY", [0.3, -np.pi / 2, 0.0]).as_matrix()]
    return np.concatenate([m, np.array(special)])


def test_quaternions_match_scipy():
    m = _random_rotations()
    ref = Rotation.from_matrix(m).as_quat(canonical=True, scalar_first=True)
    np.testing.assert_allclose(rotations.matrix_to_quat(m), ref, atol=1e-12)
    q = np.random.default_rng(0).normal(size=(200, 4))
    np.testing.assert_allclose(rotations.quat_to_matrix(q),
                               Rotation.from_quat(q, scalar_first=True).as_matrix(), atol=1e-12)
    # Not quite orthonormal input (float32 round trips): the same quaternion as SciPy.
    noisy = m + np.random.default_rng(1).normal(scale=1e-6, size=m.shape)
    ours, ref = rotations.matrix_to_quat(noisy), Rotation.from_matrix(noisy).as_quat(
        canonical=True, scalar_first=True)
    np.testing.assert_allclose(np.abs(np.sum(ours * ref, -1)), 1.0, atol=1e-10)


def test_rotvecs_match_scipy():
    rv = np.concatenate([np.random.default_rng(2).normal(size=(300, 3)),
                         [[0, 0, 0], [1e-6, 0, 0], [0, 0, np.pi]]])
    np.testing.assert_allclose(rotations.rotvec_matrix(rv),
                               Rotation.from_rotvec(rv).as_matrix(), atol=1e-12)
    m = _random_rotations()
    ours = rotations.matrix_rotvec(m)
    ref = Rotation.from_matrix(m).as_rotvec()
    # At 180 degrees v and -v are the same rotation.
    same = np.minimum(np.abs(ours - ref).max(-1), np.abs(ours + ref).max(-1))
    assert same.max() < 1e-6
    np.testing.assert_allclose(rotations.rotvec_matrix(ours), m, atol=1e-9)


@pytest.mark.parametrize("order", ["ZXY", "XYZ", "ZYX", "YXZ"])
def test_euler_matches_scipy(order):
    m = _random_rotations()[:-2]  # gimbal-locked ones: compared as matrices below
    diff = rotations.matrix_euler(m, order) - Rotation.from_matrix(m).as_euler(order)
    wrapped = (diff + np.pi) % (2 * np.pi) - np.pi  # -pi and pi are the same angle
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-9)
    locked = _random_rotations()[-2:]
    back = Rotation.from_euler(order, rotations.matrix_euler(locked, order)).as_matrix()
    if order == "ZXY":
        np.testing.assert_allclose(back, locked, atol=1e-6)


def test_slerp_and_swing_still_rotate():
    a, b = _random_rotations(20)[:20], _random_rotations(40)[20:40]
    mid = rotations.slerp_matrix(a, b, np.full(20, 0.5))
    rel = Rotation.from_matrix(np.swapaxes(a, -1, -2) @ b).as_rotvec()
    np.testing.assert_allclose(mid, a @ Rotation.from_rotvec(rel / 2).as_matrix(), atol=1e-9)
    u = np.random.default_rng(5).normal(size=(50, 3))
    v = np.random.default_rng(6).normal(size=(50, 3))
    r = rotations.swing(u, v)
    ref = np.array([Rotation.align_vectors([vi], [ui])[0].as_matrix() for ui, vi in zip(u, v)])
    np.testing.assert_allclose(r, ref, atol=1e-9)


_NO_SCIPY = r"""
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("scipy is blocked (the extension ships none)")
sys.meta_path.insert(0, Block())
import numpy as np
import dgnet_core
for m in pkgutil.walk_packages(dgnet_core.__path__, "dgnet_core."):
    if m.name.split(".")[-1] in ("model", "graphs", "__main__"):
        continue  # torch-only modules (never in Blender)
    importlib.import_module(m.name)
from dgnet_core.formats import bvh
from dgnet_core.motion import contacts, filters
from dgnet_core.detection import gaps
x = np.random.default_rng(0).normal(size=(40, 17, 3))
filters.savgol(x, 30.0)
det = np.ones(40, bool); det[10:14] = False
gaps.fill_gaps(x, det, 10)
bvh.bvh_motion(x + [0, 0, 1])
contacts.detect_contacts(x + [0, 0, 1], 30.0)
assert not [m for m in sys.modules if m.split(".")[0] == "scipy"]
print("OK")
"""


def test_engine_runs_without_scipy():
    out = subprocess.run([sys.executable, "-c", _NO_SCIPY], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-2000:]
