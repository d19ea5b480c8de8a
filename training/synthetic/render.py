"""Rendering a joint sequence as video with Blender Cycles on the CPU, plus its ground truth.

Owns the scene (floor, sky colour, sun and fill light, camera), the Cycles settings tuned
for speed (few samples, short light paths, optional denoiser), the per-frame loop (pose the
mannequin, render a PNG, append it to an mp4 through OpenCV) and the ground-truth file:

``<name>.npz`` keys: ``joints_world`` (T,17,3) Z-up metres; ``joints_camera`` (T,17,3)
metres in camera axes (x right, y down, z forward); ``joints_2d`` (T,17,2) projected
pixels; ``points_world`` (T,P,3) all mannequin points (joints + derived, names in
``point_names``); ``intrinsics`` (3,3) px; ``rotation`` (3,3) world-to-camera;
``camera_centre`` (3,); ``extrinsics`` (3,4) = [R | -R C]; ``fps``, ``width``, ``height``;
``render_seconds`` (T,) wall time per frame; ``motion`` (str).

``bpy`` is imported inside the functions that need it, so importing this module is cheap.
Cycles is the only engine that renders headless here (EEVEE / Workbench need a GPU).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .camera import CameraSpec, project, world_to_camera
from .mannequin import (
    POINT_NAMES,
    MannequinStyle,
    body_scale,
    build_mannequin,
    derived_points,
    head_matrices,
)

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class SceneSpec:
    """Everything about the picture that is not the person."""

    width: int = 320
    height: int = 320
    fps: float = 25.0
    camera: CameraSpec = field(default_factory=CameraSpec)
    floor: RGB = (0.35, 0.33, 0.30)
    sky: RGB = (0.55, 0.62, 0.70)
    sky_strength: float = 0.8
    sun_energy: float = 3.0
    sun_direction: tuple[float, float, float] = (0.5, 0.8, -1.0)  # direction the light travels
    sun_angle_deg: float = 15.0   # soft shadows
    # Cycles speed/quality knobs (see BENCHMARKS.md for the measured trade-off).
    samples: int = 4              # 4 samples, no denoiser: ~0.3 CPU-s per 320 px frame and
    denoise: bool = False         # the same MediaPipe detections as 8 samples + OIDN
    max_bounces: int = 2
    threads: int = 0              # 0 = all cores (Blender's AUTO)
    seed: int = 0


@dataclass
class RenderOutput:
    video: Path
    ground_truth: Path
    frames_dir: Path | None
    seconds_per_frame: float     # mean wall time of a frame after the first
    first_frame_seconds: float   # includes kernel / shader set-up
    cpu_seconds_per_frame: float  # mean process CPU time (all threads) after the first


def _setup_scene(spec: SceneSpec):
    import bpy
    from mathutils import Matrix, Vector

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    r = scene.render
    r.engine = "CYCLES"
    c = scene.cycles
    c.device = "CPU"
    c.samples = spec.samples
    c.use_adaptive_sampling = False
    c.use_denoising = spec.denoise
    if spec.denoise:
        c.denoiser = "OPENIMAGEDENOISE"
        c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
        c.denoising_prefilter = "FAST"
    c.max_bounces = spec.max_bounces
    c.diffuse_bounces = min(1, spec.max_bounces)
    c.glossy_bounces = min(1, spec.max_bounces)
    c.transmission_bounces = 0
    c.volume_bounces = 0
    c.transparent_max_bounces = 0
    c.caustics_reflective = c.caustics_refractive = False
    c.use_light_tree = False
    c.seed = spec.seed
    if spec.threads > 0:
        r.threads_mode = "FIXED"
        r.threads = spec.threads
    else:
        r.threads_mode = "AUTO"
    r.resolution_x, r.resolution_y = spec.width, spec.height
    r.resolution_percentage = 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_persistent_data = True
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGB"
    r.fps = int(round(spec.fps))
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"

    world = bpy.data.worlds.new("sky")
    if world.node_tree is None:  # Blender < 5 needs use_nodes; 5.x always has nodes
        world.use_nodes = True
    bg = world.node_tree.nodes.get("Background")
    bg.inputs["Color"].default_value = (*spec.sky, 1.0)
    bg.inputs["Strength"].default_value = spec.sky_strength
    scene.world = world

    floor_me = bpy.data.meshes.new("floor")
    s = 40.0
    floor_me.from_pydata([(-s, -s, 0), (s, -s, 0), (s, s, 0), (-s, s, 0)], [], [(0, 1, 2, 3)])
    floor = bpy.data.objects.new("floor", floor_me)
    mat = bpy.data.materials.new("floor")
    if mat.node_tree is None:
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    bsdf.inputs["Base Color"].default_value = (*spec.floor, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.9
    floor_me.materials.append(mat)
    scene.collection.objects.link(floor)

    sun_data = bpy.data.lights.new("sun", "SUN")
    sun_data.energy = spec.sun_energy
    sun_data.angle = np.deg2rad(spec.sun_angle_deg)
    sun = bpy.data.objects.new("sun", sun_data)
    sun.rotation_euler = Vector(spec.sun_direction).to_track_quat("-Z", "Y").to_euler()
    scene.collection.objects.link(sun)

    cam_data = bpy.data.cameras.new("camera")
    cam_data.lens = spec.camera.focal_mm
    cam_data.sensor_width = spec.camera.sensor_mm
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.clip_start, cam_data.clip_end = 0.05, 200.0
    cam = bpy.data.objects.new("camera", cam_data)
    cam.matrix_world = Matrix(spec.camera.blender_matrix().tolist())
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene, floor


@contextmanager
def _quiet_stdout():
    """Silence Blender's per-frame "Saved: ..." lines (written to file descriptor 1)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _render_still(path: Path) -> None:
    import bpy

    bpy.context.scene.render.filepath = str(path)
    with _quiet_stdout():
        bpy.ops.render.render(write_still=True)


