"""Foot contacts kept on the target rig: planted feet that stay planted, on its floor.

The solver turns the rig's bones as the lifted body's parts turn and moves its root along
the pelvis's path scaled to the rig. A rig whose legs are longer or shorter than the
person's, or proportioned otherwise, then slides its planted feet and floats or sinks.
``hold_contacts`` corrects that on the rig itself, with the engine's own foot-lock pieces:

1. forward kinematics of the solved rig (``bone_heads``) gives each leg's hip, knee and
   ankle (the thigh's head, the shin's head and tail) in the world;
2. during each contact of the clip (``LiftResult.contacts``, the engine's one detector) the
   ankle's goal is one spot, the median of the rig's ankle over the contact, at the rig's
   standing ankle height (``motion.contacts.lock_targets``), blended in and out;
3. where a planted leg cannot reach its spot the root comes down (no straight-legged
   floating above the floor), smoothly;
4. each leg reaches its goal with the engine's two-bone IK (``motion.contacts.two_bone_ik``:
   thigh and shin lengths kept, the knee in its bend plane). The thigh's and the shin's
   world rotations turn by the swings that take the old bones onto the new ones; the feet
   below them follow;
5. no foot goes under the floor (``keep_above_floor``): an ankle lower than half its
   standing height is lifted (the same IK), then a foot bone whose toe is under the floor
   pitches up about the ankle until the toe touches it.

The solver's model of the rig is its bones turned rigidly. A rig whose controls move the
body otherwise (Rigify's torso pivot and spine mechanism) puts its ankles a few
centimetres away from where the model put them; ``root_correction`` turns the ankles read
back from the evaluated rig into the root shift that puts the planted ones back.
"""

from __future__ import annotations

import numpy as np

from ..motion.contacts import ContactOptions, lock_targets, two_bone_ik
from ..rotations import swing

LEGS = (("thigh.L", "shin.L"), ("thigh.R", "shin.R"))  # contact columns: left, right
FEET = ("foot.L", "foot.R")
LOWEST_ANKLE = 0.5  # an ankle never comes nearer the floor than this share of its standing
                    # height (the heel is under it)
REACH = 0.995  # a leg reaches at most this share of its length (a knee never locks)


def bone_heads(spec, delta: dict[int, np.ndarray], root_world: np.ndarray,
               wanted: set[int]) -> dict[int, np.ndarray]:
    """World head positions (N, 3) of the bones ``wanted`` and their ancestors: the root
    bone at ``root_world``, every other one carried by its parent's world rotation
    (``delta``; bones above the root stay at rest)."""
    n = len(root_world)
    chain: set[int] = set()
    for i in wanted:
        while i >= 0 and i not in chain:
            chain.add(i)
            i = spec.bones[i].parent
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    heads: dict[int, np.ndarray] = {}
    for i in sorted(chain):  # parents come first
        bone = spec.bones[i]
        if i == spec.root:
            heads[i] = np.asarray(root_world, np.float64)
        elif bone.parent < 0:
            heads[i] = np.broadcast_to(bone.head, (n, 3)).copy()
        else:
            p = spec.bones[bone.parent]
            rot = delta.get(bone.parent, eye)
            heads[i] = heads[bone.parent] + rot @ (bone.head - p.head)
    return heads


def _hips(spec, delta: dict[int, np.ndarray], heads: dict[int, np.ndarray],
          legs: list[tuple[int, int]], eye: np.ndarray) -> list[np.ndarray]:
    """Each leg's hip joint (N, 3): carried by the bone that plays the pelvis, whatever the
    rig's own hierarchy (a Rigify thigh hangs off the spine's mechanism, which follows the
    hips control), else by the thigh's parents."""
    pelvis = spec.role_bone("pelvis")
    p = None if pelvis is None else next(i for i, x in enumerate(spec.bones) if x is pelvis)
    out = []
    for t, _ in legs:
        if p is None or p not in heads:
            out.append(heads[t])
        else:
            out.append(heads[p] + delta.get(p, eye) @ (spec.bones[t].head - pelvis.head))
    return out


def _legs(spec) -> list[tuple[int, int]] | None:
    """(thigh, shin) bone indices of the left and right leg, or None if a leg is unmapped."""
    out = []
    for thigh, shin in LEGS:
        a, b = spec.role_bone(thigh), spec.role_bone(shin)
        if a is None or b is None:
            return None
        out.append((next(i for i, x in enumerate(spec.bones) if x is a),
                    next(i for i, x in enumerate(spec.bones) if x is b)))
    return out


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """A running maximum then a running mean over ``width`` frames: a drop that holds
    through its frames and eases in and out."""
    if width <= 1 or len(x) < 2:
        return x
    pad = np.pad(x, width, mode="edge")
    peak = np.max(np.lib.stride_tricks.sliding_window_view(pad, 2 * width + 1), axis=-1)
    k = np.ones(2 * width + 1) / (2 * width + 1)
    return np.convolve(np.pad(peak, width, mode="edge"), k, mode="valid")


