"""The temporal regressor: rotations, body model, cameras, SRNet groups, variants, losses, exact
resume, training, prediction coverage and the CLI, on stage files fabricated from the tiny dataset."""

from __future__ import annotations

import copy
import math

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from hmr.body.joint_sets import SMPL45_TO_COCO17
from hmr.errors import InputError
from hmr.io.h5 import write_arrays
from hmr.io.sequence import read_sequence
from hmr.model.camera import optimal_weak_perspective, pixels_to_crop, weak_perspective
from hmr.model.dynamics import PART_JOINTS, GroupConnectedLayer, PartDynamicsDecoder
from hmr.model.losses import regressor_loss, root_relative_joints, uncertainty_loss
from hmr.model.network import build_network
from hmr.model.predict import predict_sequence, window_plan
from hmr.model.regressor import mean_parameters
from hmr.model.rotations import (axis_angle_to_rot6d, axis_angle_to_rotmat, rot6d_to_axis_angle,
                                 rot6d_to_rotmat, rotmat_to_axis_angle)
from hmr.model.variants import VARIANTS
from hmr.train.data import BatchSampler, InMemoryWindows, SequenceArrays, load_sequence_arrays
from hmr.train.loop import to_tensors, train_regressor

D = 16  # fabricated feature size (the encoder accepts any D)
SEQS = ("train_000", "train_001", "test_000")
# COCO-17 from SMPL-24 ground truth for the fabricated keypoints (face points from the head joint)
COCO_FROM_SMPL24 = (15, 15, 15, 15, 15, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)

MODEL = {"gru_hidden": 16, "gru_layers": 1, "regressor_hidden": 32, "n_iter": 3, "dropout": 0.1,
         "dynamics_hidden": 20, "dynamics_layers": 1, "context": "multiply", "context_dim": 1}
LOSS = {"lambda_g": 1.0, "lambda_dt": 1.0, "lambda_unc": 100.0, "w_2d": 300.0, "w_3d": 300.0,
        "w_pose": 60.0, "w_shape": 0.06}


def _cfg(steps: int = 8, **train) -> dict:
    t = {"steps": steps, "batch_size": 4, "lr": 3e-3, "weight_decay": 0.0, "grad_clip": 0.0,
         "amp": True, "log_every": 2, "checkpoint_every": 2}
    t.update(train)
    return {"window": 8, "dt": 3, "model": dict(MODEL), "loss": dict(LOSS), "train": t}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices: one torch thread is ~10x faster than two on a loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def body(embedded_model_path):
    from hmr.body.smpl import smpl_layer
    from hmr.model.smpl_torch import BodyModel

    return BodyModel(smpl_layer(embedded_model_path))


@pytest.fixture(scope="module")
def stage(tiny_dataset, tmp_path_factory):
    """Fabricated stage files for the tiny dataset. NOT real features: ``features`` is a fixed random
    projection of the ground-truth 2D joints plus noise (informative, so training can learn);
    keypoints are ground-truth joints plus noise; ``d`` is noise. The embedder is a small randomly
    initialised Pr-VIPE network saved in the embedding stage's format."""
    from hmr.embedding.embed import embed_keypoints
    from hmr.embedding.model import PoseEmbedder, save_embedder

    root = tmp_path_factory.mktemp("regressor_stage")
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    emb = PoseEmbedder(dim=32, width=32, n_blocks=1, dropout=0.0).eval()
    save_embedder(emb, root / "embedding.pt", {}, {})
    P = rng.normal(size=(48, D)) / 4
    paths: dict[str, dict[str, str]] = {}
    for name in SEQS:
        seq_path = tiny_dataset / f"{name}.h5"
        s = read_sequence(seq_path)
        T = s.n_frames
        j2 = pixels_to_crop(s.arrays["gt/joints2d"], s.bbox, 1.2).reshape(T, -1)
        feats = (j2 @ P + 0.05 * rng.normal(size=(T, D))).astype(np.float32)
        kp = np.concatenate([s.arrays["gt/joints2d"][:, list(COCO_FROM_SMPL24)]
                             + rng.normal(size=(T, 17, 2)), np.ones((T, 17, 1))], -1).astype(np.float32)
        mu, sigma = embed_keypoints(emb, kp)
        p = {"sequence": str(seq_path)}
        for stage_name, arrays, attrs in (
                ("features", {"features": feats}, {"crop_scale": 1.2}),
                ("embedding", {"mu": mu, "sigma": sigma}, {}),
                ("dynamics", {"d": rng.normal(size=(T, 135)).astype(np.float32),
                              "padded": np.zeros((T, 15), bool)}, {})):
            out = root / stage_name / f"{name}.h5"
            write_arrays(out, arrays, attrs=attrs)
            p[stage_name] = str(out)
        paths[name] = p
    return {"root": root, "embedder": str(root / "embedding.pt"), "files": paths}


