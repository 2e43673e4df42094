"""DDP on 2 CPU processes (gloo) follows the same losses as one process with the same global batch."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from hmr.distributed import context as D


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _toy_run(rank: int, world: int, port: int, out: str, coupled: bool) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    ctx = D.init("cpu")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.Linear(8, 3))
    model = D.wrap(model, ctx)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    losses = []
    for _ in range(6):
        idx = rng.choice(64, 16, replace=False)  # the same global batch on every rank
        z = model(torch.as_tensor(X[D.shard(idx, ctx)]))
        if coupled:  # a loss over sample pairs, like in-batch negative mining
            z = D.gather_with_grad(z, ctx)
            loss = torch.cdist(z, z).mean() + z.pow(2).mean()
        else:
            loss = (z - 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(D.mean_over_ranks(loss.item(), ctx) if not coupled else loss.item())
    if ctx.is_main:
        np.save(out, np.array(losses))
    D.shutdown(ctx)


@pytest.mark.parametrize("coupled", [False, True])
def test_two_processes_match_one_process(tmp_path, coupled):
    one, two = str(tmp_path / "one.npy"), str(tmp_path / "two.npy")
    mp.spawn(_toy_run, args=(1, _free_port(), one, coupled), nprocs=1)
    mp.spawn(_toy_run, args=(2, _free_port(), two, coupled), nprocs=2)
    a, b = np.load(one), np.load(two)
    assert a[-1] < a[0]  # it trained
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_shard_splits_evenly_and_refuses_uneven():
    ctx = D.Context(rank=1, world_size=2)
    np.testing.assert_array_equal(D.shard(np.arange(8), ctx), [4, 5, 6, 7])
    with pytest.raises(ValueError, match="does not split evenly"):
        D.shard(np.arange(7), ctx)


def test_single_process_is_a_no_op():
    ctx = D.init("cpu")
    assert not ctx.distributed and ctx.is_main
    m = torch.nn.Linear(2, 2)
    assert D.wrap(m, ctx) is m
    x = torch.ones(3, 2)
    assert D.gather_with_grad(x, ctx) is x


# ------------------------------------------------------------------------------------------------
# the real trainings (regressor loop, Pr-VIPE embedding) on 2 gloo processes vs one process
#
# Dropout is off (0.0) in the equivalence runs: under DDP each rank draws its own masks for its
# share, which cannot reproduce the single-process masks of the whole batch. A separate 2-process
# run with dropout on checks that a killed and resumed DDP run ends bit-identical to an
# uninterrupted one (every rank's RNG state is in the checkpoint).

REG_MODEL = {"gru_hidden": 8, "gru_layers": 1, "regressor_hidden": 16, "n_iter": 2, "dropout": 0.0,
             "dynamics_hidden": 20, "dynamics_layers": 1, "context": "multiply", "context_dim": 1}
REG_LOSS = {"lambda_g": 1.0, "lambda_dt": 1.0, "lambda_unc": 100.0, "w_2d": 300.0, "w_3d": 300.0,
            "w_pose": 60.0, "w_shape": 0.06}
EMB_CFG = {
    "dim": 8, "conf_threshold": 0.2,
    "model": {"width": 32, "n_blocks": 1, "dropout": 0.0, "sigma_init": 0.3},
    "views": {"azimuth_deg": [-180, 180], "elevation_deg": [-30, 30], "roll_deg": [-30, 30], "depth": 2.0},
    "loss": {"kappa": 0.1, "margin": 0.6931, "mc_samples": 4, "positive_weight": 0.005,
             "kl_weight": 0.001, "smoothing": 0.1, "a_init_raw": -0.65, "b_init": -0.5},
    "train": {"steps": 4, "batch_size": 16, "optimizer": "adam", "lr": 0.003, "log_every": 1,
              "detected_share": 0.5, "min_detected_joints": 8, "precompute_max_poses": 1000},
    "augment": {"dropout_apply_prob": 0.3, "dropout_keypoint_prob": 0.1, "jitter_std": 0.0},
}
WRITERS = (("hmr.train.loop", "save_model"), ("hmr.train.loop", "save_checkpoint"),
           ("hmr.train.loop", "write_log_csv"), ("hmr.train.loop", "plot_losses"),
           ("hmr.embedding.stages", "save_embedder"), ("hmr.embedding.stages", "write_log_csv"),
           ("hmr.embedding.stages", "plot_losses"))


def _reg_cfg(dropout: float = 0.0, checkpoint_every: int = 2) -> dict:
    train = {"steps": 4, "batch_size": 4, "lr": 3e-3, "weight_decay": 0.0, "grad_clip": 1.0,
             "amp": True, "log_every": 1, "checkpoint_every": checkpoint_every}
    return {"window": 6, "dt": 2, "model": dict(REG_MODEL, dropout=dropout), "loss": dict(REG_LOSS),
            "train": train}


def _windows():
    """Fabricated in-memory sequences (as benchmarks/bench_regressor.py) whose ground truth differs
    between windows, so the two shards of a batch hold different amounts of it: one sequence has
    3D and SMPL ground truth, one only partial 2D, one is shorter than the window (padded)."""
    from hmr.train.data import InMemoryWindows, SequenceArrays

    rng = np.random.default_rng(0)
    f32 = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    seqs = []
    for i, T in enumerate((9, 10, 4)):
        full = i == 0
        seqs.append(SequenceArrays(
            name=f"s{i}", features=f32(T, 8), bbox=np.tile([[160, 120, 60, 150]], (T, 1)).astype(np.float32),
            mu=f32(T, 32), sigma=np.abs(f32(T, 32)) + 0.2, d=f32(T, 135),
            kp2d=0.5 * f32(T, 45, 2),
            kp2d_w=(rng.random((T, 45)) < (0.9 if full else 0.4)).astype(np.float32),
            j3d=0.3 * f32(T, 24, 3), has_j3d=np.full(T, full), pose=0.3 * f32(T, 72), betas=f32(T, 10),
            has_smpl=np.full(T, full)))
    return InMemoryWindows(seqs, 6)


def _frozen_embedder():
    from hmr.embedding.model import PoseEmbedder

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return PoseEmbedder(dim=32, width=16, n_blocks=1, dropout=0.0).eval()


def _pool_file(path) -> None:
    """A tiny pose pool in the embedding-pool format: 24 varied 3D poses, half with detections."""
    from hmr.io.h5 import write_arrays

    rng = np.random.default_rng(3)
    poses = (rng.normal(0, 0.3, (24, 17, 3)) + [0.0, 0.0, 3.0]).astype(np.float32)
    det = np.zeros((24, 17, 3), np.float32)
    det[:12, :, :2] = 100 + 150 * poses[:12, :, :2] / poses[:12, :, 2:]
    det[:12, :, 2] = 0.9
    write_arrays(path, {"poses3d": poses, "detected": det, "has_detected": np.arange(24) < 12})


def _train_both(ctx, body_path: str, pool: str, out) -> dict:
    """The regressor (loop + rank-0 outputs) and the embedding (training + rank-0 outputs) with
    ``ctx``; their per-step global-batch losses."""
    from hmr.body.smpl import smpl_layer
    from hmr.embedding.stages import read_pool_file, write_embedding_outputs
    from hmr.embedding.train import train_embedder
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.loop import train_regressor
    from hmr.train.stage import write_training_outputs

    windows = _windows()
    reg = train_regressor(windows, "full", _reg_cfg(), BodyModel(smpl_layer(body_path)), seed=0,
                          embedder=_frozen_embedder(), checkpoint=out / "regressor.ckpt",
                          progress=False, ctx=ctx)
    meta = {"variant": "full", "n_windows": len(windows), "steps": 4}
    write_training_outputs(reg, meta, out / "regressor.pt", out / "regressor.csv", out / "regressor.png", ctx)
    emb = train_embedder(read_pool_file(pool, 0.1), EMB_CFG, deterministic=False, seed=5,
                         progress=False, ctx=ctx)
    write_embedding_outputs(emb, {"deterministic": False, "n_poses": 24}, out / "embedding.pt",
                            out / "embedding.csv", out / "embedding.png", ctx)
    return {"regressor": [r["loss"] for r in reg.log], "embedding": [r["loss"] for r in emb.log]}


def _resume_under_ddp(ctx, body_path: str, out) -> bool:
    """With dropout on: 2-process run killed after step 2 and resumed == uninterrupted, bit for bit."""
    from hmr.body.smpl import smpl_layer
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.loop import train_regressor

    windows, body, cfg = _windows(), BodyModel(smpl_layer(body_path)), _reg_cfg(dropout=0.3)
    run = lambda **kw: train_regressor(windows, "full", cfg, body, seed=1,  # noqa: E731
                                       embedder=_frozen_embedder(), progress=False, ctx=ctx, **kw)
    full = run()
    run(checkpoint=out / "resume.ckpt", stop_after=2)
    resumed = run(checkpoint=out / "resume.ckpt")
    a, b = full.model.state_dict(), resumed.model.state_dict()
    same = [r["loss"] for r in full.log] == [r["loss"] for r in resumed.log] and all(
        torch.equal(a[k], b[k]) for k in a)
    return bool(resumed.resumed_from == 2 and same)


def _stub_plot(rows, path, title) -> None:
    """Stands in for the loss plots (matplotlib would cost seconds per process)."""
    with open(path, "w") as fh:
        fh.write(f"{title}: {len(rows)} rows")


def _patch(setattr_, rank: int) -> None:
    """Stub the plots; on ranks other than 0 make every writer fail (only rank 0 may write)."""
    import importlib

    def refuse(*args, **kwargs):
        raise AssertionError(f"rank {rank} wrote a file")

    for module, name in WRITERS:
        if name == "plot_losses" or rank:
            setattr_(importlib.import_module(module), name, refuse if rank else _stub_plot)


def _real_run(rank: int, world: int, port: int, body_path: str, pool: str, out: str) -> None:
    import json
    from pathlib import Path

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    ctx = D.init("cpu")
    _patch(setattr, rank)
    losses = _train_both(ctx, body_path, pool, Path(out))
    losses["resume_exact"] = _resume_under_ddp(ctx, body_path, Path(out))
    if ctx.is_main:
        Path(out, "losses.json").write_text(json.dumps(losses))
    D.shutdown(ctx)


def _pre_batchnorm_keys(state: dict[str, torch.Tensor]) -> set[str]:
    """The bias of each Linear right before a BatchNorm (``...k.bias`` before ``...k+1.running_mean``)
    and that BatchNorm's running mean. Batch norm cancels the bias, so its gradient is zero up to
    rounding, and Adam turns that rounding noise into full-size steps: these values differ between
    runs that differ only in float summation order without changing what the network computes in
    training mode (compared separately)."""
    keys = set()
    for k in state:
        if k.endswith(".running_mean"):
            prefix, idx = k[:-len(".running_mean")].rsplit(".", 1)
            keys |= {k, f"{prefix}.{int(idx) - 1}.bias"}
    return keys & set(state)


def _state(path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in state["state_dict"].items() if v.is_floating_point()}


def test_real_trainings_two_processes_match_one_process(tmp_path, embedded_model_path, monkeypatch):
    import json

    from hmr.embedding.model import load_embedder

    _patch(monkeypatch.setattr, 0)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pool = str(tmp_path / "pool.h5")
        _pool_file(pool)
        one, two = tmp_path / "one", tmp_path / "two"
        one.mkdir()
        two.mkdir()
        ref = _train_both(D.init("cpu"), str(embedded_model_path), pool, one)
        mp.spawn(_real_run, args=(2, _free_port(), str(embedded_model_path), pool, str(two)), nprocs=2)
    finally:
        torch.set_num_threads(n)
    got = json.loads((two / "losses.json").read_text())
    assert got.pop("resume_exact") is True
    for key in ("regressor", "embedding"):
        assert len(ref[key]) == len(got[key]) == 4, key
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, err_msg=key)
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in two.iterdir() if p.name not in {"losses.json", "resume.ckpt"})
    assert "regressor.ckpt" not in names          # the finished run removed its resume state
    for name in ("regressor.pt", "embedding.pt"):
        a, b = _state(one / name), _state(two / name)
        assert a.keys() == b.keys()
        for k in a.keys() - _pre_batchnorm_keys(a):
            torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5, msg=f"{name}:{k}")
    # the embedders compute the same function in training mode (batch statistics, no dropout)
    x = torch.randn(64, 17, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        (mu1, s1), (mu2, s2) = (load_embedder(d / "embedding.pt").train()(x) for d in (one, two))
    torch.testing.assert_close(mu2, mu1, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s2, s1, rtol=1e-4, atol=1e-5)


def test_bad_launch_settings_give_one_line_errors(monkeypatch):
    from hmr.errors import InputError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(InputError, match="launch with torchrun"):
        D.init("cpu")
    with pytest.raises(InputError, match="--device cuda:1"):
        D.check_device("cuda:1", 2)
    with pytest.raises(InputError, match="train.batch_size 6 does not split evenly over 4"):
        D.check_split(6, 4, "train.batch_size")
    x = {"a": torch.ones(2, 3), "b": torch.zeros(2, 1, 2)}
    assert D.gather_fields_with_grad(x, D.Context()) is x
    assert D.rank_seed(7, 0) == 7 and D.rank_seed(7, 1) != D.rank_seed(7, 2) != 7
