"""How often the hands are found: the wrist crops against MediaPipe's whole frame.

For each clip, the body is followed as the product follows it and, per frame, the hand
landmarker looks for the person's hands (``dgnet_core.detection.hands``: a crop around each
wrist, ``--scale`` x the hand's size, a hand taken within ``--gate`` x that size of the
body's wrist) and, for comparison, in the whole frame (VIDEO mode, two hands, no side).
Reports hands found per frame (0..2), the share of frames with both, and whether
MediaPipe's hand world landmarks are in the picture's axes (the median cosine between their
wrist -> middle-knuckle direction and the image's).

    python -m training.diagnose hands CLIP [CLIP ...] [--scale 8 --gate 1.5]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np


def count_hands(video: Path, scale: float, gate: float) -> dict[str, float]:
    """Hands per frame and share of frames with both, from the wrist crops and from the
    whole frame."""
    from dgnet_core.detection import mediapipe_api
    from dgnet_core.detection.detect import TrackingDetector
    from dgnet_core.detection.hands import HandConfig, HandDetector, default_hand_task_path
    from dgnet_core.detection.video import VideoReader

    mp, base_options, vision = mediapipe_api.load()
    whole = vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
        base_options=base_options(model_asset_path=str(default_hand_task_path())),
        running_mode=vision.RunningMode.VIDEO, num_hands=2,
        min_hand_detection_confidence=0.3, min_hand_presence_confidence=0.3,
        min_tracking_confidence=0.3))
    crops, full, cosines = [], [], []
    cfg = replace(HandConfig(), scale=scale, gate=gate)
    try:
        with (VideoReader(video) as reader,
              TrackingDetector(reader.info.width, reader.info.height) as body,
              HandDetector(None, cfg) as hands):
            fps = reader.info.fps
            for i, rgb in reader.frames(0, None):
                ts = int(i * 1000 / fps)
                found = hands.detect(rgb, body.observe(rgb, ts))
                crops.append(int((found.score > 0).sum()))
                for side in np.flatnonzero(found.score[0] > 0):  # world axes = image axes?
                    a = found.world[0, side, 9, :2] - found.world[0, side, 0, :2]
                    b = (found.image[0, side, 9, :2] - found.image[0, side, 0, :2]) * [
                        reader.info.width, reader.info.height]
                    cosines.append(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))
                image = mp.Image(image_format=mp.ImageFormat.SRGB,
                                 data=np.ascontiguousarray(rgb))
                full.append(len(whole.detect_for_video(image, ts).hand_landmarks))
    finally:
        whole.close()
    c, f = np.array(crops), np.array(full)
    return {"frames": len(c), "crops_per_frame": float(c.mean()),
            "crops_both": float((c == 2).mean()), "whole_per_frame": float(f.mean()),
            "whole_both": float((f == 2).mean()),
            "axes_cos": float(np.median(cosines)) if cosines else float("nan")}


def main(argv: list[str] | None = None) -> int:
    from dgnet_core.detection.hands import HandConfig

    p = argparse.ArgumentParser(prog="python -m training.diagnose hands",
                                description=__doc__.split("\n")[0])
    p.add_argument("videos", nargs="+", type=Path)
    p.add_argument("--scale", type=float, default=HandConfig.scale)
    p.add_argument("--gate", type=float, default=HandConfig.gate)
    a = p.parse_args(argv)
    print(f"crop {a.scale:g} x the hand, gate {a.gate:g} x the hand\n")
    print("| clip | frames | hands per frame, crops / whole frame | both hands, crops / whole "
          "| world vs image axes (median cos) |")
    print("|---|---:|---:|---:|---:|")
    for v in a.videos:
        r = count_hands(v, a.scale, a.gate)
        print(f"| {v.name} | {r['frames']} | {r['crops_per_frame']:.2f} / "
              f"{r['whole_per_frame']:.2f} | {r['crops_both']:.0%} / {r['whole_both']:.0%} | "
              f"{r['axes_cos']:.3f} |")
    return 0
