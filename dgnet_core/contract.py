"""The job's public shape: ``PipelineOptions`` in, ``Progress`` while it runs, ``LiftResult``
out. No machinery here (and no heavy imports): readers of results (``io_formats``), the
command lines and the add-on import this, not the pipeline.

Owns every pipeline option's default, choices and range, stated once on
``PipelineOptions`` (``schema.option``): the engine CLI, the Blender CLI and the add-on's
properties derive their flags and enum items from it, and ``PipelineOptions`` validates
itself on construction (one-line ``ValueError``). Frame ranges are inclusive at both ends
everywhere (``frame_start`` .. ``frame_end``, as Blender counts them); video frames count
from 0.

    options = PipelineOptions(smoothing="one_euro", frame_start=10, frame_end=99)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .motion.camera import DEFAULT_FOV_DEG
from .schema import Choice, option, validate

if TYPE_CHECKING:
    from .motion.place import MotionOptions

SMOOTHING = (
    Choice("savgol", "Savitzky-Golay", "Zero-phase polynomial smoothing (best offline)"),
    Choice("one_euro", "One Euro", "Speed-adaptive smoothing"),
    Choice("none", "None", "No smoothing"),
)
AUTO = "auto"  # the back-end and the device when the user picks none: decided at run time
BACKENDS = (
    Choice("auto", "Auto", "onnxruntime when the model has an ONNX export, unless a CUDA GPU "
           "runs PyTorch"),
    Choice("onnx", "onnxruntime", "onnxruntime on the CPU (the only runtime inside Blender)"),
    Choice("torch", "PyTorch", "PyTorch on the chosen device"),
)
DEVICES = (
    Choice("auto", "Auto", "A CUDA GPU when PyTorch can use one, else the CPU"),
    Choice("cpu", "CPU", "Always the CPU"),
    Choice("cuda", "GPU (CUDA)", "A CUDA GPU (needs PyTorch built with CUDA)"),
)


MAX_PEOPLE = 6  # the most people one run follows (MediaPipe looks for one more)


def parse_people(text: str) -> int:
    """``--people`` on a command line: a count, or ``all`` (0: everybody seen)."""
    if str(text).strip().lower() == "all":
        return 0
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a number or 'all', got {text!r}") from None


@dataclass(frozen=True)
class PipelineOptions:
    """What the job does; each field's ``schema.Spec`` holds its flag, choices and range."""

    fov_deg: float = option(
        DEFAULT_FOV_DEG, flag="--fov", metavar="DEG", minimum=1.0, maximum=179.0,
        label="Field of View",
        error="field of view must be in [1, 179] degrees, got {value}",
        description="horizontal field of view of the camera, in degrees",
        help="horizontal field of view of the camera in degrees, for the focal length")
    focal_px: float | None = option(
        None, flag="--focal", metavar="PX", positive=True, label="Focal Length (px)",
        error="focal length must be a finite, positive number of pixels, got {value}",
        help="focal length in pixels (overrides --fov)")
    smoothing: str = option("savgol", flag="--smoothing", choices=SMOOTHING,
                            label="Smoothing", help="temporal filter of the lifted joints")
    max_gap: int = option(15, flag="--max-gap", metavar="N", minimum=0,
                          label="Longest Gap", help="longest run of frames without a person "
                          "that is filled by interpolation")
    frame_start: int = option(0, flag="--frame-start", metavar="F", minimum=0,
                              label="Start", help="first video frame to lift (frames count "
                              "from 0)", description="first video frame (0 = first)")
    frame_end: int | None = option(None, flag="--frame-end", metavar="F", minimum=0,
                                   label="End", help="last video frame to lift, inclusive "
                                   "(default: the end of the video)",
                                   description="last video frame (inclusive)")
    backend: str = option(AUTO, flag="--backend", choices=BACKENDS, label="Back-end",
                          help="runtime of the lifting model")
    device: str = option(AUTO, flag="--device", choices=DEVICES, label="Compute Device",
                         help="where the lifting model runs")
    model_path: str | None = option(None, flag="--model", metavar="PATH", label="Model",
                                    help="lifting model, .safetensors or .onnx "
                                    "(default: the shipped model)")
    task_path: str | None = option(None, flag="--task", metavar="PATH",
                                   help="MediaPipe pose_landmarker .task (default: the "
                                   "shipped one, see the README)")
    workers: int = option(0, flag="--workers", metavar="N", minimum=0, maximum=64,
                          label="Detection Workers",
                          help="processes detecting parts of the clip side by side (0: one "
                          "per two cores, with --people one per core, up to 4; 1: all in "
                          "this process)",
                          description="processes that detect parts of the clip side by side "
                          "(0 = one per two cores; with several people one per core)")
    people: int = option(1, flag="--people", metavar="N|all", minimum=0, maximum=MAX_PEOPLE,
                         parse=parse_people, label="People",
                         help=f"how many people to lift, each on their own armature and "
                         f"files: a number, or all (everybody seen, up to {MAX_PEOPLE})",
                         description=f"people to lift, each on their own armature (0 = "
                         f"everybody seen, up to {MAX_PEOPLE})")
    hands: bool = option(False, flag="--hands", label="Hands",
                         help="also find the hands and solve their finger angles (fingers "
                         "on the new armature, Rigify and Mixamo rigs)",
                         description="find the hands and animate the fingers (Rigify, "
                         "Mixamo)")
    flip_tta: bool | None = option(None, flag="--no-flip", help="no flip test-time "
                                   "augmentation (default: on for root_ray and "
                                   "left/right-symmetric models)")
    cleanup: bool = option(True, flag="--no-cleanup", help="place frame by frame: no fixed "
                           "body, limb limits, per-clip depth, contact floor or upright fix")
    foot_lock: bool = option(True, flag="--no-foot-lock", label="Foot Locking",
                             help="do not hold planted feet in place",
                             description="pin feet while they touch the ground (less "
                             "sliding)")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise ``ValueError`` naming the first invalid option (choices, ranges, order)."""
        validate(self)
        if self.frame_end is not None and self.frame_end < self.frame_start:
            raise ValueError(f"frame_end ({self.frame_end}) is before frame_start "
                             f"({self.frame_start})")

    def motion(self) -> MotionOptions:
        """The placement's clean-up steps these options ask for."""
        from .motion.place import MotionOptions

        base = MotionOptions() if self.cleanup else MotionOptions.per_frame()
        return replace(base, foot_lock=self.foot_lock)

    @property
    def frame_stop(self) -> int | None:
        """One past the last frame (``frame_end + 1``), as ``range`` and the decoder take it."""
        return None if self.frame_end is None else self.frame_end + 1


