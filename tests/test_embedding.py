"""Pr-VIPE embedding: known answers for NP-MPJPE, views, losses, MC matching, normalisation,
retrieval, training, checkpoints and bad input."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from hmr.embedding.data import PairSampler, PosePool, build_pool
from hmr.embedding.embed import embed_sequence_file
from hmr.embedding.losses import (
    MatchingKernel,
    embedding_loss,
    kl_prior,
    mc_matching_distance,
    mc_matching_probability,
    semi_hard_negatives,
    triplet_ratio_loss,
)
from hmr.embedding.model import PoseEmbedder, load_embedder, save_embedder
from hmr.embedding.normalize import TORSO_PAIRS, normalize_2d, normalize_3d
from hmr.embedding.npmpjpe import np_mpjpe, pairwise_np_mpjpe
from hmr.embedding.retrieval import hit_at_k, nearest, retrieval_scores
from hmr.embedding.train import (
    build_training,
    make_optimizer,
    train_embedder,
    train_step,
)
from hmr.embedding.views import (
    project_view,
    random_rotations,
    random_views,
    rotation_matrices,
)
from hmr.errors import InputError
from hmr.io.h5 import write_arrays
from hmr.keypoints.stage import read_keypoints

# A standing person, COCO-17 order, camera frame (x right, y down, z forward), meters.
BASE_POSE = np.array([
    [0.00, -0.65, 3.05], [0.03, -0.68, 3.03], [-0.03, -0.68, 3.03], [0.08, -0.66, 2.97],
    [-0.08, -0.66, 2.97], [0.18, -0.45, 3.00], [-0.18, -0.45, 3.00], [0.25, -0.20, 3.05],
    [-0.25, -0.20, 3.05], [0.27, 0.02, 3.12], [-0.27, 0.00, 3.10], [0.10, 0.05, 3.00],
    [-0.10, 0.05, 3.00], [0.11, 0.50, 3.03], [-0.11, 0.50, 3.00], [0.12, 0.90, 2.98],
    [-0.12, 0.90, 2.97]], dtype=np.float32)

CFG = {
    "dim": 8, "conf_threshold": 0.2,
    "model": {"width": 32, "n_blocks": 1, "dropout": 0.0, "sigma_init": 0.3},
    "views": {"azimuth_deg": [-180, 180], "elevation_deg": [-30, 30], "roll_deg": [-30, 30], "depth": 2.0},
    "loss": {"kappa": 0.1, "margin": math.log(2.0), "mc_samples": 4, "positive_weight": 0.005,
             "kl_weight": 0.001, "smoothing": 0.1, "a_init_raw": -0.65, "b_init": -0.5},
    "train": {"steps": 40, "batch_size": 32, "optimizer": "adam", "lr": 0.003, "log_every": 10,
              "detected_share": 0.5, "min_detected_joints": 8, "precompute_max_poses": 1000},
    "augment": {"dropout_apply_prob": 0.3, "dropout_keypoint_prob": 0.1, "jitter_std": 0.0},
    "amass": {"dir": None, "fps": 10, "max_poses": 100},
    "eval": {"splits": ["val", "test"], "kappas": [0.1], "max_poses": 100, "mc_retrieval": True,
             "mc_samples": 4},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: the tests share a loaded 2-core machine with other jobs."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_poses(n: int, seed: int = 0, spread: float = 0.12) -> torch.Tensor:
    """Varied 3D poses: the base pose with every joint moved by N(0, spread^2) per axis."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy((BASE_POSE + rng.normal(0, spread, (n, 17, 3))).astype(np.float32))


