"""Training data for the backbone pretraining: person crops of sequence files with SMPL targets.

Each frame is cropped once around its bbox with a margin (``context``: side ``margin`` x the crop
the features stage uses, at ``margin`` x its resolution) and kept as uint8; every training batch
is then re-sampled from these context crops with a random zoom and shift (crop augmentation,
batched with ``grid_sample``) and a random per-channel gain, and the 2D targets move with it.

Coordinates: crop-normalised, ``align_corners=False`` convention: -1 and 1 are the outer edges of
the crop, pixel centre p (0-based) of an S-pixel crop is at (p + 0.5) / S * 2 - 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence as Seq
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from hmr.errors import InputError
from hmr.features.backbone import IMAGENET_MEAN, IMAGENET_STD
from hmr.features.crop import apply_affine, check_boxes, crop_frames, crop_matrices
from hmr.io.sequence import iter_frames, read_sequence
from hmr.model.rotations import axis_angle_to_rotmat

NEEDED = ("gt/pose", "gt/betas", "gt/joints3d", "gt/joints2d")


@dataclass
class CropSet:
    """Context crops and SMPL targets of many frames (N frames)."""

    images: torch.Tensor     # (N,S,S,3) uint8
    margin: float            # context side / nominal crop side
    joints2d: torch.Tensor   # (N,24,2) in context-normalised coordinates
    visible: torch.Tensor    # (N,24) bool: joint inside the frame and frame valid
    joints3d: torch.Tensor   # (N,24,3) pelvis-centred, meters, camera axes
    rotmats: torch.Tensor    # (N,24,3,3)
    betas: torch.Tensor      # (N,10)
    valid: torch.Tensor      # (N,) bool

    def __len__(self) -> int:
        return len(self.images)


def load_crops(paths: Seq[str | os.PathLike], size: int, crop_scale: float = 1.2,
               margin: float = 1.0, stride: int = 1) -> CropSet:
    """Crops of every ``stride``-th frame of the sequence files ``paths``: nominal crop side
    ``crop_scale`` x max(bbox w, h) at ``size`` px, widened by ``margin`` (context for augmentation).
    Frames are streamed; each file needs a bbox and SMPL ground truth (gt/pose, betas, joints)."""
    ctx = size + 2 * round((margin - 1) * size / 2)  # even border: no-aug crop == stage crop
    margin = ctx / size
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("img", "j2", "vis", "j3", "pose", "betas", "valid")}
    for path in paths:
        seq = read_sequence(path)
        if seq.n_frames <= 0:
            raise InputError(f"{path}: sequence has no frames")
        missing = [k for k in NEEDED if k not in seq.arrays]
        if missing:
            raise InputError(f"{path}: backbone pretraining needs SMPL ground truth, missing {', '.join(missing)}")
        if seq.bbox is None:
            raise InputError(f"{path}: no 'bbox' (person boxes are needed to crop)")
        bbox = check_boxes(seq.bbox, seq.width, seq.height, str(path))
        keep = np.arange(0, seq.n_frames, stride)
        T = seq.n_frames
        a = seq.arrays
        valid = a.get("gt/valid", np.ones(T, bool)).astype(bool)
        visible = a.get("gt/visible", np.ones((T, 24), bool)).astype(bool) & valid[:, None]
        A = crop_matrices(bbox, ctx, crop_scale * margin)
        j2 = (apply_affine(A, a["gt/joints2d"].astype(np.float64)) + 0.5) / ctx * 2 - 1
        j3 = a["gt/joints3d"] - a["gt/joints3d"][:, :1]
        start = 0
        try:
            for frames in iter_frames(path, 32):
                idx = np.arange(start, start + len(frames))
                sel = np.isin(idx, keep)
                if sel.any():
                    parts["img"].append(crop_frames(frames[sel], bbox[idx[sel]], ctx, crop_scale * margin))
                start += len(frames)
        except OSError as exc:
            raise InputError(f"{path}: frames unreadable after frame {start} ({exc.__class__.__name__})") from None
        if start != T:
            raise InputError(f"{path}: {start} frames could be read, n_frames says {T}")
        parts["j2"].append(j2[keep])
        parts["vis"].append(visible[keep])
        parts["j3"].append(j3[keep])
        parts["pose"].append(a["gt/pose"][keep])
        parts["betas"].append(a["gt/betas"][keep])
        parts["valid"].append(valid[keep])
    if not parts["img"]:
        raise InputError("backbone pretraining: no training frames (empty sequence list)")
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    pose = torch.from_numpy(cat["pose"].astype(np.float32)).reshape(-1, 24, 3)
    return CropSet(images=torch.from_numpy(cat["img"]), margin=margin,
                   joints2d=torch.from_numpy(cat["j2"].astype(np.float32)),
                   visible=torch.from_numpy(cat["vis"]),
                   joints3d=torch.from_numpy(cat["j3"].astype(np.float32)),
                   rotmats=axis_angle_to_rotmat(pose),
                   betas=torch.from_numpy(cat["betas"].astype(np.float32)),
                   valid=torch.from_numpy(cat["valid"]))


def normalize_float(x: torch.Tensor) -> torch.Tensor:
    """(B,3,S,S) float in [0, 255] -> ImageNet-normalised."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255
    return (x - mean) / std


def augment_batch(data: CropSet, idx: torch.Tensor, size: int, gen: torch.Generator | None,
                  zoom: float = 0.0, shift: float = 0.0, color: float = 0.0
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops (B,3,size,size) (normalised, channels_last) and their 2D joints (B,24,2) in
    crop-normalised coordinates for the frames ``idx``.

    The output crop samples the context crop at u = (z v + t) / margin, v the output coordinate,
    with zoom z ~ U[1 - zoom, 1 + zoom] (z > 1 shows more around the person), shift t ~ U[-shift,
    shift]^2 (fractions of the half-side); targets move by v = (margin u - t) / z. Each channel is
    scaled by U[1 - color, 1 + color]. With zoom = shift = color = 0 it is the features stage's crop.
    """
    B = len(idx)
    z = 1 + zoom * (2 * torch.rand(B, generator=gen) - 1)
    t = shift * (2 * torch.rand(B, 2, generator=gen) - 1)
    m = data.margin
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = z / m
    theta[:, :, 2] = t / m
    img = data.images[idx].permute(0, 3, 1, 2).float()
    grid = F.affine_grid(theta, (B, 3, size, size), align_corners=False)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if color > 0:
        out = out * (1 + color * (2 * torch.rand(B, 3, 1, 1, generator=gen) - 1))
        out = out.clamp_(0, 255)
    j2 = (m * data.joints2d[idx] - t[:, None]) / z[:, None, None]
    return normalize_float(out).contiguous(memory_format=torch.channels_last), j2
