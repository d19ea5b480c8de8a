"""Motion quality before/after the clean-up on rendered clips with
ground truth (``python -m training.synthetic render``).

    python -m training.diagnose motion-quality dance out/mq/dance.npy   # dancing in place
    python -m training.diagnose motion-quality measure out/mq/clips dance squat \
        wave walk

``measure`` detects each ``<clip>.mp4`` once, lifts it with the shipped model, places it
with the per-frame placement (``--no-cleanup --no-foot-lock``), with the clean-up but no
foot anchoring of the root depth (``MotionOptions.anchor_feet=False``) and with the whole
clean-up (the default), and prints a Markdown table: root error (camera space, mm), root
travel (m, the truth's in brackets), foot skate during the truth's contacts (cm/frame),
frames with a knee bent backward by more than 10 degrees, world spine tilt (degrees, the
truth's in brackets) and the largest bone-length spread within the clip (%).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def dance(frames: int = 48, fps: float = 25.0, period_s: float = 1.0) -> np.ndarray:
    """(frames, 17, 3) world joints: dancing in place, one foot raised while the other
    stands, trunk twisting, arms swinging (training.synthetic.motions' body)."""
    from training.synthetic.motions import Angles, forward_kinematics, ground

    t = np.arange(frames) / fps
    ph = 2 * np.pi * t / period_s
    up_l = np.clip(np.sin(ph), 0, None) ** 2
    up_r = np.clip(-np.sin(ph), 0, None) ** 2
    a = Angles(root=np.zeros((frames, 3)), twist=0.25 * np.sin(0.5 * ph),
               side_lean=0.04 * np.sin(ph), hip_flex=(0.7 * up_l, 0.7 * up_r),
               knee=(0.15 + 1.2 * up_l, 0.15 + 1.2 * up_r), hip_abd=(0.06, 0.06),
               sh_flex=(0.5 * np.sin(ph), -0.5 * np.sin(ph)), sh_abd=(0.35, 0.35),
               elbow=(0.9 + 0.3 * np.sin(ph), 0.9 - 0.3 * np.sin(ph)))
    return ground(forward_kinematics(a))


def _travel(p: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(p[:, :2], axis=0), axis=-1).sum())


def _tilt(world: np.ndarray) -> float:
    s = world[:, 8] - world[:, 0]
    return float(np.degrees(np.arccos(np.clip(s[:, 2] / np.linalg.norm(s, axis=-1), -1, 1)))
                 .mean())


def metrics(result, gt: dict) -> dict[str, float]:
    """The table's numbers for one result against the rendered truth."""
    from dgnet_core.motion.body import limb_bend
    from dgnet_core.motion.contacts import LEFT_FOOT, RIGHT_FOOT
    from dgnet_core.skeleton import ANKLE_HEIGHT, bone_lengths

    idx = np.asarray(result.frame_indices)
    gw = np.asarray(gt["joints_world"], np.float64)[idx]
    gc = np.asarray(gt["joints_camera"], np.float64)[idx]
    w = np.asarray(result.joints_world, np.float64)
    c = np.asarray(result.joints_camera, np.float64)
    fps = float(gt["fps"])
    feet = [LEFT_FOOT, RIGHT_FOOT]
    gspeed = np.linalg.norm(np.gradient(gw[:, feet, :2], axis=0), axis=-1) * fps
    gcontact = (gw[:, feet, 2] < ANKLE_HEIGHT + 0.03) & (gspeed < 0.15)
    both = gcontact[1:] & gcontact[:-1]
    step = np.linalg.norm(np.diff(w[:, feet, :2], axis=0), axis=-1)
    bl = bone_lengths(w)
    return {
        "root_mm": float(np.linalg.norm(c[:, 0] - gc[:, 0], axis=-1).mean() * 1000),
        "travel": _travel(w[:, 0]), "travel_gt": _travel(gw[:, 0]),
        "skate": float(step[both].mean() * 100) if both.any() else float("nan"),
        "contact_recall": float(result.contacts[gcontact].mean()) if gcontact.any() else 0.0,
        "hyper": float((limb_bend(w)[:, :2] < -10).any(axis=1).mean() * 100),
        "tilt": _tilt(w), "tilt_gt": _tilt(gw),
        "bone_spread": float((np.ptp(bl, axis=0) / np.median(bl, axis=0)).max() * 100),
    }


def _without_anchoring(options):
    """``options`` with the whole clean-up except ``MotionOptions.anchor_feet``."""
    from dgnet_core.pipeline import PipelineOptions

    class WithoutAnchoring(PipelineOptions):
        def motion(self):
            return replace(super().motion(), anchor_feet=False)

    return WithoutAnchoring(**{f: getattr(options, f) for f in options.__dataclass_fields__})


def measure(clips: Path, names: list[str]) -> str:
    from dgnet_core.detection.detect import detect_video
    from dgnet_core.lifting.backend import make_lifter
    from dgnet_core.pipeline import PipelineOptions, run_pipeline

    rows = ["| clip | placement | root error mm | root travel m (truth) | foot skate "
            "cm/frame in contact | contact recall | frames with knee hyperext. >10° % | "
            "world spine tilt ° (truth) | bone length spread % |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lifter = None
    for name in names:
        gt = dict(np.load(clips / f"{name}.npz"))
        video = clips / f"{name}.mp4"
        det = detect_video(video)
        base = PipelineOptions(focal_px=float(gt["intrinsics"][0, 0]))
        lifter = lifter or make_lifter(base)
        variants = [("before (per frame)", replace(base, cleanup=False, foot_lock=False)),
                    ("clean-up, no foot anchoring", _without_anchoring(base)),
                    ("after (clean-up)", base)]
        for label, opts in variants:
            res = run_pipeline(video, opts, lifter=lifter, detections=det)
            m = metrics(res, gt)
            rows.append(f"| {name} | {label} | {m['root_mm']:.0f} | {m['travel']:.2f} "
                        f"({m['travel_gt']:.2f}) | {m['skate']:.2f} | "
                        f"{m['contact_recall']:.2f} | {m['hyper']:.0f} | {m['tilt']:.1f} "
                        f"({m['tilt_gt']:.1f}) | {m['bone_spread']:.1f} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "dance":
        out = Path(argv[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, dance())
        print(out)
        return 0
    if len(argv) >= 3 and argv[0] == "measure":
        print(measure(Path(argv[1]), argv[2:]))
        return 0
    print(__doc__)
    return 2
