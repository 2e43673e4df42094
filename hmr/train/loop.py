"""Training the regressor: model construction, the optimisation step, checkpoints and the loop are
separate functions (:func:`build_model`, :func:`train_step`, :func:`save_checkpoint` /
:func:`load_checkpoint`, :func:`train_regressor`).

One code path for one CPU process, one GPU or N processes under ``torchrun`` (a
:class:`~hmr.distributed.context.Context`; see :mod:`hmr.distributed.context`). Every rank draws
the same *global* batch (the :class:`~hmr.train.data.BatchSampler` is a pure function of seed and
step), runs the network on its contiguous share, and gathers the outputs with their gradients, so
the loss (Eq. 6) is computed on the whole global batch on every rank: its masked means are exactly
the single-process ones whatever ground truth each share holds, and the logged losses are the
global-batch losses. The gather's backward sums the identical per-rank gradients and DDP's mean
divides that sum back, so each rank applies the single-process gradient. The network (the bulk of
the cost) is split over the ranks; the loss's body-model joints and frozen embedder run on the
global batch on every rank. Dropout draws per-rank masks (rank 0 keeps the single-process seed).
Only rank 0 writes checkpoints; they hold every rank's RNG state.

Resuming. A checkpoint holds the model, the optimizer (and AMP scaler), the RNG states (torch CPU
and CUDA, numpy, python), the step, the log rows and the partial log accumulators. The data order
is a pure function of (seed, step) (:class:`~hmr.train.data.BatchSampler`) and the dropout masks
come from the restored torch RNG, so a run killed after a checkpoint and restarted ends with the
same weights, bit for bit, as an uninterrupted run (on the CPU; cuDNN's GRU kernels are not
guaranteed deterministic).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from hmr.distributed import context as D
from hmr.errors import InputError
from hmr.model.losses import LOSS_KEYS, regressor_loss
from hmr.model.network import HMRNetwork, build_network
from hmr.model.smpl_torch import BodyModel
from hmr.train.data import BatchSampler, WindowSource
from hmr.train.schedule import lr_factor

log = logging.getLogger(__name__)

LOG_COLUMNS = ("step", "epoch") + LOSS_KEYS + ("frames_per_s", "elapsed_s")


def derive_seed(seed: int, name: str) -> int:
    """A per-purpose seed from the config seed (stable across runs and machines)."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0] % 2**31)


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def build_model(variant: str, feat_dim: int, model_cfg: dict[str, Any], seed: int,
                input_stats: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> HMRNetwork:
    """A freshly initialised network (initialisation seeded by ``seed``) with the encoder's input
    standardisation set from ``input_stats`` (key -> (mean, std); ``feat``, ``u``, ``d``)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = build_network(variant, feat_dim, model_cfg)
    enc = model.encoder
    for key, norm in (("feat", enc.norm_f), ("u", enc.norm_u), ("d", enc.norm_d)):
        if norm is not None and input_stats and key in input_stats:
            norm.set_stats(*map(torch.as_tensor, input_stats[key]))
    return model


@dataclass
class Amp:
    """Mixed precision: fp16 autocast with a gradient scaler on CUDA; off on the CPU."""

    device: torch.device
    enabled: bool = False
    scaler: Any = None

    @classmethod
    def for_device(cls, device: torch.device, enabled: bool = True) -> "Amp":
        on = bool(enabled and device.type == "cuda")
        return cls(device, on, torch.amp.GradScaler("cuda") if on else None)

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=torch.float16)


def to_tensors(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device, non_blocking=True)
            for k, v in batch.items()}


def forward_inputs(model: HMRNetwork, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
    v = D.unwrap(model).variant
    return {"f": batch["feat"], "u": batch["u"] if v.use_u else None, "d": batch["d"] if v.use_d else None}


def shard_batch(batch: dict[str, torch.Tensor], ctx: D.Context) -> dict[str, torch.Tensor]:
    """This rank's contiguous rows of every array of a global batch (the batch itself in one process)."""
    if not ctx.distributed:
        return batch
    return {k: D.shard(v, ctx) for k, v in batch.items()}


def train_step(model: torch.nn.Module, body: BodyModel, batch: dict[str, torch.Tensor],
               optimizer: torch.optim.Optimizer, loss_cfg: dict[str, Any], dt: int,
               embedder: torch.nn.Module | None, amp: Amp, grad_clip: float = 0.0,
               ctx: D.Context | None = None) -> dict[str, float]:
    """One optimisation step on one *global* batch of windows; returns the logged scalars.

    ``model`` is the network, or its DDP wrapper under ``ctx`` with several processes: then the
    network runs on this rank's share and the loss on the gathered outputs of the whole batch.
    """
    ctx = ctx if ctx is not None else D.Context(device=amp.device)
    net = D.unwrap(model)
    model.train()
    with amp.autocast():
        out = model(**forward_inputs(net, shard_batch(batch, ctx)))
    out = D.gather_fields_with_grad(out, ctx)
    with torch.autocast(device_type=amp.device.type, enabled=False):   # losses in float32
        loss, stats = regressor_loss(out, batch, body, loss_cfg, dt,
                                     embedder if net.variant.unc_loss else None)
    optimizer.zero_grad(set_to_none=True)
    if amp.scaler is not None:
        amp.scaler.scale(loss).backward()
        amp.scaler.unscale_(optimizer)
    else:
        loss.backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if amp.scaler is not None:
        amp.scaler.step(optimizer)
        amp.scaler.update()
    else:
        optimizer.step()
    return stats


# ---------------------------------------------------------------------------------------------
# checkpoints

def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, model: HMRNetwork, optimizer: torch.optim.Optimizer,
                    amp: Amp, step: int, rows: list[dict], acc: dict[str, float], n_acc: int,
                    fingerprint: str, rng_ranks: list[dict[str, Any]] | None = None) -> None:
    """Everything needed to continue training exactly where it stopped (written atomically).

    ``rng_ranks``: every rank's RNG state in rank order (DDP); ``rng`` is this process's."""
    from hmr.io.atomic import atomic_path

    state = {"fingerprint": fingerprint, "step": int(step), "model": D.unwrap(model).state_dict(),
             "optimizer": optimizer.state_dict(),
             "scaler": amp.scaler.state_dict() if amp.scaler is not None else None,
             "rng": rng_state(), "rows": rows, "acc": acc, "n_acc": int(n_acc)}
    if rng_ranks is not None:
        state["rng_ranks"] = list(rng_ranks)
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    try:
        # RNG states hold numpy arrays and tuples: not loadable with weights_only. The file is
        # this run's own resume state, written next to its output.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(f"{path}: unreadable training checkpoint ({exc.__class__.__name__})") from None


