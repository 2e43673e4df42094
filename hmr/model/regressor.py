"""The SMPL regressor: HMR's iterative error feedback from mean parameters (Sec. 3.1, [3, 29]).

Theta = [theta (24 joints x 6D), beta (10), cam (3)] starts at the mean parameters and is refined
``n_iter`` times: Theta <- Theta + MLP([c_t, Theta]) with c_t the encoder's feature.

Mean parameters (a documented choice, no data needed): every joint at the identity rotation except
the root, which is a rotation of pi about x — in the camera frame used throughout (OpenCV: x
right, y down, z forward) that is SMPL's rest body standing upright and facing the camera;
beta = 0 (the mean shape); camera [s0, 0, 0] with s0 = 1, i.e. a body of about 2 m spanning the
crop (the crop is 1.2x the person box and maps to [-1, 1]).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hmr.body.joints import NUM_BETAS, NUM_SMPL_JOINTS
from hmr.model.rotations import axis_angle_to_rot6d

POSE_6D = NUM_SMPL_JOINTS * 6
N_PARAMS = POSE_6D + NUM_BETAS + 3


def mean_parameters(s0: float = 1.0) -> torch.Tensor:
    """The starting point of the iterative regression: (157,) [pose 6D, beta, cam]."""
    aa = torch.zeros(NUM_SMPL_JOINTS, 3)
    aa[0, 0] = math.pi
    pose6d = axis_angle_to_rot6d(aa).reshape(-1)
    return torch.cat([pose6d, torch.zeros(NUM_BETAS), torch.tensor([s0, 0.0, 0.0])])


class SMPLRegressor(nn.Module):
    """(...,in_dim) features -> pose 6D (...,24,6), beta (...,10), cam (...,3)."""

    def __init__(self, in_dim: int, hidden: int = 1024, n_iter: int = 3, dropout: float = 0.5) -> None:
        super().__init__()
        self.n_iter = n_iter
        self.register_buffer("mean_params", mean_parameters())
        self.mlp = nn.Sequential(
            nn.Linear(in_dim + N_PARAMS, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )
        self.dec_pose = nn.Linear(hidden, POSE_6D)
        self.dec_shape = nn.Linear(hidden, NUM_BETAS)
        self.dec_cam = nn.Linear(hidden, 3)
        for layer in (self.dec_pose, self.dec_shape, self.dec_cam):   # small first corrections
            nn.init.xavier_uniform_(layer.weight, gain=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        theta = self.mean_params.to(c.dtype).expand(c.shape[:-1] + (N_PARAMS,))
        fc1, rest = self.mlp[0], self.mlp[1:]
        # fc1([c, theta]) = W_c c + W_theta theta + b: the c part is the same in every iteration,
        # so it is computed once (the same function as the MLP on the concatenation, fewer FLOPs)
        n_c = c.shape[-1]
        hc = F.linear(c, fc1.weight[:, :n_c], fc1.bias)
        for _ in range(self.n_iter):                        # iterative error feedback
            h = rest(hc + F.linear(theta, fc1.weight[:, n_c:]))
            delta = torch.cat([self.dec_pose(h), self.dec_shape(h), self.dec_cam(h)], -1)
            theta = theta + delta
        pose6d = theta[..., :POSE_6D].reshape(c.shape[:-1] + (NUM_SMPL_JOINTS, 6))
        return pose6d, theta[..., POSE_6D:POSE_6D + NUM_BETAS], theta[..., POSE_6D + NUM_BETAS:]
