"""Rig maps: which bone of a target armature plays which role, and the RigSpec built from it.

Owns the preset maps (Rigify metarig, Rigify generated rig with FK controls, Mixamo, the
add-on's own armature), rig-type detection from bone names, alias guessing for custom rigs
(Mixamo namespaces, ``DEF-``/``ORG-`` prefixes, ``.L``/``_l``/``Left`` sides), the JSON
bone-map file (``RigMap``), the check that a map fits an armature and ``spec_from_rest``,
which turns world-space rest data plus a checked map into the solver's ``RigSpec``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RigError
from ..roles import ALL_ROLES, HAND_ROLES, REQUIRED_ROLES, ROLES
from ..skeleton import HIP, JOINT_NAMES
from .solver import RigBone, RigSpec

RIG_TYPES: tuple[str, ...] = ("lift", "rigify_meta", "rigify", "mixamo", "custom")


RIG_MAPS: dict[str, dict[str, str]] = {
    "lift": {
        "Hip": "pelvis", "Spine": "chest", "Thorax": "head", "Neck": "head",
        "LShoulder": "upper_arm.L", "LElbow": "forearm.L",
        "RShoulder": "upper_arm.R", "RElbow": "forearm.R",
        "LHip": "thigh.L", "LKnee": "shin.L", "RHip": "thigh.R", "RKnee": "shin.R",
        "LFoot": "foot.L", "RFoot": "foot.R",
    },
    "rigify_meta": {
        "spine": "pelvis", "spine.001": "spine", "spine.002": "spine", "spine.003": "chest",
        "spine.004": "neck", "spine.006": "head",
        **{f"{b}.{s}": f"{b}.{s}" for b in ("upper_arm", "forearm", "thigh", "shin", "foot")
           for s in "LR"},
    },
    "rigify": {
        # the spine's FK controls: each deform spine bone then turns exactly as its body
        # part (the hips and chest controls bend the stretchy spine between them)
        "spine_fk.001": "pelvis", "spine_fk.002": "chest", "neck": "neck", "head": "head",
        **{f"{b}_fk.{s}": f"{b}.{s}" for b in ("upper_arm", "forearm", "thigh", "shin", "foot")
           for s in "LR"},
    },
    "mixamo": {
        "Hips": "pelvis", "Spine": "spine", "Spine1": "spine", "Spine2": "chest",
        "Neck": "neck", "Head": "head",
        "LeftArm": "upper_arm.L", "LeftForeArm": "forearm.L",
        "RightArm": "upper_arm.R", "RightForeArm": "forearm.R",
        "LeftUpLeg": "thigh.L", "LeftLeg": "shin.L", "RightUpLeg": "thigh.R", "RightLeg": "shin.R",
        "LeftFoot": "foot.L", "RightFoot": "foot.R",
    },
}
# A preset bone a rig may lack, and the bone that plays its role then (Rigify rigs
# generated without the spine's FK controls: the hips and chest controls).
RIG_FALLBACKS: dict[str, dict[str, str]] = {
    "rigify": {"spine_fk.001": "hips", "spine_fk.002": "chest"},
}
RIG_ROOTS: dict[str, str] = {"lift": JOINT_NAMES[HIP], "rigify_meta": "spine", "rigify": "torso",
                             "mixamo": "Hips"}
RIG_LABELS: dict[str, str] = {
    "lift": "Lift Video armature", "rigify_meta": "Rigify metarig",
    "rigify": "Rigify rig (FK controls)", "mixamo": "Mixamo", "custom": "Custom bone map",
}

_MIXAMO_PREFIX = re.compile(r"^mixamorig\d*[:_]", re.IGNORECASE)


def strip_namespace(name: str) -> str:
    """Drop a Mixamo-style namespace (``mixamorig:Hips`` -> ``Hips``; also ``ns:Name``)."""
    name = _MIXAMO_PREFIX.sub("", name)
    return name.rsplit(":", 1)[-1]


@dataclass
class RigMap:
    """Bone name -> role, plus the bone that gets root motion. Saved as JSON."""

    bones: dict[str, str] = field(default_factory=dict)
    root: str | None = None
    rig_type: str = "custom"

    def to_json(self) -> str:
        return json.dumps({"format": "lift_video.bonemap/1", "rig_type": self.rig_type,
                           "root": self.root, "bones": self.bones}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RigMap:
        try:
            data = json.loads(text)
            bones = {str(k): str(v) for k, v in data["bones"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RigError(f"not a bone map file (expected JSON with 'bones'): {exc}") from None
        unknown = sorted(set(bones.values()) - set(ROLES) - set(HAND_ROLES))
        if unknown:
            raise RigError(f"bone map has unknown body parts: {', '.join(unknown)}; "
                           f"valid: {', '.join(ALL_ROLES)} and the hands' "
                           f"{HAND_ROLES[0]} .. {HAND_ROLES[-3]}, hand.L, hand.R")
        root = data.get("root")
        return cls(bones=bones, root=str(root) if root else None,
                   rig_type=str(data.get("rig_type", "custom")))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> RigMap:
        path = Path(path)
        if not path.is_file():
            raise RigError(f"bone map file not found: {path}")
        return cls.from_json(path.read_text(encoding="utf-8"))


def _resolve(names: Sequence[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    hits = [n for n in names if strip_namespace(n) == wanted]
    return hits[0] if hits else None


def detect_rig_type(bone_names: Iterable[str]) -> str:
    """Best guess of the rig type from its bone names (one of :data:`RIG_TYPES`)."""
    names = list(bone_names)
    stripped = {strip_namespace(n) for n in names}
    have = set(names)
    if {"torso", "hips", "upper_arm_fk.L", "thigh_fk.L"} <= have:
        return "rigify"
    if {"spine", "spine.001", "upper_arm.L", "thigh.L", "shin.L"} <= have:
        return "rigify_meta"
    if {"Hips", "LeftUpLeg", "LeftArm", "RightForeArm"} <= stripped:
        return "mixamo"
    if set(JOINT_NAMES) <= have:
        return "lift"
    return "custom"


def preset_map(rig_type: str, bone_names: Sequence[str]) -> RigMap:
    """The preset map of a rig type resolved against real names (Mixamo namespaces)."""
    if rig_type == "custom":
        return alias_map(bone_names)
    if rig_type not in RIG_MAPS:
        raise RigError(f"unknown rig type {rig_type!r}; expected one of {', '.join(RIG_TYPES)}")
    bones = {}
    fallbacks = RIG_FALLBACKS.get(rig_type, {})
    for bone, role in RIG_MAPS[rig_type].items():
        real = _resolve(bone_names, bone)
        if real is None and bone in fallbacks:
            real = _resolve(bone_names, fallbacks[bone])
        if real is not None:
            bones[real] = role
        elif role in REQUIRED_ROLES:
            bones[bone] = role  # kept so validation names what is missing
    root = _resolve(bone_names, RIG_ROOTS[rig_type]) or RIG_ROOTS[rig_type]
    return RigMap(bones=bones, root=root, rig_type=rig_type)


# Alias table for custom rigs: normalised base names per role ("L"/"R" found separately).
ALIASES: dict[str, tuple[str, ...]] = {
    "pelvis": ("hips", "hip", "pelvis", "root_hips", "cog"),
    "spine": ("spine", "spine1", "spine01", "spine_01", "abdomen", "waist", "lowerback"),
    "chest": ("chest", "spine2", "spine02", "spine_02", "spine3", "upperchest", "thorax",
              "upperback"),
    "neck": ("neck", "neck1", "neck01", "neck_01"),
    "head": ("head",),
    "upper_arm": ("upperarm", "upper_arm", "arm", "uparm", "humerus"),
    "forearm": ("forearm", "lowerarm", "lower_arm", "elbow", "fore_arm"),
    "thigh": ("thigh", "upleg", "upperleg", "upper_leg", "femur"),
    "shin": ("shin", "calf", "leg", "lowerleg", "lower_leg", "knee", "tibia"),
    "foot": ("foot", "ankle"),
}
_SIDE_PATTERNS = (
    (re.compile(r"(^|[._\s-])(l|left)($|[._\s-])|^left|left$"), "L"),
    (re.compile(r"(^|[._\s-])(r|right)($|[._\s-])|^right|right$"), "R"),
)


def _split_side(name: str) -> tuple[str | None, str]:
    """(side "L"/"R"/None, base name without side or separators), lower case."""
    n = strip_namespace(name).lower()
    n = re.sub(r"^(def|org|mch|drv|ctrl|fk|jnt|bip\d*|b)[._\s-]", "", n)
    side = None
    for pat, s in _SIDE_PATTERNS:
        if pat.search(n):
            side = s
            n = pat.sub(lambda m: m.group(1) if m.group(1) else "", n, count=1)
            break
    if side is None:  # CamelCase LeftArm / RightArm handled above; try trailing L/R
        m = re.match(r"^(.*?)[._\s-]?([lr])$", n)
        if m and m.group(1) and m.group(1).rstrip("._- ") in {a for v in ALIASES.values()
                                                              for a in v}:
            side, n = m.group(2).upper(), m.group(1)
    return side, re.sub(r"[._\s-]+", "", n)


def alias_map(bone_names: Sequence[str]) -> RigMap:
    """A bone map guessed from common names (Mixamo, Rigify, UE, CC, DAZ-like, custom)."""
    bones: dict[str, str] = {}
    taken: set[str] = set()
    for role in ALL_ROLES:
        base, _, side = role.partition(".")
        aliases = [re.sub(r"[._\s-]+", "", a) for a in ALIASES[base]]
        best = None
        for alias in aliases:
            for name in bone_names:
                if name in taken:
                    continue
                s, b = _split_side(name)
                if b == alias and (s or "") == side:
                    best = name
                    break
            if best is not None:
                break
        if best is not None:
            bones[best] = role
            taken.add(best)
    root = next((b for b, r in bones.items() if r == "pelvis"), None)
    return RigMap(bones=bones, root=root, rig_type="custom")


def check_map(rig_map: RigMap, bone_names: Iterable[str]) -> None:
    """Raise RigError naming missing bones / body parts the solver needs."""
    have = set(bone_names)
    missing_bones = sorted(b for b in rig_map.bones if b not in have)
    roles = {r for b, r in rig_map.bones.items() if b in have}
    missing_roles = [r for r in REQUIRED_ROLES if r not in roles]
    problems = []
    if missing_bones:
        problems.append(f"bones not in the armature: {', '.join(missing_bones)}")
    if missing_roles:
        problems.append(f"no bone mapped for: {', '.join(missing_roles)}")
    if rig_map.root and rig_map.root not in have:
        problems.append(f"root bone {rig_map.root!r} not in the armature")
    if problems:
        label = RIG_LABELS.get(rig_map.rig_type, rig_map.rig_type)
        raise RigError(f"the target does not fit the {label} map: " + "; ".join(problems))


def spec_from_rest(names: Sequence[str], parents: Sequence[int], rest: np.ndarray,
                   heads: np.ndarray, tails: np.ndarray, rig_map: RigMap,
                   scale: float = 1.0) -> RigSpec:
    """RigSpec from world-space rest data (parents first) and a checked RigMap."""
    check_map(rig_map, names)
    body = {b: r for b, r in rig_map.bones.items() if r in ROLES}  # hands: the finger solve
    bones = [RigBone(name=n, parent=int(p), rest=np.asarray(r, dtype=np.float64),
                     head=np.asarray(h, dtype=np.float64), tail=np.asarray(t, dtype=np.float64),
                     role=body.get(n))
             for n, p, r, h, t in zip(names, parents, rest, heads, tails)]
    for i, b in enumerate(bones):
        if b.parent >= i:
            raise ValueError("bones must be ordered parents first")
    root = list(names).index(rig_map.root) if rig_map.root else None
    return RigSpec(bones=bones, root=root, scale=scale)


