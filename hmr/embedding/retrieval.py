"""Cross-view pose retrieval, the embedding's own evaluation (as Pr-VIPE reports it).

Held-out 3D poses are seen from two random views. Each pose's first view is a query; the database
holds the second views of all held-out poses. A query's Hit@k is 1 when any of its k nearest
database entries has a 3D pose within kappa NP-MPJPE of the query's 3D pose. Nearest by the
distance between means (``mean``), or by the Monte-Carlo matching distance D_m of Eq. 1 with the
learned kernel (``mc``, probabilistic model only). ``match_rate`` is the share of database entries
that match a query (the Hit@1 of a random guess). ``sigma_error_spearman`` is Spearman's rank
correlation between a query's mean sigma and the NP-MPJPE of its top-1 retrieval: positive when
more ambiguous 2D poses get larger sigma.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from hmr.embedding.losses import MatchingKernel, sample_embeddings
from hmr.embedding.model import PoseEmbedder
from hmr.embedding.npmpjpe import np_mpjpe, pairwise_np_mpjpe

EVAL_COLUMNS = ("model", "retrieval", "n_queries", "n_database", "kappa", "hit1", "hit10",
                "match_rate", "top1_np_mpjpe", "mean_sigma", "sigma_error_spearman",
                "sigma_error_p")


@torch.inference_mode()
def embed_normalized(model: PoseEmbedder, x: torch.Tensor, batch: int = 4096
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """(mu, sigma) for normalised 2D poses (N,17,2), in eval mode, in batches."""
    model.eval()
    mus, sigmas = [], []
    for i in range(0, len(x), batch):
        mu, sigma = model(x[i:i + batch])
        mus.append(mu)
        sigmas.append(sigma)
    if not mus:
        return torch.zeros(0, model.dim), torch.zeros(0, model.dim)
    return torch.cat(mus), torch.cat(sigmas)


@torch.inference_mode()
def nearest(q_mu: torch.Tensor, q_sigma: torch.Tensor, db_mu: torch.Tensor, db_sigma: torch.Tensor,
            kmax: int, distance: str = "mean", kernel: MatchingKernel | None = None,
            mc_samples: int = 10, seed: int = 0, chunk: int = 2_000_000) -> torch.Tensor:
    """(Q, kmax) indices of the nearest database entries, closest first."""
    kmax = min(kmax, len(db_mu))
    if distance == "mean":
        rows = max(1, chunk // max(len(db_mu), 1))
        return torch.cat([torch.cdist(q_mu[i:i + rows], db_mu).topk(kmax, largest=False).indices
                          for i in range(0, len(q_mu), rows)])
    if distance != "mc" or kernel is None:
        raise ValueError(f"nearest: distance must be 'mean' or 'mc' (with a kernel), got {distance!r}")
    g = torch.Generator().manual_seed(int(seed))
    K, M = int(mc_samples), len(db_mu)
    zq = sample_embeddings(q_mu, q_sigma, K, g)            # (Q,K,D)
    zdb = sample_embeddings(db_mu, db_sigma, K, g).reshape(M * K, -1)
    rows = max(1, chunk // max(M * K * K, 1))
    out = []
    for i in range(0, len(zq), rows):
        zi = zq[i:i + rows]                                # (r,K,D)
        p = kernel(torch.cdist(zi.reshape(-1, zi.shape[-1]), zdb))   # (r*K, M*K)
        p = p.reshape(len(zi), K, M, K).mean((1, 3))       # Eq. 1 for every (query, entry)
        out.append((-torch.log(p)).topk(kmax, largest=False).indices)
    return torch.cat(out)


def hit_at_k(matched: torch.Tensor, k: int) -> float:
    """Share of queries with a match among their first k retrievals; ``matched`` (Q,kmax) bool."""
    if len(matched) == 0:
        return float("nan")
    return float(matched[:, :k].any(1).float().mean())


def retrieval_scores(q3d: torch.Tensor, db3d: torch.Tensor, nn_idx: torch.Tensor, kappa: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """NP-MPJPE (Q,kmax) of each retrieval against its query's 3D pose, and matched = <= kappa."""
    err = np_mpjpe(db3d[nn_idx], q3d.unsqueeze(1).expand(-1, nn_idx.shape[1], -1, -1))
    return err, err <= kappa


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its p-value (NaN when either input is constant)."""
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    res = spearmanr(x, y)
    return float(res.statistic), float(res.pvalue)


def evaluate_retrieval(model: PoseEmbedder, q2d: torch.Tensor, db2d: torch.Tensor,
                       q3d: torch.Tensor, db3d: torch.Tensor, kappa: float, distance: str = "mean",
                       kernel: MatchingKernel | None = None, mc_samples: int = 10, seed: int = 0,
                       match_rate: float | None = None) -> dict[str, Any]:
    """One row of the evaluation table for one model and one retrieval distance."""
    q_mu, q_sigma = embed_normalized(model, q2d)
    db_mu, db_sigma = embed_normalized(model, db2d)
    nn_idx = nearest(q_mu, q_sigma, db_mu, db_sigma, 10, distance, kernel, mc_samples, seed)
    err, matched = retrieval_scores(q3d, db3d, nn_idx, kappa)
    sig = q_sigma.mean(-1).numpy()
    rho, p = (float("nan"), float("nan")) if model.deterministic else spearman(sig, err[:, 0].numpy())
    return {"retrieval": distance, "n_queries": len(q2d), "n_database": len(db2d), "kappa": kappa,
            "hit1": hit_at_k(matched, 1), "hit10": hit_at_k(matched, 10),
            "match_rate": float("nan") if match_rate is None else match_rate,
            "top1_np_mpjpe": float(err[:, 0].mean()) if len(err) else float("nan"),
            "mean_sigma": float("nan") if model.deterministic else float(sig.mean()),
            "sigma_error_spearman": rho, "sigma_error_p": p}


def mean_match_rate(q3d: torch.Tensor, db3d: torch.Tensor, kappa: float) -> float:
    """Share of (query, database) pairs whose 3D poses match: the chance level of Hit@1."""
    if len(q3d) == 0 or len(db3d) == 0:
        return math.nan
    return float((pairwise_np_mpjpe(q3d, db3d) <= kappa).float().mean())


def write_eval_csv(rows: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """The evaluation table (columns :data:`EVAL_COLUMNS`) as CSV, written atomically."""
    import pandas as pd

    from hmr.io.atomic import atomic_path

    df = pd.DataFrame(rows, columns=list(EVAL_COLUMNS))
    with atomic_path(path, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
