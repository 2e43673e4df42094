"""The field's 3D metrics as pure numpy functions (VIBE / TCMR evaluation, facts.md §4).

Every function takes predictions and ground truth in the same unit and returns per-frame errors in
that unit (multiply meters by 1000 for mm). Position errors are computed after aligning the root:
:func:`root_align` subtracts a root point (SMPL's pelvis joint, or the hip midpoint for the LSP-14
protocol) from every joint of each frame.

* MPJPE: mean Euclidean joint error after root alignment.
* PA-MPJPE: MPJPE after a per-frame similarity Procrustes alignment (rotation, isotropic scale,
  translation; SVD of X1 X2^T with the reflection fixed by sign(det), scale = tr(R K) / ||X1||^2).
* MPVPE: mean Euclidean vertex error after root alignment, both meshes from the same body model.
* Acceleration error: per frame t, the mean over joints of
  || (P[t-1] - 2 P[t] + P[t+1]) - (G[t-1] - 2 G[t] + G[t+1]) ||, unit per frame^2 (mm/frame^2 for
  mm). Computed per sequence on the stride-1 per-frame predictions (TCMR's protocol, not VIBE's
  concatenated 16-frame windows), over the frames whose three neighbours are all valid.
"""

from __future__ import annotations

import numpy as np


def root_align(joints: np.ndarray, root: int | np.ndarray = 0) -> np.ndarray:
    """(...,J,3) joints minus their root: a joint index, or an explicit (...,3) root point."""
    joints = np.asarray(joints, np.float64)
    r = joints[..., root:root + 1, :] if np.isscalar(root) else np.asarray(root, np.float64)[..., None, :]
    return joints - r


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int | None = 0) -> np.ndarray:
    """(T,J,3), (T,J,3) -> (T,) mean joint error after aligning ``root`` (None: no alignment)."""
    if root is not None:
        pred, gt = root_align(pred, root), root_align(gt, root)
    return np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(gt, np.float64), axis=-1).mean(-1)


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(T,J,3) predictions similarity-aligned to (T,J,3) ground truth, frame by frame."""
    X1 = np.asarray(pred, np.float64)
    X2 = np.asarray(gt, np.float64)
    mu1, mu2 = X1.mean(-2, keepdims=True), X2.mean(-2, keepdims=True)
    A, Bm = X1 - mu1, X2 - mu2                                        # (T,J,3)
    K = np.einsum("tji,tjk->tik", A, Bm)                               # X1 X2^T as 3x3
    U, _, Vt = np.linalg.svd(K)
    V = np.swapaxes(Vt, -1, -2)
    Z = np.broadcast_to(np.eye(3), K.shape).copy()
    Z[:, 2, 2] = np.sign(np.linalg.det(U @ Vt))                       # no reflections
    R = V @ Z @ np.swapaxes(U, -1, -2)                                 # rotation taking A to Bm
    var1 = (A ** 2).sum((-1, -2))
    scale = np.einsum("tii->t", R @ K) / np.maximum(var1, 1e-12)
    return scale[:, None, None] * np.einsum("tik,tjk->tji", R, A) + mu2


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(T,J,3), (T,J,3) -> (T,) MPJPE after per-frame similarity Procrustes alignment."""
    return mpjpe(procrustes_align(pred, gt), gt, root=None)


def mpvpe(pred_verts: np.ndarray, gt_verts: np.ndarray, pred_root: np.ndarray | None = None,
          gt_root: np.ndarray | None = None) -> np.ndarray:
    """(T,V,3), (T,V,3) -> (T,) mean vertex error; each mesh minus its root point (T,3) if given."""
    p = np.asarray(pred_verts, np.float64)
    g = np.asarray(gt_verts, np.float64)
    if pred_root is not None:
        p = p - np.asarray(pred_root, np.float64)[:, None]
    if gt_root is not None:
        g = g - np.asarray(gt_root, np.float64)[:, None]
    return np.linalg.norm(p - g, axis=-1).mean(-1)


def acceleration(joints: np.ndarray) -> np.ndarray:
    """(T,J,3) -> (T-2,J,3) second differences P[t-1] - 2 P[t] + P[t+1]."""
    x = np.asarray(joints, np.float64)
    return x[:-2] - 2 * x[1:-1] + x[2:]


def accel_error(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None,
                root: int | None = 0) -> np.ndarray:
    """Per-frame acceleration error (unit/frame^2) of one sequence, stride-1 predictions.

    Returns the errors of the frames 1..T-2 whose neighbours t-1, t, t+1 are all ``valid``
    (all frames when None), after aligning ``root``.
    """
    if root is not None:
        pred, gt = root_align(pred, root), root_align(gt, root)
    if len(pred) < 3:
        return np.zeros(0)
    err = np.linalg.norm(acceleration(pred) - acceleration(gt), axis=-1).mean(-1)
    if valid is None:
        return err
    v = np.asarray(valid, bool)
    return err[v[:-2] & v[1:-1] & v[2:]]


def rotation_angle_deg(pred_rotvec: np.ndarray, gt_rotvec: np.ndarray) -> np.ndarray:
    """(...,3), (...,3) axis-angle rotations -> (...) geodesic angle between them in degrees:
    the angle of R_pred R_gt^T (the root-orientation error when given the root joint's rotation)."""
    from scipy.spatial.transform import Rotation

    p = Rotation.from_rotvec(np.asarray(pred_rotvec, np.float64).reshape(-1, 3))
    g = Rotation.from_rotvec(np.asarray(gt_rotvec, np.float64).reshape(-1, 3))
    return np.degrees((p * g.inv()).magnitude()).reshape(np.shape(pred_rotvec)[:-1])
