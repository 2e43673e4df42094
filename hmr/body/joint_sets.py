"""Joint sets and the conversions between them, in one place.

Indices refer to the joint order of an array: ``SMPL45`` is what ``smplx.SMPL`` returns (SMPL's 24
joints, then the vertex-based extra joints: nose, right eye, left eye, right ear, left ear, left big
toe, left small toe, left heel, right big toe, right small toe, right heel, then 10 finger tips).
"""

from __future__ import annotations

import numpy as np

from hmr.body.joints import SMPL_JOINT_NAMES

SMPL24 = SMPL_JOINT_NAMES

COCO17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# limbs for drawing and for per-bone statistics
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)

# mirror image of each COCO-17 joint (left <-> right)
COCO17_FLIP: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# COCO-17 from smplx's 45 SMPL joints: face points from vertices, limbs from SMPL's joints. SMPL's
# hip joints sit a little higher and more medial than COCO's annotated hips (a known offset).
SMPL45_TO_COCO17: tuple[int, ...] = (24, 26, 25, 28, 27, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)


def smpl_to_coco17(joints: np.ndarray) -> np.ndarray:
    """(..., 45, C) smplx SMPL joints -> (..., 17, C) COCO-17 joints."""
    joints = np.asarray(joints)
    if joints.shape[-2] < 45:
        raise ValueError(f"smpl_to_coco17: expected 45 smplx joints, got {joints.shape[-2]}")
    return joints[..., SMPL45_TO_COCO17, :]


def project_points(K: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points: K (T,3,3), X (T,N,3) -> pixels (T,N,2)."""
    uvw = np.einsum("tij,tnj->tni", np.asarray(K, np.float64), np.asarray(X, np.float64))
    return uvw[..., :2] / uvw[..., 2:3]
