"""Weak-perspective cameras and the crop coordinate frame they live in.

2D coordinates the network sees and predicts are *normalised crop coordinates*: the square crop
of side ``crop_scale * max(w, h)`` centred on the person box (cx, cy, w, h) — the crop the
features stage takes — mapped to [-1, 1]: u = (x_px - c) / (side / 2). The weak-perspective camera
[s, tx, ty] projects root-relative 3D joints X as u = s (X[:, :2] + t) (orthographic projection
in the camera's axes, x right, y down; Sec. 3.1).
"""

from __future__ import annotations

import numpy as np
import torch

from hmr.features.crop import crop_side, crop_to_pixels, pixels_to_crop  # noqa: F401 (numpy-only, shared)


def weak_perspective(X: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """(...,J,3) joints, (...,3) camera [s, tx, ty] -> (...,J,2): s (X[:, :2] + t)."""
    return cam[..., None, :1] * (X[..., :2] + cam[..., None, 1:])


@torch.no_grad()
def optimal_weak_perspective(x: torch.Tensor, x_gt: torch.Tensor, vis: torch.Tensor,
                             s_min: float = 0.7, s_max: float = 10.0) -> torch.Tensor:
    """Closed-form camera [s, tx, ty] aligning s (x + t) with the visible ground-truth 2D joints.

    ``x`` (...,J,2) orthographic projections X[:, :2], ``x_gt`` (...,J,2), ``vis`` (...,J) 0/1.
    As HMMR: with visibility-weighted means mu1 (of x) and mu2 (of x_gt), centred
    x_bar = v (x - mu1), y_bar = v (x_gt - mu2), A = x_bar^T x_bar + 1e-6 I, B = x_bar^T y_bar,
    s = tr(A^-1 B) / 2 clipped to [s_min, s_max], t = mu2 / s - mu1. No gradient flows through it.
    A sample without visible joints gets s = s_min and t = -mu1.
    """
    x, x_gt, v = x.float(), x_gt.float(), vis.float()[..., None]
    n = v.sum(-2).clamp(min=1.0)                                             # (...,1)
    mu1 = (v * x).sum(-2) / n
    mu2 = (v * x_gt).sum(-2) / n
    xb = v * (x - mu1[..., None, :])
    yb = v * (x_gt - mu2[..., None, :])
    A = xb.transpose(-1, -2) @ xb + 1e-6 * torch.eye(2, device=x.device)
    B = xb.transpose(-1, -2) @ yb
    s = torch.linalg.solve(A, B).diagonal(dim1=-2, dim2=-1).sum(-1) / 2
    s = s.clamp(s_min, s_max)
    t = mu2 / s[..., None] - mu1
    return torch.cat([s[..., None], t], -1)