def similarity(P: torch.Tensor, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    R = random_rotations(len(P), g, (-180, 180), (-90, 90), (-180, 180))
    s = 0.3 + 3 * torch.rand(len(P), 1, 1, generator=g)
    t = torch.randn(len(P), 1, 3, generator=g)
    return s * P @ R.transpose(-1, -2) + t


# ---------------------------------------------------------------- NP-MPJPE and views

def test_np_mpjpe_zero_for_rotated_scaled_translated_copy():
    P = random_poses(6)
    Q = similarity(P)
    assert torch.allclose(np_mpjpe(Q, P), torch.zeros(6), atol=1e-5)
    assert torch.allclose(np_mpjpe(P, Q), torch.zeros(6), atol=1e-5)


def test_np_mpjpe_positive_for_other_pose_and_mirror_image():
    P = random_poses(2)
    assert float(np_mpjpe(P[:1], P[1:])) > 0.05
    mirror = P * torch.tensor([-1.0, 1.0, 1.0])          # not reachable by a rotation
    assert float(np_mpjpe(mirror[:1], P[:1])) > 0.02
    # a bent elbow: the wrist moves 0.3 m, the error is that over 17 joints in torso units
    bent = P[:1].clone()
    bent[0, 9] += torch.tensor([0.0, -0.3, 0.0])
    assert 0.005 < float(np_mpjpe(bent, P[:1])) < 0.1


def test_pairwise_np_mpjpe_matches_elementwise():
    A, B = random_poses(5, 1), random_poses(4, 2)
    M = pairwise_np_mpjpe(A, B, chunk=7)
    ref = np_mpjpe(A[:, None], B[None])
    assert M.shape == (5, 4) and torch.allclose(M, ref, atol=1e-5)


def test_normalize_3d_unit_torso():
    P = normalize_3d(similarity(random_poses(3)))
    hips = P[:, [11, 12]].mean(1)
    assert torch.allclose(hips, torch.zeros_like(hips), atol=1e-6)
    torso = torch.stack([(P[:, a] - P[:, b]).norm(dim=-1) for a, b in TORSO_PAIRS], -1).amax(-1)
    assert torch.allclose(torso, torch.ones(3), atol=1e-5)


def test_random_views_keep_the_3d_pose():
    P = random_poses(8)
    g = torch.Generator().manual_seed(0)
    R = random_rotations(8, g)
    viewed3d = normalize_3d(P) @ R.transpose(-1, -2)     # what project_view projects
    assert torch.allclose(np_mpjpe(viewed3d, P), torch.zeros(8), atol=1e-5)
    x = random_views(P, torch.Generator().manual_seed(0), CFG["views"])
    assert x.shape == (8, 17, 2) and torch.isfinite(x).all()


def test_view_angles_and_perspective():
    R = rotation_matrices(torch.tensor([math.pi / 2]), torch.zeros(1), torch.zeros(1))
    # azimuth about the vertical (y) axis: x -> -z, y fixed
    assert torch.allclose(R[0] @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, -1.0]), atol=1e-6)
    assert torch.allclose(R[0] @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)
    P = torch.from_numpy(BASE_POSE)[None]
    x = project_view(P, torch.eye(3)[None], depth=2.0)
    n = normalize_3d(P)
    assert torch.allclose(x, n[..., :2] / (n[..., 2:] + 2.0), atol=1e-6)
    g = torch.Generator().manual_seed(3)
    R = random_rotations(500, g, (-180, 180), (-30, 30), (-30, 30))
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3).expand(500, 3, 3), atol=1e-5)
    # R y_hat = (-sin r cos e, cos r cos e, sin e): elevation and roll stay in their ranges
    elev = torch.asin(R[:, 2, 1].clamp(-1, 1))
    roll = torch.atan2(-R[:, 0, 1], R[:, 1, 1])
    assert elev.abs().max() <= math.radians(30) + 1e-5 and roll.abs().max() <= math.radians(30) + 1e-5
    assert elev.abs().max() > math.radians(25)


# ---------------------------------------------------------------- 2D normalisation

def test_normalize_2d_invariant_to_translation_and_scale():
    kp = torch.from_numpy(BASE_POSE[:, :2] * 200 + 300)[None]
    x = normalize_2d(kp)
    y = normalize_2d(kp * 3.7 + torch.tensor([-120.0, 45.0]))
    assert torch.allclose(x, y, atol=1e-5)
    assert torch.allclose(x[0, [11, 12]].mean(0), torch.zeros(2), atol=1e-6)
    torso = max(float((x[0, a] - x[0, b]).norm()) for a, b in TORSO_PAIRS)
    assert torso == pytest.approx(0.5, abs=1e-5)


