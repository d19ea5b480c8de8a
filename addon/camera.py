"""The camera a lift assumes in Blender: the Movie Clip's tracking camera, a field of view,
or a focal length in millimetres.

Owns turning the panel's camera settings (``camera_mode``, ``fov``, ``focal_length``,
``sensor_width``) and a clip's ``tracking.camera`` (Movie Clip Editor > Track > Camera)
into the horizontal field of view the engine takes (``PipelineOptions.fov_deg``).

* ``AUTO``: the clip's tracking camera when its focal length or sensor width has been set,
  else the panel's field of view (55 degrees unless changed). A tracking camera still at
  Blender's defaults (24 mm on a 35 mm sensor) counts as not set.
* ``FOV``: the panel's horizontal field of view, in degrees.
* ``FOCAL``: the panel's focal length on its sensor width (both in millimetres).

Square pixels are assumed (the clip's pixel aspect is not used). No bpy import: a clip is
read through its attributes only. The default field of view is ``PipelineOptions``'.
"""

from __future__ import annotations

import math

from dgnet_core.contract import PipelineOptions
from dgnet_core.schema import default_of

# focal length, sensor width (mm) of a new Movie Clip's tracking camera
CLIP_CAMERA_DEFAULTS = (24.0, 35.0)
MODES = ("AUTO", "FOV", "FOCAL")


def fov_from_focal(focal_mm: float, sensor_mm: float) -> float:
    """Horizontal field of view (degrees) of a lens ``focal_mm`` on a sensor ``sensor_mm``."""
    if not (math.isfinite(focal_mm) and math.isfinite(sensor_mm)
            and focal_mm > 0 and sensor_mm > 0):
        raise ValueError(f"focal length and sensor width must be positive millimetres, got "
                         f"{focal_mm:g} mm and {sensor_mm:g} mm")
    return math.degrees(2.0 * math.atan(0.5 * sensor_mm / focal_mm))


def clip_camera_fov(clip) -> float | None:
    """The field of view of ``clip``'s tracking camera, or None when it is unset/no clip."""
    cam = getattr(getattr(clip, "tracking", None), "camera", None)
    if cam is None:
        return None
    focal, sensor = float(cam.focal_length), float(cam.sensor_width)
    if all(abs(a - b) < 1e-4 for a, b in zip((focal, sensor), CLIP_CAMERA_DEFAULTS)):
        return None
    return fov_from_focal(focal, sensor)


def camera_fov(props, clip_fov: float | None = None) -> tuple[float, str]:
    """``(horizontal FOV in degrees, where it comes from)`` for the panel's settings.

    ``clip_fov`` is the movie clip camera's field of view (``clip_camera_fov``), if any.
    """
    mode = getattr(props, "camera_mode", "AUTO")
    if mode == "FOCAL":
        focal, sensor = float(props.focal_length), float(props.sensor_width)
        return fov_from_focal(focal, sensor), f"{focal:g} mm lens, {sensor:g} mm sensor"
    if mode == "AUTO" and clip_fov is not None:
        return clip_fov, "movie clip camera"
    return float(getattr(props, "fov", default_of(PipelineOptions, "fov_deg"))), "field of view"
