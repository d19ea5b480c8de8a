"""training.diagnose.conventions: moving a body to other joint conventions keeps its limbs."""

from __future__ import annotations

import numpy as np
import pytest

from dgnet_core.skeleton import LELB, LSHO, LWRI, RFOOT, RKNEE, TEMPLATE_POSE
from training.diagnose import conventions as cc


def test_move_to_reaches_the_wanted_conventions_and_keeps_limbs() -> None:
    rng = np.random.default_rng(0)
    body = np.asarray(TEMPLATE_POSE, np.float64)[None] + rng.normal(size=(6, 1, 3))
    have = cc.measure(body)
    assert abs(have["shoulders"] - 0.34) < 1e-9 and abs(have["thorax"]) < 1e-9
    want = {"shoulders": 0.267, "hips": 0.272, "thorax": 0.056, "nose": 0.07, "head": 0.157}
    moved = cc.move_to(body, want)
    got = cc.measure(moved)
    for key, value in want.items():
        assert abs(got[key] - value) < 1e-9, key
    for a, b in ((LSHO, LELB), (LELB, LWRI), (RKNEE, RFOOT)):
        np.testing.assert_allclose(moved[:, b] - moved[:, a], body[:, b] - body[:, a],
                                   atol=1e-12)
    np.testing.assert_allclose(moved[:, 0], body[:, 0])


def test_skeleton_subtrees_follow_the_tree() -> None:
    from dgnet_core.skeleton import HIP, NUM_JOINTS, PARENTS, SUBTREES, THORAX

    assert sorted(SUBTREES[HIP]) == list(range(NUM_JOINTS))
    assert SUBTREES[LSHO] == (LSHO, LELB, LWRI) and SUBTREES[LWRI] == (LWRI,)
    for j, sub in enumerate(SUBTREES):   # every member but j hangs below a member
        assert sub[0] == j and all(PARENTS[k] in sub for k in sub[1:])
    assert LSHO in SUBTREES[THORAX] and RKNEE not in SUBTREES[THORAX]


def test_views_turn_changes_only_the_elevation() -> None:
    """``views``: turning a body about the camera's x axis through its pelvis keeps the
    pelvis and the bone lengths and moves the camera's elevation by the turn."""
    import numpy as np

    from dgnet_core.skeleton import TEMPLATE_POSE, bone_lengths
    from training.diagnose.views import elevation_deg, turned

    # the template standing 5 m in front of a level camera (x right, y down, z forward)
    cam = TEMPLATE_POSE[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0]) + [0.0, 0.0, 5.0]
    snippets = np.repeat(cam[None, None], 3, axis=1)     # (1, 3, 17, 3)
    assert abs(elevation_deg(snippets)[0]) < 1.0   # a level camera at an upright body
    for deg in (-30, 20):
        out = turned(snippets, deg)
        assert np.allclose(out[:, :, 0], snippets[:, :, 0])
        assert np.allclose(bone_lengths(out[0, 1]), bone_lengths(snippets[0, 1]))
        change = elevation_deg(out)[0] - elevation_deg(snippets)[0]
        assert abs(change - deg) < 1.0   # a negative turn: the camera below the body


def test_hand_depth_spread_is_depth_range_over_the_larger_2d_range():
    from training.diagnose.hand_depth import depth_spread

    pts = np.zeros((21, 3))
    pts[:, 0] = np.linspace(0, 0.2, 21)     # 20 cm across
    pts[:, 1] = np.linspace(0, 0.1, 21)
    assert depth_spread(pts) == 0.0         # flat to the camera
    pts[:, 2] = np.linspace(0, 0.05, 21)
    assert depth_spread(pts) == pytest.approx(0.25)
