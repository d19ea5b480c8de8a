"""The error metrics against cases whose answer is known by hand."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dgnet_core.metrics import accel_error, mpjpe, mpjve, n_mpjpe, pa_mpjpe, procrustes_align


def test_mpjpe_hand_computed():
    target = np.zeros((1, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    assert mpjpe(pred, target).shape == (1,)          # one error per pose
    assert mpjpe(pred, target)[0] == pytest.approx(3.0)  # (5 + 1) / 2


def test_procrustes_recovers_rotation_scale_translation():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(5, 17, 3))
    rot = Rotation.random(5, random_state=1).as_matrix()
    pred = 1.7 * np.einsum("nij,nkj->nki", rot, target) + rng.normal(size=(5, 1, 3))
    assert mpjpe(pred, target).min() > 0.5
    np.testing.assert_allclose(procrustes_align(pred, target), target, atol=1e-9)
    assert pa_mpjpe(pred, target).max() < 1e-9


def test_procrustes_does_not_reflect():
    rng = np.random.default_rng(2)
    target = rng.normal(size=(17, 3))
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    # A mirror image is not a rotation: the aligned error must stay well above zero.
    assert pa_mpjpe(mirrored, target) > 0.1


def test_n_mpjpe_removes_scale_only():
    rng = np.random.default_rng(3)
    target = rng.normal(size=(4, 17, 3))
    assert n_mpjpe(2.5 * target, target).max() < 1e-9
    shifted = target + np.array([0.3, 0.0, 0.0])
    assert n_mpjpe(shifted, target).min() > 0.05


def test_velocity_and_acceleration_errors():
    t = np.arange(10, dtype=float)[:, None, None] * np.ones((1, 2, 3))
    # A constant offset has no velocity or acceleration error; a ramp has velocity error 1*sqrt(3)
    assert mpjve(t + 5.0, t) == pytest.approx(np.zeros(9))
    assert mpjve(2 * t, t) == pytest.approx(np.full(9, np.sqrt(3)))
    assert accel_error(2 * t, t) == pytest.approx(np.zeros(8))
    assert accel_error(t**2, t) == pytest.approx(np.full(8, 2 * np.sqrt(3)))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))
