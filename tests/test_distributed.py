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