def _render_mask(scene, floor, path: Path) -> None:
    """One-sample render with the floor hidden and a transparent film: alpha = person."""
    c, r = scene.cycles, scene.render
    keep = (c.samples, c.use_denoising, r.film_transparent, r.image_settings.color_mode)
    c.samples, c.use_denoising = 1, False
    r.film_transparent = True
    r.image_settings.color_mode = "RGBA"
    floor.hide_render = True
    try:
        _render_still(path)
    finally:
        c.samples, c.use_denoising, r.film_transparent, r.image_settings.color_mode = keep
        floor.hide_render = False


def render_frames(pose: Callable[[int], None], frames: int, out_dir: Path, name: str,
                  spec: SceneSpec, *, keep_frames: bool = False, progress: bool = True,
                  after: Callable[[int, Path], None] | None = None
                  ) -> tuple[Path, Path | None, np.ndarray, np.ndarray]:
    """The Cycles loop over a set-up scene: ``pose(t)`` poses everybody, the frame is
    rendered to PNG and appended to ``out_dir/<name>.mp4``; ``after(t, frames_dir)`` runs
    after each frame (e.g. masks). Returns (video, the kept frames' folder or None, wall
    seconds per frame, process CPU seconds per frame)."""
    import cv2

    frames_dir = out_dir / f"{name}_frames" if keep_frames else Path(
        tempfile.mkdtemp(prefix="synth_"))
    frames_dir.mkdir(parents=True, exist_ok=True)
    video = out_dir / f"{name}.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), float(spec.fps),
                             (spec.width, spec.height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {video}")
    seconds = np.zeros(frames)
    cpu = np.zeros(frames)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=frames, desc=f"render {name}", unit="frame")
    try:
        for t in range(frames):
            t0, c0 = time.perf_counter(), time.process_time()
            pose(t)
            png = frames_dir / f"frame_{t:04d}.png"
            _render_still(png)
            seconds[t] = time.perf_counter() - t0
            cpu[t] = time.process_time() - c0
            img = cv2.imread(str(png), cv2.IMREAD_COLOR)
            if img is None or img.shape[:2] != (spec.height, spec.width):
                raise RuntimeError(f"Cycles did not write {png}")
            writer.write(img)
            if not keep_frames:
                os.remove(png)
            if after is not None:
                after(t, frames_dir)
            if bar is not None:
                bar.update(1)
    finally:
        writer.release()
        if bar is not None:
            bar.close()
        if not keep_frames:
            frames_dir.rmdir()
    return video, frames_dir if keep_frames else None, seconds, cpu


