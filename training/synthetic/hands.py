"""A rigged, lifelike hand rendered at known finger angles, with its exact 21 points.

Owns the hand renders behind ``training.hands_bench``: what is rendered and the truth
written with it. The Blender side (the rig, skin, forearm, lights) is ``hand_rig``.

- the asset: the MIT-licensed WebXR "generic hand" (``assets/hands/{left,right}.glb``,
  see the README there). ``hand_rig`` rebuilds its flat joints as a chain per finger,
  with each bone's local X the flexion axis and Z towards the palm's inner side;
- the poses (``POSES``: open, fist, point, two (counting), grasp). Per finger they give
  (base, middle, end, spread) in degrees. Each is set as Euler XYZ: (base, 0, spread) on
  the first bone, which is ``q_spread @ q_flex`` as ``dgnet_core.motion.hands`` assumes,
  and (flex, 0, 0) on the next two. The angles add to the asset's nearly flat rest pose.
  The thumb turns about its own axes, so its set values are not the angles that
  ``finger_angles`` measures. The truth is therefore the posed joints, not the set
  angles;
- the wrist roll (0/45/90 degrees about the forearm's axis through the wrist), with the
  camera held still;
- the scene (``HandLook``, built by ``hand_rig``): a skin material (Principled BSDF with
  some subsurface), a tapered forearm fitted to the wrist's cross-section and long enough
  to leave the picture, three area lights that follow the camera, and a grey background.
  Cycles' settings come from ``render._setup_scene``;
- the shots: ``close`` makes the hand (wrist to middle fingertip) half the picture's
  height, ``mid`` a fifth. The views are ``back`` (the camera on the back of the hand)
  and ``palm``. The camera looks at the rest hand's middle with the fingers up;
- the truth file ``<out>/truth.npz``. It holds plain arrays only (no pickles), with one
  row per image (N images):

  - ``key`` (N,) str, and ``image`` (N,) str, the PNG's name in ``<out>``;
  - ``hand`` (N,) str, "left" or "right";
  - ``side`` (N,) int, 0 for left and 1 for right (``dgnet_core.motion.hands``);
  - ``pose`` (N,) str, and ``set_deg`` (N,5,4), the set (base, middle, end, spread) per
    finger, thumb to little;
  - ``roll_deg`` (N,), ``shot`` (N,) str, ``view`` (N,) str;
  - ``points_camera`` (N,21,3): MediaPipe's 21 hand points in camera axes (x right,
    y down, z away from the camera), in metres;
  - ``points_2d`` (N,21,2) in pixels, and ``points_world`` (N,21,3) in Blender's Z-up
    world;
  - ``rotation`` (N,3,3), world to camera, and ``camera_centre`` (N,3), where
    ``X_cam = R (X - C)``;
  - ``intrinsics`` (3,3), ``width``, ``height``;
  - ``render_seconds`` (N,) wall time per image.

  The 21 points are posed bone heads: wrist; thumb metacarpal, proximal, distal and tip;
  then for each finger the proximal, intermediate and distal phalanx and the tip. The
  WebXR wrist sits about 1 cm further down the forearm than MediaPipe's, and the tip
  joint about 1 cm inside the fingertip.

    python -m training.synthetic hands --out out/hands [--all-rolls]

``bpy`` is imported inside the functions that render, so importing this module is
cheap. MediaPipe is not used here: ``training.hands_bench`` detects in its own process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .camera import CameraSpec, project, world_to_camera
from .render import SceneSpec

RGB = tuple[float, float, float]
Angles = tuple[float, float, float, float]   # base, middle, end, spread (degrees)

ASSETS = Path(__file__).resolve().parent / "assets" / "hands"
HANDS = ("left", "right")                    # index = side (0 left, 1 right)
FINGERS = ("thumb", "index", "middle", "ring", "little")
_XR_FINGER = {"index": "index-finger", "middle": "middle-finger", "ring": "ring-finger",
              "little": "pinky-finger"}
# Rig chains per finger, WebXR joint names.
XR_CHAINS: dict[str, tuple[str, ...]] = {
    "thumb": ("thumb-metacarpal", "thumb-phalanx-proximal", "thumb-phalanx-distal",
              "thumb-tip"),
    **{f: tuple(f"{x}-{s}" for s in ("metacarpal", "phalanx-proximal",
                                     "phalanx-intermediate", "phalanx-distal", "tip"))
       for f, x in _XR_FINGER.items()},
}
# MediaPipe's 21 points in order: wrist; thumb CMC, MCP, IP, tip; per finger MCP, PIP,
# DIP, tip.
MP_JOINTS: tuple[str, ...] = ("wrist", *XR_CHAINS["thumb"],
                              *(j for f in FINGERS[1:] for j in XR_CHAINS[f][1:]))

SHOTS: dict[str, float] = {"close": 0.5, "mid": 0.2}   # hand length / picture height
VIEWS = ("back", "palm")


@dataclass(frozen=True)
class HandPose:
    """Per finger (base, middle, end, spread) in degrees, added to the rest pose.

    Fingers: MCP, PIP and DIP flexion, and the spread away from the middle finger (the
    index towards the thumb, the ring and little fingers towards the little finger's
    side). Thumb: CMC flexion, MCP, IP, and the CMC turn about the thumb's palmar axis."""

    thumb: Angles = (0, 0, 0, 0)
    index: Angles = (0, 0, 0, 0)
    middle: Angles = (0, 0, 0, 0)
    ring: Angles = (0, 0, 0, 0)
    little: Angles = (0, 0, 0, 0)

    def angles(self) -> np.ndarray:
        """(5, 4) degrees, thumb to little."""
        return np.array([getattr(self, f) for f in FINGERS], dtype=np.float64)


