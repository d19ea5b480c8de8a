"""The hands of a bake (``--hands``): the rig's finger bones' and hand bones' keys.

Owns reading a rig's hands at rest (the finger bones and the hand bone, in armature
space) and turning the result's finger angles into local rotations of those bones with
``dgnet_core.retarget.fingers``, and the hand bone to the detected palm (the wrist's roll);
``bake.key_pose`` keys them with the body. A rig without
the finger bones of a side gets no finger keys there (``finger_keys`` says which sides it
drove).
"""

from __future__ import annotations

import bpy
import numpy as np

from dgnet_core.motion.hands import palm_frame
from dgnet_core.retarget.fingers import (
    finger_bones,
    finger_quats,
    rest_points,
    wrist_bone,
    wrist_quats,
)
from dgnet_core.retarget.resample import resample_values
from dgnet_core.retarget.solver import Retargeted, RigSpec


def _rest(obj: bpy.types.Object, hand: str, chains: list[list[str]]):
    bones = obj.data.bones
    wrist = np.array(bones[hand].head_local)
    heads = np.array([[bones[n].head_local for n in chain] for chain in chains])
    tails = np.array([[bones[n].tail_local for n in chain] for chain in chains])
    rot = np.array([[np.array(bones[n].matrix_local)[:3, :3] for n in chain]
                    for chain in chains])
    rot /= np.linalg.norm(rot, axis=-2, keepdims=True)
    return rest_points(wrist, heads, tails), rot


def _rotations(m: np.ndarray) -> np.ndarray:
    """The nearest rotations to (N, 3, 3) matrices (after linear resampling)."""
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def finger_keys(obj: bpy.types.Object, hands, ratio: float, spec: RigSpec,
                out: Retargeted, mapped: dict[str, str] | None = None
                ) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per finger bone name (and hand bone: the wrist) its local quaternions (N, 4) at
    scene frames (``ratio`` scene frames per video frame, as the body is resampled), and
    the sides driven ("left", "right"). ``spec`` and ``out``: the body's solve;
    ``mapped``: the bone map's bone -> role (a custom map may name the finger bones)."""
    names = [b.name for b in obj.data.bones]
    flex = resample_values(hands.flex, ratio)
    spread = resample_values(hands.spread, ratio)
    weight = resample_values(hands.weight, ratio)
    palm = _rotations(resample_values(hands.palm, ratio))
    to_world = np.array(obj.matrix_world.to_3x3().normalized())
    keys: dict[str, np.ndarray] = {}
    driven = []
    for side, word in ((0, "left"), (1, "right")):
        found = finger_bones(names, side, mapped)
        if found is None:
            continue
        hand, chains = found
        rest, rot = _rest(obj, hand, chains)
        quats = finger_quats(rest, rot, side, flex[:, side], spread[:, side], weight[:, side])
        for f, chain in enumerate(chains):
            for j, name in enumerate(chain):
                keys[name] = quats[:, f, j]
        wrist = wrist_bone(names, side, mapped)
        if wrist is not None and np.asarray(hands.score)[:, side].max() > 0:
            keys[wrist] = wrist_quats(spec, out, wrist, to_world @ palm_frame(rest, side),
                                      palm[:, side], weight[:, side])
        driven.append(word)
    return keys, driven