def resume_rng(state: dict[str, Any], ctx: D.Context) -> dict[str, Any] | None:
    """This rank's RNG state from a checkpoint (rank 0: the writer's own when the checkpoint came
    from another number of processes), or None when it holds none for this rank."""
    ranks = state.get("rng_ranks")
    if ranks is not None and len(ranks) == ctx.world_size:
        return ranks[ctx.rank]
    return state["rng"] if ctx.rank == 0 else None


def seed_rngs(seed: int, rank: int, salt: str = "") -> None:
    """Seed torch (dropout masks), numpy and python for ``rank`` (rank 0 without salt: the
    single-process seeds)."""
    torch.manual_seed(D.rank_seed(derive_seed(seed, "regressor/dropout" + salt), rank))
    np.random.seed(D.rank_seed(derive_seed(seed, "regressor/numpy" + salt), rank) % 2**32)
    random.seed(D.rank_seed(derive_seed(seed, "regressor/python" + salt), rank))


def run_fingerprint(variant: str, feat_dim: int, cfg: dict[str, Any], seed: int, n_windows: int) -> str:
    """What must match for a checkpoint to be resumed."""
    blob = json.dumps({"variant": variant, "feat_dim": feat_dim, "cfg": cfg, "seed": seed,
                       "n_windows": n_windows}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# the loop

@dataclass
class TrainResult:
    model: HMRNetwork
    log: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    steps_run: int = 0
    resumed_from: int = 0
    finished: bool = True


def train_regressor(windows: WindowSource, variant: str, cfg: dict[str, Any], body: BodyModel, *,
                    seed: int, embedder: torch.nn.Module | None = None, device: str | torch.device = "auto",
                    checkpoint: str | os.PathLike | None = None, stop_after: int | None = None,
                    progress: bool = True, ctx: D.Context | None = None) -> TrainResult:
    """Train one variant on ``windows`` with ``cfg`` = the ``regressor`` config section.

    ``checkpoint``: resume state written every ``train.checkpoint_every`` steps (by rank 0) and
    read at start when it matches this run (a mismatching one is ignored and overwritten).
    ``stop_after``: stop after that many steps in total (as a kill would; for tests). ``ctx``: the
    process group (default: :func:`hmr.distributed.context.init` of ``device``, i.e. torchrun's
    environment or one process); ``train.batch_size`` is the global batch. Deterministic for a
    given seed (and number of processes) on the CPU.
    """
    ctx = ctx if ctx is not None else D.init(str(device))
    device = ctx.device
    tcfg, lcfg = cfg["train"], cfg["loss"]
    steps, bs = int(tcfg["steps"]), int(tcfg["batch_size"])
    D.check_split(bs, ctx.world_size, "regressor train.batch_size")
    every, ck_every = int(tcfg["log_every"]), int(tcfg["checkpoint_every"])
    dt, W = int(cfg["dt"]), int(windows.window)
    feat_dim = int(windows.feat_dim)
    net = build_model(variant, feat_dim, cfg["model"], derive_seed(seed, "regressor/init"),
                      windows.input_stats())
    model = D.wrap(net, ctx)
    net = D.unwrap(model)
    body = body.to(device)
    if embedder is not None:
        embedder = embedder.to(device).eval().requires_grad_(False)
    if net.variant.unc_loss and embedder is None and float(lcfg["lambda_unc"]) > 0:
        raise InputError(f"variant '{variant}' uses L_unc: an embedding model is required")
    optimizer = torch.optim.Adam(model.parameters(), lr=float(tcfg["lr"]),
                                 weight_decay=float(tcfg.get("weight_decay", 0.0)))
    amp = Amp.for_device(device, bool(tcfg.get("amp", True)))
    sampler = BatchSampler(len(windows), bs, derive_seed(seed, "regressor/data"))   # global batches
    fingerprint = run_fingerprint(variant, feat_dim, cfg, seed, len(windows))

    start, rows, acc, n_acc = 0, [], {}, 0
    ck = Path(checkpoint) if checkpoint else None
    D.barrier(ctx)                      # rank 0 has finished any checkpoint write before we look
    if ck is not None and ck.exists():
        state = load_checkpoint(ck)
        if state.get("fingerprint") == fingerprint:
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if amp.scaler is not None and state.get("scaler"):
                amp.scaler.load_state_dict(state["scaler"])
            start, rows, acc, n_acc = int(state["step"]), list(state["rows"]), dict(state["acc"]), int(state["n_acc"])
            rng = resume_rng(state, ctx)
            if rng is not None:
                set_rng_state(rng)
            else:
                log.warning("%s: written by a run with another number of processes; rank %d "
                            "draws fresh dropout masks", ck, ctx.rank)
                seed_rngs(seed, ctx.rank, f"/resumed{start}")
            if ctx.is_main:
                log.info("resumed %s from %s at step %d", variant, ck, start)
        elif ctx.is_main:
            log.warning("%s: checkpoint of a different run (config/data changed); starting afresh", ck)
    if ctx.distributed and len(set(D.gather_objects(start, ctx))) > 1:
        raise InputError(f"{ck}: the ranks would resume at different steps; put the checkpoint on a "
                         "file system every rank sees")
    if start == 0:
        seed_rngs(seed, ctx.rank)

    end = steps if stop_after is None else min(steps, int(stop_after))
    grad_clip = float(tcfg.get("grad_clip", 0.0))
    t0 = time.perf_counter()
    elapsed0 = rows[-1]["elapsed_s"] if rows else 0.0
    frames = 0
    bar = tqdm(range(start, end), desc=f"regressor {variant}", mininterval=2,
               disable=not (progress and ctx.is_main), initial=start, total=steps)
    base_lr = float(tcfg["lr"])
    schedule, warmup = str(tcfg.get("lr_schedule", "constant")), int(tcfg.get("warmup_steps", 0))
    noise = float(tcfg.get("feature_noise", 0.0))
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = base_lr * lr_factor(step, steps, schedule, warmup)
        batch = to_tensors(windows.batch(sampler.global_batch(step)), device)
        if noise > 0:   # augmentation: Gaussian noise of `noise` x each channel's training std on f_t
            batch["feat"] = batch["feat"] + noise * net.encoder.norm_f.std * torch.randn_like(batch["feat"])
        stats = train_step(model, body, batch, optimizer, lcfg, dt, embedder, amp, grad_clip, ctx)
        frames += bs * W
        for k, v in stats.items():
            acc[k] = acc.get(k, 0.0) + v
        n_acc += 1
        done = step + 1
        if done % every == 0 or done == steps:
            el = time.perf_counter() - t0
            row = {"step": done, "epoch": sampler.epoch_of(done), **{k: v / n_acc for k, v in acc.items()},
                   "frames_per_s": frames / max(el, 1e-9), "elapsed_s": elapsed0 + el}
            rows.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", fps=f"{row['frames_per_s']:.0f}")
            acc, n_acc = {}, 0
        if ck is not None and done % ck_every == 0 and done < steps:
            rng_ranks = D.gather_objects(rng_state(), ctx) if ctx.distributed else None
            if ctx.is_main:
                save_checkpoint(ck, net, optimizer, amp, done, rows, acc, n_acc, fingerprint, rng_ranks)
    bar.close()
    net.eval()
    return TrainResult(net, rows, time.perf_counter() - t0, end - start, start, finished=end >= steps)


# ---------------------------------------------------------------------------------------------
# model file, log, plot

def save_model(model: HMRNetwork, path: str | os.PathLike, meta: dict[str, Any]) -> None:
    """The trained network (hparams, weights, plain metadata); :func:`load_model` reads it back."""
    from hmr.io.atomic import atomic_path

    state = {"hparams": dict(model.hparams), "state_dict": model.state_dict(), "meta": dict(meta)}
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(state, tmp)


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[HMRNetwork, dict[str, Any]]:
    """(network in eval mode, meta) from a file written by :func:`save_model`."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: regressor model not found") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable regressor model ({exc.__class__.__name__})") from None
    if not isinstance(state, dict) or not {"hparams", "state_dict"} <= set(state):
        raise InputError(f"{path}: not a regressor model (needs hparams and state_dict)")
    hp = dict(state["hparams"])
    model = build_network(hp.pop("variant"), int(hp.pop("feat_dim")), hp)
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not fit the recorded architecture "
                         f"({str(exc).splitlines()[0]})") from None
    return model.to(device).eval(), dict(state.get("meta", {}))


def write_log_csv(rows: list[dict[str, float]], path: str | os.PathLike) -> None:
    """The training log as CSV (columns :data:`LOG_COLUMNS`), written atomically."""
    from hmr.io.atomic import write_log_rows

    write_log_rows(rows, path, LOG_COLUMNS)


def plot_losses(rows: list[dict[str, float]], path: str | os.PathLike, title: str) -> None:
    """Loss curves: the total (Eq. 6) and each term, log scale, as a PNG written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hmr.io.atomic import atomic_path

    steps = [r["step"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(steps, [r["loss"] for r in rows], color="k", label="total (Eq. 6)")
    ax1.set_yscale("log")
    ax1.set_xlabel("step")
    ax1.set_title(title, fontsize=9)
    ax1.legend(fontsize=8)
    for key in LOSS_KEYS[1:]:
        vals = [r.get(key, 0.0) for r in rows]
        if any(v > 0 for v in vals):
            ax2.plot(steps, [max(v, 1e-12) for v in vals], label=key)
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_title("terms (unweighted)", fontsize=9)
    ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
