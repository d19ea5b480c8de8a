"""Pack the shared Human3.6M files a run needs into one folder for a single transfer.

``python -m training.pack_data --out runs/h36m_pack`` copies ``cameras.json``,
``h36m_3d17.npz`` and (unless ``--no-detections``) ``h36m_sh2d16.npz`` (47 MB in all),
checks that they fit the 64 MB transfer limit of the GPU machine, and prints the
``carry`` entry to use. ``runs/`` is git-ignored: the research data never enters the
repository. On the GPU machine pass ``--data runs/h36m_pack`` to the training commands.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .config import DEFAULT_DATA

LIMIT_BYTES = 64 * 2**20


def pack(src: str | Path = DEFAULT_DATA, out: str | Path = "runs/h36m_pack",
         detections: bool = True) -> tuple[Path, int]:
    """Copy the needed files; returns (folder, total bytes). Raises if over 64 MiB."""
    src, out = Path(src), Path(out)
    names = ["cameras.json", "h36m_3d17.npz"] + (["h36m_sh2d16.npz"] if detections else [])
    missing = [n for n in names if not (src / n).exists()]
    if missing:
        raise FileNotFoundError(f"missing in {src}: {', '.join(missing)}")
    total = sum((src / n).stat().st_size for n in names)
    if total > LIMIT_BYTES:
        raise ValueError(f"{total / 2**20:.1f} MiB exceeds the 64 MiB transfer limit")
    out.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(src / n, out / n)
    (out / "README.txt").write_text(
        "Human3.6M derived files: research use only; never commit, ship or publish.\n")
    return out, total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--src", default=str(DEFAULT_DATA))
    p.add_argument("--out", default="runs/h36m_pack")
    p.add_argument("--no-detections", action="store_true",
                   help="leave out the 2D detections (GT / reprojection training only)")
    a = p.parse_args(argv)
    out, total = pack(a.src, a.out, not a.no_detections)
    print(f"packed {total / 2**20:.1f} MiB into {out}; carry: [\"{out}\"]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
