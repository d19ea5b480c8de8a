"""Run the built extension on several Blender versions (bpy modules from the package index).

For each bpy version: install it once into ``.cache/bpy/<version>`` (``pip install
--target``; the version this venv already has is used as it is), then run
``scripts/blender_check.py`` in an ISOLATED interpreter (``python -S``, only that bpy and
its numpy on ``sys.path``): install the linux-x64 cp311 zip with Blender's extension
operator, enable it, read the engine status, time the first progress, lift a short clip
onto a new armature and onto a generated Rigify rig, check the keys, run the
``blender --command lift_video`` function (BVH, FBX, glTF, .blend), disable and remove.

    .venv/bin/python scripts/blender_matrix.py                      # 4.2 LTS, 4.5 LTS, 5.0
    .venv/bin/python scripts/blender_matrix.py --bpy 4.2.23 --json out/matrix.json

Prints one table row per version (the format of docs/BENCHMARKS.md); exit code 1 when a
version fails a step, 2 when a bpy or the zip cannot be had.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bpy"
CHECK = REPO / "scripts" / "blender_check.py"
VIDEO = REPO.parent / "shared" / "data" / "videos" / "dance_600x600.mp4"
# The newest of each line on the package index for Python 3.11 (checked 2026-11-29).
DEFAULT_VERSIONS = ("4.2.23", "4.5.15", "5.0.1")
STEPS = ("install", "status", "first_progress", "lift_new", "lift_rigify", "cli", "remove")


class MatrixError(RuntimeError):
    """A bpy or the zip could not be had (no network, build failure)."""


def venv_bpy_version() -> str | None:
    try:
        return importlib.metadata.version("bpy")
    except importlib.metadata.PackageNotFoundError:
        return None


def ensure_bpy(version: str, cache: Path = CACHE, timeout: int = 900) -> tuple[Path, float]:
    """The folder holding ``bpy`` ``version`` and its numpy; installs it the first time.

    Returns ``(folder, seconds spent installing)`` (0 when it was there already).
    """
    if venv_bpy_version() == version:
        return Path(importlib.util.find_spec("bpy").origin).parents[1], 0.0
    dest = cache / version
    if (dest / "bpy").is_dir() and (dest / "numpy").is_dir():
        return dest, 0.0
    tmp = cache / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--target", str(tmp), f"bpy=={version}", "numpy<2"],
        capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-2:])
        raise MatrixError(f"pip could not install bpy=={version}: {tail}")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest, time.perf_counter() - t0


def isolated_site(bpy_root: Path, dest: Path) -> Path:
    """A folder with links to only ``bpy`` and ``numpy`` (and their ``.libs``) of
    ``bpy_root``: nothing else of this venv or of the bpy install is importable."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("bpy", "numpy", "bpy.libs", "numpy.libs"):
        src = bpy_root / name
        if src.is_dir() and not (dest / name).exists():
            (dest / name).symlink_to(src)
    return dest


def build_zip(out_dir: Path, root: Path = REPO) -> Path:
    """The linux-x64 cp311 zip of the source tree ``root`` (this checkout by default),
    built with ``root``'s build.py (wheels cached in this checkout's build/)."""
    sys.path.insert(0, str(root))
    import build

    try:
        (zip_path,) = build.build_zips("cp311", ["linux-x64"], root=root, out_dir=out_dir,
                                       work_dir=out_dir / "work",
                                       wheels_cache=REPO / build.WHEELS_CACHE)
    except build.BuildError as exc:
        raise MatrixError(f"build.py failed: {exc}") from None
    return zip_path


