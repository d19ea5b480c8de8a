"""Putting root-relative lifted poses into the scene: the order of the motion clean-up.

``place`` runs, for a lifted clip (root-relative, camera axes):

* one body per clip (``body.fit_body`` / ``pose_body``: fixed bone lengths, rigid pelvis
  and shoulders) and no hyperextended knees or elbows (``body.limit_limbs``);
* the root trajectory (``trajectory``), per clip with the depth held to standing feet;
* the camera -> world turn and the floor from foot contacts (``floor.fit_floor``), the
  upright stance (``floor.upright_correction``);
* contacts (``contacts.detect_contacts``, the one detector) and foot locking with two-bone
  IK (``contacts.lock_feet``, the one foot lock).

``MotionOptions`` switches the steps (all on by default; ``per_frame()`` is the clean-up
off, ``--no-cleanup``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import ANKLE_HEIGHT
from .anchoring import AnchorOptions
from .body import LimitOptions, fit_body, limit_limbs, pose_body
from .camera import CAMERA_TO_WORLD_AXES
from .contacts import ContactOptions, detect_contacts, lock_feet
from .floor import fit_floor, floor_offset, floor_prior, ground_rotation, upright_correction
from .trajectory import MIN_DEPTH, clip_root_trajectory, root_trajectory


@dataclass(frozen=True)
class MotionOptions:
    """The motion clean-up steps of ``place`` (all on by default)."""

    fit_body: bool = True          # one set of bone lengths / rigid pelvis and shoulders
    limits: bool = True            # no hyperextended knees or elbows
    limit: LimitOptions = LimitOptions()
    clip_depth: bool = True        # root depth smoothed over the clip
    depth_window_s: float = 1.0
    anchor_feet: bool = True       # ... and held to feet standing still in the image
    anchor: AnchorOptions = AnchorOptions()
    floor_from_contacts: bool = True
    upright: bool = True           # the body's mean up onto the floor normal
    max_upright_deg: float = 25.0
    body_up_prior: float = 0.5     # floor prior: 0 level camera .. 1 the lifted body's up
    foot_lock: bool = True         # hold planted feet (two-bone IK)
    contact: ContactOptions = ContactOptions()

    @classmethod
    def per_frame(cls) -> MotionOptions:
        """No clean-up: the body as lifted, the root and the floor frame by frame, no foot
        locking (``--no-cleanup``); contacts are still detected, by the one detector."""
        return cls(fit_body=False, limits=False, clip_depth=False, floor_from_contacts=False,
                   upright=False, foot_lock=False)


@dataclass
class Placement:
    joints_camera: np.ndarray    # (N, 17, 3) camera axes, metres, root trajectory included
    joints_world: np.ndarray     # (N, 17, 3) Z-up world, floor z = 0
    contacts: np.ndarray         # (N, 2) bool (left, right)
    camera_to_world: np.ndarray  # (3, 3) rotation; world = R @ cam + (0, 0, camera_height)
    camera_height: float         # metres above the floor
    rest_offsets: np.ndarray | None = None  # (17, 3) the clip's body (``body.Body.offsets``)


def place(pose_rel: np.ndarray, kp_px: np.ndarray, conf: np.ndarray | None, K: np.ndarray,
          fps: float, smooth_fn=None, options: MotionOptions | None = None) -> Placement:
    """Body, root trajectory, camera -> world, floor, contacts and locking for a lifted clip.

    ``pose_rel`` (N, 17, 3) root-relative camera axes. ``smooth_fn`` (array -> array along
    time) smooths the root's x, y (and its depth too when ``clip_depth`` is off).
    """
    o = options or MotionOptions()
    pose_rel = np.asarray(pose_rel, np.float64)
    offsets = None
    if o.fit_body:
        body = fit_body(pose_rel, conf)
        pose_rel = pose_body(pose_rel, body)
        offsets = body.offsets
    if o.limits:
        pose_rel = limit_limbs(pose_rel, o.limit)[0]

    def locate(p: np.ndarray) -> np.ndarray:
        if o.clip_depth:
            root = clip_root_trajectory(p, kp_px, conf, K, fps, o.depth_window_s,
                                        anchor=o.anchor if o.anchor_feet else None)
            if smooth_fn is not None:
                root[:, :2] = smooth_fn(root[:, :2])
            return p + root[:, None, :]
        root = root_trajectory(p, kp_px, conf, K)
        return p + (smooth_fn(root) if smooth_fn is not None else root)[:, None, :]

    prior = floor_prior(pose_rel, o.body_up_prior)  # the lift's own evidence, uncorrected

    def level(cam: np.ndarray) -> tuple[np.ndarray, float]:
        world = cam @ CAMERA_TO_WORLD_AXES.T
        if o.floor_from_contacts:
            rot, floor = fit_floor(world, fps, prior_slope=prior)
            return rot @ CAMERA_TO_WORLD_AXES, ANKLE_HEIGHT - floor
        R = ground_rotation(world) @ CAMERA_TO_WORLD_AXES
        return R, floor_offset(cam @ R.T)

    cam = locate(pose_rel)
    R, dz = level(cam)
    if o.upright:
        fix = upright_correction(pose_rel, R.T @ [0.0, 0.0, 1.0], o.max_upright_deg)
        if not np.allclose(fix, np.eye(3)):
            pose_rel = pose_rel @ fix.T
            cam = locate(pose_rel)
            R, dz = level(cam)
    world = cam @ R.T
    world[..., 2] += dz
    contacts = detect_contacts(world, fps, o.contact)
    if o.foot_lock:
        world = lock_feet(world, contacts, fps, o.contact)
        if o.limits:  # IK on a nearly straight leg can bend the knee either way
            world = limit_limbs(world, o.limit)[0]
        cam = (world - [0.0, 0.0, dz]) @ R  # the same motion in camera axes
        short = np.maximum(MIN_DEPTH - cam[:, 0, 2], 0.0)  # a shift must not pass the camera
        if short.any():
            cam[..., 2] += short[:, None]
            world = cam @ R.T
            world[..., 2] += dz
    return Placement(cam.astype(np.float32), world.astype(np.float32), contacts, R, dz,
                     offsets)
