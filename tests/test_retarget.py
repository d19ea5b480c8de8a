"""Retarget maths (dgnet_core.retarget): rotations, roles, rigs, foot locking, bone maps.

Pure numpy: target rigs are built here from rest heads/tails (rest orientation from the
bone direction and a roll vector, as Blender does) and posed with a small forward-kinematics
helper that applies pose-bone quaternions exactly like Blender's bone hierarchy.
"""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.errors import RigError
from dgnet_core.motion.body import clip_body, person_lengths, rest_joints, standing_pelvis_height
from dgnet_core.retarget.lift_rig import lift_rest_bones
from dgnet_core.retarget.resample import resample
from dgnet_core.retarget.rigmaps import (
    RigMap,
    alias_map,
    check_map,
    detect_rig_type,
    preset_map,
    spec_from_rest,
)
from dgnet_core.retarget.solver import Retargeted, RetargetOptions, RigSpec, retarget, rig_yaw
from dgnet_core.roles import ALL_ROLES, ROLES, role_rotations
from dgnet_core.rotations import (
    axis_angle_matrix,
    continuous_quats,
    matrix_to_quat,
    normalize,
    quat_to_matrix,
    slerp_matrix,
    swing,
)
from dgnet_core.skeleton import (
    ANKLE_HEIGHT,
    BONES,
    FEET,
    JOINT_NAMES,
    LELB,
    LSHO,
    TEMPLATE_POSE,
    bone_lengths,
)


def rot(axis, deg):
    return axis_angle_matrix(np.asarray(axis, float), np.radians(deg))


def posed_template(n: int = 30, seed: int = 0) -> np.ndarray:
    """A rigid-proportion walk-ish motion: template with bent limbs, turning and travelling."""
    rng = np.random.default_rng(seed)
    t = TEMPLATE_POSE
    out = []
    for i in range(n):
        j = t.copy()
        ph = 2 * np.pi * i / n

        def bend(joints, parent, kids, axis, deg):
            r = rot(axis, deg)
            pivot = joints[parent].copy()
            joints[kids] = (joints[kids] - pivot) @ r.T + pivot

        bend(j, 11, [12, 13], [0, 1, 0], 40 + 20 * np.sin(ph))  # left arm out
        bend(j, 12, [13], [1, 0, 0], -(50 + 30 * np.sin(ph)))  # left elbow forward
        bend(j, 14, [15, 16], [1, 0, 0], -30 * np.cos(ph))  # right arm swings
        bend(j, 15, [16], [1, 0, 0], -70)
        bend(j, 4, [5, 6], [1, 0, 0], -25 * np.sin(ph))  # left thigh
        bend(j, 5, [6], [1, 0, 0], 40 + 20 * np.sin(ph))  # left knee (shin backward)
        bend(j, 1, [2, 3], [1, 0, 0], 25 * np.sin(ph))
        bend(j, 2, [3], [1, 0, 0], 15)
        bend(j, 0, list(range(1, 17)), [1, 0, 0], -10 * np.sin(ph))
        r = rot([0, 0, 1], 20 * np.sin(ph) + rng.normal(0, 1))
        pelvis = j[0].copy()
        j = (j - pelvis) @ r.T + pelvis + np.array([0.02 * i, -0.01 * i, 0.02 * np.sin(ph)])
        out.append(j)
    return np.asarray(out)


def rest_matrix(head, tail, up):
    """A Blender-like bone rest orientation: Y along the bone, Z toward ``up``."""
    y = normalize(np.asarray(tail, float) - head)
    z = normalize(up - np.dot(up, y) * y)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


