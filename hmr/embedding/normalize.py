"""Pose normalisation as Pr-VIPE does it: origin at the hip midpoint, scale from the torso.

2D (model input): origin at the midpoint of the two hips, divided by the largest of the 6 torso
distances (every pair of left/right shoulder and left/right hip), times ``scale_unit`` 0.5.
3D (for NP-MPJPE and random views): the same with ``scale_unit`` 1 ("unit torso scale").

Low-confidence joints (2D). A joint whose confidence is below ``threshold`` is *unknown*: it takes
no part in the origin or the scale, and its normalised coordinates are set to exactly 0 (the
hip midpoint). Training applies the same masking to randomly dropped joints (stratified keypoint
dropout, ``embedding.augment``), so the network learns that (0, 0) means "not seen". If a hip is
unknown the origin is the other hip; with neither, the mean of the known joints. If no torso pair
is fully known, the scale is the largest distance of a known joint from the origin.

Everything is differentiable in the keypoints (the regressor's uncertainty loss back-propagates
through :func:`normalize_2d`); the confidence mask is a hard 0/1 and carries no gradient.
"""

from __future__ import annotations

import torch

from hmr.body.joint_sets import COCO17

L_SHOULDER, R_SHOULDER = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
L_HIP, R_HIP = COCO17.index("left_hip"), COCO17.index("right_hip")
TORSO = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
# the 6 torso distances: every pair of the 4 torso joints
TORSO_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (TORSO[i], TORSO[j]) for i in range(4) for j in range(i + 1, 4))

CONF_THRESHOLD = 0.2   # default: joints below this confidence are treated as unknown
SCALE_UNIT_2D = 0.5    # Pr-VIPE's 2D scale unit
_EPS = 1e-8


def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis with a finite gradient at 0."""
    return torch.sqrt((v * v).sum(-1) + 1e-12)


def normalize_points(points: torch.Tensor, known: torch.Tensor | None = None,
                     scale_unit: float = 1.0) -> torch.Tensor:
    """Centre (...,17,C) COCO-17 points at the hip midpoint and scale the torso to ``scale_unit``.

    ``known`` (...,17) 0/1 marks usable joints (None: all); unknown joints come out as 0.
    """
    if points.shape[-2] != len(COCO17):
        raise ValueError(f"normalize_points: expected 17 COCO joints, got shape {tuple(points.shape)}")
    if known is None:
        known = torch.ones(points.shape[:-1], dtype=points.dtype, device=points.device)
    w = known.to(points.dtype)
    wj = w.unsqueeze(-1)

    hip_w = w[..., [L_HIP, R_HIP]].unsqueeze(-1)                      # (...,2,1)
    hip_mid = (points[..., [L_HIP, R_HIP], :] * hip_w).sum(-2) / hip_w.sum(-2).clamp(min=1.0)
    known_mean = (points * wj).sum(-2) / wj.sum(-2).clamp(min=1.0)
    has_hip = hip_w.sum(-2) > 0                                         # (...,1)
    origin = torch.where(has_hip, hip_mid, known_mean)
    centred = points - origin.unsqueeze(-2)

    a = torch.tensor([p[0] for p in TORSO_PAIRS], device=points.device)
    b = torch.tensor([p[1] for p in TORSO_PAIRS], device=points.device)
    dist = _safe_norm(points[..., a, :] - points[..., b, :])           # (...,6)
    pair_ok = w[..., a] * w[..., b]
    torso = (dist * pair_ok).amax(-1)
    spread = (_safe_norm(centred) * w).amax(-1)                         # fallback scale
    scale = torch.where(pair_ok.amax(-1) > 0, torso, spread).clamp(min=_EPS)
    return centred / scale[..., None, None] * scale_unit * wj


def known_mask(conf: torch.Tensor | None, threshold: float = CONF_THRESHOLD) -> torch.Tensor | None:
    """0/1 mask of joints whose confidence reaches ``threshold`` (None stays None)."""
    return None if conf is None else (conf >= threshold).to(conf.dtype)


def normalize_2d(kp: torch.Tensor, conf: torch.Tensor | None = None,
                 threshold: float = CONF_THRESHOLD) -> torch.Tensor:
    """Pr-VIPE 2D normalisation of (...,17,2) COCO-17 keypoints (any pixel frame) -> (...,17,2).

    Invariant to 2D translation and scale. Joints with ``conf < threshold`` are zeroed (see the
    module docstring); ``conf=None`` treats every joint as known.
    """
    return normalize_points(kp, known_mask(conf, threshold), scale_unit=SCALE_UNIT_2D)


def normalize_3d(points: torch.Tensor) -> torch.Tensor:
    """(...,17,3) COCO-17 3D joints -> hip-midpoint origin, largest torso distance 1."""
    return normalize_points(points, None, scale_unit=1.0)
