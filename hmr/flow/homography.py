"""Homographies from point correspondences, batched across frame pairs (pure numpy functions).

Every function takes a *batch* of N problems at once: ``src``, ``dst`` are (N,M,2) arrays of M
correspondences per pair (``dst ~ H src`` in homogeneous coordinates) and ``weights`` (N,M) >= 0
switch points off (0) or down-weight them. Nothing loops over single pairs in Python: the
linear systems are assembled with array operations over blocks of pairs (sized to keep numpy's
temporaries small) and the systems of all pairs are solved by one batched decomposition.

* :func:`dlt_homographies` - the normalised direct linear transform (Hartley & Zisserman,
  Alg. 4.2): each pair's points are translated to their centroid and scaled to a mean distance
  of sqrt(2) (Hartley normalisation), and h = the right singular vector of the smallest singular
  value of the 2M x 9 system A h = 0 is taken as the smallest eigenvector of the 9x9 normal
  matrix A^T A, which is built from point moments (one batched matrix product) and solved for
  all pairs by batched Newton steps on its secular equation (``np.linalg.eigh`` where those do
  not converge); the result is de-normalised.
* :func:`irls_homographies` - iteratively reweighted DLT with Tukey's biweight on the transfer
  error (scale from the median absolute residual): resists a minority of outlier flow vectors.
* :func:`ransac_homographies` - RANSAC with all pairs' minimal 4-point hypotheses solved in one
  batched SVD, then a DLT refit on the best hypothesis's inliers.
* :func:`refine_homographies` - optional damped Newton steps (Levenberg-Marquardt on the exact
  Hessian) on the transfer (reprojection) error, the cost ``cv2.findHomography`` minimises after
  its own DLT.
* :func:`normalize_top_left` - divide by the top-left element as the paper says, with a guard
  against a near-zero top-left element.
"""

from __future__ import annotations

import threading
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