def make_spec(names, parents, heads, tails, rig_map, yaw_deg=0.0, scale=1.0):
    r = rot([0, 0, 1], yaw_deg)
    heads = np.asarray(heads) @ r.T
    tails = np.asarray(tails) @ r.T
    ups = []
    for h, t in zip(heads, tails):
        d = normalize(t - h)
        up = r @ np.array([0.0, -1.0, 0.0])
        if abs(np.dot(up, d)) > 0.9:
            up = np.array([0.0, 0.0, 1.0])
        ups.append(up)
    rest = np.array([rest_matrix(h, t, u) for h, t, u in zip(heads, tails, ups)])
    return spec_from_rest(names, parents, rest, heads, tails, rig_map, scale=scale)


def forward(spec: RigSpec, out: Retargeted) -> tuple[np.ndarray, np.ndarray]:
    """Posed world heads and tails (N, B, 3) from pose quaternions + root location."""
    n, nb = out.quats.shape[:2]
    heads = np.zeros((n, nb, 3))
    tails = np.zeros((n, nb, 3))
    world = np.zeros((n, nb, 3, 3))
    basis = quat_to_matrix(out.quats)
    for i, b in enumerate(spec.bones):
        if b.parent < 0:
            world[:, i] = b.rest @ basis[:, i]
            loc = np.zeros((n, 3))
            if spec.root == i and out.root_location is not None:
                loc = out.root_location
            heads[:, i] = b.head + spec.scale * np.einsum("ij,nj->ni", b.rest, loc)
        else:
            p = spec.bones[b.parent]
            rel = p.rest.T @ b.rest
            world[:, i] = world[:, b.parent] @ rel @ basis[:, i]
            off = p.rest.T @ (b.head - p.head)
            heads[:, i] = heads[:, b.parent] + np.einsum("nij,j->ni", world[:, b.parent], off)
            if spec.root == i and out.root_location is not None:
                heads[:, i] += spec.scale * np.einsum("nij,nj->ni", world[:, i],
                                                      out.root_location)
        length = np.linalg.norm(b.tail - b.head)
        tails[:, i] = heads[:, i] + world[:, i][..., 1] * length
    return heads, tails


def lift_spec(joints, yaw_deg=0.0):
    names, parents, heads, tails = lift_rest_bones(person_lengths(joints))
    rig_map = preset_map("lift", names)
    return make_spec(names, parents, heads, tails, rig_map, yaw_deg)


# --------------------------------------------------------------------------------------


def test_rotation_helpers_roundtrip():
    rng = np.random.default_rng(1)
    q = normalize(rng.normal(size=(50, 4)))
    m = quat_to_matrix(q)
    assert np.allclose(m @ np.swapaxes(m, -1, -2), np.eye(3), atol=1e-9)
    q2 = matrix_to_quat(m)
    assert np.allclose(np.abs(np.sum(q * q2, -1)), 1.0, atol=1e-9)
    u, v = normalize(rng.normal(size=(50, 3))), normalize(rng.normal(size=(50, 3)))
    s = swing(u, v)
    assert np.allclose(np.einsum("nij,nj->ni", s, u), v, atol=1e-9)
    assert np.allclose(np.einsum("ij,j->i", swing(u[0], -u[0]), u[0]), -u[0], atol=1e-9)
    half = slerp_matrix(np.eye(3), rot([0, 0, 1], 90), 0.5)
    assert np.allclose(half, rot([0, 0, 1], 45), atol=1e-9)
    flipped = continuous_quats(np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0]]))
    assert flipped[1, 0] == 1.0


def test_template_gives_identity_roles():
    d = role_rotations(TEMPLATE_POSE[None])
    for name, m in d.items():
        assert np.allclose(m[0], np.eye(3), atol=1e-9), name


def test_rigid_body_rotation_is_recovered_by_every_role():
    r = rot([0.3, -0.5, 0.8], 70)
    j = (TEMPLATE_POSE - TEMPLATE_POSE[0]) @ r.T
    d = role_rotations(j[None])
    for name, m in d.items():
        assert np.allclose(m[0], r, atol=1e-6), name


