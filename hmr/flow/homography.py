"""Homographies from point correspondences, batched across frame pairs (pure numpy functions).

Every function takes a *batch* of N problems at once: ``src``, ``dst`` are (N,M,2) arrays of M
correspondences per pair (``dst ~ H src`` in homogeneous coordinates) and ``weights`` (N,M) >= 0
switch points off (0) or down-weight them. Nothing loops over single pairs in Python: the
linear systems are assembled with array operations over blocks of pairs (sized to keep numpy's
temporaries small) and the systems of all pairs are solved by one batched decomposition.

* :func:`dlt_homographies` - the normalised direct linear transform (Hartley & Zisserman,
  Alg. 4.2): each pair's points are translated to their centroid and scaled to a mean distance
  of sqrt(2) (Hartley normalisation), the 2M x 9 system A h = 0 is solved by SVD (h = the right
  singular vector of the smallest singular value, taken from the batched SVD of the 9x9 normal
  matrices A^T A built from point moments, i.e. their symmetric eigendecomposition), and the
  result is de-normalised.
* :func:`irls_homographies` - iteratively reweighted DLT with Tukey's biweight on the transfer
  error (scale from the median absolute residual): resists a minority of outlier flow vectors.
* :func:`ransac_homographies` - RANSAC with all pairs' minimal 4-point hypotheses solved in one
  batched SVD, then a DLT refit on the best hypothesis's inliers.
* :func:`refine_homographies` - optional Levenberg-Marquardt on the transfer (reprojection)
  error, the cost ``cv2.findHomography`` minimises after its own DLT.
* :func:`normalize_top_left` - divide by the top-left element as the paper says, with a guard
  against a near-zero top-left element.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A homography's top-left element counts as near zero below this fraction of its Frobenius norm.
TOP_LEFT_EPS = 1e-3


def _as_batch(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None, ones: bool = True):
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.ndim != 3 or src.shape[-1] != 2 or src.shape != dst.shape:
        raise ValueError(f"src and dst must both be (N,M,2), got {src.shape} and {dst.shape}")
    if weights is None:
        return src, dst, (np.ones(src.shape[:2]) if ones else None)
    w = np.asarray(weights, np.float64)
    if w.shape != src.shape[:2]:
        raise ValueError(f"weights must be (N,M) = {src.shape[:2]}, got {w.shape}")
    return src, dst, w


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance over the last axis (size 2), without a slow size-2 reduction."""
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    return np.sqrt(dx * dx + dy * dy)


def _hartley_xy(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Weighted centroid (cx, cy) and scale s of the Hartley normalisation, each (N,)."""
    wsum = np.maximum(w.sum(1), 1e-300)
    cx = (w * x).sum(1) / wsum
    cy = (w * y).sum(1) / wsum
    dx = x - cx[:, None]
    dy = y - cy[:, None]
    mean_dist = (w * np.sqrt(dx * dx + dy * dy)).sum(1) / wsum
    s = np.where(mean_dist > 1e-12, np.sqrt(2.0) / np.maximum(mean_dist, 1e-300), 1.0)
    return cx, cy, s


def _similarity(cx: np.ndarray, cy: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(N,3,3) matrices of x -> s (x - c)."""
    T = np.zeros((len(s), 3, 3))
    T[:, 0, 0] = T[:, 1, 1] = s
    T[:, 0, 2] = -s * cx
    T[:, 1, 2] = -s * cy
    T[:, 2, 2] = 1.0
    return T


def hartley_normalization(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,3,3) similarity per pair sending its weighted centroid to the origin and the weighted
    mean distance from it to sqrt(2) (Hartley normalisation); scale 1 for coincident points."""
    points = np.asarray(points, np.float64)
    return _similarity(*_hartley_xy(points[..., 0], points[..., 1], np.asarray(weights, np.float64)))


def transfer(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N,M,2) points with (N,3,3) homographies: x' = pi(H [x, 1]) (leading axes of H
    (...,3,3) and points (...,M,2) broadcast)."""
    H = np.asarray(H, np.float64)
    points = np.asarray(points, np.float64)
    x, y = points[..., 0], points[..., 1]
    h = H[..., None, :, :]
    den = h[..., 2, 0] * x + h[..., 2, 1] * y + h[..., 2, 2]
    u = (h[..., 0, 0] * x + h[..., 0, 1] * y + h[..., 0, 2]) / den
    v = (h[..., 1, 0] * x + h[..., 1, 1] * y + h[..., 1, 2]) / den
    return np.stack([u, v], -1)


def transfer_error(H: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(N,M) Euclidean distance between ``dst`` and the transferred ``src`` (inf where undefined)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        err = _dist(transfer(H, src), np.asarray(dst, np.float64))
    return np.where(np.isfinite(err), err, np.inf)


# elements per (pairs x points) temporary when assembling the DLT systems (32 KB of float64):
# larger blocks make numpy's temporaries large enough to be returned to the OS after each
# call, and the page faults of re-allocating them cost more than the arithmetic
_BLOCK_ELEMENTS = 4096
_LM_BLOCK_ELEMENTS = 65536  # the same for the Levenberg-Marquardt refinement (larger: fewer calls)

# p p^T of p = (x, y, 1) from the monomials (x^2, xy, x, y^2, y, 1)
_PP_INDEX = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])


