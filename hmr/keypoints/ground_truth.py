"""Ground-truth COCO-17 joints of a sequence: the body model run on its GT SMPL parameters.

The COCO-17 joints come from smplx's 45 joints (:func:`hmr.body.joint_sets.smpl_to_coco17`: face
points from vertices, limbs from SMPL's joints), projected with the sequence's intrinsics
``camera/K`` (camera-frame parameters, so no extrinsics are needed). A joint is visible when it
projects inside the image (pixel centres at integer coordinates, as the renderer) and lies in
front of the camera (depth > 5 cm), on a frame whose ground truth is valid (``gt/valid``).
The PCK evaluation, the simulated detector and training all use this one function.
"""

from __future__ import annotations

import logging

import numpy as np

from hmr.body.joint_sets import smpl_to_coco17
from hmr.body.smpl import smpl_forward
from hmr.errors import InputError
from hmr.io.sequence import Sequence

log = logging.getLogger(__name__)

GT_NEEDED = ("gt/pose", "gt/betas", "gt/trans", "camera/K")
MIN_DEPTH = 0.05  # metres; joints closer to (or behind) the camera plane count as not visible


def project_safe(K: np.ndarray, X: np.ndarray, min_depth: float = MIN_DEPTH) -> np.ndarray:
    """Pinhole projection (T,3,3) x (T,N,3) -> (T,N,2) pixels that stays finite: points nearer than
    ``min_depth`` are projected as if at ``min_depth`` (they are flagged not visible anyway)."""
    X = np.asarray(X, np.float64).copy()
    X[..., 2] = np.maximum(X[..., 2], min_depth)
    uvw = np.einsum("tij,tnj->tni", np.asarray(K, np.float64), X)
    return uvw[..., :2] / uvw[..., 2:3]


def coco17_ground_truth(seq: Sequence, layer, where: str | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COCO-17 ground truth of ``seq`` with the SMPL layer ``layer`` (``hmr.body.smpl.smpl_layer``).

    Returns ``joints3d`` (T,17,3) camera frame in metres, ``joints2d`` (T,17,2) pixels and
    ``visible`` (T,17) bool. Raises :class:`InputError` naming ``where`` (default: the sequence
    name) when the sequence has no SMPL ground truth or intrinsics.
    """
    where = where or seq.name
    missing = [k for k in GT_NEEDED if k not in seq.arrays]
    if missing:
        raise InputError(f"{where}: no ground truth for COCO-17 joints (missing {', '.join(missing)})")
    a = seq.arrays
    valid = a.get("gt/valid", np.ones(seq.n_frames, bool)).astype(bool)
    pose, betas, trans = (np.asarray(a[k], np.float32) for k in ("gt/pose", "gt/betas", "gt/trans"))
    K = np.asarray(a["camera/K"], np.float64)
    bad = ~(np.isfinite(pose).all(1) & np.isfinite(betas).all(1) & np.isfinite(trans).all(1)
            & np.isfinite(K).all((1, 2)))
    if (bad & valid).any():
        raise InputError(f"{where}: non-finite ground truth on valid frame {int(np.flatnonzero(bad & valid)[0])}")
    # invalid frames may hold anything: evaluate them at the rest pose, flag them not visible
    pose, betas, trans = (np.where(bad[:, None], 0, x) for x in (pose, betas, trans))
    trans[bad, 2] = 3.0
    K = np.where(bad[:, None, None], np.diag([100.0, 100.0, 1.0]), K)

    _, joints45 = smpl_forward(layer, pose, betas, trans)
    if "gt/joints3d" in a and valid.any():
        err = np.abs(joints45[valid, :24] - a["gt/joints3d"][valid]).max()
        if err > 0.01:
            log.warning("%s: the body model's joints differ from gt/joints3d by up to %.3f m "
                        "(is this the model the sequence was made with?)", where, err)
    joints3d = smpl_to_coco17(joints45).astype(np.float64)
    joints2d = project_safe(K, joints3d)
    u, v = joints2d[..., 0], joints2d[..., 1]
    visible = ((u >= -0.5) & (u < seq.width - 0.5) & (v >= -0.5) & (v < seq.height - 0.5)
               & (joints3d[..., 2] > MIN_DEPTH) & valid[:, None])
    return joints3d.astype(np.float32), joints2d.astype(np.float32), visible