def run_version(bpy_root: Path, zip_path: Path, work: Path, *, video: str = "",
                onnx: str = "", frames: int = 20, skip: Sequence[str] = (),
                timeout: int = 600) -> dict:
    """Run the check script in an isolated interpreter with this bpy; its JSON result."""
    shutil.rmtree(work, ignore_errors=True)
    site = isolated_site(bpy_root, work / "site")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "BLENDER"))}
    env.update(PYTHONPATH=str(site), BLENDER_USER_RESOURCES=str(work / "user"),
               OMP_NUM_THREADS="1")
    args = {"zip": str(Path(zip_path).resolve()), "out": str(work / "cli_out"),
            "video": video, "onnx": onnx, "frames": frames, "skip": list(skip)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", str(CHECK), json.dumps(args)],
                          capture_output=True, text=True, env=env, cwd=work, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    seconds = round(time.perf_counter() - t0, 1)
    if not lines:
        return {"ok": False, "seconds": seconds, "exit_code": proc.returncode,
                "error": f"exit {proc.returncode}: " + (proc.stdout + proc.stderr)[-3000:]}
    res = json.loads(lines[-1][len("RESULT "):])
    res.update(seconds=seconds, exit_code=proc.returncode)
    res["ok"] = proc.returncode == 0 and all(s.get("ok") for s in res["steps"].values())
    if proc.returncode != 0:  # e.g. a crash at exit, after the checks
        res["error"] = f"exit {proc.returncode} after the checks: {proc.stderr[-1500:]}"
    return res


def table_row(version: str, res: dict, install_s: float) -> str:
    """One markdown row: version, install time, run time, each step, status and progress."""
    steps = res.get("steps", {})

    def mark(name: str) -> str:
        s = steps.get(name)
        return "-" if s is None else ("ok" if s.get("ok") else "FAIL")

    st = steps.get("status", {})
    fp = steps.get("first_progress", {})
    lifts = [steps.get(n, {}) for n in ("lift_new", "lift_rigify")]
    keys = "; ".join(f"{s.get('curves', '?')} curves x {s.get('keys_per_curve', '?')} keys"
                     for s in lifts if s)
    detail = (f"status: {st.get('detector', '?')} / {st.get('device', '?')} in "
              f"{st.get('check_s', '?')} s; first progress {fp.get('first_s', '?')} s, "
              f"first engine progress {fp.get('first_engine_s', '?')} s; {keys}")
    if "error" in res:
        detail = res["error"].strip().splitlines()[-1][:200] + "; " + detail
    return (f"| {version} | {install_s:.0f} s | {res.get('seconds', '?')} s | "
            + " | ".join(mark(n) for n in STEPS) + f" | {detail} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bpy", action="append", dest="versions",
                        help=f"bpy version (repeatable; default {', '.join(DEFAULT_VERSIONS)})")
    parser.add_argument("--zip", type=Path, help="an already built linux-x64 cp311 zip")
    parser.add_argument("--root", type=Path, default=REPO,
                        help="source tree to build the zip from (e.g. a git worktree)")
    parser.add_argument("--video", default=str(VIDEO) if VIDEO.is_file() else "",
                        help="clip with a person (default: the shared dance clip)")
    parser.add_argument("--model", default="", help="lifting model (default: built-in)")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--work", type=Path, default=REPO / "out" / "blender-matrix")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--skip", action="append", default=[], choices=STEPS[1:-1],
                        help="leave out a step (repeatable; for narrowing a failure down)")
    args = parser.parse_args(argv)
    versions = args.versions or list(DEFAULT_VERSIONS)
    try:
        t0 = time.perf_counter()
        zip_path = args.zip or build_zip(args.work / "dist", args.root.resolve())
        print(f"zip: {zip_path.name} ({time.perf_counter() - t0:.0f} s)", flush=True)
        roots = {}
        for v in versions:
            roots[v] = ensure_bpy(v)
            print(f"bpy {v}: {roots[v][0]} (installed in {roots[v][1]:.0f} s)", flush=True)
    except MatrixError as exc:
        print(f"blender_matrix: {exc}", file=sys.stderr)
        return 2
    print("| bpy | install | run | " + " | ".join(STEPS) + " | details |")
    print("|---|---|---|" + "---|" * len(STEPS) + "---|")
    results, ok = {}, True
    for v in versions:
        root, install_s = roots[v]
        res = run_version(root, zip_path, args.work / v, video=args.video, onnx=args.model,
                          frames=args.frames, skip=args.skip)
        results[v] = {**res, "install_s": round(install_s, 1)}
        ok &= res["ok"]
        print(table_row(v, res, install_s), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
