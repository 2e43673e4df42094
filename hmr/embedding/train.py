"""Training the embedder: model construction, data sampling and the optimisation step are
separate functions; :func:`train_embedder` ties them together.

One code path for one CPU process, one GPU or N processes under ``torchrun`` (a
:class:`~hmr.distributed.context.Context`). Every rank draws the same *global* batch (the pair
sampler and the Monte-Carlo generator are seeded identically), embeds its contiguous share of the
records (anchors and positives in one pass; batch norm is global across ranks) and gathers the
embeddings with their gradients, so the semi-hard negative mining and the loss see the whole
global batch and equal the single-process ones; the gather's backward sums the identical per-rank
gradients and DDP's mean divides the sum back. The matching kernel's two parameters live outside
DDP; their gradients are averaged explicitly. Dropout draws per-rank masks (rank 0 keeps the
single-process seed).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm import tqdm

from hmr.distributed import context as D
from hmr.embedding.data import PairBatch, PairSampler, PosePool
from hmr.embedding.losses import MatchingKernel, embedding_loss
from hmr.embedding.model import PoseEmbedder, build_embedder

log = logging.getLogger(__name__)

LOG_COLUMNS = ("step", "loss", "ratio", "positive", "kl", "a", "b", "mean_sigma",
               "active_triplets", "with_negative", "detected_share", "elapsed_s", "cpu_s")


@dataclass
class TrainResult:
    model: PoseEmbedder
    kernel: MatchingKernel
    log: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0       # wall clock
    cpu_seconds: float = 0.0   # process CPU time (all threads)


def build_training(cfg: dict[str, Any], deterministic: bool, seed: int
                   ) -> tuple[PoseEmbedder, MatchingKernel]:
    """A freshly initialised embedder and matching kernel (initialisation seeded by ``seed``)."""
    loss = cfg["loss"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = build_embedder(cfg["model"], int(cfg["dim"]), deterministic)
    kernel = MatchingKernel(raw_a=float(loss["a_init_raw"]), b=float(loss["b_init"]),
                            smoothing=float(loss["smoothing"]))
    return model, kernel


def make_optimizer(params: list[torch.nn.Parameter], train_cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """Adagrad as Pr-VIPE (accumulator starting at 0.1 as TensorFlow's), or Adam."""
    lr = float(train_cfg["lr"])
    if train_cfg["optimizer"] == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=0.1)
    return torch.optim.Adam(params, lr=lr)


def shard_pairs(batch: PairBatch, ctx: D.Context) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's contiguous share of the anchors and positives of a global batch."""
    return D.shard(batch.anchor, ctx), D.shard(batch.positive, ctx)


