"""Pr-VIPE's losses (paper Eq. 1-4) and in-batch semi-hard negative mining.

* :class:`MatchingKernel`: p(m | z_i, z_j) = (1 - s) sigmoid(-a ||z_i - z_j||_2 + b) + s / 2 with
  learnable a = ELU(raw_a) + 1 > 0 and b, and a small smoothing s (reference code: s = 0.1)
  that keeps the probability inside [s/2, 1 - s/2].
* :func:`mc_matching_distance`: D_m = -log p(m | x_i, x_j), p estimated by Monte-Carlo over
  K x K sample pairs of the two Gaussians (Eq. 1).
* :func:`triplet_ratio_loss` (Eq. 2), :func:`positive_pairwise_loss` (Eq. 3), :func:`kl_prior`
  (KL to N(0, I), Pr-VIPE's regulariser), combined in :func:`embedding_loss` (Eq. 4 plus the KL
  term, with the reference code's weights).
* :func:`semi_hard_negatives`: for each anchor, the closest negative (NP-MPJPE > kappa) that is
  farther than its positive, by the distance between means; if none is farther, the farthest
  negative.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MatchingKernel(nn.Module):
    """Sigmoid matching probability of an embedding distance, with learnable a and b."""

    def __init__(self, raw_a: float = -0.65, b: float = -0.5, smoothing: float = 0.1) -> None:
        super().__init__()
        self.raw_a = nn.Parameter(torch.tensor(float(raw_a)))
        self.b = nn.Parameter(torch.tensor(float(b)))
        self.smoothing = float(smoothing)

    @property
    def a(self) -> torch.Tensor:
        return F.elu(self.raw_a) + 1.0

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        # p(m | z_i, z_j) = sigma(-a ||z_i - z_j|| + b), smoothed (paper Sec. 3.2, after Eq. 2)
        s = self.smoothing
        return (1.0 - s) * torch.sigmoid(-self.a * distance + self.b) + 0.5 * s


def l2(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """||u - v||_2 over the last axis, with a finite gradient at u == v."""
    diff = u - v
    return torch.sqrt((diff * diff).sum(-1) + 1e-12)


def sample_embeddings(mu: torch.Tensor, sigma: torch.Tensor, k: int,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """K reparameterised samples z = mu + sigma * eps: (...,D) -> (...,K,D)."""
    eps = torch.randn((*mu.shape[:-1], k, mu.shape[-1]), generator=generator,
                      dtype=mu.dtype, device=mu.device)
    return mu.unsqueeze(-2) + sigma.unsqueeze(-2) * eps


def mc_matching_probability(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                            sigma2: torch.Tensor, kernel: MatchingKernel, k: int,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """p(m | x_1, x_2) ~ 1/K^2 sum_k1 sum_k2 p(m | z_1^(k1), z_2^(k2)) (Eq. 1), shape (...)."""
    z1 = sample_embeddings(mu1, sigma1, k, generator)          # (...,K,D)
    z2 = sample_embeddings(mu2, sigma2, k, generator)
    d = l2(z1.unsqueeze(-2), z2.unsqueeze(-3))                 # (...,K,K)
    return kernel(d).mean((-1, -2))


def mc_matching_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                         sigma2: torch.Tensor, kernel: MatchingKernel, k: int,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """D_m = -log p(m | x_1, x_2) with p from Eq. 1 (K = 1 and sigma = 0: a point embedding)."""
    return -torch.log(mc_matching_probability(mu1, sigma1, mu2, sigma2, kernel, k, generator))


def triplet_ratio_loss(d_pos: torch.Tensor, d_neg: torch.Tensor, margin: float,
                       valid: torch.Tensor | None = None) -> torch.Tensor:
    """mean_i max(0, D_m(z_i, z_i+) - D_m(z_i, z_i-) + alpha) (Eq. 2; alpha = log beta).

    ``valid`` (N,) excludes anchors without a negative in the batch. A mean instead of the paper's
    sum keeps the scale independent of the batch size.
    """
    hinge = F.relu(d_pos - d_neg + margin)
    if valid is None:
        return hinge.mean()
    w = valid.to(hinge.dtype)
    return (hinge * w).sum() / w.sum().clamp(min=1.0)


def positive_pairwise_loss(d_pos: torch.Tensor) -> torch.Tensor:
    """mean_i -log p(m | z_i, z_i+) = mean_i D_m(z_i, z_i+) (Eq. 3)."""
    return d_pos.mean()


def kl_prior(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """mean over samples of KL(N(mu, diag sigma^2) || N(0, I)) (Pr-VIPE's prior term)."""
    var = sigma * sigma
    return 0.5 * (var + mu * mu - 1.0 - torch.log(var.clamp(min=1e-12))).sum(-1).mean()


def semi_hard_negatives(dist: torch.Tensor, pos_dist: torch.Tensor,
                        is_negative: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pick one negative per anchor from candidates j (columns).

    ``dist`` (N,M) anchor-to-candidate distances, ``pos_dist`` (N,) anchor-to-positive distance,
    ``is_negative`` (N,M) bool. Returns (index (N,), valid (N,) bool): the closest negative with
    dist > pos_dist (semi-hard); if there is none, the farthest negative; valid is False for an
    anchor without any negative.
    """
    big = torch.finfo(dist.dtype).max
    outside = is_negative & (dist > pos_dist.unsqueeze(1))
    semi = torch.where(outside, dist, torch.full_like(dist, big)).argmin(1)
    far = torch.where(is_negative, dist, torch.full_like(dist, -big)).argmax(1)
    idx = torch.where(outside.any(1), semi, far)
    return idx, is_negative.any(1)


def embedding_loss(anchor: tuple[torch.Tensor, torch.Tensor], positive: tuple[torch.Tensor, torch.Tensor],
                   match: torch.Tensor, kernel: MatchingKernel, cfg: dict,
                   generator: torch.Generator | None = None,
                   deterministic: bool = False) -> tuple[torch.Tensor, dict[str, float]]:
    """Total Pr-VIPE loss for one batch of (anchor, positive) pairs of the same 3D poses.

    ``anchor`` and ``positive`` are (mu, sigma), each (N,D); ``match`` (N,N) bool is
    NP-MPJPE(y_i, y_j) <= kappa. Negatives for anchor i are the other records' positives j with
    match[i, j] False, mined semi-hard by the distance between means. Returns the loss and
    scalars for the log. ``cfg`` is the ``embedding.loss`` config section.
    """
    mu_a, sg_a = anchor
    mu_p, sg_p = positive
    k = 1 if deterministic else int(cfg["mc_samples"])
    with torch.no_grad():
        dmean = l2(mu_a.unsqueeze(1), mu_p.unsqueeze(0))        # (N,N) between means
        neg_idx, valid = semi_hard_negatives(dmean, dmean.diagonal(), ~match)
    d_pos = mc_matching_distance(mu_a, sg_a, mu_p, sg_p, kernel, k, generator)
    d_neg = mc_matching_distance(mu_a, sg_a, mu_p[neg_idx], sg_p[neg_idx], kernel, k, generator)
    l_ratio = triplet_ratio_loss(d_pos, d_neg, float(cfg["margin"]), valid)
    l_pos = positive_pairwise_loss(d_pos)
    total = l_ratio + float(cfg["positive_weight"]) * l_pos
    l_kl = torch.zeros((), dtype=mu_a.dtype)
    if not deterministic:
        l_kl = 0.5 * (kl_prior(mu_a, sg_a) + kl_prior(mu_p, sg_p))
        total = total + float(cfg["kl_weight"]) * l_kl
    with torch.no_grad():
        active = ((d_pos - d_neg + float(cfg["margin"])) > 0) & valid
        stats = {"loss": float(total), "ratio": float(l_ratio), "positive": float(l_pos),
                 "kl": float(l_kl), "a": float(kernel.a), "b": float(kernel.b),
                 "mean_sigma": float(sg_a.mean()), "active_triplets": float(active.float().mean()),
                 "with_negative": float(valid.float().mean())}
    return total, stats
