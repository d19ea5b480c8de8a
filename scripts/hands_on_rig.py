"""A clip's hands as the video shows them and as a generated Rigify rig shows them.

Lifts ``VIDEO`` with ``--hands``, bakes it onto a Rigify rig generated from the human
metarig (the add-on registered from ``addon/``, as the tests do), and draws, for the frames
where the hand curls most and least (and two between), one row each: the video around the
hand with MediaPipe's 21 points, the rig's deform hand (``DEF-`` bones) seen from the side
of its palm (curl shows as bending towards the palm's inner side, drawn down) and from
the back of the hand (spread). A check a person reads: do the rig's fingers curl when the
video's do?

    .venv/bin/python scripts/hands_on_rig.py tests/data/asl_hands_520x480.mp4 out/rig.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def _frames(curl: np.ndarray, weight: np.ndarray, k: int = 4) -> list[int]:
    """``k`` frames at full weight, from the most curled to the least, evenly by curl."""
    ok = np.flatnonzero(weight >= 1.0)
    if not ok.size:
        raise SystemExit("error: the hand was not found in any frame (try the other --side)")
    order = ok[np.argsort(-curl[ok])]
    picks = np.linspace(0, len(order) - 1, min(k, len(order))).round().astype(int)
    return [int(order[i]) for i in picks]


def bake_and_measure(npz: Path, side: int, frames: list[int]) -> dict[int, np.ndarray]:
    """The Rigify rig's posed deform hand (21 points, armature space) at ``frames``."""
    import bpy
    from bake_demo import enable_source_addon

    from dgnet_core.formats.results import load_npz
    from dgnet_core.retarget.fingers import finger_bones, rest_points

    bake = sys.modules[f"{enable_source_addon('lift_hands')}.bake"]
    bpy.ops.object.armature_human_metarig_add()
    if not hasattr(bpy.ops.pose, "rigify_generate"):
        raise SystemExit("Rigify generation is not available in this Blender")
    bpy.ops.pose.rigify_generate()
    rig = bpy.data.objects["rig"]
    rep = bake.apply_result(bpy.context, load_npz(npz),
                            bake.BakeSettings(target=rig, name="hands"))
    _, chains = finger_bones([b.name for b in rig.data.bones], side)
    s = "L" if side == 0 else "R"
    pb = rig.pose.bones
    out = {}
    for f in frames:
        bpy.context.scene.frame_set(int(rep.frames[0]) + f)
        out[f] = rest_points(np.array(pb[f"DEF-hand.{s}"].head),
                             np.array([[pb[f"DEF-{b}"].head for b in c] for c in chains]),
                             np.array([[pb[f"DEF-{b}"].tail for b in c] for c in chains]))
    return out


def draw(png: Path, video: Path, result, side: int, rig_hands: dict[int, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dgnet_core.detection.video import VideoReader
    from dgnet_core.motion.hands import CHAINS, finger_angles, palm_frame

    frames = list(rig_hands)
    wanted = {int(result.frame_indices[f]): f for f in frames}
    images = {}
    with VideoReader(video) as reader:
        for i, img in reader.frames(0, max(wanted) + 1):
            if i in wanted:
                images[wanted[i]] = img
    fig, axes = plt.subplots(len(frames), 3, figsize=(7.5, 2.5 * len(frames)), squeeze=False)
    h, w = images[frames[0]].shape[:2]
    for row, f in zip(axes, frames):
        uv = result.hands.image[f, side, :, :2] * np.array([w, h])
        lo, hi = uv.min(axis=0), uv.max(axis=0)
        c, r = (lo + hi) / 2, max(float((hi - lo).max()) * 0.9, 20.0)
        row[0].imshow(images[f])
        for chain in CHAINS:
            row[0].plot(uv[list(chain), 0], uv[list(chain), 1], "-", color="C3", lw=1.2)
        row[0].set_xlim(c[0] - r, c[0] + r)
        row[0].set_ylim(c[1] + r, c[1] - r)
        curl = np.degrees(result.hands.flex[f, side, 1:, :].mean())
        row[0].set_title(f"video frame {int(result.frame_indices[f])}: curl {curl:.0f} deg",
                         fontsize=8)
        pts = rig_hands[f]
        frame = palm_frame(pts, side)       # columns: across, along, inner normal
        local = (pts - pts[0]) @ frame
        got = np.degrees(finger_angles(pts, side)[0][1:, :].mean())
        for ax, (a, b), title in ((row[1], (1, 2), "rig, side of the palm"),
                                  (row[2], (0, 1), "rig, back of the hand")):
            for chain in CHAINS:
                sign = -1.0 if b == 2 else 1.0   # the palm's inner side drawn down
                ax.plot(local[list(chain), a], sign * local[list(chain), b], "-o", ms=2,
                        lw=1.2, color="C0")
            ax.set_aspect("equal")
            ax.set_title(f"{title}: curl {got:.0f} deg", fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(png, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video", type=Path)
    p.add_argument("png", type=Path)
    p.add_argument("--side", choices=("left", "right"), default="right",
                   help="the person's hand to show")
    args = p.parse_args(argv)
    from dgnet_core.contract import PipelineOptions
    from dgnet_core.formats.results import save_npz
    from dgnet_core.pipeline import run_pipeline

    side = 0 if args.side == "left" else 1
    result = run_pipeline(args.video, PipelineOptions(hands=True))
    curl = np.degrees(result.hands.flex[:, side, 1:, :].mean(axis=(1, 2)))
    frames = _frames(curl, result.hands.weight[:, side])
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "lift.npz"
        save_npz(result, npz)
        rig_hands = bake_and_measure(npz, side, frames)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    draw(args.png, args.video, result, side, rig_hands)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    from dgnet_core.errors import one_line_errors

    raise SystemExit(one_line_errors(main))
