"""PCK@α: the share of visible ground-truth joints whose detection lies within α·max(w, h) of the
person box (cx, cy, w, h) -- the normaliser is the larger side of the ground-truth person box of
that frame, so α = 0.1 on a 200-pixel-tall person is a 20-pixel radius. Only joints visible in the
ground truth count; a visible joint that the detector did not report (confidence 0) is a miss.
Pure functions on arrays.
"""

from __future__ import annotations

import numpy as np


def _check(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray) -> None:
    T, J = gt.shape[:2]
    if gt.shape[2:] != (2,) or pred.shape[:2] != (T, J) or pred.shape[2] not in (2, 3):
        raise ValueError(f"pck: pred {pred.shape} and gt {gt.shape} must be (T,J,2|3) and (T,J,2)")
    if visible.shape != (T, J) or bbox.shape != (T, 4):
        raise ValueError(f"pck: visible {visible.shape} must be (T,J), bbox {bbox.shape} (T,4)")


def pck_hits(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray,
             alpha: float = 0.1) -> np.ndarray:
    """(T,J) bool: joint detected (confidence > 0 when ``pred`` has 3 channels) and within
    ``alpha * max(w, h)`` pixels of ``gt``; False where not ``visible``."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    visible, bbox = np.asarray(visible, bool), np.asarray(bbox, np.float64)
    _check(pred, gt, visible, bbox)
    thresh = alpha * np.maximum(bbox[:, 2], bbox[:, 3])
    dist = np.linalg.norm(pred[..., :2] - gt, axis=-1)
    detected = pred[..., 2] > 0 if pred.shape[2] == 3 else np.ones(visible.shape, bool)
    return visible & detected & (dist <= thresh[:, None])


def pck(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray,
        alpha: float = 0.1) -> float:
    """PCK@``alpha`` over all visible joints of all frames (NaN when none is visible)."""
    hits = pck_hits(pred, gt, visible, bbox, alpha)
    n = int(np.asarray(visible, bool).sum())
    return float(hits.sum() / n) if n else float("nan")


def pck_per_joint(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, bbox: np.ndarray,
                  alpha: float = 0.1) -> np.ndarray:
    """(J,) PCK@``alpha`` of each joint over its visible frames (NaN for a joint never visible)."""
    hits = pck_hits(pred, gt, visible, bbox, alpha)
    n = np.asarray(visible, bool).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hits.sum(0) / np.maximum(n, 1), np.nan)