def hold_contacts(spec, delta: dict[int, np.ndarray], root_world: np.ndarray,
                  contacts: np.ndarray, fps: float, options: ContactOptions | None = None
                  ) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """New world rotations and root path that keep the clip's contacts on the rig (see
    the module), and each foot's (N, 2) lock weight (1 while planted, easing in and out);
    unchanged (weight 0) when the rig lacks a leg or no foot is ever planted."""
    legs = _legs(spec)
    c = np.asarray(contacts, bool)
    if legs is None or not c.any() or spec.root is None:
        return delta, root_world, np.zeros((len(root_world), 2))
    delta = dict(delta)
    root_world = np.array(root_world, np.float64)
    n = len(root_world)
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    rest = [(spec.bones[t].head, spec.bones[s].head, spec.bones[s].tail) for t, s in legs]
    lengths = [(float(np.linalg.norm(k - h)), float(np.linalg.norm(a - k))) for h, k, a in rest]
    ground = float(np.mean([a[2] for _, _, a in rest]))  # the rig's standing ankle height

    pelvis = spec.role_bone("pelvis")
    wanted = {s for _, s in legs} | ({next(i for i, x in enumerate(spec.bones) if x is pelvis)}
                                      if pelvis is not None else set())

    def leg_points(heads):
        pts = []
        for (t, s), (h0, k0, a0), hip in zip(legs, rest, _hips(spec, delta, heads, legs, eye)):
            knee = hip + delta.get(t, eye) @ (k0 - h0)
            pts.append((hip, knee, knee + delta.get(s, eye) @ (a0 - k0)))
        return pts

    heads = bone_heads(spec, delta, root_world, wanted)
    pts = leg_points(heads)
    spot, weight = lock_targets(np.stack([a for _, _, a in pts], 1), c, fps, options, ground)
    # 3. the root comes down where a planted leg cannot reach its spot
    drop = np.zeros(n)
    for col, ((hip, _, _), (up, low)) in enumerate(zip(pts, lengths)):
        d = spot[:, col] - hip
        horiz2 = np.sum(d[:, :2] ** 2, axis=-1)
        reach2 = (REACH * (up + low)) ** 2
        need = -d[:, 2] - np.sqrt(np.maximum(reach2 - horiz2, 0.0))  # hip above its reach
        drop = np.maximum(drop, weight[:, col] * np.maximum(need, 0.0))
    drop = _smooth(drop, max(1, int(round(0.1 * fps))))
    if drop.any():
        root_world[:, 2] -= drop
        heads = bone_heads(spec, delta, root_world, wanted)
        pts = leg_points(heads)
    # 4. two-bone IK of each leg to its goal
    for col, (t, s) in enumerate(legs):
        _leg_ik(delta, t, s, pts[col], lengths[col], spot[:, col], weight[:, col], eye)
    delta, root_world = keep_above_floor(spec, delta, root_world)
    return delta, root_world, weight


def ankle_paths(spec, delta: dict[int, np.ndarray], root_world: np.ndarray
                ) -> np.ndarray | None:
    """The solved rig's ankles (N, 2, 3) (the shins' tails; left, right) by the solver's
    model of the rig, or None when a leg is unmapped."""
    legs = _legs(spec)
    if legs is None or spec.root is None:
        return None
    n = len(root_world)
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    pelvis = spec.role_bone("pelvis")
    wanted = {s for _, s in legs} | ({next(i for i, x in enumerate(spec.bones) if x is pelvis)}
                                      if pelvis is not None else set())
    heads = bone_heads(spec, delta, root_world, wanted)
    out = []
    for (t, s), hip in zip(legs, _hips(spec, delta, heads, legs, eye)):
        thigh, shin = spec.bones[t], spec.bones[s]
        knee = hip + delta.get(t, eye) @ (shin.head - thigh.head)
        out.append(knee + delta.get(s, eye) @ (shin.tail - shin.head))
    return np.stack(out, 1)


