"""Operators: ``lift_video.lift`` (modal, cancellable, synchronous in background), the
custom bone map tools (fill from names, load, save) and ``lift_video.export`` (the active
armature's action to FBX / glTF / BVH files).

``LiftRunner`` holds the logic of one run (start, tick, finish, cancel, progress display)
so the modal operator, the synchronous path and the tests share it.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from dgnet_core.detection.hands import default_hand_task_path
from dgnet_core.errors import LiftError
from dgnet_core.people import job_results, make_job
from dgnet_core.retarget.rigmaps import RIG_LABELS, RigMap, alias_map, detect_rig_type, preset_map
from dgnet_core.roles import ALL_ROLES

from . import bake, crowd, job, options
from . import rig as rigmod
from .exports import SUFFIXES, export


def error_message(exc: BaseException) -> str:
    """One line for the user: engine errors as they are, anything else with its type."""
    if isinstance(exc, LiftError):
        return str(exc)
    return f"Lift Video failed: {type(exc).__name__}: {exc}"


def custom_map_from_props(props) -> RigMap | None:
    """The panel's custom bone map rows as a RigMap (None when empty)."""
    bones = {row.bone: row.role for row in props.bone_map if row.bone}
    if not bones:
        return None
    root = props.root_bone or next((b for b, r in bones.items() if r == "pelvis"), None)
    return RigMap(bones=bones, root=root, rig_type="custom")


def fill_props_from_map(props, rig_map: RigMap) -> None:
    props.bone_map.clear()
    by_role: dict[str, list[str]] = {}
    for bone, role in rig_map.bones.items():
        by_role.setdefault(role, []).append(bone)
    for role in ALL_ROLES:
        for bone in by_role.get(role, [""]):
            row = props.bone_map.add()
            row.role = role
            row.bone = bone
    props.root_bone = rig_map.root or ""


class LiftRunner:
    """One lift: validate settings, step the pipeline, bake at the end, report progress."""

    def __init__(self, context: bpy.types.Context, model_path: str = ""):
        props = context.scene.lift_video
        self.source = job.source_from_settings(context, props)
        target = None
        if props.target_mode == "EXISTING":
            target = rigmod.ensure_armature(props.target)
        custom = custom_map_from_props(props) if props.rig_type == "CUSTOM" else None
        values = options.values_from_props(props, job.addon_prefs(context), model_path,
                                           self.source)
        pipeline_options, self.settings = options.build_run(values, self.source, target,
                                                            custom)
        if target is not None:
            # Fail now (before minutes of work) if the rig does not fit its map.
            rigmod.resolve_map(target, self.settings.rig_type, self.settings.custom_map)
        if not self.source.path.is_file():
            raise LiftError(f"video not found: {self.source.path}")
        if pipeline_options.hands:
            default_hand_task_path()  # LiftError now, not after the detection has started
        self.job = make_job(self.source.path, pipeline_options)
        self.reports: list[bake.BakeReport] = []

    # progress display -------------------------------------------------------------
    def show(self, context: bpy.types.Context) -> None:
        run = context.window_manager.lift_video_run
        run.running = True
        run.progress = self.job.progress.fraction
        run.message = self.job.progress.message
        wm = context.window_manager
        if context.window is not None:
            wm.progress_update(int(1000 * self.job.progress.fraction))
        ws = context.workspace
        if ws is not None:
            ws.status_text_set(f"Lift Video: {self.job.progress.message} "
                               f"({100 * self.job.progress.fraction:.0f}%)  Esc: cancel")
        for area in getattr(context.screen, "areas", []):
            if area.type in {"VIEW_3D", "CLIP_EDITOR"}:
                area.tag_redraw()

    def begin(self, context: bpy.types.Context) -> None:
        if context.window is not None:
            context.window_manager.progress_begin(0, 1000)
        self.show(context)

    def end(self, context: bpy.types.Context) -> None:
        run = context.window_manager.lift_video_run
        run.running = False
        run.progress = 0.0
        run.message = ""
        if context.window is not None:
            context.window_manager.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)

    # work -----------------------------------------------------------------------
    def tick(self, budget_s: float = 0.05) -> bool:
        """Advance the pipeline; True when the result is ready (then call ``finish``)."""
        return self.job.step(budget_s)

    def finish(self, context: bpy.types.Context) -> list[bake.BakeReport]:
        results, _ = job_results(self.job)
        render = context.scene.render
        before = (render.fps, render.fps_base)
        options.fit_frame_ratio(self.settings, context.scene, results[0].fps)
        try:
            if results[0].person is None:
                self.reports = [bake.apply_result(context, results[0], self.settings)]
            else:
                self.reports = crowd.bake_people(context, results, self.settings)
        except Exception:
            render.fps, render.fps_base = before  # a failed bake leaves the scene as it was
            raise
        return self.reports

    def cancel(self) -> None:
        self.job.close()