def _similarity(cx: np.ndarray, cy: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(N,3,3) matrices of x -> s (x - c)."""
    T = np.zeros((len(s), 3, 3))
    T[:, 0, 0] = T[:, 1, 1] = s
    T[:, 0, 2] = -s * cx
    T[:, 1, 2] = -s * cy
    T[:, 2, 2] = 1.0
    return T


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


# elements per (pairs x points) work array when assembling the DLT systems: the work arrays are
# allocated once per call and reused block after block (256 KB each, cache-sized; re-allocating
# large temporaries every block costs page faults that outweigh the arithmetic)
_BLOCK_ELEMENTS = 32768
_LM_BLOCK_ELEMENTS = 131072  # pairs x points per block of the damped Newton refinement


# p p^T of p = (x, y, 1) from the monomials (x^2, xy, x, y^2, y, 1)
_PP_INDEX = np.array([[0, 1, 2], [1, 3, 4], [2, 4, 5]])


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


def normal_matrices(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,9,9) normal matrices A^T A of the weighted DLT systems, without forming A.

    Each correspondence p = (x, y, 1) -> (u, v) adds the rows [-p, 0, u p] and [0, -p, v p] to
    A (the first two components of q x H p = 0), so with S_f = sum_m w f p p^T:
    A^T A = [[S_1, 0, -S_u], [0, S_1, -S_v], [-S_u, -S_v, S_{u^2+v^2}]] (3x3 blocks). The
    sums come from one batched matrix product of the monomials with the weights.
    """
    src, dst, w = _as_batch(src, dst, weights)
    x, y, u, v = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    mono = np.stack([x * x, x * y, x, y * y, y, np.ones_like(x)])
    wk = np.stack([w, w * u, w * v, w * (u * u + v * v)])
    return _normal_from_moments(_planar_moments(mono, wk))


def design_matrices(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(N,2M,9) weighted DLT design matrices A (rows [-p, 0, u p] and [0, -p, v p])."""
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    rx = np.stack([-x, -y, -one, zero, zero, zero, u * x, u * y, u], -1)
    ry = np.stack([zero, zero, zero, -x, -y, -one, v * x, v * y, v], -1)
    sw = np.sqrt(np.clip(weights, 0.0, None))[..., None]
    return np.concatenate([rx * sw, ry * sw], axis=1)


def _planar_moments(mono: np.ndarray, wk: np.ndarray) -> np.ndarray:
    """(K, I, J) moments sum_m mono[i] wk[j] of planar (I,K,M) monomials and (J,K,M) weights."""
    return np.matmul(mono.transpose(1, 0, 2), wk.transpose(1, 2, 0))


def _normal_from_moments(mom: np.ndarray) -> np.ndarray:
    """(K,9,9) normal matrices from the (K,6,4) moments of the monomials of p p^T (x^2, xy, x,
    y^2, y, 1) with the weights (w, w u, w v, w (u^2 + v^2))."""
    k = len(mom)
    S = np.zeros((k, 25))
    S[:, :24] = mom.reshape(k, 24)
    return (S[:, _NORMAL_IDX] * _NORMAL_SIGN).reshape(k, 9, 9)


def _centre(pts: np.ndarray, w: np.ndarray | None, wsum: np.ndarray, out_x: np.ndarray,
            out_y: np.ndarray, tmp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Write the (K,M,2) points centred on their weighted centroid into the contiguous (K,M)
    arrays out_x, out_y; return the centroids (K,2) and the Hartley scales (K,) that bring the
    weighted mean distance from the centroid to sqrt(2) (1 for coincident points)."""
    np.copyto(out_x, pts[..., 0])
    np.copyto(out_y, pts[..., 1])
    if w is None:
        c = np.stack([out_x.sum(1), out_y.sum(1)], 1) / wsum[:, None]
    else:
        c = np.stack([np.einsum("km,km->k", out_x, w), np.einsum("km,km->k", out_y, w)], 1) / wsum[:, None]
    out_x -= c[:, 0:1]
    out_y -= c[:, 1:2]
    np.multiply(out_x, out_x, out=tmp)
    tmp += out_y * out_y
    np.sqrt(tmp, out=tmp)
    d = (tmp.sum(1) if w is None else np.einsum("km,km->k", tmp, w)) / wsum
    return c, np.where(d > 1e-12, np.sqrt(2.0) / np.maximum(d, 1e-300), 1.0)


class _BlockWork:
    """Work arrays for blocks of ``block`` pairs of ``m`` points, kept per thread and class and
    reused by the next call where they fit (fresh arrays cost page faults on first touch, a large
    share of small batches)."""

    _cache = threading.local()

    def __init__(self, block: int, m: int):
        self.shape = (block, m)

    @classmethod
    def get(cls, block: int, m: int) -> "_BlockWork":
        works = cls._cache.__dict__.setdefault("works", {})
        work = works.get(cls)
        if work is None or work.shape != (block, m):
            work = works[cls] = cls(block, m)
        return work


def _square_monomials(mono: np.ndarray) -> None:
    """Fill x^2, xy, y^2 (rows 0, 1, 3) of planar monomials from x, y (rows 2, 4), in place."""
    np.multiply(mono[2], mono[2], out=mono[0])
    np.multiply(mono[2], mono[4], out=mono[1])
    np.multiply(mono[4], mono[4], out=mono[3])


class _Hartley(_BlockWork):
    """Hartley-normalised, weighted correspondences of a block of pairs in reusable work arrays.

    ``fill`` centres each pair's source and destination points on their weighted centroids
    (``c``: (K,4) = cx, cy, cu, cv) and measures the scales (``s``: (K,2), source and
    destination) that bring their weighted mean distance from it to sqrt(2). The centred points
    are left *unscaled* in the planar (6,K,M) monomials ``mono`` (x^2, xy, x, y^2, y, 1 of the
    source) and (4,K,M) weights ``wk`` (w, w u, w v, w (u^2 + v^2) of the destination); the
    scales act on the normal matrix afterwards as the diagonal congruence D A^T A D (see
    :func:`_column_scales`), 81 products per pair instead of four passes over the points.
    Planar layouts keep every elementwise operation on one contiguous array (numpy is several
    times slower on row slices of interleaved arrays).
    """

    def __init__(self, block: int, m: int):
        super().__init__(block, m)
        self.mono = np.empty((6, block, m))
        self.mono[5] = 1.0
        self.wk = np.empty((4, block, m))
        self.tmp = np.empty((block, m))

    def fill(self, src: np.ndarray, dst: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, ...]:
        k = len(src)
        mono, wk, tmp = self.mono[:, :k], self.wk[:, :k], self.tmp[:k]
        wsum = np.full(k, float(src.shape[1])) if w is None else np.maximum(w.sum(1), 1e-300)
        cs, ss = _centre(src, w, wsum, mono[2], mono[4], tmp)
        cd, sd = _centre(dst, w, wsum, wk[1], wk[2], tmp)
        _square_monomials(mono)
        np.multiply(wk[1], wk[1], out=wk[3])
        wk[3] += wk[2] * wk[2]
        if w is None:
            wk[0] = 1.0
        else:
            wk[0] = w
            wk[1:] *= w
        return mono, wk, np.concatenate([cs, cd], 1), np.stack([ss, sd], 1)


def _column_scales(s: np.ndarray) -> np.ndarray:
    """(K,9) factors D by which scaling the source points by s[:,0] and the destination points by
    s[:,1] multiplies the DLT's columns: rows [-p, 0, u p] become [-p, 0, u p] D."""
    a, b = s[:, 0], s[:, 1]
    one = np.ones_like(a)
    return np.stack([a, a, one, a, a, one, a * b, a * b, b], 1)


def _positive_definite(A: np.ndarray) -> np.ndarray:
    """(N,) whether each of the (N,k,k) symmetric matrices is positive definite (has a Cholesky
    factor): one batched factorisation, matrix by matrix only when the batch holds a failure."""
    try:
        np.linalg.cholesky(A)
        return np.ones(len(A), bool)
    except np.linalg.LinAlgError:
        ok = np.ones(len(A), bool)
        for i, a in enumerate(A):
            try:
                np.linalg.cholesky(a)
            except np.linalg.LinAlgError:
                ok[i] = False
        return ok


def _null_vectors(M: np.ndarray, max_iterations: int = 8, tol: float = 1e-13) -> np.ndarray:
    """(N,9) unit eigenvectors of the smallest eigenvalue of (N,9,9) symmetric PSD matrices.

    Writing M = [[B, b], [b^T, c]] and the eigenvector as (y, 1) (up to scale), M h = lam h reads
    (B - lam I) y = -b and c + b^T y = lam: the smallest eigenvalue is the smallest root of the
    secular function f(lam) = c - lam - b^T (B - lam I)^-1 b, found by Newton's method from
    lam = 0 (f' = -1 - |y|^2; quadratic convergence; one batched Cholesky solve of the 8x8
    systems per step). It converges in 1-3 steps where the fit is good (lam much below B's
    smallest eigenvalue), and gives the vector a symmetric eigensolver gives, at a fraction of its
    cost. Pairs where it does not converge within ``max_iterations``, where B - lam I is not
    positive definite, or where the vector's last component is too small for the gauge y_9 = 1
    are handed to ``np.linalg.eigh``. NumPy only: a dynamics job does not load torch.
    """
    n = len(M)
    B, b, c = M[:, :8, :8], np.ascontiguousarray(M[:, :8, 8]), M[:, 8, 8]
    tol_abs = tol * np.trace(M, axis1=1, axis2=2)  # the trace: the scale of the eigenvalues
    y = np.empty((n, 8))
    lam = np.zeros(n)
    ok = np.zeros(n, bool)
    todo = slice(None)  # then the indices of the pairs not yet converged
    for it in range(max_iterations + 1):
        Bt, bt = (B, b) if it == 0 else (B[todo], b[todo])
        lt = lam[todo]
        A = Bt if it == 0 else Bt - lt[:, None, None] * np.eye(8)
        pd = _positive_definite(A)                    # B - lam I positive definite
        A = np.where(pd[:, None, None], A, np.eye(8))  # (the others' solutions are not used)
        yt = -np.linalg.solve(A, bt[..., None])[..., 0]
        with np.errstate(invalid="ignore", over="ignore"):
            f = c[todo] - lt + np.einsum("kj,kj->k", bt, yt)  # the secular function at lam
            step = f / (1.0 + np.einsum("kj,kj->k", yt, yt))  # Newton: -f / f'
        conv = pd & (np.abs(step) <= tol_abs[todo])
        y[todo] = yt
        ok[todo] = conv
        lam[todo] = lt + step
        more = pd & ~conv & np.isfinite(step)
        if not more.any():
            break
        todo = np.flatnonzero(more) if it == 0 else todo[more]
    h = np.empty((n, 9))
    h[:, :8] = y
    h[:, 8] = 1.0
    with np.errstate(invalid="ignore", over="ignore"):
        h /= np.sqrt(np.einsum("kj,kj->k", h, h))[:, None]
    fallback = ~ok | ~np.isfinite(h).all(1) | (np.abs(h[:, 8]) < 1e-3)
    if fallback.any():
        h[fallback] = np.linalg.eigh(M[fallback])[1][:, :, 0]
    return h


def dlt_homographies(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None,
                     method: str = "normal") -> np.ndarray:
    """Normalised DLT for a batch of pairs: (N,3,3) float64 homographies with dst ~ H src.

    Solves min ||A h|| subject to ||h|| = 1 for every pair at once, A being the 2M x 9 matrix of
    the weighted, Hartley-normalised correspondences: h is A's right singular vector of the
    smallest singular value. ``method="normal"`` (default) takes it as the eigenvector of the
    smallest eigenvalue of the 9x9 normal matrix A^T A (A's right singular vectors are A^T A's
    eigenvectors, its singular values squared), built from point moments without forming A and
    solved for all pairs by batched Newton steps on the secular equation (:func:`_null_vectors`,
    with ``np.linalg.eigh`` for the pairs where that does not converge). ``method="design"``
    runs one batched SVD of A's 9x9 triangular factor (A = QR), slower, for reference.
    Hartley normalisation keeps A well conditioned, so both agree to ~1e-10 and are exact on
    noise-free correspondences (with exactly 4 points the normal matrices lose accuracy, ~1e-7,
    as A^T A squares the conditioning: use ``design`` there). Needs at least 4 correspondences
    with positive weight per pair, no 3 of them collinear; the result is scaled to
    ||H||_F = 1 (use :func:`normalize_top_left` for the paper's scale).
    """
    if method not in ("normal", "design"):
        raise ValueError(f"method must be normal or design, got {method!r}")
    src, dst, w = _as_batch(src, dst, weights, ones=False)
    if w is not None:
        w = np.clip(w, 0.0, None)
    n, m = src.shape[:2]
    M = np.empty((n, 9, 9))  # A^T A (normal) or R of A = QR (design)
    C, S = np.empty((n, 4)), np.empty((n, 2))  # centroids and scales of the normalisation
    block = max(1, min(n, _BLOCK_ELEMENTS // max(m, 1)))
    work = _Hartley.get(block, m)
    for a in range(0, n, block):
        b = min(a + block, n)
        wb = None if w is None else w[a:b]
        mono, wk, C[a:b], S[a:b] = work.fill(src[a:b], dst[a:b], wb)
        if method == "normal":
            M[a:b] = _normal_from_moments(_planar_moments(mono, wk))  # centred, not yet scaled
        else:
            p = (src[a:b] - C[a:b, None, :2]) * S[a:b, None, 0:1]
            q = (dst[a:b] - C[a:b, None, 2:]) * S[a:b, None, 1:2]
            A = design_matrices(p, q, np.ones((b - a, m)) if wb is None else wb)
            if A.shape[1] < 9:
                A = np.concatenate([A, np.zeros((b - a, 9 - A.shape[1], 9))], 1)
            M[a:b] = np.linalg.qr(A, mode="r")  # same right singular vectors as A
    if method == "normal":
        D = _column_scales(S)
        M *= D[:, :, None] * D[:, None, :]  # the Hartley scales: (A D)^T (A D)
        h = _null_vectors(M)
    else:
        h = np.linalg.svd(M)[2][:, -1]
    H = _denormalize(h.reshape(n, 3, 3), C, S)
    return H / np.sqrt((H ** 2).sum((1, 2)))[:, None, None]


def _denormalize(Hn: np.ndarray, C: np.ndarray, S: np.ndarray) -> np.ndarray:
    """H = Td^-1 Hn Ts for the Hartley similarities Ts (centroid C[:,:2], scale S[:,0]) and Td
    (C[:,2:], S[:,1]), Td^-1 in closed form."""
    Ts = _similarity(C[:, 0], C[:, 1], S[:, 0])
    Td_inv = _similarity(-C[:, 2] * S[:, 1], -C[:, 3] * S[:, 1], 1.0 / S[:, 1])
    return Td_inv @ Hn @ Ts


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
                        damping: float = 1e-6) -> np.ndarray:
    """Minimise the weighted transfer error sum_m w ||dst - pi(H src)||^2 from ``H`` for every
    pair (vectorised over blocks of pairs): the cost ``cv2.findHomography`` minimises after its
    DLT. Each pair is refined in its Hartley-normalised coordinates (there the cost is the same up
    to the factor s_dst^2, so the minimiser is the same, and the linear systems are well
    conditioned) with the gauge Hn[2,2] = 1 (8 parameters), by damped Newton steps
    (Levenberg-Marquardt on the exact Hessian, which converges quadratically where Gauss-Newton
    converges only linearly on noisy correspondences; Gauss-Newton's J^T J where the damped
    Hessian is not positive definite). A step is kept only where it lowers that pair's cost, else
    the pair's damping grows tenfold; it stops early once no pair's step changes it. Pairs whose
    Hn[2,2] is near zero are returned unrefined. Returns (N,3,3) homographies with ||H||_F = 1."""
    src, dst, w = _as_batch(src, dst, weights)
    w = np.clip(w, 0.0, None)
    H = np.asarray(H, np.float64)
    n, m = src.shape[:2]
    out = np.empty((n, 3, 3))
    block = max(1, min(n, _LM_BLOCK_ELEMENTS // max(m, 1)))
    work = _Refiner.get(block, m)
    for a in range(0, n, block):
        b = min(a + block, n)
        out[a:b] = work.refine(H[a:b], src[a:b], dst[a:b], w[a:b], iterations, damping)
    return out / np.sqrt((out ** 2).sum((1, 2)))[:, None, None]


class _Refiner(_BlockWork):
    """Work arrays and the damped Newton iteration of :func:`refine_homographies` for one block.

    With p = (x, y, 1), q = (x, y), den = h_7 x + h_8 y + 1 and the transfer pu = (h_1 x + h_2 y +
    h_3) / den (pv likewise), the residuals ru = pu - u, rv = pv - v have the gradients
    [p, 0, -pu q] / den and [0, p, -pv q] / den, so (sums over the points, weights w):
    J^T J is the DLT normal matrix of (x, y) -> (pu, pv) with weights w / den^2; J^T r =
    sum (w / den) [ru p, rv p, -(ru pu + rv pv) q]; and the second-order part of the Hessian,
    sum w (ru d2pu + rv d2pv), has the blocks -sum (w ru / den^2) p q^T (rows 1-3, columns 7-8),
    -sum (w rv / den^2) p q^T (rows 4-6) and 2 sum (w (ru pu + rv pv) / den^2) q q^T (7-8, 7-8).
    All are moments of p p^T with ten weights per point: one batched matrix product per step.
    Arrays are planar (rows, K, M), as in :class:`_Hartley`, held as float64 torch tensors (torch's
    broadcasting elementwise kernels are 2-3x faster than numpy's on these shapes); the small
    per-pair algebra stays in numpy on views of the same memory.
    """

    def __init__(self, block: int, m: int):
        import torch

        super().__init__(block, m)
        new = lambda *shape: torch.empty(shape, dtype=torch.float64)
        self.mono = new(6, block, m)  # x^2, xy, x, y^2, y, 1 of the normalised source
        self.mono[5] = 1.0
        self.uv = new(2, block, m)  # the normalised destination
        self.W = new(10, block, m)  # the moment weights
        self.t = new(block, m)
        self.t2 = new(2, block, m)
        # the current and the trial state: (pu den, pv den, den) -> (pu, pv, den); (ru, rv); cost
        self.states = [[new(3, block, m), new(2, block, m), new(block)] for _ in range(2)]

    def _normalise(self, src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
        """Hartley-normalise the block into the work arrays; returns centroids C and scales S."""
        k = len(src)
        mono, uv, t = self.mono.numpy()[:, :k], self.uv.numpy()[:, :k], self.t.numpy()[:k]
        wsum = np.maximum(w.sum(1), 1e-300)
        cs, ss = _centre(src, w, wsum, mono[2], mono[4], t)
        cd, sd = _centre(dst, w, wsum, uv[0], uv[1], t)
        mono[2] *= ss[:, None]
        mono[4] *= ss[:, None]
        uv *= sd[:, None]
        _square_monomials(mono)
        return np.concatenate([cs, cd], 1), np.stack([ss, sd], 1)

    def _evaluate(self, h: np.ndarray, state: list, w) -> None:
        """Transfer, residuals and cost of the (K,8) parameters ``h`` into ``state``."""
        import torch

        k = len(h)
        proj, res, cost = state[0][:, :k], state[1][:, :k], state[2][:k]
        # [row of H, pair, coefficient of x, y, 1]
        hr = torch.from_numpy(np.concatenate([h, np.ones((k, 1))], 1).reshape(k, 3, 3).transpose(1, 0, 2).copy())
        torch.mul(hr[:, :, 0:1], self.mono[2, :k], out=proj)  # (pu den, pv den, den) = H p
        proj.addcmul_(hr[:, :, 1:2], self.mono[4, :k])
        proj.add_(hr[:, :, 2:3])
        proj[:2].div_(proj[2])
        torch.sub(proj[:2], self.uv[:, :k], out=res)
        t = self.t[:k]
        torch.mul(res[0], res[0], out=t)
        t.addcmul_(res[1], res[1]).mul_(w)
        torch.sum(t, 1, out=cost)
        cost.masked_fill_(~torch.isfinite(cost), np.inf)

    def _newton_systems(self, state: list, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K,8,8) Hessians, (K,8,8) J^T J and (K,8) gradients J^T r at the current state."""
        import torch

        k = len(w)
        proj, res = state[0][:, :k], state[1][:, :k]
        W, t = self.W[:, :k], self.t[:k]
        den, puv = proj[2], proj[:2]
        torch.div(w, den, out=t)                          # g = w / den
        torch.div(t, den, out=W[0])                       # w / den^2
        torch.mul(W[0], puv, out=W[1:3])                  # w pu / den^2, w pv / den^2
        torch.mul(W[1], puv[0], out=W[3])
        W[3].addcmul_(W[2], puv[1])                       # w (pu^2 + pv^2) / den^2
        torch.mul(W[0], res, out=W[4:6])                  # w ru / den^2, w rv / den^2
        torch.mul(t, res, out=W[7:9])                     # g ru, g rv
        torch.mul(W[7], puv[0], out=W[9])
        W[9].addcmul_(W[8], puv[1])                       # g (ru pu + rv pv)
        torch.div(W[9], den, out=W[6])                    # w (ru pu + rv pv) / den^2
        # (K, 6 monomials, 10 weights) moments
        mom = torch.bmm(self.mono[:, :k].permute(1, 0, 2), W.permute(1, 2, 0)).numpy()
        JtJ = _normal_from_moments(np.ascontiguousarray(mom[:, :, :4]))[:, :8, :8]
        pp = mom[:, _PP_INDEX]                            # (K,3,3,10): sum weight p p^T
        Hs = JtJ.copy()
        Hs[:, 0:3, 6:8] -= pp[:, :, :2, 4]
        Hs[:, 3:6, 6:8] -= pp[:, :, :2, 5]
        Hs[:, 6:8, 0:3] -= pp[:, :, :2, 4].transpose(0, 2, 1)
        Hs[:, 6:8, 3:6] -= pp[:, :, :2, 5].transpose(0, 2, 1)
        Hs[:, 6:8, 6:8] += 2.0 * pp[:, :2, :2, 6]
        pm = mom[:, [2, 4, 5]]                            # (K,3,10): sum weight p
        grad = np.concatenate([pm[:, :, 7], pm[:, :, 8], -pm[:, :2, 9]], 1)
        return Hs, JtJ, grad

    def refine(self, H: np.ndarray, src: np.ndarray, dst: np.ndarray, w: np.ndarray,
               iterations: int, damping: float) -> np.ndarray:
        import torch

        k = len(H)
        C, S = self._normalise(src, dst, w)
        wt = torch.from_numpy(np.ascontiguousarray(w))
        Td = _similarity(C[:, 2], C[:, 3], S[:, 1])
        Ts_inv = _similarity(-C[:, 0] * S[:, 0], -C[:, 1] * S[:, 0], 1.0 / S[:, 0])
        Hn = Td @ H @ Ts_inv  # into the normalised coordinates; back by _denormalize
        Hn /= np.linalg.norm(Hn, axis=(1, 2))[:, None, None]
        free = np.abs(Hn[:, 2, 2]) > 1e-3  # the gauge Hn[2,2] = 1 is safe
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            h = np.where(free[:, None], (Hn / np.where(free, Hn[:, 2, 2], 1.0)[:, None, None]).reshape(k, 9)[:, :8], 0.0)
            cur, trial = self.states
            self._evaluate(h, cur, wt)
            lam = np.full(k, damping)
            eye = np.eye(8)
            for _ in range(iterations):
                Hs, JtJ, grad = self._newton_systems(cur, wt)
                cost = cur[2][:k].numpy()
                ok = free & np.isfinite(cost) & np.isfinite(Hs).all((1, 2)) & np.isfinite(grad).all(1)
                D = (lam[:, None] * np.maximum(np.diagonal(JtJ, axis1=1, axis2=2), 1e-12))[:, :, None] * eye
                lhs = np.where(ok[:, None, None], Hs + D, eye)
                rhs = np.where(ok[:, None], -grad, 0.0)[..., None]
                L, info = torch.linalg.cholesky_ex(torch.from_numpy(lhs))
                step = torch.cholesky_solve(torch.from_numpy(rhs), L)[..., 0].numpy()
                indef = np.flatnonzero(info.numpy() != 0)
                if len(indef):  # the damped Hessian is not positive definite there: Gauss-Newton
                    L, info = torch.linalg.cholesky_ex(torch.from_numpy(JtJ[indef] + D[indef]))
                    step[indef] = torch.cholesky_solve(torch.from_numpy(rhs[indef]), L)[..., 0].numpy()
                    step[indef[info.numpy() != 0]] = 0.0
                if np.abs(step).max(initial=0.0) <= 1e-15 * max(np.abs(h).max(initial=0.0), 1.0):
                    break  # converged: no pair's step changes it
                self._evaluate(h + step, trial, wt)
                better = trial[2][:k].numpy() < cost
                h = np.where(better[:, None], h + step, h)
                if not better.all():  # the rejected pairs keep their current state
                    rej = torch.from_numpy(np.flatnonzero(~better))
                    for a, b in zip(trial[:2], cur[:2]):
                        a[:, rej] = b[:, rej]
                    trial[2][rej] = cur[2][rej]
                cur, trial = trial, cur
                lam = np.where(better, lam * 0.1, lam * 10.0)
        Hr = np.where(free[:, None, None], np.concatenate([h, np.ones((k, 1))], 1).reshape(k, 3, 3), Hn)
        return _denormalize(Hr, C, S)


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
    refine_iterations: int = 0     # damped Newton steps on the transfer error after the DLT
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