_CURLED: Angles = (80, 95, 60, 0)
_TUCK: Angles = (25, 35, 35, -10)
POSES: dict[str, HandPose] = {
    "open": HandPose(index=(0, 0, 0, 4), ring=(0, 0, 0, 4), little=(0, 0, 0, 8)),
    "fist": HandPose(_TUCK, _CURLED, _CURLED, _CURLED, _CURLED),
    "point": HandPose(_TUCK, (0, 0, 0, 0), _CURLED, _CURLED, _CURLED),
    "two": HandPose(_TUCK, (0, 0, 0, 6), (0, 0, 0, 0), _CURLED, _CURLED),
    "grasp": HandPose((15, 25, 30, -5), (45, 45, 40, 0), (45, 45, 40, 0), (45, 45, 40, 0),
                      (45, 45, 40, 0)),
}


@dataclass(frozen=True)
class AreaLight:
    """An area light placed in the camera's axes (x right, y up, z back, Blender's)."""

    name: str
    energy: float                      # watts
    offset: tuple[float, float, float]  # metres from the camera
    size: float                        # metres


@dataclass(frozen=True)
class HandLook:
    """The hand's material, forearm, lights and background."""

    skin: RGB = (0.8, 0.55, 0.45)
    roughness: float = 0.5
    subsurface: float = 0.15
    subsurface_radius: RGB = (1.0, 0.4, 0.25)
    subsurface_scale: float = 0.005
    background: RGB = (0.35, 0.36, 0.38)
    background_strength: float = 0.8
    forearm_length: float = 0.8        # metres: leaves the picture in the mid shot
    forearm_taper: float = 1.2         # far end / wrist end width
    lights: tuple[AreaLight, ...] = (AreaLight("key", 20.0, (0.6, 0.5, 0.9), 0.6),
                                     AreaLight("fill", 6.0, (-0.8, -0.2, 0.6), 1.0),
                                     AreaLight("rim", 6.0, (0.0, 0.8, -0.6), 0.5))


@dataclass(frozen=True)
class HandRenderSpec:
    """Picture and Cycles settings (square pictures)."""

    size: int = 480
    samples: int = 32
    denoise: bool = True
    threads: int = 0                   # 0 = all cores
    focal_mm: float = 50.0
    sensor_mm: float = 36.0
    max_bounces: int = 4
    seed: int = 0

    def scene_spec(self, look: HandLook) -> SceneSpec:
        return SceneSpec(width=self.size, height=self.size, samples=self.samples,
                         denoise=self.denoise, threads=self.threads, sky=look.background,
                         sky_strength=look.background_strength,
                         max_bounces=self.max_bounces, seed=self.seed,
                         camera=CameraSpec(focal_mm=self.focal_mm, sensor_mm=self.sensor_mm))

    def intrinsics(self) -> np.ndarray:
        return CameraSpec(focal_mm=self.focal_mm,
                          sensor_mm=self.sensor_mm).intrinsics(self.size, self.size)


@dataclass(frozen=True)
class HandSet:
    """Which images to render: every hand x pose x roll x shot x view."""

    hands: tuple[str, ...] = ("right", "left")
    poses: tuple[str, ...] = tuple(POSES)
    rolls: tuple[int, ...] = (0, 45, 90)   # degrees about the forearm
    rolled_poses: tuple[str, ...] | None = ("open",)  # None: every pose gets every roll
    shots: tuple[str, ...] = tuple(SHOTS)
    views: tuple[str, ...] = VIEWS

    def __post_init__(self) -> None:
        for what, given, known in (("hand", self.hands, HANDS), ("pose", self.poses, POSES),
                                   ("shot", self.shots, SHOTS), ("view", self.views, VIEWS)):
            bad = [x for x in given if x not in known]
            if bad or not given:
                raise ValueError(f"unknown or no {what}: {bad or given}; "
                                 f"choose from {', '.join(known)}")

    def rolls_of(self, pose: str) -> tuple[int, ...]:
        if self.rolled_poses is None or pose in self.rolled_poses:
            return self.rolls
        return (0,)

    def __len__(self) -> int:
        return (len(self.hands) * len(self.shots) * len(self.views)
                * sum(len(self.rolls_of(p)) for p in self.poses))