def root_correction(planned: np.ndarray, actual: np.ndarray, weight: np.ndarray
                    ) -> np.ndarray:
    """World shift (N, 3) of the root that puts the rig's planted ankles back where the
    solve planned them: per frame the lock-weighted mean of ``planned - actual`` (N, 2, 3)
    over the feet in contact (``weight`` (N, 2)); frames with no foot down take the shift
    interpolated from their neighbours (held at the ends), so the root never jumps."""
    w = np.asarray(weight, np.float64)
    err = np.asarray(planned, np.float64) - np.asarray(actual, np.float64)
    total = w.sum(1)
    down = total > 1e-6
    shift = np.zeros((len(w), 3))
    if not down.any():
        return shift
    shift[down] = np.einsum("nc,nci->ni", w[down], err[down]) / total[down, None]
    t = np.arange(len(w))
    for k in range(3):
        shift[~down, k] = np.interp(t[~down], t[down], shift[down, k])
    return shift


def _leg_ik(delta, t: int, s: int, pts, lengths, spot: np.ndarray, weight: np.ndarray,
            eye: np.ndarray) -> None:
    """Turn the thigh ``t`` and shin ``s`` (in ``delta``, in place) so that the ankle moves
    ``weight`` of the way from where it is to ``spot``."""
    hip, knee, ankle = pts
    w = weight[:, None]
    if not w.any():
        return
    knee2, ankle2 = two_bone_ik(hip, knee, ankle + w * (spot - ankle), *lengths)
    turn_thigh = swing(knee - hip, knee2 - hip)
    thigh = turn_thigh @ delta.get(t, eye)
    shin_before = turn_thigh @ delta.get(s, eye)
    turn_shin = swing(np.einsum("nij,nj->ni", turn_thigh, ankle - knee), ankle2 - knee2)
    on = (w[:, 0] > 0)[:, None, None]
    delta[t] = np.where(on, thigh, delta.get(t, eye))
    delta[s] = np.where(on, turn_shin @ shin_before, delta.get(s, eye))


def keep_above_floor(spec, delta: dict[int, np.ndarray], root_world: np.ndarray
                     ) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """World rotations with no ankle below ``LOWEST_ANKLE`` of its standing height and no
    foot bone's toe under the rig's floor (its lowest rest point); see the module."""
    legs = _legs(spec)
    if legs is None:
        return delta, root_world
    delta = dict(delta)
    n = len(root_world)
    eye = np.broadcast_to(np.eye(3), (n, 3, 3))
    pts_rest = np.array([p for b in spec.bones for p in (b.head, b.tail)])
    floor = float(pts_rest[:, 2].min())
    pelvis = spec.role_bone("pelvis")
    wanted = {s for _, s in legs} | ({next(i for i, x in enumerate(spec.bones) if x is pelvis)}
                                      if pelvis is not None else set())
    heads = bone_heads(spec, delta, root_world, wanted)
    hips = _hips(spec, delta, heads, legs, eye)
    for col, (t, s) in enumerate(legs):
        thigh, shin = spec.bones[t], spec.bones[s]
        lowest = floor + LOWEST_ANKLE * (shin.tail[2] - floor)
        hip = hips[col]
        knee = hip + delta.get(t, eye) @ (shin.head - thigh.head)
        ankle = knee + delta.get(s, eye) @ (shin.tail - shin.head)
        low = ankle[:, 2] < lowest
        if low.any():
            goal = ankle.copy()
            goal[:, 2] = np.maximum(goal[:, 2], lowest)
            lengths = (float(np.linalg.norm(shin.head - thigh.head)),
                       float(np.linalg.norm(shin.tail - shin.head)))
            _leg_ik(delta, t, s, (hip, knee, ankle), lengths, goal, low.astype(float), eye)
            ankle = knee + delta.get(s, eye) @ (shin.tail - shin.head)  # knee: unchanged
            ankle = np.where(low[:, None], goal, ankle)
        foot = spec.role_bone(FEET[col])
        f = None if foot is None else next(i for i, x in enumerate(spec.bones) if x is foot)
        if f is None or f not in delta:
            continue
        toe_rest = foot.tail - foot.head
        length = float(np.linalg.norm(toe_rest))
        toe = np.einsum("nij,j->ni", delta[f], toe_rest)
        under = ankle[:, 2] + toe[:, 2] < floor
        if not under.any() or length < 1e-6:
            continue
        flat = toe * np.array([1.0, 1.0, 0.0])
        flat /= np.maximum(np.linalg.norm(flat, axis=-1, keepdims=True), 1e-9)
        rise = np.clip((floor - ankle[:, 2]) / length, -1.0, 1.0)[:, None]
        lifted = flat * np.sqrt(1.0 - rise ** 2) + np.array([0.0, 0.0, 1.0]) * rise
        turn = swing(toe, lifted * length)
        delta[f] = np.where(under[:, None, None], turn @ delta[f], delta[f])
    return delta, root_world
