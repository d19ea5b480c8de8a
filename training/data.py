"""Training batches: windows of screen-normalised 2D with camera-space 3D targets.

Two sources, both producing numpy batches ``{"x": (B, T, 17, C), "y": (B, 17, 3)}``
(C = 2: x, y; C = 3: x, y, confidence; ``y`` root-relative camera metres of frame T // 2),
or with ``all_frames`` ``"y": (B, T, 17, 3)``, every frame of the window (Eq. 15-17):

* ``WindowDataset``: fixed 2D per (subject, action, camera): ground truth projected with
  the Human3.6M cameras, or detections. Windows of T frames around every frame with edge
  padding (``dgnet_core.lifting.window_indices`` per sequence). Optional flip and 2D
  Gaussian noise augmentation. Used by the paper recipe and by evaluation.
* ``ReprojectSampler``: draws a world-space pose window and a camera per sample (one of
  the real cameras, or a random one: azimuth, elevation, roll, distance, focal length,
  image aspect, aim) and projects the 3D; then detector-like corruption (Gaussian noise,
  systematic offsets of pelvis / spine / thorax / neck / head, per-joint confidence,
  missing joints (confidence 0 at a rough stand-in position), outliers) and flips; with
  ``focal_error`` the intrinsics a sample reports are a guess off the true focal length,
  as a user's are (they drive the ``root_ray`` input frame). Used by the shipped model.
  With ``det_residual_prob`` a share of the samples gets a real detector's error instead
  of the Gaussian noise and offsets: the residual (Stacked-Hourglass detection minus the
  projected ground truth) of the same frames, in units of the person's 2D height, taken
  from one of the sequence's real cameras (the sample's own camera when it uses a real
  one, so that the input is then exactly the detection) and mirrored with the sample.
  Only training subjects' detections are read; evaluation subjects never are.
  With ``pose_prob`` a share of the windows first gets a new body pose
  (``training.pose_augment``: bone lengths, limb swings, knee / elbow flexion, trunk bend)
  and with ``convention_prob`` other joint conventions (shoulder and hip widths, thorax,
  neck and head-top heights);
  a detector residual then applies to the changed pose as plain detector-like noise.

Screen normalisation is exactly ``dgnet_core.lifting.normalize_screen``:
``px / w * 2 - [1, h / w]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgnet_core.lifting import clamp_to_frame, normalize_intrinsics, window_indices
from dgnet_core.skeleton import flip_pose

from .h36m import H36MData, project
from .pose_augment import PoseAugmentConfig, augment_poses

# How far a missing joint's stand-in position is from the truth (std, body heights).
MISSING_GUESS_FRAC = 0.08


def normalize_px(px: np.ndarray, width, height) -> np.ndarray:
    """Vectorised ``normalize_screen`` with per-sample width/height (broadcast on axis 0)."""
    w = np.asarray(width, np.float32).reshape((-1,) + (1,) * (px.ndim - 1))
    h = np.asarray(height, np.float32).reshape((-1,) + (1,) * (px.ndim - 1))
    out = px / w * 2.0
    out[..., 0] -= 1.0
    out[..., 1] -= (h / w)[..., 0]
    return out.astype(np.float32)


def flip_batch(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror inputs (..., 17, C) and targets (..., 17, 3): negate x, swap left/right."""
    return flip_pose(x), flip_pose(y)