def image_key(hand: str, pose: str, roll: int, shot: str, view: str) -> str:
    return f"{hand}_{pose}_r{roll}_{shot}_{view}"


def look_rotation(forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) world-to-camera rotation (rows: x right, y down, z forward) of a camera
    looking along ``forward`` with ``up`` pointing up in the picture."""
    f = np.asarray(forward, np.float64)
    f = f / np.linalg.norm(f)
    u = np.asarray(up, np.float64) - f * (f @ up)
    if np.linalg.norm(u) < 1e-9:
        raise ValueError("the up vector is parallel to the view direction")
    u /= np.linalg.norm(u)
    right = np.cross(f, u)
    return np.stack([right, -u, f])


def blender_camera_matrix(rotation: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(4, 4) Blender camera ``matrix_world`` (local -Z forward, +Y up), as
    ``CameraSpec.blender_matrix``."""
    m = np.eye(4)
    m[:3, :3] = np.stack([rotation[0], -rotation[1], -rotation[2]], axis=1)
    m[:3, 3] = centre
    return m


def shot_distance(hand_length: float, fraction: float, spec: HandRenderSpec) -> float:
    """Camera distance at which ``hand_length`` spans ``fraction`` of the picture height."""
    return hand_length / fraction * spec.focal_mm / spec.sensor_mm


@dataclass
class HandRenderOutput:
    truth: Path
    images: list[Path]
    seconds_per_image: float
    total_seconds: float


def render_hands(out_dir: str | Path, hand_set: HandSet | None = None,
                 spec: HandRenderSpec | None = None, look: HandLook | None = None, *,
                 reuse: bool = False, progress: bool = True) -> HandRenderOutput:
    """Render every image of ``hand_set`` to ``out_dir/<key>.png`` and write
    ``out_dir/truth.npz`` (see the module docstring). ``reuse``: PNGs already there are
    not rendered again (the truth is always recomputed)."""
    import bpy  # noqa: F401 - brings mathutils
    from mathutils import Matrix

    from .hand_rig import HandRig, hand_scene
    from .render import _render_still

    hand_set, spec, look = hand_set or HandSet(), spec or HandRenderSpec(), look or HandLook()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    k = spec.intrinsics()
    rows: dict[str, list] = {n: [] for n in (
        "key", "image", "hand", "side", "pose", "set_deg", "roll_deg", "shot", "view",
        "points_camera", "points_2d", "points_world", "rotation", "camera_centre",
        "render_seconds")}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(hand_set), desc="render hands", unit="image")
    t_all = time.perf_counter()
    try:
        for hand in hand_set.hands:
            _, cam, follow = hand_scene(spec, look)
            rig = HandRig(hand, look)
            for pose_name in hand_set.poses:
                pose = POSES[pose_name]
                rig.pose(pose)
                for roll in hand_set.rolls_of(pose_name):
                    rig.roll(roll)
                    world = rig.points()
                    for shot in hand_set.shots:
                        for view in hand_set.views:
                            rot, centre = rig.camera(shot, view, spec)
                            cam.matrix_world = Matrix(blender_camera_matrix(rot, centre)
                                                      .tolist())
                            follow.matrix_world = cam.matrix_world.copy()
                            key = image_key(hand, pose_name, roll, shot, view)
                            png = out / f"{key}.png"
                            t0 = time.perf_counter()
                            if not (reuse and png.is_file()):
                                _render_still(png)
                            pc = world_to_camera(world, rot, centre)
                            for name, value in (
                                    ("key", key), ("image", png.name), ("hand", hand),
                                    ("side", rig.side), ("pose", pose_name),
                                    ("set_deg", pose.angles()), ("roll_deg", float(roll)),
                                    ("shot", shot), ("view", view), ("points_camera", pc),
                                    ("points_2d", project(pc, k)), ("points_world", world),
                                    ("rotation", rot), ("camera_centre", centre),
                                    ("render_seconds", time.perf_counter() - t0)):
                                rows[name].append(value)
                            if bar is not None:
                                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    truth = out / "truth.npz"
    np.savez_compressed(truth, **{n: np.array(v) for n, v in rows.items()}, intrinsics=k,
                        width=np.int64(spec.size), height=np.int64(spec.size))
    seconds = np.array(rows["render_seconds"])
    return HandRenderOutput(truth, [out / n for n in rows["image"]],
                            float(seconds.mean()) if len(seconds) else 0.0,
                            time.perf_counter() - t_all)


def load_truth(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a ``truth.npz`` (a file, or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "truth.npz"
    with np.load(path) as z:   # allow_pickle stays False: plain arrays only
        return {k: z[k] for k in z.files}


__all__ = ["AreaLight", "HandLook", "HandPose", "HandRenderOutput", "HandRenderSpec",
           "HandSet", "MP_JOINTS", "POSES", "SHOTS", "VIEWS", "image_key", "load_truth",
           "look_rotation", "render_hands", "shot_distance"]
