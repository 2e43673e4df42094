"""The whole regressor network of one variant: encoder -> SMPL regressor (+ dynamics decoder)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hmr.model.dynamics import FCDynamicsDecoder, PartDynamicsDecoder
from hmr.model.encoder import TemporalEncoder
from hmr.model.regressor import SMPLRegressor
from hmr.model.variants import Variant, get_variant

MODEL_KEYS = ("gru_hidden", "gru_layers", "regressor_hidden", "n_iter", "dropout",
              "dynamics_hidden", "dynamics_layers", "context", "context_dim")


class HMRNetwork(nn.Module):
    """(B,T,D) features [, u_t, d_t] -> per frame pose (6D), beta, camera; with a dynamics
    decoder also the poses at t - dt and t + dt (theta_t -/+ Delta theta, Sec. 3.3)."""

    def __init__(self, variant: Variant, feat_dim: int, model_cfg: dict[str, Any]) -> None:
        super().__init__()
        cfg = {k: model_cfg[k] for k in MODEL_KEYS}
        self.hparams = {"variant": variant.name, "feat_dim": int(feat_dim), **cfg}
        self.variant = variant
        self.encoder = TemporalEncoder(feat_dim, int(cfg["gru_hidden"]), int(cfg["gru_layers"]),
                                       use_u=variant.use_u, use_d=variant.use_d)
        c_dim = self.encoder.out_dim
        self.regressor = SMPLRegressor(c_dim, int(cfg["regressor_hidden"]), int(cfg["n_iter"]),
                                       float(cfg["dropout"]))
        self.dynamics: nn.Module | None
        if variant.dynamics == "part":
            self.dynamics = PartDynamicsDecoder(c_dim, int(cfg["dynamics_hidden"]),
                                                int(cfg["dynamics_layers"]), str(cfg["context"]),
                                                int(cfg["context_dim"]))
        elif variant.dynamics == "fc":
            self.dynamics = FCDynamicsDecoder(c_dim, int(cfg["dynamics_hidden"]), int(cfg["dynamics_layers"]))
        else:
            self.dynamics = None

    def forward(self, f: torch.Tensor, u: torch.Tensor | None = None, d: torch.Tensor | None = None,
                with_dynamics: bool = True) -> dict[str, torch.Tensor]:
        c = self.encoder(f, u, d)                                  # [g_t, u_t, d_t]
        pose6d, betas, cam = self.regressor(c)
        out = {"pose6d": pose6d, "betas": betas, "cam": cam}
        if self.dynamics is not None and with_dynamics:
            d_prev, d_next = self.dynamics(c, pose6d)
            out["pose6d_prev"] = pose6d - d_prev                   # theta_{t-dt} = theta_t - Delta theta
            out["pose6d_next"] = pose6d + d_next                   # theta_{t+dt} = theta_t + Delta theta
        return out


def build_network(variant: str | Variant, feat_dim: int, model_cfg: dict[str, Any]) -> HMRNetwork:
    v = get_variant(variant) if isinstance(variant, str) else variant
    return HMRNetwork(v, feat_dim, model_cfg)