class LIFTVIDEO_OT_lift(bpy.types.Operator):
    """Lift the video to 3D and bake it onto the target armature (Esc cancels)"""

    bl_idname = "lift_video.lift"
    bl_label = "Lift Video"
    bl_options = {"REGISTER", "UNDO"}

    model_path: StringProperty(
        name="Model", subtype="FILE_PATH", options={"SKIP_SAVE"},
        description="Lifting model for this run (overrides the preferences)",
    )

    _timer = None
    _runner: LiftRunner | None = None

    @classmethod
    def poll(cls, context):
        run = getattr(context.window_manager, "lift_video_run", None)
        return context.scene is not None and not (run and run.running)

    def _start(self, context) -> bool:
        try:
            self._runner = LiftRunner(context, self.model_path)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one message
            self.report({"ERROR"}, error_message(exc))
            return False
        return True

    def _fail(self, context, exc: BaseException) -> set[str]:
        self._stop_timer(context)
        self._runner.cancel()
        self._runner.end(context)
        self.report({"ERROR"}, error_message(exc))
        return {"CANCELLED"}

    def _done(self, context) -> set[str]:
        try:
            reports = self._runner.finish(context)
        except Exception as exc:  # noqa: BLE001
            return self._fail(context, exc)
        self._runner.end(context)
        for rep in reports:
            f0, f1 = rep.frames
            self.report({"INFO"}, f"Lift Video: action {rep.action.name!r} on "
                                  f"{rep.obj.name!r} ({RIG_LABELS.get(rep.rig_type, rep.rig_type)}"
                                  f", frames {f0:.0f}-{f1:.0f})")
        results, warnings = job_results(self._runner.job)
        notes = [bake.hands_note(r, rep) for r, rep in zip(results, reports)]
        for warning in warnings + [n for n in notes if n]:
            self.report({"WARNING"}, f"Lift Video: {warning}")
        return {"FINISHED"}

    def execute(self, context):
        """Synchronous run (scripts, ``--background``)."""
        if not self._start(context):
            return {"CANCELLED"}
        try:
            self._runner.job.run()
        except Exception as exc:  # noqa: BLE001
            return self._fail(context, exc)
        return self._done(context)

    def invoke(self, context, _event):
        if bpy.app.background or context.window is None:
            return self.execute(context)  # modal timers do not run in the background
        if not self._start(context):
            return {"CANCELLED"}
        self._runner.begin(context)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.02, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            return self.cancel(context) or {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            ready = self._runner.tick(0.08)
        except Exception as exc:  # noqa: BLE001
            return self._fail(context, exc)
        if not ready:
            self._runner.show(context)
            return {"RUNNING_MODAL"}
        self._stop_timer(context)
        return self._done(context)

    def _stop_timer(self, context) -> None:
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
            self._timer = None

    def cancel(self, context):
        self._stop_timer(context)
        if self._runner is not None:
            self._runner.cancel()
            self._runner.end(context)
        self.report({"WARNING"}, "Lift Video cancelled; the scene is unchanged")
        return None


def _target(context):
    props = context.scene.lift_video
    obj = props.target if props.target_mode == "EXISTING" else None
    return obj if obj is not None and obj.type == "ARMATURE" else None


class LIFTVIDEO_OT_bonemap_fill(bpy.types.Operator):
    """Fill the custom bone map from the target's bone names (presets and common aliases)"""

    bl_idname = "lift_video.bonemap_fill"
    bl_label = "Fill Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _target(context) is not None

    def execute(self, context):
        obj = _target(context)
        names = rigmod.bone_names(obj)
        kind = detect_rig_type(names)
        rig_map = alias_map(names) if kind == "custom" else preset_map(kind, names)
        fill_props_from_map(context.scene.lift_video, rig_map)
        found = sum(1 for b in rig_map.bones if b in names)
        self.report({"INFO"}, f"{found} bones mapped ({RIG_LABELS[kind]})")
        return {"FINISHED"}


class LIFTVIDEO_OT_bonemap_save(bpy.types.Operator):
    """Save the custom bone map as a JSON file"""

    bl_idname = "lift_video.bonemap_save"
    bl_label = "Save Bone Map"

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, _event):
        self.filepath = self.filepath or "bone_map.json"
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        props = context.scene.lift_video
        rig_map = custom_map_from_props(props)
        if rig_map is None:
            self.report({"ERROR"}, "the bone map is empty: use 'Fill Bone Map' first")
            return {"CANCELLED"}
        path = rig_map.save(bpy.path.abspath(self.filepath))
        props.bone_map_path = str(path)
        self.report({"INFO"}, f"bone map saved: {path}")
        return {"FINISHED"}