def test_normalize_2d_masks_low_confidence_joints():
    kp = torch.from_numpy(BASE_POSE[:, :2] * 200 + 300)[None].clone()
    conf = torch.ones(1, 17)
    conf[0, 9] = 0.0                                 # left wrist undetected, far off
    kp_far = kp.clone()
    kp_far[0, 9] = torch.tensor([5000.0, -7000.0])
    x = normalize_2d(kp_far, conf)
    assert torch.all(x[0, 9] == 0)
    assert torch.allclose(x[0, :9], normalize_2d(kp)[0, :9], atol=1e-5)
    conf2 = conf.clone()
    conf2[0, 11] = 0.0                               # left hip unknown: origin = right hip
    x2 = normalize_2d(kp, conf2)
    assert torch.allclose(x2[0, 12], torch.zeros(2), atol=1e-6)
    none = normalize_2d(kp, torch.zeros(1, 17))
    assert torch.all(none == 0)


def test_normalize_2d_differentiable():
    kp = torch.from_numpy(BASE_POSE[:, :2] * 100).requires_grad_(True)
    normalize_2d(kp).pow(2).sum().backward()
    assert torch.isfinite(kp.grad).all() and kp.grad.abs().sum() > 0


# ---------------------------------------------------------------- losses

def test_triplet_ratio_loss_zero_when_margin_met_and_gradient_sign():
    margin = math.log(2.0)
    d_pos, d_neg = torch.tensor([0.1, 0.2]), torch.tensor([1.0, 2.0])
    assert float(triplet_ratio_loss(d_pos, d_neg, margin)) == 0.0
    d_pos = torch.tensor([1.0], requires_grad=True)
    d_neg = torch.tensor([0.5], requires_grad=True)
    loss = triplet_ratio_loss(d_pos, d_neg, margin)
    assert loss.item() == pytest.approx(1.0 - 0.5 + margin)
    loss.backward()
    assert float(d_pos.grad) == pytest.approx(1.0) and float(d_neg.grad) == pytest.approx(-1.0)


def test_triplet_gradient_pushes_negative_away_and_pulls_positive_in():
    kernel = MatchingKernel()
    za = torch.zeros(1, 4)
    zp = torch.tensor([[2.0, 0.0, 0.0, 0.0]], requires_grad=True)
    zn = torch.tensor([[0.0, 1.0, 0.0, 0.0]], requires_grad=True)
    s0 = torch.zeros(1, 4)
    d_pos = mc_matching_distance(za, s0, zp, s0, kernel, 1)
    d_neg = mc_matching_distance(za, s0, zn, s0, kernel, 1)
    loss = triplet_ratio_loss(d_pos, d_neg, math.log(2.0))
    assert loss.item() > 0
    loss.backward()
    # gradient descent moves the positive towards the anchor and the negative away from it
    assert float(zp.grad[0, 0]) > 0 and float(zn.grad[0, 1]) < 0


def test_mc_matching_converges_to_closed_form():
    kernel = MatchingKernel(raw_a=0.2, b=0.3, smoothing=0.1)
    g = torch.Generator().manual_seed(0)
    mu1, mu2 = torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g)
    tiny = torch.full((5, 16), 1e-6)
    p = mc_matching_probability(mu1, tiny, mu2, tiny, kernel, 64, g)
    closed = kernel((mu1 - mu2).norm(dim=-1))
    assert torch.allclose(p, closed, atol=1e-5)
    # sigma > 0 in 1-D: the MC estimate approaches the Gauss-Hermite integral as K grows
    m1, m2, s1 = torch.tensor([[0.3]]), torch.tensor([[1.1]]), torch.tensor([[0.7]])
    x, w = np.polynomial.hermite_e.hermegauss(80)
    quad = float((torch.from_numpy(w / w.sum()).float()
                  * kernel((m1 + s1 * torch.from_numpy(x).float() - m2).abs()[0])).sum())
    errs = [abs(float(mc_matching_probability(m1, s1, m2, torch.zeros(1, 1), kernel, k,
                                              torch.Generator().manual_seed(1))) - quad)
            for k in (4, 2000)]
    assert errs[1] < 0.01 and errs[1] < errs[0] + 1e-9


def test_matching_kernel_initial_values_and_range():
    k = MatchingKernel()
    assert float(k.a) == pytest.approx(math.exp(-0.65), rel=1e-6)   # ELU(x<0) + 1 = exp(x)
    p = k(torch.tensor([0.0, 1e6]))
    assert float(p[1]) == pytest.approx(0.05) and float(p[0]) < 0.95


def test_kl_prior_zero_at_standard_normal():
    assert float(kl_prior(torch.zeros(3, 4), torch.ones(3, 4))) == pytest.approx(0.0, abs=1e-7)
    assert float(kl_prior(torch.ones(3, 4), torch.ones(3, 4))) == pytest.approx(2.0)


