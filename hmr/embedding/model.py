"""The Pr-VIPE embedder: normalised 2D pose -> Gaussian embedding N(mu, diag(sigma^2)).

Backbone as Pr-VIPE's reference code: a linear layer to ``width``, then ``n_blocks`` residual
blocks of two [Linear(width) + BatchNorm + ReLU + Dropout] layers; two linear heads give the mean
mu and the standard deviation sigma = ELU(.) + 1 (> 0). The reference width is 1024; the CPU
default config uses a narrower one (see ``embedding.model`` in config.yaml).

``deterministic=True`` is the same network without the variance head: sigma is returned as zeros
(a point embedding), for the probabilistic-vs-deterministic comparison.
"""

from __future__ import annotations

import math
import os
import pickle
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from hmr.errors import InputError

N_JOINTS = 17


class _Layer(nn.Sequential):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__(nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
                         nn.Dropout(dropout))


class _ResBlock(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(_Layer(width, dropout), _Layer(width, dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class PoseEmbedder(nn.Module):
    """Normalised (...,17,2) 2D poses -> (mu (...,dim), sigma (...,dim)), sigma a std."""

    def __init__(self, dim: int = 32, width: int = 1024, n_blocks: int = 2, dropout: float = 0.3,
                 deterministic: bool = False, sigma_init: float = 1.0) -> None:
        super().__init__()
        self.hparams = {"dim": dim, "width": width, "n_blocks": n_blocks, "dropout": dropout,
                        "deterministic": deterministic, "sigma_init": sigma_init}
        self.dim, self.deterministic = dim, deterministic
        self.stem = nn.Linear(N_JOINTS * 2, width)
        self.blocks = nn.Sequential(*[_ResBlock(width, dropout) for _ in range(n_blocks)])
        self.mu_head = nn.Linear(width, dim)
        self.sigma_head = None if deterministic else nn.Linear(width, dim)
        if self.sigma_head is not None and sigma_init < 1.0:
            # start at sigma ~ sigma_init: ELU(x) + 1 = exp(x) for x < 0
            with torch.no_grad():
                self.sigma_head.bias.fill_(math.log(sigma_init))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lead = x.shape[:-2]
        h = self.blocks(self.stem(x.reshape(-1, N_JOINTS * 2)))
        mu = self.mu_head(h)
        if self.sigma_head is None:
            sigma = torch.zeros_like(mu)
        else:
            sigma = F.elu(self.sigma_head(h)) + 1.0          # Pr-VIPE: std = ELU(x) + 1
        return mu.reshape(*lead, self.dim), sigma.reshape(*lead, self.dim)


def build_embedder(model_cfg: dict[str, Any], dim: int, deterministic: bool) -> PoseEmbedder:
    """A fresh embedder from the ``embedding.model`` config section."""
    return PoseEmbedder(dim=dim, width=int(model_cfg["width"]), n_blocks=int(model_cfg["n_blocks"]),
                        dropout=float(model_cfg["dropout"]), deterministic=deterministic,
                        sigma_init=float(model_cfg.get("sigma_init", 1.0)))


def save_embedder(model: PoseEmbedder, path: str | os.PathLike, kernel_state: dict[str, torch.Tensor],
                  meta: dict[str, Any]) -> None:
    """Write a checkpoint that :func:`load_embedder` reads with ``weights_only=True``.

    ``kernel_state`` holds the learned matching kernel (a, b); ``meta`` plain JSON-able values.
    """
    from hmr.io.atomic import atomic_path

    state = {"hparams": dict(model.hparams), "state_dict": model.state_dict(),
             "kernel": dict(kernel_state), "meta": dict(meta)}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw checkpoint dict (tensors and plain values only)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: embedding model not found") from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        # truncated, not a torch file, or holds objects weights_only refuses
        raise InputError(f"{path}: not a readable embedding checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(ckpt, dict) or not {"hparams", "state_dict"} <= set(ckpt):
        raise InputError(f"{path}: not an embedding checkpoint (needs hparams and state_dict)")
    return ckpt


def load_embedder(path: str | os.PathLike, device: str | torch.device = "cpu") -> PoseEmbedder:
    """The trained embedder at ``path``: eval mode, parameters frozen, on ``device``."""
    ckpt = load_checkpoint(path)
    hp = ckpt["hparams"]
    model = PoseEmbedder(dim=int(hp["dim"]), width=int(hp["width"]), n_blocks=int(hp["n_blocks"]),
                         dropout=float(hp["dropout"]), deterministic=bool(hp["deterministic"]),
                         sigma_init=float(hp.get("sigma_init", 1.0)))
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit the recorded architecture "
                         f"({str(exc).splitlines()[0]})") from None
    model.eval().requires_grad_(False)
    return model.to(device)
