"""Contacts kept on the target rig (dgnet_core.retarget.grounding): a walk retargeted onto
armatures whose legs are longer or shorter than the walker's keeps its planted feet still
and on the rig's floor."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.motion.body import clip_body
from dgnet_core.motion.contacts import detect_contacts, lock_feet
from dgnet_core.retarget.grounding import LEGS, bone_heads, root_correction
from dgnet_core.retarget.lift_rig import lift_spec
from dgnet_core.retarget.solver import RetargetOptions, retarget
from dgnet_core.skeleton import LFOOT, LKNEE, RFOOT, RKNEE
from training.synthetic.motions import make_motion

FPS = 25.0


@pytest.fixture(scope="module")
def walk():
    """A procedural walk whose feet the engine has planted (``motion.contacts.lock_feet``)."""
    joints = make_motion("walk", 150, FPS)
    contacts = detect_contacts(joints, FPS)
    return lock_feet(joints, contacts, FPS), contacts


def _rig(joints, leg_scale: float):
    """The add-on's armature on the walker's body with thighs and shins ``leg_scale`` x."""
    offsets = clip_body(joints).offsets.copy()
    for j in (LKNEE, RKNEE, LFOOT, RFOOT):
        offsets[j] *= leg_scale
    return lift_spec(offsets)


def _ankles(spec, out) -> np.ndarray:
    """(N, 2, 3) the rig's ankles (each shin's tail) by forward kinematics, (left, right)."""
    cols = []
    for _, shin in LEGS:
        b = spec.role_bone(shin)
        i = next(k for k, x in enumerate(spec.bones) if x is b)
        heads = bone_heads(spec, out.world_delta, out.root_world, {i})
        cols.append(heads[i] + out.world_delta[i] @ (b.tail - b.head))
    return np.stack(cols, 1)


def _core(contacts: np.ndarray, margin: int = 1) -> np.ndarray:
    """Contact frames at least ``margin`` frames inside their contact (the lock at full
    weight, its blend excluded)."""
    core = np.zeros_like(contacts)
    for col in range(2):
        c = contacts[:, col]
        for k in range(len(c)):
            lo, hi = max(0, k - margin), min(len(c), k + margin + 1)
            core[k, col] = c[lo:hi].all() and hi - lo == 2 * margin + 1
    return core


@pytest.mark.parametrize("leg_scale", [0.8, 1.2])
def test_planted_feet_stay_put_on_rigs_with_other_legs(walk, leg_scale) -> None:
    joints, contacts = walk
    assert (contacts.sum(axis=0) > 20).all()  # both feet plant during the walk
    spec = _rig(joints, leg_scale)
    core = _core(contacts)
    ground = np.mean([spec.role_bone(s).tail[2] for _, s in LEGS])
    slides = {}
    for hold in (True, False):
        out = retarget(joints, spec, RetargetOptions(hold_contacts=hold), contacts=contacts,
                       fps=FPS)
        ankles = _ankles(spec, out)
        speed = np.linalg.norm(np.gradient(ankles[..., :2], axis=0), axis=-1) * FPS
        slides[hold] = float(speed[core].mean())
        height = ankles[..., 2] - ground
        if hold:
            assert slides[hold] < 0.01, slides          # under 1 cm/s while planted
            assert np.abs(height[core]).max() < 0.01   # at the rig's standing ankle height
    assert slides[False] > 0.03, slides  # it slid without the hold


def test_bone_lengths_and_joint_limits_survive_the_hold(walk) -> None:
    joints, contacts = walk
    spec = _rig(joints, 0.8)
    out = retarget(joints, spec, contacts=contacts, fps=FPS)
    assert np.isfinite(out.quats).all()
    norms = np.linalg.norm(out.quats, axis=-1)
    assert np.allclose(norms, 1.0, atol=1e-6)
    # the rotations stay rotations and the legs keep their rest lengths (rigid FK)
    for i in out.animated:
        d = out.world_delta[i]
        assert np.allclose(d @ np.swapaxes(d, -1, -2), np.eye(3), atol=1e-6)


def test_the_solve_reports_its_ankles_and_locks(walk) -> None:
    """``Retargeted.ankles`` are the rig's ankles by its forward kinematics, and the lock
    weight is 1 through each contact (what the add-on checks on the evaluated rig)."""
    joints, contacts = walk
    spec = _rig(joints, 1.2)
    out = retarget(joints, spec, contacts=contacts, fps=FPS)
    assert np.allclose(out.ankles, _ankles(spec, out), atol=1e-9)
    assert (out.contact_weight[contacts] == 1.0).all()
    assert (out.contact_weight[~contacts] < 1.0).all()


def test_root_correction_puts_planted_ankles_back() -> None:
    n = 9
    planned = np.zeros((n, 2, 3))
    actual = planned.copy()
    actual[:, 0] += [0.03, 0.0, 0.0]   # the left ankle lands 3 cm off
    actual[:, 1] += [0.0, -0.01, 0.0]  # the right one 1 cm off
    weight = np.zeros((n, 2))
    weight[:3, 0] = 1.0                 # left planted, then nothing, then both
    weight[6:] = 0.5
    shift = root_correction(planned, actual, weight)
    assert np.allclose(shift[:3], [-0.03, 0.0, 0.0])
    assert np.allclose(shift[6:], [-0.015, 0.005, 0.0])
    # no foot down: eased from one to the other, no jump
    assert np.allclose(shift[3:6, 0], np.interp([3, 4, 5], [2, 6], [-0.03, -0.015]))
    assert not root_correction(planned, actual, np.zeros((n, 2))).any()
