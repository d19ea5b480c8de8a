"""Which of MediaPipe's hand landmarks the finger angles should come from: depth and curl.

``HandMotionOptions.angles_from`` chooses between MediaPipe's hand world landmarks and its
image landmarks (x, y in pixels, z on the x scale). Rendered hands favour the image
landmarks (``training.hands_bench``); this check shows why that does not carry to real
footage, with two figures per source:

- the depth spread: the range of the 21 points' depth over the larger of their x and y
  ranges (median over the hands found). On renders (``--renders``, a folder of
  ``training.synthetic.hands``) it is also given for the true points;
- on real clips, through the product's own hand detection (``detect_video`` with hands:
  crops around the body's wrists, VIDEO mode), per side the median curl of the fingers'
  base and middle joints (no limits), for a stretch where the hands hang relaxed
  (``CLIP:START:END``) and the depth spread.

    python -m training.diagnose hand-depth --renders out/hands \\
        tests/data/asl_hands_520x480.mp4 ../shared/data/videos/two_people_1080p.avi:0:30
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def depth_spread(points: np.ndarray) -> float:
    """Depth range of (21, 3) points over the larger of their x and y ranges."""
    p = np.asarray(points, np.float64)
    return float(np.ptp(p[:, 2]) / max(float(np.ptp(p[:, :2], axis=0).max()), 1e-9))


def renders(folder: Path) -> dict[str, float]:
    """Median depth spread of MediaPipe's image and world landmarks and of the truth on
    the rendered hands it finds."""
    from training.hands_bench import detect_folder, image_points
    from training.synthetic.hands import load_truth

    truth = load_truth(folder)
    w, h = int(truth["width"]), int(truth["height"])
    spreads: dict[str, list[float]] = {"image": [], "world": [], "truth": []}
    for i, det in enumerate(detect_folder(folder, truth, progress=False)):
        if det is None:
            continue
        spreads["image"].append(depth_spread(image_points(det.image, w, h)))
        spreads["world"].append(depth_spread(det.world))
        spreads["truth"].append(depth_spread(truth["points_camera"][i]))
    return {k: float(np.median(v)) for k, v in spreads.items()} | {
        "hands": len(spreads["image"])}


def clip(spec: str) -> list[dict]:
    """Per side: hands found, depth spread and median curl from either source."""
    from dgnet_core.detection.detect import DetectorConfig, detect_video
    from dgnet_core.motion.hands import FingerLimits, angle_points, finger_angles

    path, *span = spec.split(":")
    start, stop = (int(span[0]), int(span[1])) if span else (0, None)
    d = detect_video(path, start, stop, config=DetectorConfig(hands=True))
    free = FingerLimits(flex=((-180, 180),) * 3, thumb_flex=((-180, 180),) * 3)
    rows = []
    for side, name in ((0, "left"), (1, "right")):
        found = d.hands.score[:, side] > 0
        row = {"clip": f"{Path(path).name} {start}-{stop if stop is not None else 'end'}",
               "side": name, "hands": int(found.sum())}
        for source in ("image", "world"):
            pts = angle_points(d.hands, d.width, d.height, source)[found, side]
            if not len(pts):
                continue
            flex, _ = finger_angles(pts, side, free)
            row[f"spread_{source}"] = float(np.median([depth_spread(p) for p in pts]))
            row[f"curl_{source}"] = float(np.degrees(np.median(flex[:, 1:, :2])))
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.diagnose hand-depth",
                                description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="*", help="VIDEO or VIDEO:START:END (end exclusive)")
    p.add_argument("--renders", type=Path, help="a training.synthetic.hands folder")
    args = p.parse_args(argv)
    if args.renders is None and not args.clips:
        p.error("give --renders and/or clips")
    if args.renders is not None:
        r = renders(args.renders)
        print(f"renders ({r['hands']} hands found): depth spread, median: image "
              f"{r['image']:.2f}, world {r['world']:.2f}, truth {r['truth']:.2f}")
    if args.clips:
        print("| clip | side | hands | depth spread image / world | curl image / world "
              "(deg, median) |\n|---|---|---:|---:|---:|")
        for spec in args.clips:
            for r in clip(spec):
                if r["hands"] == 0:
                    print(f"| {r['clip']} | {r['side']} | 0 | - | - |")
                    continue
                print(f"| {r['clip']} | {r['side']} | {r['hands']} | "
                      f"{r['spread_image']:.2f} / {r['spread_world']:.2f} | "
                      f"{r['curl_image']:.0f} / {r['curl_world']:.0f} |")
    return 0
