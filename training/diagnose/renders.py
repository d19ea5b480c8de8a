"""The rendered clips a check reads: ``<clip>.mp4`` files with their ``<clip>.npz`` ground
truth, as ``python -m training.synthetic suite --out DIR`` writes them."""

from __future__ import annotations

from pathlib import Path


def rendered_clips(folder: Path) -> list[Path]:
    """The ``.mp4`` files under ``folder`` that have their ``.npz`` beside them, sorted;
    ``FileNotFoundError`` (one line for the user) when there are none."""
    videos = sorted(v for v in Path(folder).rglob("*.mp4") if v.with_suffix(".npz").is_file())
    if not videos:
        raise FileNotFoundError(f"no rendered clip (<clip>.mp4 with <clip>.npz) under {folder}")
    return videos
