"""Training batches from random cameras: world-space 3D windows projected anew each time.

``ReprojectSampler`` draws a world-space pose window and a camera per sample (one of the
real cameras, or a random one: azimuth, elevation, roll, distance, focal length, image
aspect, aim: ``random_cameras``) and projects the 3D; then detector-like corruption
(Gaussian noise, systematic offsets of pelvis / spine / thorax / neck / head, per-joint
confidence, missing joints (confidence 0 at a rough stand-in position), outliers, joints
far outside the picture held at its margin as missing) and flips. With ``focal_error``
the intrinsics a sample reports are a guess off the true focal length, as a user's are
(they drive the ``root_ray`` input frame). Used by the shipped model.

With ``det_residual_prob`` a share of the samples gets a real detector's error instead of
the Gaussian noise and offsets (``detector_residuals``): the Stacked-Hourglass detection
minus the projected ground truth of the same frames, in units of the person's 2D height,
from one of the sequence's real cameras (the sample's own camera when it uses a real one,
so that the input is then exactly the detection), mirrored with the sample. Only training
subjects' detections are read; evaluation subjects never are. With ``pose_prob`` a share
of the windows first gets a new body pose (``training.pose_augment``) and with
``convention_prob`` other joint conventions; ``bodies`` (e.g. ``training.mocap.BodyRange``)
gives every window a new body first. Batches have ``training.data``'s layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgnet_core.lifting.lifter import clamp_to_frame
from dgnet_core.skeleton import flip_pose

from .data import normalize_px
from .h36m import H36MData, project
from .pose_augment import PoseAugmentConfig, augment_poses

# How far a missing joint's stand-in position is from the truth (std, body heights).
MISSING_GUESS_FRAC = 0.08


@dataclass(frozen=True)
class AugmentConfig:
    """Random cameras and detector-like corruption for ``ReprojectSampler``."""

    real_camera_prob: float = 0.3
    fov_deg: tuple[float, float] = (35.0, 80.0)          # horizontal field of view
    person_fraction: tuple[float, float] = (0.25, 0.9)   # body height / image height
    elevation_deg: tuple[float, float] = (-10.0, 35.0)   # camera above pelvis, looking down
    roll_deg: float = 4.0                                # std of camera roll
    aim_jitter: float = 0.35                             # person off-centre, x half-FOV
    focal_error: float = 0.0                             # std of log(focal the input assumes
                                                         # / true focal): users' guesses
    aspects: tuple[tuple[int, int], ...] = ((1920, 1080), (1080, 1920), (1280, 720),
                                            (1000, 1000), (640, 480), (720, 1280))
    strides: tuple[int, ...] = (1, 1, 2)                 # 50 Hz frames between window frames
    flip_prob: float = 0.5
    noise_frac: tuple[float, float] = (0.0, 0.02)        # per-sample 2D noise std / body height
    offset_frac: float = 0.03                            # systematic joint offsets / body height
    offset_joints: tuple[int, ...] = (0, 7, 8, 9, 10)    # pelvis, spine, thorax, neck, head
    conf_range: tuple[float, float] = (0.5, 1.0)
    drop_prob: float = 0.25                              # samples with dropped joints
    drop_max: int = 3
    outlier_prob: float = 0.01                           # per joint and frame
    in_channels: int = 3
    det_residual_prob: float = 0.0                       # samples with a real detector error
    # new body poses (training/pose_augment.py); all off at zero
    pose_prob: float = 0.0                               # share of windows changed
    pose_bone_scale: float = 0.0                         # bone length factor 1 +- this
    pose_swing_deg: float = 0.0                          # thigh / upper-arm swing std
    pose_hinge_deg: float = 0.0                          # knee / elbow flexion change std
    pose_trunk_deg: float = 0.0                          # largest forward bend of the trunk
    pose_crouch_prob: float = 0.0                        # share turned into squats
    convention_prob: float = 0.0                         # windows with other joint conventions

    def pose_augment(self) -> PoseAugmentConfig:
        return PoseAugmentConfig(self.pose_prob, self.pose_bone_scale, self.pose_swing_deg,
                                 self.pose_hinge_deg, self.pose_trunk_deg,
                                 self.pose_crouch_prob, self.convention_prob)


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def _rot_z(a):
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def random_cameras(rng: np.random.Generator, pelvis: np.ndarray, cfg: AugmentConfig,
                   body_height: float = 1.75):
    """Random cameras looking at ``pelvis`` (B, 3) (world, Z up).

    Returns world->camera R (B, 3, 3), centre C (B, 3), focal (B,), principal point
    (B, 2), width (B,), height (B,).
    """
    b = len(pelvis)
    sizes = np.array(cfg.aspects, np.float64)[rng.integers(len(cfg.aspects), size=b)]
    w, h = sizes[:, 0], sizes[:, 1]
    fov = np.deg2rad(rng.uniform(*cfg.fov_deg, size=b))
    f = w / 2 / np.tan(fov / 2)
    frac = rng.uniform(*cfg.person_fraction, size=b)
    dist = np.clip(f * body_height / (frac * h), 1.5, 20.0)
    az = rng.uniform(0, 2 * np.pi, size=b)
    el = np.deg2rad(rng.uniform(*cfg.elevation_deg, size=b))
    offset = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)
    centre = pelvis + dist[:, None] * offset
    fwd = -offset
    right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = np.cross(fwd, right)
    r = np.stack([right, down, fwd], axis=1)  # rows: camera axes in world
    half_h = np.arctan(h / 2 / f)
    yaw = rng.uniform(-1, 1, size=b) * cfg.aim_jitter * fov / 2
    pitch = rng.uniform(-1, 1, size=b) * cfg.aim_jitter * half_h
    roll = np.deg2rad(rng.normal(size=b) * cfg.roll_deg)
    r = _rot_z(roll) @ _rot_x(pitch) @ _rot_y(yaw) @ r
    c = np.stack([w / 2, h / 2], -1)
    return r, centre, f, c, w, h


class ReprojectSampler:
    """Random-camera batches from world-space 3D sequences (see module docstring)."""

    def __init__(self, data: H36MData, subjects, num_frames: int = 4,
                 cfg: AugmentConfig | None = None, frame_step: int = 1, actions=None,
                 all_frames: bool = False, bodies=None) -> None:
        self.cfg = cfg or AugmentConfig()
        self.bodies = bodies    # e.g. training.mocap.BodyRange: a new body for every window
        self.pose_cfg = self.cfg.pose_augment()
        self.num_frames = num_frames
        self.all_frames = all_frames
        poses, starts, ends, subj, keys = [], [], [], [], []
        n = 0
        self.subjects = list(subjects)
        for s, a in data.sequences(subjects, actions):
            p = data.poses[s][a]
            poses.append(p)
            starts.append(np.full(len(p), n))
            ends.append(np.full(len(p), n + len(p)))
            subj.append(np.full(len(p), self.subjects.index(s)))
            keys.append((s, a))
            n += len(p)
        if not poses:
            raise ValueError(f"no sequences for subjects {subjects}")
        self.poses = np.concatenate(poses).astype(np.float64)
        self.starts, self.ends = np.concatenate(starts), np.concatenate(ends)
        self.subj = np.concatenate(subj)
        self.keys = keys
        self.frames = np.arange(0, n, frame_step)
        self.cams = [data.cameras[s] for s in self.subjects]
        self.resid: np.ndarray | None = None   # (n, 4, 17, 2) float16, detector error / height
        self.resid_ok: np.ndarray | None = None  # (n, 4) bool
        if self.cfg.det_residual_prob > 0:
            self.resid, self.resid_ok = detector_residuals(data, keys, n)

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, idx: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Samples for frame positions ``idx`` (indices into ``self.frames``)."""
        cfg, t = self.cfg, self.num_frames
        g = self.frames[idx]
        b = len(g)
        stride = np.array(cfg.strides)[rng.integers(len(cfg.strides), size=b)]
        off = (np.arange(t) - t // 2)[None] * stride[:, None]
        win = np.clip(g[:, None] + off, self.starts[g, None], self.ends[g, None] - 1)
        world = self.poses[win]                                      # (B, T, 17, 3)
        if self.bodies is not None:
            world = self.bodies.apply(world, rng)
        world = augment_poses(world, self.pose_cfg, rng)
        r, centre, f, c, w, h = random_cameras(rng, world[:, t // 2, 0], cfg)
        f2 = np.stack([f, f], -1)
        real = rng.random(b) < cfg.real_camera_prob
        cam_index = np.full(b, -1)
        for i in np.flatnonzero(real):
            cam_index[i] = rng.integers(4)
            cam = self.cams[self.subj[g[i]]][cam_index[i]]
            r[i], centre[i], f2[i], c[i] = cam.R, cam.T, cam.f, cam.c
            w[i], h[i] = cam.width, cam.height
        cam_xyz = np.einsum("btjk,bik->btji", world - centre[:, None, None], r)
        flip = rng.random(b) < cfg.flip_prob
        if flip.any():  # mirror the 3D scene about the camera's vertical plane
            cam_xyz[flip] = flip_pose(cam_xyz[flip])
            c[flip, 0] = w[flip] - c[flip, 0]
        rel = cam_xyz - cam_xyz[:, :, :1]
        y = (rel if self.all_frames else rel[:, t // 2]).astype(np.float32)
        px = project(cam_xyz, f2[:, None, None], c[:, None, None])
        resid = self._residuals(win, cam_index, flip, rng) if self.resid is not None else None
        px, conf = self._corrupt(px, rng, resid)
        px, conf = clamp_to_frame(px, conf, w[:, None, None], h[:, None, None])
        x = normalize_px(px.astype(np.float32), w, h)
        if cfg.in_channels == 3:
            x = np.concatenate([x, conf[..., None]], axis=-1)
        cam = np.stack([f2[:, 0] / w * 2, f2[:, 1] / w * 2, c[:, 0] / w * 2 - 1,
                        c[:, 1] / w * 2 - h / w], -1).astype(np.float32)
        if cfg.focal_error > 0:  # the focal length a user would guess, not the true one
            cam[:, :2] *= np.exp(rng.normal(size=(b, 1)) * cfg.focal_error).astype(np.float32)
        return {"x": x.astype(np.float32), "y": y, "cam": cam}

    def _residuals(self, win: np.ndarray, cam_index: np.ndarray, flip: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
        """(B, T, 17, 2) detector errors in person heights (NaN where a sample has none)."""
        b = len(win)
        use = rng.random(b) < self.cfg.det_residual_prob
        pick = rng.integers(4, size=b)
        cam = np.where(cam_index >= 0, cam_index, pick)
        out = np.full(win.shape + (17, 2), np.nan, np.float64)
        for i in np.flatnonzero(use):
            if not self.resid_ok[win[i], cam[i]].all():
                continue
            r = self.resid[win[i], cam[i]].astype(np.float64)
            if flip[i]:  # the scene was mirrored: mirror its detector error with it
                r = flip_pose(r)
            out[i] = r
        return out

    def _corrupt(self, px: np.ndarray, rng: np.random.Generator,
                 resid: np.ndarray | None = None):
        cfg = self.cfg
        b, t, j, _ = px.shape
        tgt = px[:, t // 2]
        size = (tgt[..., 1].max(-1) - tgt[..., 1].min(-1)).clip(min=10.0)[:, None, None, None]
        conf = np.broadcast_to(rng.uniform(*cfg.conf_range, size=(b, 1, j)), (b, t, j)).copy()
        conf = np.clip(conf + rng.normal(scale=0.05, size=conf.shape), 0.05, 1.0)
        sigma = rng.uniform(*cfg.noise_frac, size=(b, 1, 1, 1)) * size
        noise = rng.normal(size=px.shape) * sigma * (1.0 + 2.0 * (1.0 - conf[..., None]))
        det = None if resid is None else np.isfinite(resid[:, 0, 0, 0])
        if det is not None and det.any():  # a real detector's error replaces noise/offsets
            heights = (px[det, ..., 1].max(-1) - px[det, ..., 1].min(-1)).clip(min=10.0)
            noise[det] = resid[det] * heights[..., None, None]
        px = px + noise
        if cfg.offset_frac > 0:
            oj = list(cfg.offset_joints)
            off = rng.normal(size=(b, 1, len(oj), 2)) * cfg.offset_frac * size
            if det is not None:
                off[det] = 0.0
            px[:, :, oj] += off
        out = rng.random(px.shape[:3]) < cfg.outlier_prob
        if out.any():
            per = np.broadcast_to(size, (b, t, j, 1))[out]
            px[out] += rng.normal(size=(int(out.sum()), 2)) * 0.15 * per
            conf[out] *= 0.5
        drop = np.flatnonzero(rng.random(b) < cfg.drop_prob)
        for i in drop:
            # a missing joint: confidence 0 at a stand-in position near where it is (as
            # the engine's gap filling and the SH neck give), never a fixed pixel
            joints = rng.choice(j, size=rng.integers(1, cfg.drop_max + 1), replace=False)
            conf[i][:, joints] = 0.0
            guess = rng.normal(size=(1, len(joints), 2)) * MISSING_GUESS_FRAC * size[i, 0]
            px[i][:, joints] += guess
        return px, conf.astype(np.float32)


def detector_residuals(data: H36MData, keys: list[tuple[str, str]],
                       n: int) -> tuple[np.ndarray, np.ndarray]:
    """Detector error per frame and camera, in units of the person's 2D height.

    For the sequences ``keys`` (in sampler order, ``n`` frames in all) returns
    ``(n, 4, 17, 2)`` float16 ``(detection - projected ground truth) / height`` (height:
    vertical extent of the projected joints in that frame) and an ``(n, 4)`` validity mask
    (False where a camera has no detections or they are not finite).
    """
    resid = np.zeros((n, 4, 17, 2), np.float16)
    ok = np.zeros((n, 4), bool)
    pos = 0
    for s, a in keys:
        t = len(data.poses[s][a])
        dets = data.detections.get(s, {}).get(a, [None] * 4)
        for ci, det in enumerate(dets):
            if det is None or len(det) < t:
                continue
            gt = data.gt_2d(s, a, ci).astype(np.float64)
            height = (gt[..., 1].max(-1) - gt[..., 1].min(-1)).clip(min=10.0)
            r = (det[:t].astype(np.float64) - gt) / height[:, None, None]
            good = np.isfinite(r).all(axis=(1, 2)) & (np.abs(r).max(axis=(1, 2)) < 10.0)
            resid[pos:pos + t, ci] = np.where(good[:, None, None], r, 0.0)
            ok[pos:pos + t, ci] = good
        pos += t
    if not ok.any():
        raise ValueError("det_residual_prob > 0 needs 2D detections for the training "
                         "subjects (h36m_sh2d16.npz)")
    return resid, ok