def test_semi_hard_negative_mining_constructed():
    dist = torch.tensor([[0.5, 0.2, 0.9, 0.7],
                         [0.1, 0.3, 0.2, 0.25],
                         [0.4, 0.6, 0.1, 0.8]])
    pos = torch.tensor([0.5, 0.3, 0.1])
    neg = torch.tensor([[False, True, True, True],
                        [True, False, True, True],
                        [False, False, False, False]])
    idx, valid = semi_hard_negatives(dist, pos, neg)
    # anchor 0: negatives farther than 0.5 are 0.9 (j=2), 0.7 (j=3) -> closest is j=3
    # anchor 1: no negative farther than 0.3 -> the farthest negative, j=3 (0.25)
    assert idx[:2].tolist() == [3, 3] and valid.tolist() == [True, True, False]


# ---------------------------------------------------------------- model, checkpoint

def test_embedder_shapes_sigma_and_deterministic_variant(tmp_path):
    torch.manual_seed(0)
    m = PoseEmbedder(dim=32, width=16, n_blocks=2).eval()
    mu, sigma = m(torch.randn(2, 3, 17, 2))
    assert mu.shape == sigma.shape == (2, 3, 32) and bool((sigma > 0).all())
    d = PoseEmbedder(dim=32, width=16, n_blocks=2, deterministic=True).eval()
    _, s = d(torch.randn(4, 17, 2))
    assert bool((s == 0).all()) and d.sigma_head is None
    path = tmp_path / "e.pt"
    save_embedder(m, path, MatchingKernel().state_dict(), {"note": "test"})
    loaded = load_embedder(path)
    x = torch.randn(5, 17, 2)
    assert torch.allclose(loaded(x)[0], m(x)[0]) and not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="bad.pt"):
        load_embedder(tmp_path / "bad.pt")


# ---------------------------------------------------------------- retrieval

def test_retrieval_hits_on_constructed_case():
    P = random_poses(4, 5, spread=0.2)
    db3d = similarity(P, 3)                        # same poses, other view: all should match
    mu_q = torch.eye(4)
    mu_db = torch.eye(4)
    mu_db[:2, :2] = torch.tensor([[0.5, 0.9], [0.9, 0.5]])   # entries 0 and 1 swapped, then own
    zero = torch.zeros(4, 4)
    nn = nearest(mu_q, zero, mu_db, zero, kmax=2)
    assert nn[:, 0].tolist() == [1, 0, 2, 3]
    err, matched = retrieval_scores(P, db3d, nn, kappa=0.1)
    # queries 0, 1 retrieve the other pose first (miss), their own pose second (hit at 2)
    assert matched[:, 0].tolist() == [False, False, True, True]
    assert hit_at_k(matched, 1) == pytest.approx(0.5) and hit_at_k(matched, 2) == pytest.approx(1.0)
    assert float(err[2, 0]) < 1e-4
    kernel = MatchingKernel()
    nn_mc = nearest(mu_q, torch.full((4, 4), 1e-4), mu_db, torch.full((4, 4), 1e-4), 2, "mc", kernel, 8)
    assert nn_mc[:, 0].tolist() == [1, 0, 2, 3]


# ---------------------------------------------------------------- training

