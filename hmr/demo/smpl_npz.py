"""``smpl.npz``: the demo's per-frame SMPL output, with VIBE's key names.

A plain ``numpy.savez_compressed`` archive (no pickles: ``np.load(path)`` opens it anywhere).
T is the number of frames; V the body model's vertex count.

==============  ===========  ===================================================================
key             shape        meaning
==============  ===========  ===================================================================
``pose``        (T,72) f32   SMPL axis-angle pose; the root orientation is in the camera frame
                             (x right, y down, z forward)
``betas``       (T,10) f32   SMPL shape
``pred_cam``    (T,3) f32    the network's weak-perspective camera [s, tx, ty] in normalised
                             crop coordinates (root-relative joints; see ``hmr.model.camera``)
``orig_cam``    (T,4) f32    weak-perspective camera [sx, sy, tx, ty] in the full frame, VIBE's
                             convention: x_n = sx (X + tx), y_n = sy (Y + ty) in [-1, 1] across
                             the frame, pixel u = (x_n + 1) W / 2 - 0.5; it maps ``joints3d`` /
                             ``verts`` onto ``joints2d`` (fitted by least squares)
``joints3d``    (T,24,3) f32 SMPL's 24 joints from ``pose`` and ``betas``, metres, model origin
                             (no translation), camera axes
``joints2d``    (T,24,2) f32 the predicted 2D joints in frame pixels
``bboxes``      (T,4) f32    tracked person box (cx, cy, w, h) in pixels
``frame_ids``   (T,) i64     video frame index of each row
``sigma``       (T,32) f32   standard deviation of the uncertainty-aware pose embedding (u_t)
``trans``       (T,3) f32    camera-frame translation estimated from ``orig_cam`` with the
                             assumed focal length ``focal_px`` (what the BVH export uses)
``focal_px``    () f32       that focal length in pixels (an assumption, not a measurement)
``fps``         () f32       frame rate of the video
``image_size``  (2,) i64     (width, height) of the video
``joint_names`` (24,) str    SMPL joint names, the order of ``joints3d`` / ``joints2d``
``verts``       (T,V,3) f32  optional (``demo.save_vertices``): mesh vertices, model origin
==============  ===========  ===================================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hmr.body.joints import SMPL_JOINT_NAMES
from hmr.errors import InputError
from hmr.io.atomic import atomic_path

# key -> (shape with None for T / free axes, numpy dtype kind)
SMPL_NPZ_KEYS: dict[str, tuple[tuple[int | None, ...], str]] = {
    "pose": ((None, 72), "f"),
    "betas": ((None, 10), "f"),
    "pred_cam": ((None, 3), "f"),
    "orig_cam": ((None, 4), "f"),
    "joints3d": ((None, 24, 3), "f"),
    "joints2d": ((None, 24, 2), "f"),
    "bboxes": ((None, 4), "f"),
    "frame_ids": ((None,), "iu"),
    "sigma": ((None, 32), "f"),
    "trans": ((None, 3), "f"),
    "focal_px": ((), "f"),
    "fps": ((), "f"),
    "image_size": ((2,), "iu"),
    "joint_names": ((24,), "U"),
}
OPTIONAL_KEYS: dict[str, tuple[tuple[int | None, ...], str]] = {"verts": ((None, None, 3), "f")}
PER_FRAME = ("pose", "betas", "pred_cam", "orig_cam", "joints3d", "joints2d", "bboxes",
             "frame_ids", "sigma", "trans", "verts")


def check_smpl_npz(arrays: dict[str, np.ndarray], where: str) -> int:
    """Check keys, shapes, dtypes and a common T; return T. InputError naming ``where``."""
    missing = sorted(set(SMPL_NPZ_KEYS) - set(arrays))
    if missing:
        raise InputError(f"{where}: missing key(s) {', '.join(missing)}")
    unknown = sorted(set(arrays) - set(SMPL_NPZ_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}")
    T = len(arrays["pose"])
    for key, value in arrays.items():
        shape, kind = {**SMPL_NPZ_KEYS, **OPTIONAL_KEYS}[key]
        value = np.asarray(value)
        want = tuple(T if (s is None and i == 0 and key in PER_FRAME) else s
                     for i, s in enumerate(shape))
        ok = value.ndim == len(want) and all(s is None or s == d for s, d in zip(want, value.shape))
        if not ok:
            text = "(" + ", ".join("*" if s is None else str(s) for s in want) + ")"
            raise InputError(f"{where}: '{key}' has shape {value.shape}, expected {text}")
        if value.dtype.kind not in kind:
            raise InputError(f"{where}: '{key}' has dtype {value.dtype}, expected kind '{kind}'")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise InputError(f"{where}: '{key}' contains NaN or inf")
    return T


def write_smpl_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Check ``arrays`` against :data:`SMPL_NPZ_KEYS` and write them atomically (compressed)."""
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.kind == "f":
            value = value.astype(np.float32)
        elif value.dtype.kind in "iu":
            value = value.astype(np.int64)
        out[key] = value
    out.setdefault("joint_names", np.array(SMPL_JOINT_NAMES))
    check_smpl_npz(out, str(path))
    # a file object: given a name, numpy would append .npz to the temporary name
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **out)


def load_smpl_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load and check a ``smpl.npz`` (no pickles allowed)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable npz archive ({exc.__class__.__name__})") from None
    check_smpl_npz(arrays, str(path))
    return arrays