def normal_matrices(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,9,9) normal matrices A^T A of the weighted DLT systems, without forming A.

    Each correspondence p = (x, y, 1) -> (u, v) adds the rows [-p, 0, u p] and [0, -p, v p] to
    A (the first two components of q x H p = 0), so with S_f = sum_m w f p p^T:
    A^T A = [[S_1, 0, -S_u], [0, S_1, -S_v], [-S_u, -S_v, S_{u^2+v^2}]] (3x3 blocks). The
    sums come from one batched matrix product of the monomials with the weights.
    """
    return _normal_xy(src[..., 0], src[..., 1], dst[..., 0], dst[..., 1], weights)


def _normal_gather() -> tuple[np.ndarray, np.ndarray]:
    """Index into the flattened (6 monomials x 4 weights) moments and sign of every entry of
    the 9x9 normal matrix (index 24 = a zero appended to the moments)."""
    idx = np.full((9, 9), 24)
    sign = np.zeros((9, 9))
    for (bi, bj), k, sg in (((0, 0), 0, 1.0), ((1, 1), 0, 1.0), ((0, 2), 1, -1.0), ((2, 0), 1, -1.0),
                            ((1, 2), 2, -1.0), ((2, 1), 2, -1.0), ((2, 2), 3, 1.0)):
        idx[3 * bi:3 * bi + 3, 3 * bj:3 * bj + 3] = _PP_INDEX * 4 + k
        sign[3 * bi:3 * bi + 3, 3 * bj:3 * bj + 3] = sg
    return idx.ravel(), sign.ravel()


_NORMAL_IDX, _NORMAL_SIGN = _normal_gather()


def _normal_xy(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
               weights: np.ndarray) -> np.ndarray:
    n, m = x.shape
    mono = np.empty((n, 6, m))  # the monomials of p p^T
    np.multiply(x, x, out=mono[:, 0])
    np.multiply(x, y, out=mono[:, 1])
    mono[:, 2] = x
    np.multiply(y, y, out=mono[:, 3])
    mono[:, 4] = y
    mono[:, 5] = 1.0
    wk = np.empty((n, 4, m))  # the weights w, w u, w v, w (u^2 + v^2)
    wk[:, 0] = weights
    np.multiply(weights, u, out=wk[:, 1])
    np.multiply(weights, v, out=wk[:, 2])
    np.multiply(wk[:, 1], u, out=wk[:, 3])
    wk[:, 3] += wk[:, 2] * v
    S = np.zeros((n, 25))
    S[:, :24] = (mono @ wk.transpose(0, 2, 1)).reshape(n, 24)  # (N, 6, 4) moments
    return (S[:, _NORMAL_IDX] * _NORMAL_SIGN).reshape(n, 9, 9)


def design_matrices(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,2M,9) weighted DLT design matrices A (rows [-p, 0, u p] and [0, -p, v p])."""
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    rx = np.stack([-x, -y, -one, zero, zero, zero, u * x, u * y, u], -1)
    ry = np.stack([zero, zero, zero, -x, -y, -one, v * x, v * y, v], -1)
    sw = np.sqrt(np.clip(weights, 0.0, None))[..., None]
    return np.concatenate([rx * sw, ry * sw], axis=1)


