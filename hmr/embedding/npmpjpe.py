"""NP-MPJPE: the 3D pose distance that defines a match in Pr-VIPE.

Both poses are normalised (hip-midpoint origin, largest torso distance 1; :func:`normalize_3d`),
the first is aligned to the second by a similarity Procrustes (rotation with reflection fix,
isotropic scale, translation), and the mean per-joint Euclidean distance is taken. Two poses match
(m_ij = 1) when NP-MPJPE <= kappa (Pr-VIPE: kappa = 0.1).
"""

from __future__ import annotations

import torch

from hmr.embedding.normalize import normalize_3d


def procrustes_align(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Similarity-align X onto Y, both (...,J,3); returns the aligned X (...,J,3)."""
    mx, my = X.mean(-2, keepdim=True), Y.mean(-2, keepdim=True)
    Xc, Yc = X - mx, Y - my
    H = Xc.transpose(-1, -2) @ Yc                        # (...,3,3) = sum_j x_j y_j^T
    U, S, Vh = torch.linalg.svd(H)
    d = torch.sign(torch.linalg.det(Vh.transpose(-1, -2) @ U.transpose(-1, -2)))
    d = torch.where(d == 0, torch.ones_like(d), d)
    D = torch.ones(S.shape, dtype=X.dtype, device=X.device)
    D[..., -1] = d
    R = Vh.transpose(-1, -2) @ (D.unsqueeze(-1) * U.transpose(-1, -2))   # y ~ s R x
    scale = (S * D).sum(-1) / (Xc * Xc).sum((-1, -2)).clamp(min=1e-12)
    return scale[..., None, None] * Xc @ R.transpose(-1, -2) + my


def np_mpjpe(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """NP-MPJPE between (...,17,3) poses X and Y (broadcast), in unit-torso units (...)."""
    Xn, Yn = normalize_3d(X), normalize_3d(Y)
    Xn, Yn = torch.broadcast_tensors(Xn, Yn)
    return (procrustes_align(Xn, Yn) - Yn).norm(dim=-1).mean(-1)


def pairwise_np_mpjpe(A: torch.Tensor, B: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """(N,M) NP-MPJPE between every pose of A (N,17,3) and every pose of B (M,17,3).

    Works through chunks of ``chunk`` pairs (memory ~ chunk x 17 x 3 floats).
    """
    An, Bn = normalize_3d(A), normalize_3d(B)
    N, M = len(An), len(Bn)
    out = torch.empty(N, M, dtype=An.dtype, device=An.device)
    rows = max(1, chunk // max(M, 1))
    for i in range(0, N, rows):
        a = An[i:i + rows, None]                            # (r,1,J,3)
        b = Bn[None]                                        # (1,M,J,3)
        a, b = torch.broadcast_tensors(a, b)
        out[i:i + rows] = (procrustes_align(a, b) - b).norm(dim=-1).mean(-1)
    return out


def match_matrix(A: torch.Tensor, B: torch.Tensor, kappa: float) -> torch.Tensor:
    """(N,M) bool m_ij = NP-MPJPE(A_i, B_j) <= kappa."""
    return pairwise_np_mpjpe(A, B) <= kappa