@dataclass
class Progress:
    stage: str       # "detect" | "lift" | "place" | "done"
    fraction: float  # 0..1 over the whole job
    message: str


ProgressCallback = Callable[[Progress], None]


@dataclass
class HandResult:
    """The person's hands over the result's frames, side 0 the person's left, 1 right."""

    points: np.ndarray   # (N, 2, 21, 3) MediaPipe hand world landmarks, metres (NaN: none)
    score: np.ndarray    # (N, 2) 0 where the hand was not found
    flex: np.ndarray     # (N, 2, 5, 3) radians, thumb..little, base/middle/end joint (held
    #                      through frames without the hand)
    spread: np.ndarray   # (N, 2, 5) radians at the base joints
    weight: np.ndarray   # (N, 2) 0..1: how much of the angles to show (eased to 0, the
    #                      rest pose, while the hand is lost)
    palm: np.ndarray     # (N, 2, 3, 3) palm frame (across, along, inner normal) in world axes
    image: np.ndarray | None = None  # (N, 2, 21, 3) the hand points in the frame (x, y
    #                                  normalised to the width and height; NaN: none)


SHORT_CLIP = 8  # fewer seen frames than this: warn (the network's 4-frame window, smoothing)
RARE_HANDS = 0.1  # a hand found in fewer than this share of the frames: warn