def _windows(stage, window: int = 8) -> InMemoryWindows:
    seqs = [load_sequence_arrays(p["sequence"], p["features"], p["embedding"], p["dynamics"])
            for n, p in stage["files"].items() if n.startswith("train")]
    return InMemoryWindows(seqs, window)


def _embedder(stage):
    from hmr.embedding.model import load_embedder

    return load_embedder(stage["embedder"])


# ------------------------------------------------------------------------------------------------
# rotations, body model, cameras

def test_rot6d_axis_angle_round_trip():
    g = torch.Generator().manual_seed(0)
    axis = torch.nn.functional.normalize(torch.randn(500, 3, generator=g), dim=-1)
    angle = torch.rand(500, 1, generator=g) * 3.1
    aa = torch.cat([axis * angle, torch.zeros(1, 3), torch.tensor([[1e-7, 0.0, 0.0]])])
    torch.testing.assert_close(rot6d_to_axis_angle(axis_angle_to_rot6d(aa)), aa, atol=2e-5, rtol=0)
    R = axis_angle_to_rotmat(aa)
    torch.testing.assert_close(R @ R.transpose(-1, -2), torch.eye(3).expand_as(R), atol=1e-5, rtol=0)
    # any 6D vector maps to a rotation, and a rotation's 6D maps back to it
    x = torch.randn(100, 6, generator=g)
    Rx = rot6d_to_rotmat(x)
    torch.testing.assert_close(torch.linalg.det(Rx), torch.ones(100), atol=1e-5, rtol=0)
    torch.testing.assert_close(axis_angle_to_rotmat(rotmat_to_axis_angle(Rx)), Rx, atol=1e-5, rtol=0)


def test_mean_parameters_stand_upright_facing_the_camera(body):
    pose6d = mean_parameters()[:144].reshape(24, 6)
    j = root_relative_joints(body, rot6d_to_rotmat(pose6d)[None], torch.zeros(1, 10))[0]
    assert j[15, 1] < -0.3            # head above the pelvis: image y points down
    assert j[24, 2] < j[15, 2]        # nose nearer to the camera than the head joint (facing it)


def test_joints_only_forward_equals_the_smpl_layer(body):
    g = torch.Generator().manual_seed(1)
    aa = 0.4 * torch.randn(4, 24, 3, generator=g)
    betas = torch.randn(4, 10, generator=g)
    out = body.layer(global_orient=aa[:, 0], body_pose=aa[:, 1:].reshape(4, -1), betas=betas)
    joints = body.joints(axis_angle_to_rotmat(aa), betas)
    torch.testing.assert_close(joints, out.joints, atol=1e-5, rtol=0)
    torch.testing.assert_close(body.vertices(axis_angle_to_rotmat(aa), betas), out.vertices, atol=1e-5, rtol=0)


def test_optimal_camera_recovers_scale_and_translation():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 20, 2, generator=g) * 0.4
    s = torch.tensor([0.9, 1.7, 4.0])
    t = torch.tensor([[0.1, -0.2], [0.0, 0.3], [-0.5, 0.05]])
    x_gt = s[:, None, None] * (x + t[:, None])
    vis = torch.ones(3, 20)
    vis[:, :5] = 0
    x_gt[:, :5] = 100.0               # invisible joints carry garbage
    cam = optimal_weak_perspective(x, x_gt, vis)
    torch.testing.assert_close(cam[:, 0], s, atol=1e-4, rtol=0)
    torch.testing.assert_close(cam[:, 1:], t, atol=1e-4, rtol=0)
    torch.testing.assert_close(weak_perspective(torch.cat([x, torch.zeros(3, 20, 1)], -1), cam)[:, 5:],
                               x_gt[:, 5:], atol=1e-4, rtol=0)
    far = optimal_weak_perspective(x, 50 * x, torch.ones(3, 20))
    assert torch.all(far[:, 0] == 10.0)          # clipped to [0.7, 10] as HMMR
    xr = x.clone().requires_grad_()
    assert not optimal_weak_perspective(xr, x_gt, vis).requires_grad   # no gradient through it