def dlt_homographies(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                     method: str = "normal") -> np.ndarray:
    """Normalised DLT for a batch of pairs: (N,3,3) float64 homographies with dst ~ H src.

    Solves min ||A h|| subject to ||h|| = 1 for every pair at once, A being the 2M x 9 matrix of
    the weighted, Hartley-normalised correspondences: h is A's right singular vector of the
    smallest singular value. ``method="normal"`` (default) gets it from the SVD of the 9x9
    normal matrices A^T A (whose singular vectors are A's right singular vectors, singular
    values squared), built from point moments without forming A; A^T A is symmetric positive
    semi-definite, so its SVD is computed as its eigendecomposition by one batched call of the
    symmetric solver (``np.linalg.eigh``, faster than the general SVD). ``method="design"``
    runs one batched SVD of A's 9x9 triangular factor (A = QR), slower, for reference.
    Hartley normalisation keeps A well conditioned, so both agree to ~1e-12 and are exact on
    noise-free correspondences (with exactly 4 points the normal matrices lose accuracy, ~1e-7,
    as A^T A squares the conditioning: use ``design`` there). Needs at least 4 correspondences with positive weight per pair, no 3 of them collinear; the result is
    scaled to ||H||_F = 1 (use :func:`normalize_top_left` for the paper's scale).
    """
    if method not in ("normal", "design"):
        raise ValueError(f"method must be normal or design, got {method!r}")
    src, dst, w = _as_batch(src, dst, weights, ones=False)
    n, m = src.shape[:2]
    Ts, Td = np.empty((n, 3, 3)), np.empty((n, 3, 3))
    M = np.empty((n, 9, 9))  # A^T A (normal) or R of A = QR (design)
    # the systems are assembled in blocks of pairs with small temporaries (see _BLOCK_ELEMENTS)
    block = max(1, _BLOCK_ELEMENTS // max(m, 1))
    for a in range(0, n, block):
        b = min(a + block, n)
        # x, y, u, v as one (4, pairs, points) array (numpy is slow on trailing axes of size 2)
        P = np.empty((4, b - a, m))
        P[0:2] = src[a:b].transpose(2, 0, 1)
        P[2:4] = dst[a:b].transpose(2, 0, 1)
        wb = np.ones((b - a, m)) if w is None else np.clip(w[a:b], 0.0, None)
        # Hartley normalisation: weighted centroid to 0, mean distance to sqrt(2)
        wsum = np.maximum(wb.sum(1), 1e-300)
        c = (P * wb).sum(2) / wsum  # (4, pairs)
        P -= c[..., None]
        sq = P * P
        mean_dist = (np.sqrt(sq[0::2] + sq[1::2]) * wb).sum(2) / wsum  # (2, pairs): src, dst
        scale = np.where(mean_dist > 1e-12, np.sqrt(2.0) / np.maximum(mean_dist, 1e-300), 1.0)
        P *= np.repeat(scale, 2, axis=0)[..., None]
        Ts[a:b] = _similarity(c[0], c[1], scale[0])
        Td[a:b] = _similarity(c[2], c[3], scale[1])
        px, py, qx, qy = P
        if method == "normal":
            M[a:b] = _normal_xy(px, py, qx, qy, wb)
        else:
            A = design_matrices(np.stack([px, py], -1), np.stack([qx, qy], -1), wb)
            if A.shape[1] < 9:
                A = np.concatenate([A, np.zeros((b - a, 9 - A.shape[1], 9))], 1)
            M[a:b] = np.linalg.qr(A, mode="r")  # same right singular vectors as A
    if method == "normal":
        # A^T A is symmetric positive semi-definite: its SVD is its eigendecomposition, which
        # the symmetric solver computes faster (eigenvalues ascending: column 0 is the smallest)
        _, vecs = np.linalg.eigh(M)
        h = vecs[:, :, 0]
    else:
        _, _, vh = np.linalg.svd(M)
        h = vh[:, -1]
    Hn = h.reshape(n, 3, 3)
    # de-normalise: H = Td^-1 Hn Ts (Td^-1 of a similarity in closed form)
    sd = Td[:, 0, 0]
    Td_inv = np.zeros_like(Td)
    Td_inv[:, 0, 0] = Td_inv[:, 1, 1] = 1.0 / sd
    Td_inv[:, :2, 2] = -Td[:, :2, 2] / sd[:, None]
    Td_inv[:, 2, 2] = 1.0
    H = Td_inv @ Hn @ Ts
    return H / np.sqrt((H ** 2).sum((1, 2)))[:, None, None]


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-row median of ``values`` over ``mask`` (N,M); 0 for rows without any point."""
    v = np.where(mask, values, np.inf)
    v.sort(axis=1)
    count = mask.sum(1)
    lo = np.clip((count - 1) // 2, 0, None)
    hi = np.clip(count // 2, 0, None)
    rows = np.arange(len(v))
    med = 0.5 * (v[rows, np.minimum(lo, v.shape[1] - 1)] + v[rows, np.minimum(hi, v.shape[1] - 1)])
    return np.where(count > 0, med, 0.0)


def irls_homographies(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                      iterations: int = 5, min_scale: float = 0.1,
                      tuning: float = 4.685) -> tuple[np.ndarray, np.ndarray]:
    """Iteratively reweighted normalised DLT with Tukey's biweight on the transfer error.

    Each iteration solves the weighted DLT of all pairs, measures the transfer error r of every
    point, estimates the scale sigma = 1.4826 median(r) (at least ``min_scale``, in the points'
    units) and sets weights (1 - (r / (tuning sigma))^2)^2 for r < tuning sigma, else 0. Returns
    the homographies (N,3,3) and the final robust weights (N,M) in [0, 1] (0 = rejected).
    """
    src, dst, w0 = _as_batch(src, dst, weights)
    valid = w0 > 0
    w = w0.copy()
    H = dlt_homographies(src, dst, w)
    robust = valid.astype(np.float64)
    for _ in range(iterations):
        r = transfer_error(H, src, dst)
        sigma = np.maximum(1.4826 * _masked_median(r, valid), min_scale)
        c = tuning * sigma[:, None]
        robust = np.where(valid & (r < c), (1.0 - (np.minimum(r, c) / c) ** 2) ** 2, 0.0)
        # keep a pair solvable: a fit that rejects all but < 4 points keeps its previous weights
        ok = (robust > 0).sum(1) >= 4
        w = np.where(ok[:, None], w0 * robust, w)
        H = dlt_homographies(src, dst, w)
    return H, np.where(w0 > 0, w / np.where(w0 > 0, w0, 1.0), 0.0)


def ransac_homographies(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                        iterations: int = 100, threshold: float = 1.0,
                        rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RANSAC for a batch of pairs: ``iterations`` random 4-point hypotheses per pair (all of
    them solved in one batched DLT), the hypothesis with the most points whose transfer error is
    below ``threshold`` wins, and the DLT is refitted on its inliers. Pairs are processed a few at
    a time so that the N x iterations x M transfer errors stay within about 50 MB. Returns (N,3,3) homographies
    and (N,M) inlier masks as float (1 = inlier)."""
    src, dst, w = _as_batch(src, dst, weights)
    rng = np.random.default_rng(0) if rng is None else rng
    n, m = src.shape[:2]
    valid = w > 0
    n_valid = valid.sum(1)
    # valid point indices first (stable), so that a uniform index below n_valid picks a valid one
    order = np.argsort(~valid, axis=1, kind="stable")
    chunk = max(1, 2_000_000 // max(iterations * m, 1))
    H_all = np.empty((n, 3, 3))
    inl_all = np.zeros((n, m))
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        k = b - a
        u = rng.random((k, iterations, 4))
        pick = np.minimum((u * n_valid[a:b, None, None]).astype(np.int64),
                          np.maximum(n_valid[a:b, None, None] - 1, 0))
        idx = np.take_along_axis(order[a:b, None, :], pick, axis=2)  # (k, R, 4)
        rows = np.arange(a, b)[:, None, None]
        s4 = src[rows, idx].reshape(k * iterations, 4, 2)
        d4 = dst[rows, idx].reshape(k * iterations, 4, 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            hyp = dlt_homographies(s4, d4).reshape(k, iterations, 3, 3)
            # transfer errors of every point under every hypothesis: (k, R, M)
            err = _dist(transfer(hyp, src[a:b, None]), dst[a:b, None])
        inl = (err < threshold) & valid[a:b, None]  # NaN errors compare False
        best = inl.sum(2).argmax(1)
        best_inl = inl[np.arange(k), best]
        # too few inliers to refit: fall back to all valid points
        enough = best_inl.sum(1) >= 4
        fit_w = np.where(enough[:, None], best_inl, valid[a:b]) * w[a:b]
        H_all[a:b] = dlt_homographies(src[a:b], dst[a:b], fit_w)
        inl_all[a:b] = np.where(enough[:, None], best_inl, valid[a:b])
    return H_all, inl_all


def refine_homographies(H: np.ndarray, src: np.ndarray, dst: np.ndarray,
                        weights: np.ndarray | None = None, iterations: int = 10,
                        damping: float = 1e-3) -> np.ndarray:
    """Levenberg-Marquardt on the weighted transfer error sum_m w ||dst - pi(H src)||^2 for every
    pair (vectorised over blocks of pairs), with the gauge H[2,2] = 1 (8 parameters, as
    cv2.findHomography). A step is kept only where it lowers that pair's cost, else the pair's
    damping grows tenfold. Returns (N,3,3) homographies scaled to ||H||_F = 1."""
    src, dst, w = _as_batch(src, dst, weights)
    H = np.asarray(H, np.float64)
    n, m = src.shape[:2]
    out = np.empty((n, 3, 3))
    block = max(1, _LM_BLOCK_ELEMENTS // max(m, 1))
    for a in range(0, n, block):
        b = min(a + block, n)
        x, y, u, v = (np.ascontiguousarray(arr[a:b, :, k]) for arr in (src, dst) for k in (0, 1))
        out[a:b] = _lm_block(H[a:b], x, y, u, v, np.sqrt(np.clip(w[a:b], 0.0, None)),
                             iterations, damping)
    return out / np.sqrt((out ** 2).sum((1, 2)))[:, None, None]


def _lm_block(H: np.ndarray, x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray,
              sw: np.ndarray, iterations: int, damping: float) -> np.ndarray:
    k, m = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (H / H[:, 2:3, 2:3]).reshape(k, 9)[:, :8].copy()
    lam = np.full(k, damping)

    def evaluate(hh: np.ndarray):
        c = hh[:, :, None]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            den = c[:, 6] * x + c[:, 7] * y + 1.0
            pu = (c[:, 0] * x + c[:, 1] * y + c[:, 2]) / den
            pv = (c[:, 3] * x + c[:, 4] * y + c[:, 5]) / den
            ru, rv = (pu - u) * sw, (pv - v) * sw
            cost = (ru * ru + rv * rv).sum(1)
        return np.where(np.isfinite(cost), cost, np.inf), ru, rv, pu, pv, den

    cost, ru, rv, pu, pv, den = evaluate(h)
    ok = np.isfinite(cost)
    for _ in range(iterations):
        g = sw / den
        Ju = np.zeros((k, 8, m))  # d(ru)/dh, d(rv)/dh
        Jv = np.zeros((k, 8, m))
        Ju[:, 0], Ju[:, 1], Ju[:, 2] = x * g, y * g, g
        Jv[:, 3], Jv[:, 4], Jv[:, 5] = x * g, y * g, g
        Ju[:, 6], Ju[:, 7] = -pu * x * g, -pu * y * g
        Jv[:, 6], Jv[:, 7] = -pv * x * g, -pv * y * g
        JtJ = Ju @ Ju.transpose(0, 2, 1) + Jv @ Jv.transpose(0, 2, 1)
        Jtr = (Ju @ ru[..., None] + Jv @ rv[..., None])[..., 0]
        diag = np.diagonal(JtJ, axis1=1, axis2=2)
        lhs = JtJ + (lam[:, None] * np.maximum(diag, 1e-12))[:, :, None] * np.eye(8)
        lhs = np.where(ok[:, None, None], lhs, np.eye(8))  # pairs without a finite cost stay put
        step = np.linalg.solve(lhs, -np.where(ok[:, None], Jtr, 0.0)[..., None])[..., 0]
        new = evaluate(h + step)
        better = new[0] < cost
        h = np.where(better[:, None], h + step, h)
        cost, ru, rv, pu, pv, den = (np.where(better if a.ndim == 1 else better[:, None], b, a)
                                     for a, b in zip((cost, ru, rv, pu, pv, den), new))
        lam = np.where(better, lam * 0.1, lam * 10.0)
    return np.concatenate([h, np.ones((k, 1))], 1).reshape(k, 3, 3)


def normalize_top_left(H: np.ndarray, eps: float = TOP_LEFT_EPS) -> tuple[np.ndarray, np.ndarray]:
    """Scale (N,3,3) homographies so that the top-left element is 1 (the paper's normalisation).

    Guard: where |H[0,0]| < ``eps`` ||H||_F, dividing by it would blow the other entries up, so
    such a homography is divided by H[2,2] instead (or by ||H||_F with the sign of H[2,2] when
    that is near zero too). A homography is defined up to scale, so every choice maps points the
    same way. Returns the scaled homographies and a (N,) bool mask of the guarded ones.
    """
    H = np.asarray(H, np.float64)
    norm = np.linalg.norm(H, axis=(1, 2))
    a, c = H[:, 0, 0], H[:, 2, 2]
    guarded = np.abs(a) < eps * norm
    alt = np.where(np.abs(c) >= eps * norm, c, np.where(c < 0, -norm, norm))
    scale = np.where(guarded, alt, a)
    scale = np.where(scale == 0, 1.0, scale)  # an all-zero matrix stays zero
    return H / scale[:, None, None], guarded


@dataclass(frozen=True)
class SolverSettings:
    """How homographies are fitted to flow correspondences (config ``dynamics.solver``)."""

    robust: str = "none"          # none | irls | ransac
    irls_iterations: int = 5
    ransac_iterations: int = 100
    ransac_threshold: float = 1.0  # pixels of the image the flow runs on
    refine_iterations: int = 0     # Levenberg-Marquardt steps on the transfer error after the DLT
    min_points: int = 16           # fewer usable correspondences: identity, support 0
    top_left_eps: float = TOP_LEFT_EPS

    def __post_init__(self) -> None:
        if self.robust not in ("none", "irls", "ransac"):
            raise ValueError(f"robust must be none, irls or ransac, got {self.robust!r}")
        if self.min_points < 4:
            raise ValueError(f"min_points must be >= 4, got {self.min_points}")
        for key in ("irls_iterations", "ransac_iterations", "refine_iterations"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key} must be >= 0")
        if self.ransac_threshold <= 0 or self.top_left_eps <= 0:
            raise ValueError("ransac_threshold and top_left_eps must be positive")


def solve_homographies(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                       settings: SolverSettings = SolverSettings(),
                       rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit one homography per pair with the configured method (batched).

    Returns (N,3,3) homographies with ||H||_F = 1 (identity for pairs with fewer than
    ``settings.min_points`` usable correspondences) and the (N,) *support*: the fraction of the
    M correspondences that were usable and kept by the robust fit (0 for identity fall-backs).
    """
    src, dst, w = _as_batch(src, dst, weights)
    n, m = src.shape[:2]
    finite = np.isfinite(src) & np.isfinite(dst)
    w = np.where(finite[..., 0] & finite[..., 1], w, 0.0)
    src = np.nan_to_num(src)
    dst = np.nan_to_num(dst)
    usable = (w > 0).sum(1) >= settings.min_points
    H = np.tile(np.eye(3) / np.sqrt(3.0), (n, 1, 1))
    support = np.zeros(n)
    if not usable.any():
        return H, support
    s, d, ww = src[usable], dst[usable], w[usable]
    if settings.robust == "irls":
        Hu, keep = irls_homographies(s, d, ww, iterations=settings.irls_iterations)
        fit_w = ww * keep
    elif settings.robust == "ransac":
        Hu, keep = ransac_homographies(s, d, ww, iterations=settings.ransac_iterations,
                                       threshold=settings.ransac_threshold, rng=rng)
        fit_w = ww * keep
    else:
        Hu = dlt_homographies(s, d, ww)
        keep = (ww > 0).astype(np.float64)
        fit_w = ww
    if settings.refine_iterations > 0:
        Hu = refine_homographies(Hu, s, d, fit_w, iterations=settings.refine_iterations)
    bad = ~np.isfinite(Hu).all((1, 2))
    Hu[bad] = np.eye(3) / np.sqrt(3.0)
    H[usable] = Hu
    support[usable] = np.where(bad, 0.0, (keep > 0.5).sum(1) / m)
    return H, support
