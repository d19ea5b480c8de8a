"""One option schema: the command lines' flags and Blender's properties
derive from ``PipelineOptions`` (and the add-on's ``BakeOptions``), validation lives in one
place, and both command lines take the same flags with inclusive frame ranges.

The Blender side runs in a fresh ``python`` with bpy (the add-on registered from the
source tree) and reports JSON.
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from script_results import run_result_script

from dgnet_core import cli
from dgnet_core.contract import BACKENDS, DEVICES, SMOOTHING, PipelineOptions
from dgnet_core.motion.filters import METHODS
from dgnet_core.schema import enum_items, from_values, spec_of

REPO = Path(__file__).resolve().parents[1]


def _lift_parser():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    return sub.choices["lift"]


def _flags(parser) -> dict[str, dict]:
    """Every optional argument: its flags, default, choices (JSON-friendly)."""
    out = {}
    for a in parser._actions:
        if a.option_strings and a.dest != "help":
            out[a.dest] = {"flags": sorted(a.option_strings), "default": a.default,
                           "choices": list(a.choices) if a.choices else None}
    return out


def test_engine_flags_come_from_the_schema() -> None:
    flags = _flags(_lift_parser())
    for f in fields(PipelineOptions):
        spec = spec_of(PipelineOptions, f.name)
        assert flags[f.name]["flags"] == [spec.flag], f.name
        assert flags[f.name]["default"] == f.default, f.name
        assert flags[f.name]["choices"] == (list(spec.values) or None), f.name
    assert {"formats", "quiet", "verbose", "out"} <= set(flags)
    # what argparse gives with no flags is exactly the default options
    args = _lift_parser().parse_args(["clip.mp4", "-o", "out"])
    assert cli.options_from_args(args) == PipelineOptions()
    assert spec_of(PipelineOptions, "smoothing").values == METHODS  # the filters' methods
    assert [c.value for c in DEVICES] == ["auto", "cpu", "cuda"]
    assert [c.value for c in BACKENDS] == ["auto", "onnx", "torch"]
    assert enum_items(PipelineOptions, "smoothing") == [
        (c.value.upper(), c.label, c.description) for c in SMOOTHING]


def test_frame_range_is_inclusive_and_checked_once() -> None:
    args = _lift_parser().parse_args(["c.mp4", "-o", "o", "--frame-start", "10",
                                      "--frame-end", "19"])
    opts = cli.options_from_args(args)
    assert (opts.frame_start, opts.frame_end, opts.frame_stop) == (10, 19, 20)
    assert PipelineOptions(frame_start=7, frame_end=7).frame_stop == 8  # one frame
    assert PipelineOptions().frame_stop is None


@pytest.mark.parametrize("values, message", [
    ({"smoothing": "gaussian"}, "smoothing must be one of savgol, one_euro, none, got "
                                "'gaussian'"),
    ({"device": "gpu"}, "device must be one of auto, cpu, cuda, got 'gpu'"),
    ({"backend": "tensorrt"}, "backend must be one of auto, onnx, torch, got 'tensorrt'"),
    ({"fov_deg": 500.0}, "field of view must be in [1, 179] degrees, got 500.0"),
    ({"focal_px": -3.0}, "focal length must be a finite, positive number of pixels, got -3.0"),
    ({"max_gap": -1}, "max_gap must be >= 0, got -1"),
    ({"frame_start": -2}, "frame_start must be >= 0, got -2"),
    ({"frame_start": 5, "frame_end": 4}, "frame_end (4) is before frame_start (5)"),
])
def test_validation_in_one_place_gives_one_line(values, message) -> None:
    with pytest.raises(ValueError) as err:
        from_values(PipelineOptions, values)
    assert str(err.value) == message


def test_engine_cli_rejects_bad_values_in_one_line(tmp_path, capsys) -> None:
    video = str(tmp_path / "never_read.mp4")
    code = cli.main(["lift", video, "-o", str(tmp_path / "o"), "--frame-start", "5",
                     "--frame-end", "4"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == ["error: frame_end (4) is before frame_start (5)"]
    assert not (tmp_path / "o").exists()


_BLENDER_SCRIPT = r"""
import json, sys
from pathlib import Path
import bpy
import addon
addon.register()
from addon import bake, bake_options, cli, job, options, props
scene = bpy.context.scene
rna = scene.lift_video.bl_rna.properties
prefs_rna = props.LIFTVIDEO_AP_preferences.bl_rna.properties

def enum(p):
    return {"items": [[i.identifier, i.name, i.description] for i in p.enum_items],
            "default": p.default}

def number(p):
    return {"default": p.default, "min": p.hard_min, "max": p.hard_max}

flags = {}
for a in cli.build_parser()._actions:
    if a.option_strings and a.dest != "help":
        flags[a.dest] = {"flags": sorted(a.option_strings), "default": a.default,
                         "choices": list(a.choices) if a.choices else None}
source = job.file_source(Path("clip.mp4"), scene)
panel = options.build_run(options.values_from_props(scene.lift_video), source)
args = cli.build_parser().parse_args(["clip.mp4", "-o", "out"])
command = options.build_run(vars(args), source)
ranged = cli.build_parser().parse_args(["clip.mp4", "-o", "out", "--frame-start", "3",
                                        "--frame-end", "9", "--device", "cuda",
                                        "--rig-type", "mixamo", "--no-root-motion"])