# ------------------------------------------------------------------------------------------------
# split-and-recombine

def test_group_layer_is_local_without_global_context_and_not_with_it():
    torch.manual_seed(0)
    x = [torch.randn(7, n) for n in (3, 4, 5)]
    x2 = list(x)
    x2[1] = torch.randn(7, 4)                    # change group 1's input only
    off = GroupConnectedLayer([3, 4, 5], [2, 3, 2], context="off")
    y, y2 = off(x), off(x2)
    assert torch.equal(y[0], y2[0]) and torch.equal(y[2], y2[2])
    assert not torch.allclose(y[1], y2[1])
    for mode, dim in (("multiply", 1), ("concat", 2)):
        on = GroupConnectedLayer([3, 4, 5], [2, 3, 2], context=mode, context_dim=dim)
        assert torch.equal(on(x)[0], on(x2)[0])  # zero-initialised context: local at the start
        with torch.no_grad():
            for m in on.M:
                m.weight.normal_()
        assert not torch.allclose(on(x)[0], on(x2)[0])
        assert not torch.allclose(on(x)[2], on(x2)[2])


def test_part_decoder_left_leg_ignores_right_arm_without_context():
    torch.manual_seed(0)
    dec = PartDynamicsDecoder(in_dim=10, hidden=40, n_layers=2, context="off")
    c = torch.randn(5, 10)
    pose = torch.randn(5, 24, 6)
    pose2 = pose.clone()
    right_arm, left_leg = list(PART_JOINTS[2]), list(PART_JOINTS[3])
    pose2[:, right_arm] = torch.randn(5, len(right_arm), 6)
    a, b = dec(c, pose), dec(c, pose2)
    for da, db in zip(a, b):
        assert torch.equal(da[:, left_leg], db[:, left_leg])
        assert not torch.allclose(da[:, right_arm], db[:, right_arm])


# ------------------------------------------------------------------------------------------------
# variants and losses

@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_builds_runs_and_backpropagates(name, stage, body):
    torch.manual_seed(0)
    v = VARIANTS[name]
    net = build_network(name, D, MODEL)
    windows = _windows(stage)
    batch = to_tensors(windows.batch(np.arange(3)), torch.device("cpu"))
    out = net(batch["feat"], batch["u"] if v.use_u else None, batch["d"] if v.use_d else None)
    assert out["pose6d"].shape == (3, 8, 24, 6) and out["betas"].shape == (3, 8, 10)
    assert out["cam"].shape == (3, 8, 3)
    assert ("pose6d_next" in out) == (v.dynamics != "none")
    expect_c = D + (64 if v.use_u else 0) + (135 if v.use_d else 0)
    assert net.encoder.out_dim == expect_c
    loss, stats = regressor_loss(out, batch, body, LOSS, 3, _embedder(stage) if v.unc_loss else None)
    loss.backward()
    assert math.isfinite(stats["loss"]) and stats["g_2d"] > 0 and stats["g_3d"] > 0
    assert (stats["dt_3d"] > 0) == (v.dynamics != "none")
    assert (stats["unc"] > 0) == v.unc_loss
    assert all(p.grad is not None for p in net.regressor.parameters())


def test_losses_only_where_their_data_exist(stage, body):
    torch.manual_seed(0)
    net = build_network("no_u", D, MODEL)
    windows = _windows(stage)
    batch = to_tensors(windows.batch(np.arange(2)), torch.device("cpu"))
    batch["has_j3d"][:] = False                       # a 2D-only dataset
    batch["has_smpl"][:] = False
    out = net(batch["feat"], None, batch["d"])
    _, stats = regressor_loss(out, batch, body, LOSS, 3, None)
    assert stats["g_2d"] > 0 and stats["dt_2d"] > 0
    assert stats["g_3d"] == stats["g_pose"] == stats["g_shape"] == 0
    assert stats["dt_3d"] == stats["dt_pose"] == 0 and stats["unc"] == 0