@dataclass
class LiftResult:
    joints_world: np.ndarray     # (N,17,3) float32 metres, Z-up world, floor at z=0
    joints_camera: np.ndarray    # (N,17,3) metres, camera axes (x right, y down, z forward)
    keypoints_2d: np.ndarray     # (N,17,2) pixels (after gap filling)
    confidence: np.ndarray       # (N,17) 0..1 (0 where filled)
    mp_world: np.ndarray         # (N,33,3) MediaPipe world landmarks (NaN in gaps)
    mp_image: np.ndarray         # (N,33,3) MediaPipe normalised image landmarks (NaN in gaps)
    contacts: np.ndarray         # (N,2) bool, (left foot, right foot)
    detected: np.ndarray         # (N,) bool, False where the frame was a filled gap
    frame_indices: np.ndarray    # (N,) source video frame numbers
    fps: float
    width: int
    height: int
    intrinsics: np.ndarray       # (3,3) pixels
    gaps: list[tuple[int, int]] = field(default_factory=list)  # [start, end) result frames
    source: str = ""
    rest_offsets: np.ndarray | None = None  # (17, 3) the clip's body (BVH and armature rest)
    joints_lifted: np.ndarray | None = None  # (N,17,3) the network's root-relative output
    #                                           (camera axes, smoothed), before placement
    foot_dirs: np.ndarray | None = None  # (N,2,3) heel -> toe unit vectors, world, (left,
    #                                       right): where the feet point (motion.feet)
    segments: list[tuple[int, int]] | None = None  # [start, end) stretches where the person
    #   was seen (gaps longer than max_gap between them: there the last pose is held and
    #   ``detected`` is False); None or one segment: the whole result
    others: np.ndarray | None = None  # (N,) bool: somebody else was in view (seen while
    #   the detector looked for everybody: the first frames, and after each loss)
    person: int | None = None  # which tracked person (1, 2, ...) when several were lifted
    hands: HandResult | None = None  # the fingers, when asked for (``--hands``)

    def segment_bounds(self) -> list[tuple[int, int]]:
        """The segments, ``[(0, len)]`` when the result is one piece."""
        return list(self.segments) if self.segments else [(0, len(self))]

    def gap_warning(self) -> str | None:
        """One line naming the long gaps that split the clip, or None."""
        seg = self.segment_bounds()
        if len(seg) < 2:
            return None
        idx = np.asarray(self.frame_indices)
        gaps = [f"{int(idx[a[1]])}-{int(idx[b[0] - 1])}" for a, b in zip(seg, seg[1:])]
        return (f"no person in frames {', '.join(gaps)}: lifted as {len(seg)} segments "
                f"(frames {', '.join(f'{int(idx[s])}-{int(idx[e - 1])}' for s, e in seg)})")

    def short_warning(self) -> str | None:
        """One line when the person is seen in fewer than ``SHORT_CLIP`` frames, or None."""
        seen = int(np.count_nonzero(self.detected))
        if seen >= SHORT_CLIP:
            return None
        return (f"the person is seen in only {seen} frame{'s' if seen != 1 else ''}: too "
                f"few for steady motion ({SHORT_CLIP} or more give the network its window)")

    def edge_warning(self) -> str | None:
        """One line when joints fall outside the picture in seen frames, or None."""
        kp = np.asarray(self.keypoints_2d, np.float64)
        seen = np.asarray(self.detected, bool)
        out = ((kp[..., 0] < 0) | (kp[..., 0] > self.width - 1) | (kp[..., 1] < 0)
               | (kp[..., 1] > self.height - 1)).any(axis=-1) & seen
        n = int(np.count_nonzero(out))
        if n == 0:
            return None
        first = int(np.asarray(self.frame_indices)[np.flatnonzero(out)[0]])
        return (f"the person is partly out of the picture in {n} of "
                f"{int(np.count_nonzero(seen))} frames (first at frame {first}): the joints "
                f"outside it are guessed")

    def others_warning(self) -> str | None:
        """One line when somebody else was in view, or None."""
        if self.others is None or not np.any(self.others):
            return None
        first = int(np.asarray(self.frame_indices)[np.flatnonzero(self.others)[0]])
        return (f"more than one person in view (first at frame {first}): one is lifted, "
                f"the one followed from the start (--people all lifts everybody)")

    def hands_warning(self) -> str | None:
        """One line when hands were asked for and a side was never found, or found in
        fewer than ``RARE_HANDS`` of the frames (too small or hidden), or None."""
        if self.hands is None:
            return None
        found = np.count_nonzero(np.asarray(self.hands.score) > 0, axis=0)
        n = len(self.hands.score)
        missing = [name for name, k in zip(("left", "right"), found) if k == 0]
        rare = [(name, int(k)) for name, k in zip(("left", "right"), found)
                if 0 < k < RARE_HANDS * n]
        if len(missing) == 2:
            return "no hand found in any frame: the fingers stay at rest"
        if not rare:
            return (f"the {missing[0]} hand was not found in any frame: its fingers stay "
                    f"at rest") if missing else None
        said = [f"the {name} hand was not found in any frame" for name in missing]
        said += [f"the {name} hand was found in only {k} of {n} frames" for name, k in rare]
        return "; ".join(said) + " (too small or hidden?): the fingers rest where none is found"

    def warnings(self) -> list[str]:
        """Every warning line for the user: long gaps, a short clip, joints out of view,
        other people in view, hands not found."""
        return [w for w in (self.gap_warning(), self.short_warning(), self.edge_warning(),
                            self.others_warning(), self.hands_warning()) if w]

    def __len__(self) -> int:
        return len(self.joints_world)