r_opts, r_bake = options.build_run(vars(ranged), source)
lv = scene.lift_video
lv.use_frame_range, lv.frame_start, lv.frame_end = True, 3, 9
lv.smoothing, lv.rig_type, lv.root_motion = "ONE_EURO", "MIXAMO", False
p_opts, p_bake = options.build_run(options.values_from_props(lv), source)
lv.frame_start, lv.frame_end = 9, 3
try:
    options.build_run(options.values_from_props(lv), source)
    bad = None
except ValueError as exc:
    bad = str(exc)

def bake_dict(s):
    return {k: getattr(s, k) for k in ("rig_type", "root_motion", "scale_to_rig",
                                       "set_scene_range", "first_frame", "name")}

out = {
    "smoothing": enum(rna["smoothing"]), "rig_type": enum(rna["rig_type"]),
    "device": enum(prefs_rna["device"]), "fov": number(rna["fov"]),
    "frame_start": number(rna["frame_start"]), "frame_end_min": rna["frame_end"].hard_min,
    "bools": {k: rna[k].default for k in ("foot_lock", "root_motion", "scale_to_rig",
                                          "set_scene_range", "match_fps")},
    "flags": flags,
    "same_defaults": [repr(panel[0]) == repr(command[0]),
                      bake_dict(panel[1]) == bake_dict(command[1])],
    "ranged": [r_opts.frame_start, r_opts.frame_end, r_opts.device, r_bake.rig_type,
               r_bake.root_motion],
    "panel_ranged": [p_opts.frame_start, p_opts.frame_end, p_opts.smoothing,
                     p_bake.rig_type, p_bake.root_motion],
    "panel_bad_range": bad,
    "bake_defaults": [[getattr(bake.BakeSettings(), k), getattr(bake_options.BakeOptions(), k)]
                      for k in ("root_motion", "scale_to_rig", "set_scene_range",
                                "match_fps")],
}
addon.unregister()
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def blender_side(tmp_path_factory) -> dict:
    pytest.importorskip("bpy", reason="needs the bpy module (pip install bpy==5.0.1)")
    tmp = tmp_path_factory.mktemp("options")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLENDER", "PYTHON"))}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
    return run_result_script([sys.executable, "-c", _BLENDER_SCRIPT], env=env, cwd=REPO,
                             timeout=240)


@pytest.mark.blender
def test_blender_properties_come_from_the_schema(blender_side) -> None:
    r = blender_side
    assert r["smoothing"]["items"] == [list(i) for i in enum_items(PipelineOptions,
                                                                    "smoothing")]
    assert r["smoothing"]["default"] == "SAVGOL"
    assert r["device"]["items"] == [list(i) for i in enum_items(PipelineOptions, "device")]
    assert [i[0] for i in r["device"]["items"]] == ["AUTO", "CPU", "CUDA"]
    assert r["device"]["default"] == "AUTO"
    assert [i[0] for i in r["rig_type"]["items"]] == [
        "AUTO", "LIFT", "RIGIFY_META", "RIGIFY", "MIXAMO", "CUSTOM"]
    assert r["fov"] == {"default": pytest.approx(55.0), "min": pytest.approx(1.0),
                        "max": pytest.approx(179.0)}
    assert r["frame_start"]["default"] == 0 and r["frame_start"]["min"] == 0
    assert r["frame_end_min"] == 0
    assert r["bools"] == {"foot_lock": True, "root_motion": True, "scale_to_rig": True,
                          "set_scene_range": True, "match_fps": True}


@pytest.mark.blender
def test_bake_settings_default_to_the_schema(blender_side) -> None:
    """``BakeSettings`` (what the bake reads) takes its defaults from ``BakeOptions``."""
    assert blender_side["bake_defaults"] == [[True, True]] * 4


@pytest.mark.blender
def test_both_command_lines_take_the_same_flags(blender_side) -> None:
    engine, blender = _flags(_lift_parser()), blender_side["flags"]
    # --preview: the engine's PNG previews (Blender's outputs are the scene and its files)
    assert "preview" in engine and "preview" not in blender
    shared = set(engine) - {"out", "preview"}
    for dest in shared:
        if dest == "formats":  # the same flag; each command writes its own formats
            assert blender[dest]["flags"] == engine[dest]["flags"] == ["--formats"]
            continue
        assert blender[dest] == engine[dest], dest
    assert blender["out"]["flags"] == engine["out"]["flags"] == ["--out", "-o"]
    assert set(blender) - set(engine) == {"target", "rig_file", "bone_map", "rig_type",
                                          "root_motion", "scale_to_rig", "head",
                                          "match_fps", "gaps"}
    assert blender["match_fps"]["flags"] == ["--keep-scene-fps"]


@pytest.mark.blender
def test_operator_and_command_line_build_the_same_settings(blender_side) -> None:
    r = blender_side
    assert r["same_defaults"] == [True, True]
    assert r["ranged"] == [3, 9, "cuda", "MIXAMO", False]   # inclusive range, as given
    assert r["panel_ranged"] == [3, 9, "one_euro", "MIXAMO", False]
    assert r["panel_bad_range"] == "frame_end (3) is before frame_start (9)"
