"""Person crops from bounding boxes: square, enlarged (scale 1.2 as VIBE), resampled to a fixed size.

Boxes are (cx, cy, w, h) in pixels. A crop is the affine map that sends the square box of side
``scale * max(w, h)`` centred on (cx, cy) onto a ``size`` x ``size`` image; pixels outside the frame
are black. The same matrices map crop coordinates back to the frame (keypoints, flow).
"""

from __future__ import annotations

import cv2
import numpy as np

from hmr.errors import InputError


def crop_side(bbox: np.ndarray, crop_scale: float) -> np.ndarray:
    """(...,4) boxes (cx, cy, w, h) -> (...,) crop side in pixels."""
    bbox = np.asarray(bbox, np.float64)
    return crop_scale * np.maximum(bbox[..., 2], bbox[..., 3])


def pixels_to_crop(points: np.ndarray, bbox: np.ndarray, crop_scale: float) -> np.ndarray:
    """(T,N,2) frame pixels -> normalised crop coordinates, with (T,4) boxes."""
    bbox = np.asarray(bbox, np.float64)
    half = crop_side(bbox, crop_scale)[:, None, None] / 2
    return (np.asarray(points, np.float64) - bbox[:, None, :2]) / half


def crop_to_pixels(points: np.ndarray, bbox: np.ndarray, crop_scale: float) -> np.ndarray:
    """(T,N,2) normalised crop coordinates -> frame pixels (inverse of :func:`pixels_to_crop`)."""
    bbox = np.asarray(bbox, np.float64)
    half = crop_side(bbox, crop_scale)[:, None, None] / 2
    return np.asarray(points, np.float64) * half + bbox[:, None, :2]


def check_boxes(bbox: np.ndarray, width: int, height: int, where: str) -> np.ndarray:
    """Validate (T,4) boxes: finite, positive size, overlapping the image. One-line error naming
    ``where`` and the first bad frame."""
    bbox = np.asarray(bbox, np.float64)
    if bbox.ndim != 2 or bbox.shape[1] != 4:
        raise InputError(f"{where}: bbox has shape {bbox.shape}, expected (T, 4)")
    bad = ~np.isfinite(bbox).all(1) | (bbox[:, 2] <= 0) | (bbox[:, 3] <= 0)
    cx, cy, w, h = bbox.T
    with np.errstate(invalid="ignore"):
        bad |= (cx + w / 2 <= 0) | (cx - w / 2 >= width) | (cy + h / 2 <= 0) | (cy - h / 2 >= height)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: bbox of frame {i} {bbox[i].round(1).tolist()} is empty, "
                         f"non-finite or outside the {width}x{height} image")
    return bbox


def crop_matrices(bbox: np.ndarray, size: int, scale: float = 1.2) -> np.ndarray:
    """(T,2,3) affine matrices frame -> crop for (T,4) boxes (cx, cy, w, h)."""
    bbox = np.asarray(bbox, np.float64)
    side = scale * np.maximum(bbox[:, 2], bbox[:, 3])
    s = size / side
    A = np.zeros((len(bbox), 2, 3))
    A[:, 0, 0] = A[:, 1, 1] = s
    # pixel centres: frame point (cx, cy) lands on the crop centre ((size - 1) / 2)
    A[:, 0, 2] = (size - 1) / 2 - s * bbox[:, 0]
    A[:, 1, 2] = (size - 1) / 2 - s * bbox[:, 1]
    return A


def invert_affine(A: np.ndarray) -> np.ndarray:
    """Inverse of (T,2,3) affine matrices."""
    M = np.zeros((len(A), 3, 3))
    M[:, :2] = A
    M[:, 2, 2] = 1
    return np.linalg.inv(M)[:, :2]


def apply_affine(A: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (T,N,2) points with (T,2,3) affine matrices."""
    return np.einsum("tij,tnj->tni", A[:, :, :2], points) + A[:, None, :, 2]


def crop_frames(frames: np.ndarray, bbox: np.ndarray, size: int = 224, scale: float = 1.2) -> np.ndarray:
    """Crop (B,H,W,3) uint8 frames to (B,size,size,3) uint8 person crops (bilinear, black outside)."""
    A = crop_matrices(bbox, size, scale)
    out = np.empty((len(frames), size, size, 3), np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.warpAffine(frame, A[i], (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out
