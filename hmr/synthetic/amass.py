"""AMASS motion clips (``.npz``) as SMPL-72 motion in our Y-up world, at any frame rate.

AMASS stores per clip ``poses`` (T, 156) for SMPL-H (root + 21 body joints = 66 values, then
2 x 15 hand joints) or (T, 165) for SMPL-X, ``trans`` (T, 3), ``betas`` (16,) or more, and
``mocap_framerate`` (SMPL-X releases: ``mocap_frame_rate``), in a Z-up world.

Mapping to SMPL's 24 joints: the first 66 values (joints 0..21) are the same joints in the same
order in SMPL, SMPL-H and SMPL-X; SMPL's hand joints 22 and 23 (``left_hand``, ``right_hand``)
have no SMPL-H counterpart and are set to zero rotation (the SMPL-H finger joints are dropped).
A ``poses`` array with exactly 72 columns is taken to be SMPL already and kept whole.

World: AMASS is Z-up; we are Y-up (see ``hmr.synthetic.motion``). The conversion is the rotation
G = -90 deg about X, which maps +Z to +Y and +Y to -Z. It is applied to the root orientation
(R0 -> G R0) and the translation (trans -> G trans). Because SMPL rotates the body about its rest
pelvis joint j0 (unknown here: it depends on the body model and betas), the exact translation is
G trans + (G - I) j0; pass ``pelvis_rest`` to get it, otherwise the body is off by the constant
(G - I) j0 (about 0.2-0.3 m for SMPL), irrelevant for relative motion. ``ground_align`` then moves
AMASS's floor (height 0) to our ``GROUND_Y`` by subtracting ``PELVIS_HEIGHT`` from trans y.

Resampling: rotations of every joint are slerped, translations linearly interpolated, at the
times k / target_fps, k = 0 .. floor((T - 1) * target_fps / mocap_framerate).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hmr.body.joints import NUM_BETAS, NUM_SMPL_JOINTS
from hmr.synthetic.motion import PELVIS_HEIGHT

# Z-up (AMASS) -> Y-up (ours): -90 degrees about X; (x, y, z) -> (x, z, -y)
Z_UP_TO_Y_UP = Rotation.from_euler("x", -90.0, degrees=True)
_FRAMERATE_KEYS = ("mocap_framerate", "mocap_frame_rate")
_BODY = 66  # root + 21 body joints, shared by SMPL, SMPL-H and SMPL-X


def list_amass_clips(folder: str | os.PathLike) -> list[Path]:
    """Every ``*.npz`` motion clip under ``folder`` (recursive, sorted).

    AMASS's per-subject ``shape.npz`` and SMPL-X ``*_stagei.npz`` files hold a body shape, not
    motion, and are skipped.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: AMASS folder does not exist or is not a directory")
    return sorted(p for p in root.rglob("*.npz")
                  if p.is_file() and p.name != "shape.npz" and not p.stem.endswith("_stagei"))


def resample_motion(pose: np.ndarray, trans: np.ndarray, src_fps: float,
                    target_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Resample (T, J*3) axis-angle poses (slerp per joint) and (T, 3) translations (linear)."""
    T = len(pose)
    n_out = int(np.floor((T - 1) * target_fps / src_fps + 1e-9)) + 1
    s = np.arange(n_out) * (src_fps / target_fps)          # fractional source frame index
    i0 = np.minimum(np.floor(s).astype(int), T - 1)
    i1 = np.minimum(i0 + 1, T - 1)
    w = (s - i0)[:, None]
    J = pose.shape[1] // 3
    r0 = Rotation.from_rotvec(pose[i0].reshape(-1, 3))
    r1 = Rotation.from_rotvec(pose[i1].reshape(-1, 3))
    ww = np.repeat(w[:, 0], J)[:, None]
    rot = r0 * Rotation.from_rotvec(ww * (r0.inv() * r1).as_rotvec())
    return rot.as_rotvec().reshape(n_out, J * 3), (1.0 - w) * trans[i0] + w * trans[i1]


def _require(data, path: Path, key: str) -> np.ndarray:
    if key not in data.files:
        raise ValueError(f"{path}: missing key {key!r} (an AMASS clip needs poses, trans, betas, "
                         f"mocap_framerate)")
    return np.asarray(data[key])


def load_amass_npz(path: str | os.PathLike, target_fps: float, *, ground_align: bool = True,
                   pelvis_rest: np.ndarray | None = None) -> dict:
    """Load an AMASS clip as SMPL motion in our Y-up world, resampled to ``target_fps``.

    Returns ``{"pose": (T', 72) float32, "trans": (T', 3) float32, "betas": (10,) float32,
    "fps": float}`` with ``fps == target_fps``. Raises ``ValueError`` (one line naming the file)
    for a missing key, a bad shape or a bad frame rate.
    """
    path = Path(path)
    if not target_fps > 0:
        raise ValueError(f"{path}: target_fps must be > 0, got {target_fps}")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{path}: not a readable .npz file ({reason})") from None
    with data:
        poses = _require(data, path, "poses").astype(np.float64)
        trans = _require(data, path, "trans").astype(np.float64)
        betas = _require(data, path, "betas").astype(np.float64)
        key = next((k for k in _FRAMERATE_KEYS if k in data.files), _FRAMERATE_KEYS[0])
        fps = _require(data, path, key)
    if poses.ndim != 2 or poses.shape[1] < _BODY or len(poses) < 1:
        raise ValueError(f"{path}: 'poses' must be (T, >=66) with T >= 1, got {poses.shape}")
    if trans.shape != (len(poses), 3):
        raise ValueError(f"{path}: 'trans' must be ({len(poses)}, 3) like poses, got {trans.shape}")
    betas = betas.reshape(-1) if betas.ndim == 2 and betas.shape[0] == 1 else betas
    if betas.ndim != 1 or betas.shape[0] < NUM_BETAS:
        raise ValueError(f"{path}: 'betas' must be ({NUM_BETAS},) or longer, got {betas.shape}")
    if fps.size != 1 or not np.isfinite(float(fps)) or float(fps) <= 0:
        raise ValueError(f"{path}: {key!r} must be one positive number, got {fps!r}")
    if not (np.all(np.isfinite(poses)) and np.all(np.isfinite(trans))):
        raise ValueError(f"{path}: 'poses' or 'trans' holds non-finite values")
    src_fps = float(fps)

    pose = np.zeros((len(poses), NUM_SMPL_JOINTS * 3))
    if poses.shape[1] == NUM_SMPL_JOINTS * 3:
        pose[:] = poses                      # already SMPL-72
    else:
        pose[:, :_BODY] = poses[:, :_BODY]   # joints 22, 23 (SMPL hands) stay zero
    pose, trans = resample_motion(pose, trans, src_fps, float(target_fps))

    pose[:, :3] = (Z_UP_TO_Y_UP * Rotation.from_rotvec(pose[:, :3])).as_rotvec()
    trans = Z_UP_TO_Y_UP.apply(trans)
    if pelvis_rest is not None:
        j0 = np.asarray(pelvis_rest, dtype=np.float64).reshape(3)
        trans += Z_UP_TO_Y_UP.apply(j0) - j0
    if ground_align:
        trans[:, 1] -= PELVIS_HEIGHT
    return {"pose": pose.astype(np.float32), "trans": trans.astype(np.float32),
            "betas": betas[:NUM_BETAS].astype(np.float32), "fps": float(target_fps)}