def test_uncertainty_loss_vanishes_for_the_same_pose_and_flows_to_the_joints(stage, body):
    from hmr.embedding.normalize import normalize_2d

    embedder = _embedder(stage)
    g = torch.Generator().manual_seed(3)
    aa = 0.3 * torch.randn(6, 24, 3, generator=g)
    joints = root_relative_joints(body, axis_angle_to_rotmat(aa), torch.zeros(6, 10)).requires_grad_()
    cam = torch.tensor([[1.0, 0.0, 0.0]]).repeat(6, 1)
    with torch.no_grad():
        mu, sigma = embedder(normalize_2d(weak_perspective(joints[:, list(SMPL45_TO_COCO17)], cam)))
    sel = torch.ones(6)
    assert float(uncertainty_loss(joints, cam, mu, sigma, sel, embedder).detach()) < 1e-4
    loss = uncertainty_loss(joints, cam, mu.roll(1, 0), sigma.roll(1, 0), sel, embedder)
    assert float(loss.detach()) > 1e-3
    loss.backward()
    assert joints.grad.abs().sum() > 0
    assert all(p.grad is None for p in embedder.parameters())   # the embedder stays frozen


# ------------------------------------------------------------------------------------------------
# data order, training, resume

def test_batch_sampler_is_deterministic_and_splits_over_ranks():
    a, b = BatchSampler(10, 4, seed=5), BatchSampler(10, 4, seed=5)
    seq = [a.indices(k) for k in range(5)]
    assert all(np.array_equal(x, b.indices(k)) for k, x in enumerate(seq))
    first_epoch = np.concatenate([a.global_batch(k) for k in range(5)])[:10]
    assert sorted(first_epoch) == list(range(10))       # every window once per epoch
    r0, r1 = BatchSampler(10, 4, 5, rank=0, world_size=2), BatchSampler(10, 4, 5, rank=1, world_size=2)
    np.testing.assert_array_equal(np.concatenate([r0.indices(3), r1.indices(3)]), a.indices(3))


def test_training_lowers_the_loss(stage, body):
    result = train_regressor(_windows(stage), "full", _cfg(steps=40, log_every=5, checkpoint_every=100),
                             body, seed=0, embedder=_embedder(stage), device="cpu", progress=False)
    first, last = result.log[0]["loss"], result.log[-1]["loss"]
    assert last < 0.5 * first, (first, last)


def test_resumed_training_matches_an_uninterrupted_run(stage, body, tmp_path):
    windows, embedder, cfg = _windows(stage), _embedder(stage), _cfg(steps=8)
    full = train_regressor(windows, "full", cfg, body, seed=0, embedder=embedder, device="cpu",
                           checkpoint=tmp_path / "a.ckpt", progress=False)
    torch.manual_seed(123)                                   # the resume must not depend on this
    ck = tmp_path / "b.ckpt"
    killed = train_regressor(windows, "full", cfg, body, seed=0, embedder=embedder, device="cpu",
                             checkpoint=ck, stop_after=5, progress=False)
    assert not killed.finished and ck.exists()               # checkpoint of step 4; step 5 is lost
    resumed = train_regressor(windows, "full", cfg, body, seed=0, embedder=embedder, device="cpu",
                              checkpoint=ck, progress=False)
    assert resumed.resumed_from == 4 and resumed.finished
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    strip = [{k: v for k, v in r.items() if k not in ("elapsed_s", "frames_per_s")} for r in full.log]
    assert strip == [{k: v for k, v in r.items() if k not in ("elapsed_s", "frames_per_s")}
                     for r in resumed.log]
    # a checkpoint of another configuration is not resumed
    other = train_regressor(windows, "full", _cfg(steps=8, lr=1e-3), body, seed=0, embedder=embedder,
                            device="cpu", checkpoint=ck, stop_after=1, progress=False)
    assert other.resumed_from == 0


# ------------------------------------------------------------------------------------------------
# prediction

@pytest.mark.parametrize("T,W", [(5, 8), (8, 8), (30, 8)])
def test_window_plan_gives_every_frame_one_output(T, W):
    starts, win, pos = window_plan(T, min(T, W))
    np.testing.assert_array_equal(starts[win] + pos, np.arange(T))
    assert np.all(pos[W - 1:] == min(T, W) - 1)               # the window ending at t, last position


def _random_sequence(T: int, seed: int = 0) -> SequenceArrays:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    bbox = np.tile(np.array([[60.0, 50.0, 40.0, 80.0]], np.float32), (T, 1))
    return SequenceArrays(name="x", features=f(T, D), bbox=bbox, mu=f(T, 32),
                          sigma=np.abs(f(T, 32)) + 0.1, d=f(T, 135))