def _pool(n: int = 64, detected: bool = True) -> PosePool:
    P = random_poses(n, 7)
    det = torch.zeros(n, 17, 3)
    has = torch.zeros(n, dtype=torch.bool)
    if detected:  # "detector" keypoints: a pinhole projection with noise, half the frames
        uv = P[..., :2] / P[..., 2:] * 500 + 200
        det[..., :2] = uv + torch.randn(uv.shape, generator=torch.Generator().manual_seed(0))
        det[..., 2] = 0.9
        has[: n // 2] = True
    return PosePool(P, det, has)


def test_sampler_pairs_share_3d_and_mix_detections():
    sampler = PairSampler(_pool(), CFG, seed=0)
    b = sampler.sample(32)
    assert b.anchor.shape == b.positive.shape == (32, 17, 2)
    assert b.match.diagonal().all() and b.match.shape == (32, 32)
    assert 0 < int(b.detected.sum()) < 32
    assert not torch.allclose(b.anchor, b.positive)


def test_training_decreases_loss_and_is_deterministic():
    # four distinct 3D poses seen from random views: view invariance is learnable in 40 steps
    pool = PosePool(random_poses(4, 7, spread=0.15).repeat(16, 1, 1), torch.zeros(64, 17, 3),
                    torch.zeros(64, dtype=torch.bool))
    cfg = copy.deepcopy(CFG)
    cfg["train"].update(lr=0.01, steps=40, batch_size=32)
    fixed = PairSampler(pool, cfg, seed=99).sample(64)

    def fixed_loss(m, k, det):
        m.eval()
        with torch.no_grad():
            mu, sg = m(torch.cat([fixed.anchor, fixed.positive]))
            loss, _ = embedding_loss((mu[:64], sg[:64]), (mu[64:], sg[64:]), fixed.match, k,
                                     cfg["loss"], torch.Generator().manual_seed(0), deterministic=det)
        return float(loss)

    for det in (False, True):
        before = fixed_loss(*build_training(cfg, det, seed=0), det)
        r1 = train_embedder(pool, cfg, deterministic=det, seed=0, progress=False)
        assert fixed_loss(r1.model, r1.kernel, det) < before - 0.1
    r1 = train_embedder(pool, cfg, deterministic=False, seed=0, progress=False)
    r2 = train_embedder(pool, cfg, deterministic=False, seed=0, progress=False)
    assert [row["loss"] for row in r1.log] == [row["loss"] for row in r2.log]
    for (k, v), v2 in zip(r1.model.state_dict().items(), r2.model.state_dict().values()):
        assert torch.equal(v, v2), k
    r3 = train_embedder(pool, cfg, deterministic=False, seed=1, progress=False)
    assert [row["loss"] for row in r1.log] != [row["loss"] for row in r3.log]
    rd = train_embedder(pool, cfg, deterministic=True, seed=0, progress=False)
    assert rd.log[-1]["kl"] == 0.0 and rd.log[-1]["mean_sigma"] == 0.0


def test_train_step_updates_kernel_parameters():
    pool = _pool(detected=False)
    model, kernel = build_training(CFG, False, seed=0)
    opt = make_optimizer(list(model.parameters()) + list(kernel.parameters()), CFG["train"])
    a0, b0 = float(kernel.a), float(kernel.b)
    stats = train_step(model, kernel, PairSampler(pool, CFG, 0).sample(16), opt, CFG["loss"],
                       torch.Generator().manual_seed(0), torch.device("cpu"))
    assert math.isfinite(stats["loss"]) and (float(kernel.a) != a0 or float(kernel.b) != b0)


# ---------------------------------------------------------------- files and bad input

def _keypoints_file(path: Path, T: int = 5, nan: bool = False) -> Path:
    kp = np.zeros((T, 17, 3), np.float32)
    kp[..., :2] = BASE_POSE[:, :2] * 150 + 100
    kp[..., 2] = 0.9
    kp[1, 9, 2] = 0.0
    if nan:
        kp[2, 3, 0] = np.nan
    write_arrays(path, {"keypoints": kp}, attrs={"backend": "test", "simulated": True})
    return path


def _model_file(path: Path, deterministic: bool = False) -> Path:
    torch.manual_seed(0)
    save_embedder(PoseEmbedder(dim=32, width=16, n_blocks=1, deterministic=deterministic),
                  path, MatchingKernel().state_dict(), {})
    return path


def test_embed_sequence_file(tmp_path):
    out = tmp_path / "emb" / "seq.h5"
    mu, _ = embed_sequence_file(_keypoints_file(tmp_path / "kp.h5"), _model_file(tmp_path / "m.pt"), out)
    with h5py.File(out) as f:
        assert f["mu"].shape == f["sigma"].shape == (5, 32)
        assert f["mu"].dtype == np.float32 and np.all(f["sigma"][()] > 0)
    assert np.allclose(mu[0], mu[2]) and not np.allclose(mu[0], mu[1])   # frame 1 lacks a wrist


def test_bad_keypoints_input(tmp_path, capsys):
    from hmr.cli import main

    model = _model_file(tmp_path / "m.pt")
    bad = _keypoints_file(tmp_path / "nan.h5", nan=True)
    out = tmp_path / "out.h5"
    with pytest.raises(InputError, match="nan.h5.*NaN"):
        embed_sequence_file(bad, model, out)
    assert not out.exists()
    assert main(["embed", "--keypoints", str(bad), "--model", str(model), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nan.h5" in err[0]
    shape = tmp_path / "shape.h5"
    write_arrays(shape, {"keypoints": np.zeros((4, 16, 3), np.float32)})
    with pytest.raises(InputError, match="shape.h5"):
        read_keypoints(shape)
    conf = tmp_path / "conf.h5"
    write_arrays(conf, {"keypoints": np.full((4, 17, 3), 2.0, np.float32)})
    with pytest.raises(InputError, match="conf.h5.*confidence"):
        read_keypoints(conf)
    assert not out.exists()


# ---------------------------------------------------------------- stage files (body model)

def test_pool_train_evaluate_files(tiny_dataset, embedded_model_path, tmp_path):
    from hmr.embedding.stages import (
        build_pool_file,
        evaluate_embedding_files,
        train_embedding_files,
    )

    cfg = copy.deepcopy(CFG)
    cfg["dim"] = 32
    cfg["train"]["steps"] = 3
    seqs = [str(tiny_dataset / f"train_00{i}.h5") for i in range(2)]
    kps = [str(_keypoints_file(tmp_path / f"kp{i}.h5", T=12)) for i in range(2)]
    pool_path = tmp_path / "pool.h5"
    pool = build_pool_file(cfg, seqs, kps, str(embedded_model_path), pool_path, seed=0)
    assert pool.poses3d.shape[1:] == (17, 3) and int(pool.has_detected.sum()) > 0
    with h5py.File(pool_path) as f:
        assert f["match"].shape == (len(pool), len(pool))
    # upright in the camera frame: ankles below (larger y than) the nose
    assert bool((pool.poses3d[:, 15, 1] > pool.poses3d[:, 0, 1]).all())
    models = {}
    for name, det in (("probabilistic", False), ("deterministic", True)):
        models[name] = str(tmp_path / f"{name}.pt")
        train_embedding_files(cfg, pool_path, models[name], tmp_path / f"{name}.csv",
                              tmp_path / f"{name}.png", deterministic=det, seed=0)
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    rows = evaluate_embedding_files(cfg, models, [str(tiny_dataset / "test_000.h5")],
                                    str(embedded_model_path), tmp_path / "eval.csv", seed=0)
    names = [(r["model"], r["retrieval"]) for r in rows]
    assert names == [("probabilistic", "mean"), ("probabilistic", "mc"), ("deterministic", "mean"),
                     ("untrained", "mean")]
    assert all(0 <= r["hit1"] <= r["hit10"] <= 1 for r in rows)
    with pytest.raises(InputError, match="short.h5"):
        build_pool(seqs[:1], [str(_keypoints_file(tmp_path / "short.h5", T=3))], str(embedded_model_path))


def test_amass_clips_join_the_pool_upright(embedded_model_path, tmp_path):
    from hmr.body.smpl import smpl_layer
    from hmr.embedding.data import amass_poses3d

    clips = tmp_path / "amass" / "subject"
    clips.mkdir(parents=True)
    poses = np.zeros((7, 156))
    poses[:, 0] = math.pi / 2          # AMASS stands people up along +Z: +90 degrees about x
    poses[:, 3 * 18 + 2] = np.linspace(0, 1.2, 7)   # left elbow bends over the clip
    np.savez(clips / "walk_poses.npz", poses=poses, trans=np.zeros((7, 3)), betas=np.zeros(16),
             mocap_framerate=30.0)
    np.savez(clips / "shape.npz", betas=np.zeros(16))   # not a clip: skipped
    P = torch.from_numpy(amass_poses3d(tmp_path / "amass", smpl_layer(embedded_model_path),
                                       fps=15, max_poses=100, seed=0))
    assert P.shape == (4, 17, 3)                          # 7 frames at 30 fps -> 4 at 15 fps
    assert bool((P[:, 15, 1] > P[:, 0, 1] + 0.5).all())  # y down: ankles well below the nose
    assert float(np_mpjpe(P[:1], P[-1:])) > 0.01          # the elbow moved
    assert len(amass_poses3d(tmp_path / "amass", smpl_layer(embedded_model_path), 15, 3, 0)) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no AMASS"):
        amass_poses3d(tmp_path / "empty", smpl_layer(embedded_model_path), 15, 3, 0)
