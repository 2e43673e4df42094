"""Rotation representations in torch: axis-angle <-> matrix <-> 6D (Zhou et al., CVPR 2019).

The regressor works in the continuous 6D representation internally (the first two columns of the
rotation matrix, made orthonormal by Gram-Schmidt) and reports axis-angle outwards. Every function
takes arbitrary leading dimensions and is differentiable.
"""

from __future__ import annotations

import torch

_EPS = 1e-8


def axis_angle_to_rotmat(aa: torch.Tensor) -> torch.Tensor:
    """(...,3) axis-angle -> (...,3,3) rotation matrices (Rodrigues; exact near 0 by Taylor)."""
    theta2 = (aa * aa).sum(-1, keepdim=True)                       # (...,1)
    theta = torch.sqrt(theta2 + 1e-24)
    small = theta2 < 1e-8
    # sin(t)/t and (1-cos t)/t^2 with their Taylor series near 0
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2.clamp(min=1e-24))
    x, y, z = aa.unbind(-1)
    zero = torch.zeros_like(x)
    K = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(aa.shape[:-1] + (3, 3))
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand(K.shape)
    return eye + a[..., None] * K + b[..., None] * (K @ K)


def rotmat_to_quaternion(R: torch.Tensor) -> torch.Tensor:
    """(...,3,3) rotations -> (...,4) unit quaternions (w, x, y, z), w >= 0 (Shepperd's method)."""
    m = R
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # four candidate (unnormalised) quaternions, each well conditioned in its own region
    q_w = torch.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0],
                       m[..., 1, 0] - m[..., 0, 1]], -1)
    q_x = torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                       m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1)
    q_y = torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0],
                       1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1)
    q_z = torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0],
                       m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    cands = torch.stack([q_w, q_x, q_y, q_z], -2)                   # (...,4,4)
    diag = torch.stack([1 + trace, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                        1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                        1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    best = diag.argmax(-1)
    q = torch.gather(cands, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    q = q / torch.linalg.norm(q, dim=-1, keepdim=True).clamp(min=_EPS)
    return torch.where(q[..., :1] < 0, -q, q)


def rotmat_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """(...,3,3) rotations -> (...,3) axis-angle with angle in [0, pi]."""
    q = rotmat_to_quaternion(R)
    w, v = q[..., :1], q[..., 1:]
    sin_half = torch.linalg.norm(v, dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, w)
    # angle / sin(angle/2), -> 2 as the angle -> 0
    scale = torch.where(sin_half < 1e-6, 2.0 + angle * angle / 12.0, angle / sin_half.clamp(min=1e-12))
    return v * scale


def rot6d_to_rotmat(x: torch.Tensor) -> torch.Tensor:
    """(...,6) two stacked columns (a1, a2) -> (...,3,3) by Gram-Schmidt (Zhou et al.)."""
    a1, a2 = x[..., 0:3], x[..., 3:6]
    b1 = a1 / torch.linalg.norm(a1, dim=-1, keepdim=True).clamp(min=_EPS)
    a2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = a2 / torch.linalg.norm(a2, dim=-1, keepdim=True).clamp(min=_EPS)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)                       # columns b1, b2, b3


def rotmat_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(...,3,3) -> (...,6): the first two columns, stacked (inverse of :func:`rot6d_to_rotmat`)."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], -1)


def axis_angle_to_rot6d(aa: torch.Tensor) -> torch.Tensor:
    return rotmat_to_rot6d(axis_angle_to_rotmat(aa))


def rot6d_to_axis_angle(x: torch.Tensor) -> torch.Tensor:
    return rotmat_to_axis_angle(rot6d_to_rotmat(x))