def gather_embeddings(mu: torch.Tensor, sigma: torch.Tensor, n_local: int, ctx: D.Context
                      ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Per-rank (2n,D) embeddings of [anchors; positives] -> the global batch's (anchor, positive)
    (mu, sigma) pairs in record order, differentiable (one process: a split)."""
    if not ctx.distributed:
        return (mu[:n_local], sigma[:n_local]), (mu[n_local:], sigma[n_local:])
    dim = mu.shape[-1]
    both = D.gather_with_grad(torch.cat([mu, sigma], -1), ctx)          # (R*2n, 2D)
    both = both.reshape(ctx.world_size, 2, n_local, 2 * dim)
    anchor, positive = both[:, 0].reshape(-1, 2 * dim), both[:, 1].reshape(-1, 2 * dim)
    return (anchor[:, :dim], anchor[:, dim:]), (positive[:, :dim], positive[:, dim:])


def train_step(model: torch.nn.Module, kernel: MatchingKernel, batch: PairBatch,
               optimizer: torch.optim.Optimizer, loss_cfg: dict[str, Any],
               generator: torch.Generator | None, device: torch.device,
               ctx: D.Context | None = None) -> dict[str, float]:
    """One optimisation step on one *global* batch; returns the logged scalars (global batch).

    ``model`` is the embedder, or its DDP wrapper under ``ctx`` with several processes: then it
    embeds this rank's share and the loss runs on the gathered embeddings of the whole batch.
    """
    ctx = ctx if ctx is not None else D.Context(device=torch.device(device))
    model.train()
    anchor, positive = shard_pairs(batch, ctx) if ctx.distributed else (batch.anchor, batch.positive)
    n = len(anchor)
    x = torch.cat([anchor, positive]).to(device)
    mu, sigma = model(x)                       # one pass: BatchNorm sees anchors and positives
    emb_a, emb_p = gather_embeddings(mu, sigma, n, ctx)
    loss, stats = embedding_loss(emb_a, emb_p, batch.match.to(device), kernel, loss_cfg, generator,
                                 deterministic=D.unwrap(model).deterministic)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    D.average_gradients(kernel.parameters(), ctx)
    optimizer.step()
    stats["detected_share"] = float(batch.detected.float().mean())
    return stats


def train_embedder(pool: PosePool, cfg: dict[str, Any], *, deterministic: bool, seed: int,
                   device: str | torch.device = "cpu", progress: bool = True,
                   ctx: D.Context | None = None) -> TrainResult:
    """Train a (probabilistic or deterministic) embedder on ``pool`` with ``cfg`` = ``embedding``.

    Deterministic for a given seed on a given device (and number of processes): the
    initialisation, the dropout masks, the batches and the Monte-Carlo samples all come from
    seeded generators. ``ctx``: the process group (default: :func:`hmr.distributed.context.init`
    of ``device``, i.e. torchrun's environment or one process); ``train.batch_size`` is the
    global batch.
    """
    ctx = ctx if ctx is not None else D.init(str(device))
    device = ctx.device
    tcfg = cfg["train"]
    steps, batch_size, every = int(tcfg["steps"]), int(tcfg["batch_size"]), int(tcfg["log_every"])
    D.check_split(batch_size, ctx.world_size, "embedding train.batch_size")
    net, kernel = build_training(cfg, deterministic, seed)
    model = D.wrap(net, ctx)
    net = D.unwrap(model)
    kernel.to(device)
    optimizer = make_optimizer(list(model.parameters()) + list(kernel.parameters()), tcfg)
    sampler = PairSampler(pool, cfg, seed=seed + 1)
    mc_gen = torch.Generator(device=device).manual_seed(int(seed) + 2)
    rows: list[dict[str, float]] = []
    acc: dict[str, float] = {}
    n_acc = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(D.rank_seed(int(seed) + 3, ctx.rank))        # dropout masks
        bar = tqdm(range(1, steps + 1), desc="embedding" + (" (det.)" if deterministic else ""),
                   mininterval=2, disable=not (progress and ctx.is_main))
        for step in bar:
            batch = sampler.sample(batch_size)
            stats = train_step(model, kernel, batch, optimizer, cfg["loss"], mc_gen, device, ctx)
            for key, value in stats.items():
                acc[key] = acc.get(key, 0.0) + value
            n_acc += 1
            if step % every == 0 or step == steps:
                row = {"step": step, **{k: v / n_acc for k, v in acc.items()},
                       "elapsed_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
                rows.append(row)
                bar.set_postfix(loss=f"{row['loss']:.3f}", sigma=f"{row['mean_sigma']:.3f}")
                acc, n_acc = {}, 0
    net.eval().requires_grad_(False)
    kernel.requires_grad_(False)
    return TrainResult(net, kernel, rows, time.perf_counter() - t0, time.process_time() - c0)


def write_log_csv(rows: list[dict[str, float]], path: str | os.PathLike) -> None:
    """The training log as CSV (columns :data:`LOG_COLUMNS`), written atomically."""
    from hmr.io.atomic import write_log_rows

    write_log_rows(rows, path, LOG_COLUMNS)


def plot_losses(rows: list[dict[str, float]], path: str | os.PathLike, title: str) -> None:
    """Loss curves (total, ratio, positive, KL) and the mean sigma, as a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hmr.io.atomic import atomic_path

    steps = [r["step"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    labels = {"loss": "total", "ratio": "ratio (Eq. 2)", "positive": "positive (Eq. 3, unweighted)",
              "kl": "KL prior (unweighted)"}
    for key, label in labels.items():
        ax1.plot(steps, [r[key] for r in rows], label=label)
    ax1.set_xlabel("step")
    ax1.set_ylabel("loss (batch mean)")
    ax1.set_yscale("symlog", linthresh=1e-2)
    ax1.legend(fontsize=8)
    ax1.set_title(title, fontsize=9)
    ax2.plot(steps, [r["active_triplets"] for r in rows], label="active triplets")
    ax2.plot(steps, [r["mean_sigma"] for r in rows], label="mean sigma")
    ax2.set_xlabel("step")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