def test_own_rig_heads_follow_joints_exactly_for_rigid_motion():
    j = posed_template()
    spec = lift_spec(j)
    out = retarget(j, spec, RetargetOptions(root_motion=True, scale_to_rig=True))
    assert out.scale == pytest.approx(1.0, abs=1e-9)
    heads, _ = forward(spec, out)
    target = j - np.array([*(j[0, 0, :2]), 0.0])  # root motion relative to frame 0
    err = np.linalg.norm(heads - target, axis=-1)
    assert err.max() < 1e-6, err.max()


def test_head_off_leaves_the_head_bones_unkeyed_following_the_body():
    j = posed_template()
    spec = lift_spec(j)
    head = [i for i, b in enumerate(spec.bones) if b.role == "head"]  # Thorax, Neck here
    on = retarget(j, spec, RetargetOptions())
    off = retarget(j, spec, RetargetOptions(head=False))
    assert set(head) <= set(on.animated)
    assert set(off.animated) == set(on.animated) - set(head)
    assert np.allclose(off.quats[:, head], [1.0, 0.0, 0.0, 0.0])   # their rest, on the body
    others = [i for i in on.animated if i not in head]
    assert np.allclose(on.quats[:, others], off.quats[:, others])  # nothing else changes


def test_yawed_rig_faces_its_own_way():
    j = posed_template(10)
    spec = lift_spec(j, yaw_deg=90)
    assert rig_yaw(spec) == pytest.approx(np.pi / 2, abs=1e-6)
    out = retarget(j, spec)
    heads, _ = forward(spec, out)
    r = rot([0, 0, 1], 90)
    target = (j - np.array([*(j[0, 0, :2]), 0.0])) @ r.T
    assert np.abs(heads - target).max() < 1e-6


def _tpose_rig(scale=1.0, prefix="mixamorig:"):
    """A Mixamo-named rig in T-pose (arms along +-X), 1.2x the template's size."""
    k = 1.2
    pts = {
        "Hips": ([0, 0, 1.0], [0, 0, 1.1]), "Spine": ([0, 0, 1.1], [0, 0, 1.25]),
        "Spine1": ([0, 0, 1.25], [0, 0, 1.4]), "Spine2": ([0, 0, 1.4], [0, 0, 1.55]),
        "Neck": ([0, 0, 1.55], [0, 0, 1.65]), "Head": ([0, 0, 1.65], [0, 0, 1.85]),
    }
    for s, side in ((1, "Left"), (-1, "Right")):
        pts[f"{side}Shoulder"] = ([0.03 * s, 0, 1.5], [0.18 * s, 0, 1.52])
        pts[f"{side}Arm"] = ([0.18 * s, 0, 1.52], [0.46 * s, 0, 1.52])
        pts[f"{side}ForeArm"] = ([0.46 * s, 0, 1.52], [0.72 * s, 0, 1.52])
        pts[f"{side}Hand"] = ([0.72 * s, 0, 1.52], [0.8 * s, 0, 1.52])
        pts[f"{side}UpLeg"] = ([0.1 * s, 0, 0.98], [0.1 * s, 0, 0.53])
        pts[f"{side}Leg"] = ([0.1 * s, 0, 0.53], [0.1 * s, 0, 0.09])
        pts[f"{side}Foot"] = ([0.1 * s, 0, 0.09], [0.1 * s, -0.12, 0.0])
    parent = {"Hips": None, "Spine": "Hips", "Spine1": "Spine", "Spine2": "Spine1",
              "Neck": "Spine2", "Head": "Neck"}
    for side in ("Left", "Right"):
        parent.update({f"{side}Shoulder": "Spine2", f"{side}Arm": f"{side}Shoulder",
                       f"{side}ForeArm": f"{side}Arm", f"{side}Hand": f"{side}ForeArm",
                       f"{side}UpLeg": "Hips", f"{side}Leg": f"{side}UpLeg",
                       f"{side}Foot": f"{side}Leg"})
    order = list(pts)
    names = [prefix + n for n in order]
    parents = [order.index(parent[n]) if parent[n] else -1 for n in order]
    heads = np.array([pts[n][0] for n in order], float) * k
    tails = np.array([pts[n][1] for n in order], float) * k
    return names, parents, heads, tails