def _cut(s: SequenceArrays, a: int, b: int) -> SequenceArrays:
    c = copy.copy(s)
    for k in ("features", "bbox", "mu", "sigma", "d"):
        setattr(c, k, getattr(s, k)[a:b])
    return c


def test_prediction_covers_every_frame_and_is_causal(body):
    torch.manual_seed(0)
    net = build_network("full", D, MODEL).eval()
    seq = _random_sequence(30)
    pred = predict_sequence(net, body, seq, window=8, batch_windows=5)
    shapes = {"pose": (30, 72), "betas": (30, 10), "cam": (30, 3), "joints3d": (30, 24, 3),
              "joints2d": (30, 24, 2), "sigma": (30, 32)}
    for k, shape in shapes.items():
        assert pred[k].shape == shape and np.all(np.isfinite(pred[k])), k
    np.testing.assert_allclose(pred["joints3d"][:, 0], 0.0, atol=1e-6)    # root-relative
    for t in (3, 7, 20, 29):   # frame t's output = the window of the (up to) 8 frames ending at t
        alone = predict_sequence(net, body, _cut(seq, max(0, t - 7), t + 1), window=8)
        np.testing.assert_allclose(alone["pose"][-1], pred["pose"][t], atol=1e-5)
    short = predict_sequence(net, body, _cut(seq, 0, 5), window=8)
    assert short["pose"].shape == (5, 72)


# ------------------------------------------------------------------------------------------------
# the stage through the CLI

def test_cli_train_predict_evaluate(stage, embedded_model_path, tmp_path):
    import json

    from hmr.cli import main

    files = stage["files"]
    train = [files[n] for n in ("train_000", "train_001")]
    out = tmp_path / "models" / "regressor_full.pt"
    cfg = _cfg(steps=4)
    cfg["crop_scale"] = 1.2
    args = ["train-regressor", "--variant", "full", "--params", json.dumps(cfg),
            "--sequences", *[p["sequence"] for p in train], "--features", *[p["features"] for p in train],
            "--embeddings", *[p["embedding"] for p in train], "--dynamics", *[p["dynamics"] for p in train],
            "--embedding-model", stage["embedder"], "--body-model", str(embedded_model_path),
            "--device", "cpu", "--no-progress", "--out", str(out),
            "--log", str(tmp_path / "log.csv"), "--plot", str(tmp_path / "loss.png")]
    assert main(args) == 0
    assert out.exists() and (tmp_path / "loss.png").exists() and not out.with_suffix(".ckpt").exists()
    assert len(pd.read_csv(tmp_path / "log.csv")) == 2

    t = files["test_000"]
    pred_path = tmp_path / "pred" / "test_000.h5"
    assert main(["predict", "--model", str(out), "--sequence", t["sequence"], "--features", t["features"],
                 "--embedding", t["embedding"], "--dynamics", t["dynamics"], "--body-model",
                 str(embedded_model_path), "--out", str(pred_path)]) == 0
    T = read_sequence(t["sequence"]).n_frames
    with h5py.File(pred_path) as f:
        for k, shape in {"pose": (T, 72), "betas": (T, 10), "cam": (T, 3), "joints3d": (T, 24, 3),
                         "joints2d": (T, 24, 2), "sigma": (T, 32), "pelvis_cam": (T, 3)}.items():
            assert f[k].shape == shape, k
        assert "root-relative" in f.attrs["joints3d_frame"]
        single = f["pose"][:]

    # several sequences in one call (the DAG's predict_tables): each output equals its own call
    u = files["train_001"]
    two = [tmp_path / "pred2" / "test_000.h5", tmp_path / "pred2" / "train_001.h5"]
    assert main(["predict", "--model", str(out), "--sequences", t["sequence"], u["sequence"],
                 "--features", t["features"], u["features"], "--embeddings", t["embedding"], u["embedding"],
                 "--dynamics", t["dynamics"], u["dynamics"], "--body-model", str(embedded_model_path),
                 "--out", *map(str, two)]) == 0
    with h5py.File(two[0]) as f:
        np.testing.assert_array_equal(f["pose"][:], single)
    with h5py.File(two[1]) as f:
        assert f["pose"].shape == (read_sequence(u["sequence"]).n_frames, 72)
    # a count mismatch is a one-line error that writes nothing
    bad = tmp_path / "pred3" / "x.h5"
    assert main(["predict", "--model", str(out), "--sequences", t["sequence"], u["sequence"],
                 "--features", t["features"], "--embeddings", t["embedding"], u["embedding"],
                 "--dynamics", t["dynamics"], u["dynamics"], "--body-model", str(embedded_model_path),
                 "--out", str(bad), str(bad) + "2"]) == 1
    assert not bad.exists()

    metrics = tmp_path / "metrics" / "full.csv"
    assert main(["evaluate", "--sequences", t["sequence"], "--predictions", str(pred_path),
                 "--body-model", str(embedded_model_path), "--out", str(metrics)]) == 0
    df = pd.read_csv(metrics)
    assert list(df.columns) == ["seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err", "orient_err"]
    assert list(df["seq"]) == ["test_000", "mean"] and df["n_frames"].iloc[-1] == T
    row = df.iloc[0]
    assert 0 < row.pa_mpjpe < row.mpjpe < 2000 and 0 < row.mpvpe < 3000 and row.accel_err > 0

    # ground truth as the prediction gives zero errors
    s = read_sequence(t["sequence"])
    j = s.arrays["gt/joints3d"]
    perfect = tmp_path / "pred" / "perfect.h5"
    write_arrays(perfect, {"joints3d": j - j[:, :1], "pose": s.arrays["gt/pose"], "betas": s.arrays["gt/betas"]})
    assert main(["evaluate", "--sequences", t["sequence"], "--predictions", str(perfect),
                 "--body-model", str(embedded_model_path), "--out", str(tmp_path / "perfect.csv")]) == 0
    zero = pd.read_csv(tmp_path / "perfect.csv").iloc[-1]
    assert max(zero.mpjpe, zero.pa_mpjpe, zero.mpvpe, zero.accel_err) < 0.01
    assert zero.orient_err < 0.01                    # degrees: the ground truth's own root orientation


