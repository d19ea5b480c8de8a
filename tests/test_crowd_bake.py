"""Several people baked at once (``addon.crowd``): one armature and action each, in step
on the timeline, a user's rig shared through copies, and nothing left behind when one
person's bake fails.

One ``python`` subprocess (bpy keeps global state) registers the add-on from the source tree
(as ``tests/test_addon.py`` does) and bakes synthetic two-person results.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from blender_session import addon_session, ok, run_in_bpy, source_addon_repo

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1)")
pytestmark = [pytest.mark.blender]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("crowd")
    return run_in_bpy(__file__, [{"repo": str(source_addon_repo(tmp))}], tmp)


_ok = ok


def test_each_person_gets_an_armature_and_an_action_in_step(results):
    r = _ok(results, "new")
    assert r["objects"] == ["clip person 1", "clip person 2"]
    assert r["actions"] == ["clip person 1", "clip person 2"]
    # person 2 was first seen at video frame 10: keyed from scene frame 1 + 10
    assert r["ranges"] == [[1.0, 30.0], [11.0, 30.0]]
    assert r["scene_range"] == [1, 30]   # everybody's frames
    assert r["different_motion"]


def test_a_users_rig_carries_person_one_and_copies_carry_the_others(results):
    r = _ok(results, "target")
    assert r["objects"] == ["Rig", "Rig person 2"]
    assert r["shared_data"] and r["actions"] == ["clip person 1", "clip person 2"]


def test_a_failed_bake_leaves_the_scene_as_it_was(results):
    r = _ok(results, "failure")
    assert r["raised"] == "RuntimeError: boom"
    assert r["before"] == r["after"]


# --------------------------------------------------------------------------------------
# subprocess side


def main(args: dict) -> dict:
    import bpy
    import numpy as np

    res, check, mod = addon_session(args["repo"])
    sys.path.insert(0, str(REPO / "tests"))
    from test_addon import _posed, _result

    bake, crowd = mod("bake"), mod("crowd")
    ctx = bpy.context
    joints = _posed(30)
    a = _result(joints)
    b = _result(joints[:20][::-1] + np.array([1.5, 0.0, 0.0]))
    b.frame_indices = np.arange(10, 30)
    a.person, b.person = 1, 2
    ctx.scene.frame_start, ctx.scene.frame_end = 1, 250

    def state() -> dict:
        return {"objects": sorted(o.name for o in bpy.data.objects),
                "armatures": sorted(x.name for x in bpy.data.armatures),
                "actions": sorted(x.name for x in bpy.data.actions),
                "range": [ctx.scene.frame_start, ctx.scene.frame_end]}

    def clear() -> None:
        for o in list(bpy.data.objects):
            bpy.data.objects.remove(o)
        for x in list(bpy.data.armatures):
            bpy.data.armatures.remove(x)
        for x in list(bpy.data.actions):
            bpy.data.actions.remove(x)

    @check("new")
    def _():
        reps = crowd.bake_people(ctx, [a, b], bake.BakeSettings(name="clip"))
        hips = []
        for rep in reps:
            ctx.scene.frame_set(20)
            hips.append(np.array(rep.obj.matrix_world @ rep.obj.pose.bones[0].head))
        out = {"objects": sorted(r.obj.name for r in reps),
               "actions": sorted(r.action.name for r in reps),
               "ranges": [list(r.frames) for r in reps],
               "scene_range": [ctx.scene.frame_start, ctx.scene.frame_end],
               "different_motion": bool(np.linalg.norm(hips[0] - hips[1]) > 0.5)}
        clear()
        return out

    @check("target")
    def _():
        rig = bake.apply_result(ctx, a, bake.BakeSettings(name="Rig")).obj
        bpy.data.actions.remove(rig.animation_data.action)
        rig.name = "Rig"
        reps = crowd.bake_people(ctx, [a, b], bake.BakeSettings(name="clip", target=rig))
        out = {"objects": sorted(r.obj.name for r in reps),
               "shared_data": reps[0].obj.data == reps[1].obj.data,
               "actions": sorted(r.action.name for r in reps)}
        clear()
        return out

    @check("failure")
    def _():
        ctx.scene.frame_start, ctx.scene.frame_end = 1, 250
        before = state()
        real = bake.apply_result
        calls = []

        def flaky(context, result, settings):
            calls.append(result.person)
            if len(calls) == 2:
                raise RuntimeError("boom")
            return real(context, result, settings)

        bake.apply_result = flaky
        try:
            crowd.bake_people(ctx, [a, b], bake.BakeSettings(name="clip"))
            raised = None
        except RuntimeError as exc:
            raised = f"RuntimeError: {exc}"
        finally:
            bake.apply_result = real
        return {"raised": raised, "before": before, "after": state()}

    return res


if __name__ == "__main__":
    print("RESULT " + json.dumps(main(json.loads(sys.argv[1]))), flush=True)
