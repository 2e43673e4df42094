"""A **simulated** 2D keypoint detector: the ground-truth COCO-17 projection plus a noise and
dropout model that imitates a detector's errors. For ablations on the synthetic benchmark only;
its output files carry ``simulated=True``.

Let ``s_t = max(w_t, h_t)`` be the person box size of frame t in pixels (the sequence's ``bbox``)
and ``g_{t,j}`` the ground-truth projection of COCO joint j. All fractions below are of ``s_t``.

1. **Temporally correlated jitter** (``noise_std`` = σ, ``noise_corr`` = ρ): per joint an AR(1)
   process in units of the box size, ``e_0 ~ N(0, σ² I)``,
   ``e_t = ρ e_{t-1} + sqrt(1 - ρ²) n_t`` with ``n_t ~ N(0, σ² I)``; its stationary std per axis is
   σ and its lag-1 autocorrelation ρ. The detection is ``g_{t,j} + s_t e_{t,j}``.
2. **Outliers** (``outlier_prob``, ``outlier_scale``): with probability ``outlier_prob`` per joint
   and frame the detection jumps by a displacement in a uniformly random direction with length
   uniform in ``[0.5, 1] * outlier_scale * s_t`` (a detection on the wrong limb or background).
3. **Left-right swaps** (``swap_prob``): with probability ``swap_prob`` per frame and per
   left/right pair (eyes, ears, shoulders, elbows, wrists, hips, knees, ankles) the two
   detections of the pair exchange places (a detector's classic front/back confusion).
4. **Dropout** (``dropout_prob``): joints outside the image or on frames without valid ground
   truth are never detected; every other joint is dropped with probability ``dropout_prob``.
   Undetected joints get confidence 0 and the box centre as x, y (no ground truth leaks).
5. **Confidence** of a detected joint: ``exp(-½ (‖δ‖ / (conf_scale s_t))²)`` clipped to
   ``[0.05, 1]``, where δ is the joint's actual displacement from ground truth -- an optimistic
   detector whose confidence tracks its error.

All random numbers are drawn in a fixed order with fixed shapes from a generator seeded by the
config's seed and the sequence's name, so a sequence's detections are reproducible and changing
one probability does not reshuffle the others. With every parameter 0 the detections are the
ground-truth projection exactly (confidence 1 on visible joints).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from hmr.body.joint_sets import COCO17, COCO17_FLIP

# left joint of each left/right pair
LR_PAIRS: tuple[tuple[int, int], ...] = tuple((j, COCO17_FLIP[j]) for j in range(len(COCO17))
                                              if COCO17[j].startswith("left_"))


@dataclass(frozen=True)
class DetectorNoise:
    """Parameters of the simulated detector (see the module docstring); fractions of box size."""

    noise_std: float = 0.0
    noise_corr: float = 0.0
    outlier_prob: float = 0.0
    outlier_scale: float = 0.0
    swap_prob: float = 0.0
    dropout_prob: float = 0.0
    conf_scale: float = 0.1

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> DetectorNoise:
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"unknown simulated-detector parameter(s): {', '.join(sorted(unknown))}")
        return cls(**{k: float(v) for k, v in cfg.items()})

    def __post_init__(self) -> None:
        for name in ("outlier_prob", "swap_prob", "dropout_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1]")
        if not 0 <= self.noise_corr < 1:
            raise ValueError("noise_corr must lie in [0, 1)")
        if self.noise_std < 0 or self.outlier_scale < 0 or self.conf_scale <= 0:
            raise ValueError("noise_std and outlier_scale must be >= 0, conf_scale > 0")


def detector_rng(seed: int, dataset: str, seq: str) -> np.random.Generator:
    """The simulated detector's generator for one sequence (config seed + stable name hash)."""
    return np.random.default_rng([seed, zlib.crc32(f"keypoints/{dataset}/{seq}".encode())])


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], std: float, corr: float) -> np.ndarray:
    """AR(1) noise along axis 0 with stationary std ``std`` and lag-1 autocorrelation ``corr``."""
    n = rng.standard_normal(shape)
    e = np.empty(shape)
    if shape[0] == 0:
        return e
    e[0] = n[0]
    innov = np.sqrt(1.0 - corr ** 2)
    for t in range(1, shape[0]):
        e[t] = corr * e[t - 1] + innov * n[t]
    return std * e


def simulate_detections(joints2d: np.ndarray, visible: np.ndarray, bbox: np.ndarray,
                        noise: DetectorNoise, rng: np.random.Generator) -> np.ndarray:
    """**Simulated** detections (T,17,3) (x, y, confidence) from ground truth ``joints2d`` (T,17,2),
    ``visible`` (T,17) and person boxes ``bbox`` (T,4) (cx, cy, w, h)."""
    joints2d = np.asarray(joints2d, np.float64)
    T, J = joints2d.shape[:2]
    size = np.maximum(bbox[:, 2], bbox[:, 3]).astype(np.float64)[:, None, None]  # (T,1,1)

    # draw everything first, in a fixed order and shape
    jitter = ar1_noise(rng, (T, J, 2), noise.noise_std, noise.noise_corr)
    is_outlier = rng.random((T, J)) < noise.outlier_prob
    angle = rng.uniform(0, 2 * np.pi, (T, J))
    length = rng.uniform(0.5, 1.0, (T, J)) * noise.outlier_scale
    is_swapped = rng.random((T, len(LR_PAIRS))) < noise.swap_prob
    is_dropped = rng.random((T, J)) < noise.dropout_prob

    offset = jitter + np.where(is_outlier[..., None],
                               length[..., None] * np.stack([np.cos(angle), np.sin(angle)], -1), 0.0)
    det = joints2d + size * offset
    for k, (left, right) in enumerate(LR_PAIRS):
        s = is_swapped[:, k]
        det[s, left], det[s, right] = det[s, right].copy(), det[s, left].copy()

    err = np.linalg.norm(det - joints2d, axis=-1) / size[..., 0]
    conf = np.clip(np.exp(-0.5 * (err / noise.conf_scale) ** 2), 0.05, 1.0)
    detected = np.asarray(visible, bool) & ~is_dropped
    conf = np.where(detected, conf, 0.0)
    det = np.where(detected[..., None], det, np.asarray(bbox, np.float64)[:, None, :2])
    return np.concatenate([det, conf[..., None]], axis=-1).astype(np.float32)
