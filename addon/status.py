"""Engine status for the sidebar: did the pose detector and the lifting model load, and on
which compute device does the model run.

Loading both takes a second or two (MediaPipe's import and model, an onnxruntime session),
so the panel never does it: ``panel_status()`` is what ``draw()`` calls, and it only reads
a cached answer. When there is no answer for the current preferences (compute device,
model path) it starts one check on a background thread and a timer redraws the sidebars
when the answer arrives. Timers do not run in ``--background``: scripts call
``check_now()``. Nothing here imports torch unless the GPU device is asked for.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import bpy


@dataclass(frozen=True)
class Part:
    """One line of the status: ``ok`` is None while not known yet."""

    ok: bool | None
    text: str


@dataclass(frozen=True)
class EngineStatus:
    key: tuple[str, str]  # (device preference, model path) it was checked for
    done: bool
    detector: Part
    model: Part
    device: Part
    seconds: float = 0.0  # how long the check took

    @property
    def ready(self) -> bool:
        return bool(self.done and self.detector.ok and self.model.ok)


_PENDING = Part(None, "checking...")
_lock = threading.Lock()
_cache: dict[tuple[str, str], EngineStatus] = {}
_threads: dict[tuple[str, str], threading.Thread] = {}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def missing_wheel_text(name: str, version: tuple[int, ...]) -> str:
    """One line for a bundled library that is not importable: Blender did not install its
    wheel. Blender 4.3.0's extension installer skips stable-ABI (``abi3``) wheels, such as
    the OpenCV wheel the extension used to ship (4.2.x and 4.4+ take them)."""
    label = {"av": "PyAV (av)"}.get(name, name)
    text = f"{label} missing: Blender did not install the add-on's wheel"
    if tuple(version[:2]) == (4, 3):
        text += " (Blender 4.3 skips abi3 wheels: use 4.2 LTS or 4.4+)"
    return text


def _check_detector() -> Part:
    try:
        import av  # noqa: F401 - the video reader (PyAV); a wheel Blender may have skipped

        from dgnet_core.detection.detect import PoseDetector, default_task_path

        path = default_task_path()
        with PoseDetector(path):
            pass
    except ModuleNotFoundError as exc:
        return Part(False, missing_wheel_text(exc.name or str(exc), bpy.app.version))
    except Exception as exc:  # noqa: BLE001 - shown to the user as one line
        return Part(False, _one_line(exc))
    kind = path.stem.removeprefix("pose_landmarker_")
    return Part(True, f"MediaPipe pose ({kind})")


def _device_text(backend: str) -> str:
    if backend == "onnxruntime":
        return "CPU (onnxruntime)"
    if backend.startswith("torch-"):
        dev = backend.removeprefix("torch-")
        return f"GPU ({dev.upper()}, PyTorch)" if dev != "cpu" else "CPU (PyTorch)"
    return backend


def _check_model(device_pref: str, model_path: str, path: str | None) -> tuple[Part, Part]:
    try:
        from dgnet_core.contract import PipelineOptions
        from dgnet_core.lifting.backend import make_lifter
        from dgnet_core.schema import from_identifier

        device = from_identifier(PipelineOptions, "device", device_pref)
        lifter = make_lifter(PipelineOptions(device=device, model_path=path))
    except Exception as exc:  # noqa: BLE001
        return Part(False, _one_line(exc)), Part(False, "none (the model did not load)")
    name = bpy.path.basename(model_path) if model_path else "built-in"
    return Part(True, f"{name} ({lifter.cfg.num_frames}-frame DG-Net)"), \
        Part(True, _device_text(lifter.backend))


def check_now(device_pref: str = "AUTO", model_path: str = "", *,
              resolved: str | None = None) -> EngineStatus:
    """Load the detector and the model now (blocking) and cache the answer.

    ``resolved`` is ``model_path`` made absolute (``bpy.path.abspath`` reads the open
    file's path: the panel resolves it on the main thread before starting a check)."""
    key = (device_pref, model_path)
    if resolved is None:
        resolved = bpy.path.abspath(model_path) if model_path else ""
    t0 = time.perf_counter()
    detector = _check_detector()
    model, device = _check_model(device_pref, model_path, resolved or None)
    status = EngineStatus(key, True, detector, model, device, time.perf_counter() - t0)
    with _lock:
        _cache[key] = status
    return status


def _prefs_key(context) -> tuple[str, str]:
    addon = context.preferences.addons.get(__package__)
    prefs = addon.preferences if addon is not None else None
    return (getattr(prefs, "device", "AUTO"), getattr(prefs, "model_path", "") or "")


def _redraw_when_done() -> float | None:
    """Timer: redraw the sidebars once no check is running."""
    with _lock:
        busy = any(t.is_alive() for t in _threads.values())
    if busy:
        return 0.25
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "CLIP_EDITOR"}:
                area.tag_redraw()
    return None


def panel_status(context) -> EngineStatus:
    """The cached status for the current preferences; never waits. Without one, starts a
    check on a background thread and returns a "checking" status."""
    key = _prefs_key(context)
    with _lock:
        status = _cache.get(key)
        if status is not None:
            return status
        if key not in _threads:
            resolved = bpy.path.abspath(key[1]) if key[1] else ""
            thread = threading.Thread(target=check_now, args=key, daemon=True,
                                      kwargs={"resolved": resolved}, name="lift_video status")
            _threads[key] = thread
            thread.start()
            if not bpy.app.background and not bpy.app.timers.is_registered(
                    _redraw_when_done):
                bpy.app.timers.register(_redraw_when_done, first_interval=0.25)
    return EngineStatus(key, False, _PENDING, _PENDING, _PENDING)


def wait(timeout: float = 60.0) -> None:
    """Wait for running checks (tests and scripts)."""
    with _lock:
        threads = list(_threads.values())
    for thread in threads:
        thread.join(timeout)


def forget() -> None:
    """Drop cached answers (the next draw checks again)."""
    wait()
    with _lock:
        _cache.clear()
        _threads.clear()


def _icon(part: Part) -> str:
    return "TIME" if part.ok is None else ("CHECKMARK" if part.ok else "ERROR")


def draw_status(layout, context) -> None:
    """Three lines: detector, model, compute device (cached; see ``panel_status``)."""
    status = panel_status(context)
    col = layout.column(align=True)
    for label, part in (("Detector", status.detector), ("Model", status.model),
                        ("Device", status.device)):
        col.label(text=f"{label}: {part.text}", icon=_icon(part))


def stop() -> None:
    """The add-on is being disabled: unregister the redraw timer, let a running check end
    (a thread left inside native model loading could crash Blender on exit)."""
    if bpy.app.timers.is_registered(_redraw_when_done):
        bpy.app.timers.unregister(_redraw_when_done)
    wait(30.0)