def ground_truth(joints_world: np.ndarray, spec: SceneSpec) -> dict[str, np.ndarray]:
    """Camera-frame joints, projections and camera matrices of a world sequence."""
    cam = spec.camera
    rot = cam.rotation()
    k = cam.intrinsics(spec.width, spec.height)
    jc = world_to_camera(joints_world, rot, cam.location)
    return {
        "joints_world": np.asarray(joints_world, dtype=np.float32),
        "joints_camera": jc.astype(np.float32),
        "joints_2d": project(jc, k).astype(np.float32),
        "intrinsics": k,
        "rotation": rot,
        "camera_centre": np.asarray(cam.location, dtype=np.float64),
        "extrinsics": cam.extrinsics(),
        "fps": np.float64(spec.fps),
        "width": np.int64(spec.width),
        "height": np.int64(spec.height),
    }


def render_sequence(joints_world: np.ndarray, out_dir: str | Path, *, name: str = "clip",
                    spec: SceneSpec | None = None, style: MannequinStyle | None = None,
                    keep_frames: bool = False, masks: bool = False, progress: bool = True,
                    motion: str = "custom") -> RenderOutput:
    """Render (T, 17, 3) world joints to ``out_dir/<name>.mp4`` and ``<name>.npz``.

    ``keep_frames`` keeps the PNGs in ``out_dir/<name>_frames/``; ``masks`` also renders
    a person mask per frame (``mask_XXXX.png``, alpha channel) into that folder.
    """

    spec = spec or SceneSpec()
    style = style or MannequinStyle()
    joints_world = np.asarray(joints_world, dtype=np.float64)
    if joints_world.ndim != 3 or joints_world.shape[1:] != (17, 3) or len(joints_world) < 1:
        raise ValueError(f"expected (T, 17, 3) joints, got {joints_world.shape}")
    if not np.isfinite(joints_world).all():
        raise ValueError("joints contain NaN or inf")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    points = derived_points(joints_world)
    heads = head_matrices(joints_world)
    scale = float(np.median(body_scale(joints_world)))

    scene, floor = _setup_scene(spec)
    mq = build_mannequin(style, points[0], heads[0], scale=scale)

    def after(t: int, frames_dir: Path) -> None:
        if masks:
            _render_mask(scene, floor, frames_dir / f"mask_{t:04d}.png")

    video, frames_dir, seconds, cpu = render_frames(
        lambda t: mq.set_frame(points[t], heads[t]), len(joints_world), out_dir, name, spec,
        keep_frames=keep_frames or masks, progress=progress, after=after)
    gt = ground_truth(joints_world, spec)
    npz = out_dir / f"{name}.npz"
    np.savez_compressed(
        npz, **gt, points_world=points.astype(np.float32),
        point_names=np.array(POINT_NAMES), render_seconds=seconds, motion=np.array(motion))
    rest = slice(1, None) if len(seconds) > 1 else slice(None)
    return RenderOutput(video, npz, frames_dir, float(seconds[rest].mean()),
                        float(seconds[0]), float(cpu[rest].mean()))


def render_motion(motion: str, out_dir: str | Path, *, frames: int = 48, size: int = 320,
                  spec: SceneSpec | None = None, style: MannequinStyle | None = None,
                  **kw) -> RenderOutput:
    """Render a named procedural motion (``motions.MOTIONS``) at ``size`` x ``size``."""
    from dataclasses import replace

    from .motions import make_motion

    spec = replace(spec or SceneSpec(), width=size, height=size)
    joints = make_motion(motion, frames, fps=spec.fps)
    return render_sequence(joints, out_dir, name=kw.pop("name", motion), spec=spec,
                           style=style, motion=motion, **kw)


def render_demo_clip(out_dir: str | Path, motion: str = "walk", frames: int = 48,
                     size: int = 320) -> tuple[Path, Path]:
    """Render the README demo clip; returns (video path, ground-truth npz path)."""
    out = render_motion(motion, out_dir, frames=frames, size=size, progress=True)
    return out.video, out.ground_truth