# Segment each checked role follows: the limbs (upper and lower) and the chest, from the
# code's role definitions.
LIMBS = {r: ROLES[r].aim for r in ALL_ROLES
         if (ROLES[r].kind != "torso" or r == "chest") and ROLES[r].kind != "foot"}


def limb_angle_errors(spec, out, joints):
    heads, tails = forward(spec, out)
    errs = {}
    for i, b in enumerate(spec.bones):
        if b.role in LIMBS:
            a, c = LIMBS[b.role]
            want = normalize(joints[:, c] - joints[:, a])
            got = normalize(tails[:, i] - heads[:, i])
            errs[b.name] = np.degrees(np.arccos(np.clip(np.sum(want * got, -1), -1, 1))).max()
    return errs


def test_tpose_mixamo_rig_limbs_follow_lifted_directions():
    j = posed_template()
    names, parents, heads, tails = _tpose_rig()
    assert detect_rig_type(names) == "mixamo"
    rig_map = preset_map("mixamo", names)
    assert rig_map.root == "mixamorig:Hips"
    spec = make_spec(names, parents, heads, tails, rig_map)
    out = retarget(j, spec)
    errs = limb_angle_errors(spec, out, j)
    assert len(errs) == 9 and max(errs.values()) < 1.0, errs
    # Root: scaled by rig size and grounded (rig floor is z=0 here).
    hips = rest_joints(person_lengths(j))[[1, 4], 2].mean()
    assert out.scale == pytest.approx(1.2 * 0.98 / hips, rel=1e-6)
    heads_w, _ = forward(spec, out)
    hip_i = spec.index("mixamorig:Hips")
    assert np.allclose(heads_w[:, hip_i], out.root_world, atol=1e-9)
    assert np.allclose(out.root_world[0, :2], heads[0, :2])


def test_straight_limbs_use_swing_and_bent_limbs_their_plane():
    j = TEMPLATE_POSE.copy()
    # Left elbow bent 90 deg forward: the upper arm's twist follows the bend plane.
    j[13] = j[12] + np.array([0.0, -1.0, 0.0]) * np.linalg.norm(j[13] - j[12])
    d = role_rotations(j[None])
    fore_dir = d["forearm.L"][0] @ normalize(TEMPLATE_POSE[13] - TEMPLATE_POSE[12])
    assert np.allclose(fore_dir, [0, -1, 0], atol=0.05)
    # The upper arm did not move, so (almost) no rotation for it.
    ang = np.degrees(np.arccos((np.trace(d["upper_arm.L"][0]) - 1) / 2))
    assert ang < 5.0


def test_rest_joints_scale_and_floor():
    lengths = bone_lengths(TEMPLATE_POSE) * 1.1
    rest = rest_joints(lengths)
    assert np.allclose(bone_lengths(rest), lengths)
    assert rest[[3, 6], 2].min() > 0.05
    assert standing_pelvis_height(lengths) == pytest.approx(0.95 * 1.1, rel=0.03)
    j = posed_template(5)
    assert np.allclose(person_lengths(j), bone_lengths(TEMPLATE_POSE), atol=1e-6)


def test_one_ankle_height_and_a_standing_person_needs_no_root_lift():
    # The rest pose stands on the same ankle height placement grounds the joints with.
    rest = rest_joints(bone_lengths(TEMPLATE_POSE) * 0.9)
    assert rest[list(FEET), 2].min() == pytest.approx(ANKLE_HEIGHT)
    # A person of another size standing still, grounded like the pipeline does: the root
    # of an armature built from the clip's body stays where it was built.
    stand = (TEMPLATE_POSE - TEMPLATE_POSE[0]) * 1.15
    stand[:, 2] += ANKLE_HEIGHT - stand[list(FEET), 2].min()
    j = np.repeat(stand[None], 4, axis=0)
    names, parents, heads, tails = lift_rest_bones(offsets=clip_body(j).offsets)
    spec = make_spec(names, parents, heads, tails, preset_map("lift", names))
    out = retarget(j, spec)
    assert np.abs(out.root_location).max() < 1e-9
    assert np.allclose(out.root_world, j[:, 0], atol=1e-9)


