"""A frame-based SMPL regressor head (SPIN-style) for pretraining the feature backbone.

The pooled ResNet feature phi of a person crop is mapped to SMPL pose (24 joint rotations in the
continuous 6D representation), shape (10 betas) and a weak-perspective camera (s, tx, ty) by
iterative error feedback from mean parameters, Theta_{k+1} = Theta_k + R(phi, Theta_k) (HMR,
Kanazawa et al. 2018, Sec. 3.2; SPIN, Kolotouros et al. 2019). Parameter names follow SPIN's
checkpoints (``fc1``, ``fc2``, ``decpose``, ``decshape``, ``deccam``, ``init_pose``, ``init_shape``,
``init_cam``), so a backbone saved with this head is a SPIN-format checkpoint and is read back by
:func:`hmr.features.backbone.load_backbone` like any SPIN file.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hmr.model.rotations import rot6d_to_rotmat, rotmat_to_rot6d

N_JOINTS = 24
N_BETAS = 10
N_POSE6D = N_JOINTS * 6


class SMPLRegressorHead(nn.Module):
    """phi (B,D) -> rotations (B,24,3,3), betas (B,10), camera (B,3) by ``n_iter`` IEF steps."""

    def __init__(self, feat_dim: int, init_pose6d: torch.Tensor, init_betas: torch.Tensor,
                 init_cam: torch.Tensor, hidden: int = 1024, n_iter: int = 3, dropout: float = 0.5):
        super().__init__()
        n_params = N_POSE6D + N_BETAS + 3
        self.n_iter = n_iter
        self.fc1 = nn.Linear(feat_dim + n_params, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.drop = nn.Dropout(dropout)
        self.decpose = nn.Linear(hidden, N_POSE6D)
        self.decshape = nn.Linear(hidden, N_BETAS)
        self.deccam = nn.Linear(hidden, 3)
        for dec in (self.decpose, self.decshape, self.deccam):  # start at the mean parameters
            nn.init.xavier_uniform_(dec.weight, gain=0.01)
            nn.init.zeros_(dec.bias)
        self.register_buffer("init_pose", init_pose6d.reshape(1, N_POSE6D).float().clone())
        self.register_buffer("init_shape", init_betas.reshape(1, N_BETAS).float().clone())
        self.register_buffer("init_cam", init_cam.reshape(1, 3).float().clone())

    def forward(self, phi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B = phi.shape[0]
        pose = self.init_pose.expand(B, -1)
        shape = self.init_shape.expand(B, -1)
        cam = self.init_cam.expand(B, -1)
        for _ in range(self.n_iter):  # Theta_{k+1} = Theta_k + R(phi, Theta_k)
            h = torch.cat([phi, pose, shape, cam], 1)
            h = self.drop(torch.relu(self.fc1(h)))
            h = self.drop(torch.relu(self.fc2(h)))
            pose = pose + self.decpose(h)
            shape = shape + self.decshape(h)
            cam = cam + self.deccam(h)
        return rot6d_to_rotmat(pose.reshape(B, N_JOINTS, 6)), shape, cam


def weak_perspective(joints: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """x = s (X_xy + t) with cam = (s, tx, ty): crop-normalised image coordinates in [-1, 1]."""
    return cam[:, None, :1] * (joints[..., :2] + cam[:, None, 1:])


def mean_rotations(rotmats: np.ndarray) -> np.ndarray:
    """(N,24,3,3) -> (24,3,3): the chordal mean per joint (average, projected onto SO(3) by SVD)."""
    M = rotmats.mean(0)
    U, _, Vt = np.linalg.svd(M)
    d = np.sign(np.linalg.det(U @ Vt))
    U[..., :, -1] *= d[..., None]
    return U @ Vt


def mean_params(rotmats: np.ndarray, betas: np.ndarray, joints3d: np.ndarray,
                joints2d: np.ndarray, visible: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Initial parameters from training data: mean rotations (6D), mean betas, and a camera
    (s0, 0, 0) whose scale s0 is the median ratio of 2D to 3D joint spread (pelvis-centred 3D,
    crop-normalised 2D)."""
    pose6d = rotmat_to_rot6d(torch.from_numpy(mean_rotations(rotmats)).float())
    spread3 = np.sqrt((joints3d[..., :2] - joints3d[..., :1, :2]).var(1).sum(-1))
    w = visible.astype(np.float64)[..., None]
    n = np.maximum(w.sum(1), 1)
    c2 = (joints2d * w).sum(1) / n
    spread2 = np.sqrt((((joints2d - c2[:, None]) ** 2) * w).sum((1, 2)) / n[:, 0])
    ok = (spread3 > 1e-6) & (visible.sum(1) >= 4)
    s0 = float(np.median(spread2[ok] / spread3[ok])) if ok.any() else 1.0
    return (pose6d, torch.from_numpy(betas.mean(0)).float(),
            torch.tensor([s0, 0.0, 0.0], dtype=torch.float32))