class LIFTVIDEO_OT_bonemap_load(bpy.types.Operator):
    """Load a custom bone map from a JSON file"""

    bl_idname = "lift_video.bonemap_load"
    bl_label = "Load Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def invoke(self, context, _event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        props = context.scene.lift_video
        try:
            rig_map = RigMap.load(bpy.path.abspath(self.filepath))
        except LiftError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        fill_props_from_map(props, rig_map)
        props.rig_type = "CUSTOM"
        props.bone_map_path = self.filepath
        self.report({"INFO"}, f"bone map loaded: {len(rig_map.bones)} bones")
        return {"FINISHED"}


def _animated_armature(context):
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE" or obj.animation_data is None:
        return None
    return obj if obj.animation_data.action is not None else None


class LIFTVIDEO_OT_export(bpy.types.Operator):
    """Write the active armature's action to files (FBX and glTF for games and film, BVH):
    the deform bones, over the action's frames"""

    bl_idname = "lift_video.export"
    bl_label = "Export Animation"

    filepath: StringProperty(subtype="FILE_PATH")
    formats: EnumProperty(
        name="Formats", options={"ENUM_FLAG"}, default={"fbx", "gltf"},
        items=[("fbx", "FBX", "Autodesk FBX (Unity, Unreal, Maya)"),
               ("gltf", "glTF", "glTF binary, .glb (game engines, the web)"),
               ("bvh", "BVH", "Biovision hierarchy (motion tools)")])

    @classmethod
    def poll(cls, context):
        return _animated_armature(context) is not None

    def invoke(self, context, _event):
        if not self.filepath:
            self.filepath = bpy.path.clean_name(context.active_object.animation_data.action.name)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        obj = _animated_armature(context)
        if obj is None:
            self.report({"ERROR"}, "select an animated armature to export")
            return {"CANCELLED"}
        if not self.formats:
            self.report({"ERROR"}, "choose at least one format")
            return {"CANCELLED"}
        action = obj.animation_data.action
        stem = Path(bpy.path.abspath(self.filepath))
        if stem.suffix.lower() in SUFFIXES.values():  # a file name picked: its stem
            stem = stem.with_suffix("")
        if not stem.parent.is_dir():
            self.report({"ERROR"}, f"no such folder: {stem.parent}")
            return {"CANCELLED"}
        first, last = (int(round(v)) for v in action.frame_range)
        try:
            files = export(context, obj, stem, sorted(self.formats), (first, last))
        except LiftError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, "exported " + ", ".join(Path(f).name for f in files))
        return {"FINISHED"}


CLASSES = (LIFTVIDEO_OT_lift, LIFTVIDEO_OT_bonemap_fill, LIFTVIDEO_OT_bonemap_save,
           LIFTVIDEO_OT_bonemap_load, LIFTVIDEO_OT_export)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
