"""Batched homography DLT, robust fits, Newton refinement and the top-left normalisation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hmr.flow.homography import (
    SolverSettings,
    _null_vectors,
    design_matrices,
    dlt_homographies,
    irls_homographies,
    normal_matrices,
    normalize_top_left,
    ransac_homographies,
    refine_homographies,
    solve_homographies,
    transfer,
    transfer_error,
)


def random_homographies(n: int, rng: np.random.Generator, perspective: float = 3e-4) -> np.ndarray:
    """Near-identity homographies of the kind successive video frames give (pixel units)."""
    H = np.tile(np.eye(3), (n, 1, 1))
    H[:, :2, :2] += rng.normal(0, 0.03, (n, 2, 2))
    H[:, :2, 2] = rng.normal(0, 5.0, (n, 2))
    H[:, 2, :2] = rng.normal(0, perspective, (n, 2))
    return H


def top_left(H: np.ndarray) -> np.ndarray:
    return normalize_top_left(H)[0]


@pytest.mark.parametrize("method", ["normal", "design"])
def test_dlt_is_exact_on_noise_free_correspondences(method):
    rng = np.random.default_rng(0)
    H = random_homographies(40, rng)
    src = rng.uniform(0, 127, (40, 60, 2))
    est = dlt_homographies(src, transfer(H, src), method=method)
    assert est.shape == (40, 3, 3)
    np.testing.assert_allclose(np.linalg.norm(est, axis=(1, 2)), 1.0, rtol=1e-12)
    assert np.abs(top_left(est) - top_left(H)).max() < 1e-9


def test_dlt_exact_with_four_points_and_with_weights():
    rng = np.random.default_rng(1)
    H = random_homographies(10, rng)
    src = rng.uniform(0, 127, (10, 4, 2))
    est = dlt_homographies(src, transfer(H, src), method="design")
    assert np.abs(top_left(est) - top_left(H)).max() < 1e-9
    # garbage correspondences with weight 0 do not change the answer
    src = rng.uniform(0, 127, (10, 30, 2))
    dst = transfer(H, src)
    dst[:, :10] = rng.uniform(0, 127, (10, 10, 2))
    w = np.ones((10, 30))
    w[:, :10] = 0.0
    assert np.abs(top_left(dlt_homographies(src, dst, w)) - top_left(H)).max() < 1e-9


def test_batched_equals_per_pair():
    rng = np.random.default_rng(2)
    H = random_homographies(25, rng)
    src = rng.uniform(0, 127, (25, 50, 2))
    dst = transfer(H, src) + rng.normal(0, 0.5, (25, 50, 2))  # noisy: a least-squares answer
    w = rng.uniform(0.2, 1.0, (25, 50))
    batched = dlt_homographies(src, dst, w)
    for i in range(25):
        one = dlt_homographies(src[i:i + 1], dst[i:i + 1], w[i:i + 1])
        np.testing.assert_allclose(top_left(one)[0], top_left(batched[i:i + 1])[0], rtol=0, atol=1e-11)
    # the two ways of taking the SVD give the same least-squares solution
    np.testing.assert_allclose(top_left(dlt_homographies(src, dst, w, method="design")),
                               top_left(batched), rtol=0, atol=1e-10)


def test_matches_cv2_find_homography():
    """Noise-free: OpenCV's DLT + LM and ours agree; noisy: ours + Newton steps match OpenCV's LM."""
    rng = np.random.default_rng(3)
    H = random_homographies(12, rng)
    f32 = lambda a: a.astype(np.float32).astype(np.float64)
    src = f32(rng.uniform(0, 127, (12, 80, 2)))
    dst = f32(transfer(H, src))
    ref = np.stack([cv2.findHomography(src[i], dst[i], method=0)[0] for i in range(12)])
    rel = lambda a, b: (np.linalg.norm(a / a[:, 2:, 2:] - b / b[:, 2:, 2:], axis=(1, 2))
                        / np.linalg.norm(b / b[:, 2:, 2:], axis=(1, 2))).max()
    assert rel(dlt_homographies(src, dst), ref) < 1e-6
    noisy = f32(dst + rng.normal(0, 0.7, dst.shape))
    ref = np.stack([cv2.findHomography(src[i], noisy[i], method=0)[0] for i in range(12)])
    dlt = dlt_homographies(src, noisy)
    assert rel(dlt, ref) > 1e-5  # the algebraic and the geometric optimum differ ...
    # ... damped Newton closes it, quadratically: two steps from the DLT suffice
    assert rel(refine_homographies(dlt, src, noisy, iterations=1), ref) > 1e-7
    assert rel(refine_homographies(dlt, src, noisy, iterations=2), ref) < 1e-6


def test_normal_matrices_are_the_design_matrices_gram():
    rng = np.random.default_rng(5)
    src = rng.uniform(-2, 2, (6, 30, 2))
    dst = rng.uniform(-2, 2, (6, 30, 2))
    w = rng.uniform(0, 1, (6, 30))
    A = design_matrices(src, dst, w)
    np.testing.assert_allclose(normal_matrices(src, dst, w), A.transpose(0, 2, 1) @ A, rtol=0, atol=1e-12)


def test_null_vectors_equal_the_symmetric_eigensolver():
    """Newton on the secular equation gives eigh's smallest eigenvector, and hands the cases it
    cannot take (a zero last component, a rank-deficient block) to eigh itself."""
    rng = np.random.default_rng(6)
    src = rng.uniform(-1.4, 1.4, (50, 40, 2))
    H = random_homographies(50, rng, perspective=0.05)
    H[:, :2, 2] /= 50.0
    dst = transfer(H, src) + rng.normal(0, 0.05, (50, 40, 2))
    M = normal_matrices(src, dst, np.ones((50, 40)))
    # a matrix whose null vector is e_9's complement (h_9 = 0) and an all-zero one
    Q = np.linalg.qr(rng.normal(size=(9, 9)))[0]
    Q[:, 0] = np.r_[rng.normal(size=8), 0.0]
    Q = np.linalg.qr(Q)[0]
    M = np.concatenate([M, (Q * np.r_[0.0, np.arange(1, 9)]) @ Q.T[None], np.zeros((1, 9, 9))])
    h = _null_vectors(M)
    lam, vec = np.linalg.eigh(M)
    ref = vec[:, :, 0]
    np.testing.assert_allclose(np.linalg.norm(h, axis=1), 1.0, rtol=1e-12)
    # same vector up to sign (the zero matrix: any unit vector is a null vector)
    assert np.abs(np.abs(np.einsum("kj,kj->k", h[:-1], ref[:-1])) - 1.0).max() < 1e-10
    resid = np.einsum("kij,kj->ki", M, h) - lam[:, :1] * h  # M h = lambda_min h
    assert np.abs(resid).max() <= 1e-10 * np.abs(M).max()


def test_refine_lowers_the_cost_and_ignores_zero_weights():
    rng = np.random.default_rng(7)
    H = random_homographies(10, rng)
    src = rng.uniform(0, 127, (10, 60, 2))
    dst = transfer(H, src) + rng.normal(0, 0.8, (10, 60, 2))
    cost = lambda G, s=src, d=dst: (transfer_error(G, s, d) ** 2).sum(1)
    prev = cost(dlt_homographies(src, dst))
    for it in (1, 2, 3, 6):
        now = cost(refine_homographies(dlt_homographies(src, dst), src, dst, iterations=it))
        assert (now <= prev * (1 + 1e-12)).all()
        prev = now
    # points of weight 0 (here: garbage) change nothing
    bad = dst.copy()
    bad[:, :15] = rng.uniform(0, 127, (10, 15, 2))
    w = np.ones((10, 60))
    w[:, :15] = 0.0
    a = refine_homographies(dlt_homographies(src, bad, w), src, bad, w, iterations=6)
    b = refine_homographies(dlt_homographies(src[:, 15:], dst[:, 15:]), src[:, 15:], dst[:, 15:], iterations=6)
    np.testing.assert_allclose(top_left(a), top_left(b), rtol=0, atol=1e-9)


def _outlier_problem(rng, n=8, m=200, frac=0.3):
    H = random_homographies(n, rng)
    src = rng.uniform(0, 127, (n, m, 2))
    dst = transfer(H, src) + rng.normal(0, 0.05, (n, m, 2))
    bad = rng.random((n, m)) < frac
    dst[bad] += rng.uniform(-30, 30, (int(bad.sum()), 2))
    return H, src, dst, bad


def _grid_error(H_est, H_true):
    g = np.stack(np.meshgrid(np.linspace(0, 127, 9), np.linspace(0, 127, 9)), -1).reshape(1, -1, 2)
    g = np.repeat(g, len(H_true), 0)
    return np.linalg.norm(transfer(H_est, g) - transfer(H_true, g), axis=-1).max()


def test_robust_fits_survive_outlier_flow():
    rng = np.random.default_rng(4)
    H, src, dst, bad = _outlier_problem(rng)
    assert _grid_error(dlt_homographies(src, dst), H) > 2.0  # plain DLT is pulled away
    Hi, wi = irls_homographies(src, dst, iterations=8)
    assert _grid_error(Hi, H) < 0.1
    assert (wi[bad] == 0).mean() > 0.95 and (wi[~bad] > 0).mean() > 0.95
    Hr, inl = ransac_homographies(src, dst, iterations=100, threshold=0.5, rng=np.random.default_rng(0))
    assert _grid_error(Hr, H) < 0.1
    assert inl[bad].mean() < 0.05 and inl[~bad].mean() > 0.9
    for robust in ("irls", "ransac"):
        Hs, support = solve_homographies(src, dst, settings=SolverSettings(robust=robust),
                                         rng=np.random.default_rng(0))
        assert _grid_error(Hs, H) < 0.1
        assert np.all((support > 0.6) & (support < 0.8))  # about the 70 % inliers


def test_ransac_is_deterministic_per_seed():
    rng = np.random.default_rng(5)
    _, src, dst, _ = _outlier_problem(rng, n=3)
    a = ransac_homographies(src, dst, rng=np.random.default_rng(7))[0]
    b = ransac_homographies(src, dst, rng=np.random.default_rng(7))[0]
    np.testing.assert_array_equal(a, b)


def test_solve_falls_back_to_identity_with_too_few_points():
    rng = np.random.default_rng(6)
    H = random_homographies(3, rng)
    src = rng.uniform(0, 127, (3, 40, 2))
    dst = transfer(H, src)
    w = np.ones((3, 40))
    w[1, 10:] = 0.0  # 10 usable points < min_points 16
    dst[2, :5] = np.nan  # non-finite correspondences are dropped, not propagated
    Hs, support = solve_homographies(src, dst, w, SolverSettings(robust="none", min_points=16))
    assert np.isfinite(Hs).all()
    np.testing.assert_allclose(top_left(Hs[1:2])[0], np.eye(3), atol=1e-12)
    assert support[1] == 0.0 and support[0] == 1.0 and support[2] == pytest.approx(35 / 40)
    assert np.abs(top_left(Hs[[0, 2]]) - top_left(H[[0, 2]])).max() < 1e-9


def test_top_left_normalisation_and_its_guard():
    rng = np.random.default_rng(8)
    H = random_homographies(5, rng) * rng.uniform(-3, 3, (5, 1, 1))
    Hn, guarded = normalize_top_left(H)
    np.testing.assert_allclose(Hn[:, 0, 0], 1.0)
    assert not guarded.any()
    # a 90 degree rotation has a zero top-left element: dividing by it would give inf
    rot = np.array([[[0.0, -1.0, 5.0], [1.0, 0.0, 2.0], [0.0, 0.0, 2.0]]])
    near = rot.copy()
    near[0, 0, 0] = 1e-9
    for M in (rot, near):
        Mn, g = normalize_top_left(M)
        assert g[0] and np.isfinite(Mn).all() and Mn[0, 2, 2] == pytest.approx(1.0)
        pts = rng.uniform(0, 50, (1, 10, 2))
        np.testing.assert_allclose(transfer(Mn, pts), transfer(M, pts), atol=1e-9)  # same mapping
    # top-left and bottom-right both near zero: the Frobenius norm
    odd = np.array([[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    On, g = normalize_top_left(odd)
    assert g[0] and np.isfinite(On).all() and np.linalg.norm(On) == pytest.approx(1.0)


def test_solver_settings_validation():
    with pytest.raises(ValueError, match="robust"):
        SolverSettings(robust="lmeds")
    with pytest.raises(ValueError, match="min_points"):
        SolverSettings(min_points=3)
    with pytest.raises(ValueError, match="must both be"):
        dlt_homographies(np.zeros((2, 5, 2)), np.zeros((2, 5, 3)))