# ----------------------------------------------------------------------------- fixed 2D
@dataclass
class WindowDataset:
    """Concatenated per-camera sequences with per-frame windows inside each sequence."""

    inputs: np.ndarray      # (N, 17, C) normalised (+ confidence)
    targets: np.ndarray     # (N, 17, 3) camera-space root-relative metres
    starts: np.ndarray      # (N,) first frame of the sequence of each frame
    ends: np.ndarray        # (N,) one past its last frame
    widths: np.ndarray      # (N,) image width in px of each frame (noise scaling)
    keys: list[tuple[str, str, int]]
    seq_of_frame: np.ndarray  # (N,) index into keys
    num_frames: int = 4
    cams: np.ndarray | None = None  # (N, 4) normalised intrinsics fx, fy, cx, cy

    def __len__(self) -> int:
        return len(self.inputs)

    def windows(self, idx: np.ndarray) -> np.ndarray:
        """(B, T) global frame indices of the windows around frames ``idx``."""
        t = self.num_frames
        off = np.arange(t) - t // 2
        return np.clip(idx[:, None] + off[None], self.starts[idx, None], self.ends[idx, None] - 1)

    def batch(self, idx: np.ndarray, rng: np.random.Generator | None = None,
              flip_prob: float = 0.0, noise_px: float = 0.0, all_frames: bool = False
              ) -> dict[str, np.ndarray]:
        win = self.windows(idx)
        x = self.inputs[win].copy()
        y = self.targets[win if all_frames else idx].copy()
        cam = (self.cams[idx] if self.cams is not None else np.zeros((len(idx), 4))
               ).astype(np.float32).copy()
        if noise_px > 0 and rng is not None:
            scale = (noise_px * 2.0 / self.widths[idx]).reshape(-1, 1, 1, 1)
            x[..., :2] += rng.normal(size=x[..., :2].shape).astype(np.float32) * scale
        if flip_prob > 0 and rng is not None:
            m = rng.random(len(idx)) < flip_prob
            if m.any():
                x[m], y[m] = flip_batch(x[m], y[m])
                cam[m, 2] *= -1
        return {"x": x, "y": y, "cam": cam}


def build_windows(data: H36MData, subjects, *, source: str = "gt", in_channels: int = 2,
                  num_frames: int = 4, actions=None, cameras=(0, 1, 2, 3),
                  frame_step: int = 1) -> WindowDataset:
    """Fixed-2D dataset. ``source``: ``gt`` (projected 3D) or ``det`` (detections).

    ``frame_step`` keeps every n-th frame (windows then step over the kept frames, i.e.
    a lower frame rate; use 1 for evaluation).
    """
    xs, ys, starts, ends, widths, keys, seq_ids, cams = [], [], [], [], [], [], [], []
    n = 0
    for s, a in data.sequences(subjects, actions):
        for ci in cameras:
            cam = data.cameras[s][ci]
            c3 = data.camera_poses(s, a, ci)
            if source == "gt":
                px = cam.project(c3).astype(np.float32)
                conf = np.ones(px.shape[:2], np.float32)
            elif source == "det":
                dets = data.detections.get(s, {}).get(a)
                if dets is None or dets[ci] is None:
                    continue
                px = dets[ci]
                conf = data.det_conf[s][a][ci]
            else:
                raise ValueError(f"source must be 'gt' or 'det', got {source!r}")
            m = min(len(px), len(c3))
            px, conf, c3 = px[:m:frame_step], conf[:m:frame_step], c3[:m:frame_step]
            x = normalize_px(px[None], cam.width, cam.height)[0]
            if in_channels == 3:
                x = np.concatenate([x, conf[..., None].astype(np.float32)], axis=-1)
            xs.append(x)
            ys.append(c3 - c3[:, :1])
            k = len(x)
            starts.append(np.full(k, n))
            ends.append(np.full(k, n + k))
            widths.append(np.full(k, cam.width, np.float32))
            cams.append(np.repeat(normalize_intrinsics(*cam.f, *cam.c, cam.width, cam.height
                                                       )[None], k, axis=0))
            seq_ids.append(np.full(k, len(keys)))
            keys.append((s, a, ci))
            n += k
    if not xs:
        raise ValueError(f"no sequences for subjects {subjects} (source {source!r})")
    return WindowDataset(np.concatenate(xs), np.concatenate(ys).astype(np.float32),
                         np.concatenate(starts), np.concatenate(ends), np.concatenate(widths),
                         keys, np.concatenate(seq_ids), num_frames, np.concatenate(cams))


def check_windows_match_core(n: int, num_frames: int) -> bool:
    """Our windowing equals dgnet_core's for one sequence (used by the tests)."""
    starts, ends = np.zeros(n, int), np.full(n, n)
    ds = WindowDataset(np.zeros((n, 17, 2)), np.zeros((n, 17, 3)), starts, ends,
                       np.ones(n), [], np.zeros(n, int), num_frames)
    return bool(np.array_equal(ds.windows(np.arange(n)),
                               window_indices(n, num_frames, num_frames // 2)))


# ---------------------------------------------------------------------- reprojection
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
