"""The uncertainty-aware temporal encoder (Sec. 3.2): GRU over f_t, then [g_t, u_t, d_t].

* g_t: a unidirectional GRU over the image features f_1..f_t (the paper: "based on the previous
  frames"), a linear map back to the feature size and a residual add, as VIBE's temporal encoder:
  g_t = W GRU(f_1..f_t) + f_t. Its size is the feature size D (2048 for ResNet-50).
* u_t = [mu_t, sigma_t^2] (64): the Pr-VIPE embedding of the input 2D pose (uncertainty-aware
  static feature).
* d_t (135): the stacked homographies of the last 15 frame pairs (dynamic feature).

Variants drop u_t and/or d_t. Every input is standardised with statistics of the training set
(stored as buffers, so a checkpoint carries them): random-initialised or ImageNet features and
pixel-valued homography entries otherwise live on very different scales.
"""

from __future__ import annotations

import torch
from torch import nn

U_DIM = 64
D_DIM = 135


class Standardize(nn.Module):
    """x -> (x - mean) / std with fixed per-channel statistics."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def set_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set the statistics; a channel (nearly) constant in the training data gets a floor of 5%
        of the mean std, so it cannot explode when it varies at prediction time."""
        std = torch.as_tensor(std, dtype=torch.float32)
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(std.clamp(min=max(1e-3, 0.05 * float(std.mean()))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class TemporalEncoder(nn.Module):
    """(B,T,D) features [+ (B,T,64) u_t] [+ (B,T,135) d_t] -> (B,T,out_dim) = [g_t, u_t, d_t]."""

    def __init__(self, feat_dim: int, hidden: int = 1024, n_layers: int = 2, use_u: bool = True,
                 use_d: bool = True) -> None:
        super().__init__()
        self.feat_dim, self.use_u, self.use_d = feat_dim, use_u, use_d
        self.norm_f = Standardize(feat_dim)
        self.norm_u = Standardize(U_DIM) if use_u else None
        self.norm_d = Standardize(D_DIM) if use_d else None
        self.gru = nn.GRU(feat_dim, hidden, num_layers=n_layers, batch_first=True)
        self.linear = nn.Linear(hidden, feat_dim)

    @property
    def out_dim(self) -> int:
        return self.feat_dim + (U_DIM if self.use_u else 0) + (D_DIM if self.use_d else 0)

    def forward(self, f: torch.Tensor, u: torch.Tensor | None = None,
                d: torch.Tensor | None = None) -> torch.Tensor:
        f = self.norm_f(f)
        y, _ = self.gru(f)                       # unidirectional: y_t depends on f_1..f_t only
        g = self.linear(y) + f                   # VIBE's residual temporal feature g_t
        parts = [g]
        if self.use_u:
            if u is None:
                raise ValueError("this encoder uses u_t but none was given")
            parts.append(self.norm_u(u))
        if self.use_d:
            if d is None:
                raise ValueError("this encoder uses d_t but none was given")
            parts.append(self.norm_d(d))
        return torch.cat(parts, -1)              # [g_t, u_t, d_t] (Sec. 3.2)