def test_bad_stage_file_is_one_line_error_and_no_output(stage, embedded_model_path, tmp_path):
    from hmr.cli import main

    t = stage["files"]["test_000"]
    bad = tmp_path / "features_short.h5"
    write_arrays(bad, {"features": np.zeros((3, D), np.float32)})
    with pytest.raises(InputError, match="features_short.h5:features: 3 frames"):
        load_sequence_arrays(t["sequence"], bad)
    out = tmp_path / "models" / "m.pt"
    args = ["train-regressor", "--variant", "no_u_no_d", "--params", "{}", "--sequences", t["sequence"],
            "--features", str(bad), "--body-model", str(embedded_model_path), "--out", str(out),
            "--log", str(tmp_path / "l.csv"), "--plot", str(tmp_path / "p.png")]
    assert main(args) == 1
    assert not out.exists()


def test_lr_schedule_factors():
    from hmr.train.schedule import lr_factor

    assert [lr_factor(s, 10, "constant") for s in (0, 5, 9)] == [1.0, 1.0, 1.0]
    assert lr_factor(0, 10, "cosine", warmup=4) == pytest.approx(0.25)     # linear warm-up
    assert lr_factor(3, 10, "cosine", warmup=4) == pytest.approx(1.0)
    assert lr_factor(4, 10, "cosine", warmup=4) == pytest.approx(1.0)      # decay starts at the peak
    assert lr_factor(7, 10, "cosine", warmup=4) == pytest.approx(0.05 + 0.95 * 0.5)   # half-way
    assert lr_factor(10, 10, "cosine") == pytest.approx(0.05)              # floor at the end
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        lr_factor(0, 10, "step")


def test_feature_noise_and_schedule_change_training_deterministically(stage, body):
    """train.feature_noise and train.lr_schedule take effect, and a seed still repeats a run."""
    emb = _embedder(stage)
    win = _windows(stage)
    runs = {}
    for name, extra in (("plain", {}), ("noise", {"feature_noise": 0.5}), ("noise2", {"feature_noise": 0.5}),
                        ("cosine", {"lr_schedule": "cosine"})):
        cfg = _cfg(steps=3)
        cfg["train"].update(extra)
        res = train_regressor(win, "full", cfg, body, seed=0, embedder=emb, device="cpu", progress=False)
        runs[name] = torch.cat([p.detach().flatten() for p in res.model.parameters()])
    assert torch.equal(runs["noise"], runs["noise2"])
    assert not torch.equal(runs["plain"], runs["noise"])
    assert not torch.equal(runs["plain"], runs["cosine"])