def _file_offsets(offsets: np.ndarray) -> np.ndarray:
    """Rest offsets of the BVH file's hierarchy (the armature's parents), BVH axes."""
    from dgnet_core.formats.bvh import BVH_PARENTS, WORLD_TO_BVH

    rest = rest_joints(offsets=offsets)
    return np.array([rest[j] - rest[p] if p >= 0 else np.zeros(3)
                     for j, p in enumerate(BVH_PARENTS)]) @ WORLD_TO_BVH.T


def test_bvh_armature_and_solve_share_one_skeleton_fit():
    from dgnet_core.formats.bvh import bvh_motion
    from dgnet_core.motion.body import fit_body

    j = posed_template(12) * 1.1
    body = clip_body(j)
    assert np.array_equal(body.offsets, fit_body(j).offsets)  # no result body: the fit
    offsets_bvh, _ = bvh_motion(j)
    assert np.allclose(offsets_bvh, _file_offsets(body.offsets), atol=1e-12)
    _, _, heads, _ = lift_rest_bones(offsets=body.offsets)
    assert np.allclose(heads - heads[0], body.rest_pose(), atol=1e-12)
    given = body.offsets * 0.95  # a result's own body wins over a refit
    assert np.array_equal(clip_body(j, given).offsets, given)
    assert np.allclose(bvh_motion(j, offsets=given)[0], _file_offsets(given))


def test_bvh_rotations_are_the_solvers_on_the_armature():
    """One joint-to-rotation solver: every bone of the BVH turns exactly as the retarget
    solver turns the add-on's armature (limb twist included), and FK of the file still
    gives the joints back."""
    from dgnet_core.formats.bvh import global_rotations
    from dgnet_core.retarget.lift_rig import lift_spec

    j = posed_template(12)
    body = clip_body(j)
    rots = global_rotations(j, body.offsets)
    spec = lift_spec(body.offsets)
    out = retarget(j, spec, RetargetOptions(scale_to_rig=False))
    for i in out.animated:
        assert np.allclose(rots[:, i], out.world_delta[i], atol=1e-9)
    # the upper arm carries the elbow's bend plane (twist), not only the swing of its aim
    rest = rest_joints(offsets=body.offsets)
    aim_rest, aim_now = rest[LELB] - rest[LSHO], j[:, LELB] - j[:, LSHO]
    assert np.allclose(np.einsum("nij,j->ni", rots[:, LSHO], aim_rest), aim_now, atol=1e-6)


@pytest.mark.parametrize("names,expected", [
    (["torso", "hips", "chest", "upper_arm_fk.L", "thigh_fk.L"], "rigify"),
    (["spine", "spine.001", "upper_arm.L", "thigh.L", "shin.L"], "rigify_meta"),
    (["mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:LeftArm",
      "mixamorig:RightForeArm"], "mixamo"),
    (list(JOINT_NAMES), "lift"),
    (["Bone", "Bone.001"], "custom"),
])
def test_detect_rig_type(names, expected):
    assert detect_rig_type(names) == expected


def test_rigify_spine_takes_its_fk_controls_else_hips_and_chest():
    base = ["torso", "hips", "chest", "neck", "head"] + [
        f"{b}_fk.{s}" for b in ("upper_arm", "forearm", "thigh", "shin", "foot") for s in "LR"]
    fk = preset_map("rigify", base + ["spine_fk", "spine_fk.001", "spine_fk.002"]).bones
    assert fk["spine_fk.001"] == "pelvis" and fk["spine_fk.002"] == "chest"
    assert "hips" not in fk and "chest" not in fk
    old = preset_map("rigify", base).bones
    assert old["hips"] == "pelvis" and old["chest"] == "chest"


def test_alias_map_on_custom_names_and_json_roundtrip(tmp_path):
    names = ["Root", "pelvis", "spine_01", "spine_02", "neck_01", "head",
             "upperarm_l", "lowerarm_l", "upperarm_r", "lowerarm_r",
             "thigh_l", "calf_l", "thigh_r", "calf_r", "hand_l"]
    m = alias_map(names)
    assert m.bones == {"pelvis": "pelvis", "spine_01": "spine", "spine_02": "chest",
                       "neck_01": "neck", "head": "head", "upperarm_l": "upper_arm.L",
                       "lowerarm_l": "forearm.L", "upperarm_r": "upper_arm.R",
                       "lowerarm_r": "forearm.R", "thigh_l": "thigh.L", "calf_l": "shin.L",
                       "thigh_r": "thigh.R", "calf_r": "shin.R"}
    assert m.root == "pelvis"
    check_map(m, names)
    back = RigMap.load(m.save(tmp_path / "map.json"))
    assert back == m
    ue = alias_map(["Hips", "LeftUpLeg", "LeftLeg", "RightUpLeg", "RightLeg", "LeftArm",
                       "LeftForeArm", "RightArm", "RightForeArm"])
    assert ue.bones["LeftLeg"] == "shin.L" and ue.bones["RightArm"] == "upper_arm.R"


def test_bad_maps_give_clear_errors(tmp_path):
    names = ["pelvis", "thigh_l", "calf_l"]
    with pytest.raises(RigError, match="no bone mapped for: thigh.R, shin.R"):
        check_map(alias_map(names), names)
    with pytest.raises(RigError, match="bones not in the armature: nope"):
        check_map(RigMap(bones={"nope": "pelvis"}), names)
    (tmp_path / "bad.json").write_text('{"bones": {"a": "tail"}}')
    with pytest.raises(RigError, match="unknown body parts: tail"):
        RigMap.load(tmp_path / "bad.json")
    with pytest.raises(RigError, match="not found"):
        RigMap.load(tmp_path / "missing.json")


def test_lift_rest_bones_layout():
    names, parents, heads, tails = lift_rest_bones()
    assert names == list(JOINT_NAMES)
    assert parents[JOINT_NAMES.index("LShoulder")] == JOINT_NAMES.index("Spine")
    assert parents[JOINT_NAMES.index("LHip")] == JOINT_NAMES.index("Hip")
    assert all(parents[i] < i for i in range(len(names)))
    assert np.all(np.linalg.norm(tails - heads, axis=-1) > 0.02)
    assert tails[[3, 6], 2].max() == pytest.approx(0.0)
    assert len(BONES) == 16


def test_resample_to_scene_rate():
    j = np.repeat(TEMPLATE_POSE[None], 11, axis=0).copy()
    j[:, :, 0] += np.arange(11)[:, None] * 0.1  # 0.1 m per video frame
    contacts = np.zeros((11, 2), bool)
    contacts[5:] = True
    out, c = resample(j, contacts, 24 / 10)  # 10 fps video into a 24 fps scene
    assert len(out) == int(10 * 2.4) + 1 == len(c)
    assert np.allclose(out[:, 0, 0] - out[0, 0, 0], np.arange(len(out)) * 0.1 / 2.4)
    assert not c[0, 0] and c[-1, 0]
    same, c2 = resample(j, contacts, 1.0)
    assert same is not None and np.array_equal(same, j) and c2 is contacts
    # 25 fps video into a 24 fps scene: no video frame is dropped at the end
    down, _ = resample(j, None, 24 / 25)
    assert np.allclose(down[-1], j[-1]) and len(down) == 11
    with pytest.raises(ValueError):
        resample(j, None, -1.0)
