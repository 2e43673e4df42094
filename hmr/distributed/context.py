"""Distributed data parallelism (DDP) with a global batch split across ranks.

The training loops draw the *global* batch from the same seeded sampler on every rank and each
rank takes its contiguous share (:func:`shard`). DDP averages the gradients of the per-rank mean
losses, which equals the gradient of the mean loss over the global batch when the shares are
equal, so N processes follow the same trajectory as one process with the same global batch (up
to float reduction order). Losses that couple samples (in-batch negative mining) gather the
per-rank outputs first (:func:`gather_with_grad`). Batch norm becomes SyncBatchNorm.

Launch: ``torchrun --standalone --nproc_per_node N -m hmr <train-subcommand> ...`` (rank r on
``cuda:LOCAL_RANK`` with NCCL when the device is ``auto``/``cuda`` and CUDA is present, gloo on the
CPU); without torchrun's environment variables everything runs in one process and nothing here
costs anything. The training subcommands use it: ``train-regressor``
(:mod:`hmr.train.loop`) and ``train-embedding`` (:mod:`hmr.embedding.train`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from hmr.errors import InputError


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(requested: str = "auto", local_rank: int = 0) -> torch.device:
    """``auto``: this rank's CUDA device when present, else the CPU; or an explicit device."""
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
    return torch.device(requested)


def check_device(requested: str, world_size: int) -> None:
    """One-line errors for a device this launch cannot use: CUDA asked for but absent, or one
    fixed GPU (``cuda:1``) for several processes (each rank takes ``cuda:LOCAL_RANK``)."""
    name = str(requested)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA device on this machine (use auto or cpu)")
    if world_size > 1 and name.startswith("cuda:"):
        raise InputError(f"--device {name}: with {world_size} processes pass auto or cuda "
                         "(each rank takes cuda:LOCAL_RANK)")


def env_world() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment variables; (0, 1, 0) without."""
    try:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return 0, 1, 0
        return int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0"))
    except (KeyError, ValueError):
        raise InputError("WORLD_SIZE is set but RANK/LOCAL_RANK are missing or not integers; "
                         "launch with torchrun") from None


def init(requested_device: str = "auto") -> Context:
    """Join the process group when launched by torchrun (RANK/WORLD_SIZE set), else one process.

    NCCL on GPUs (rank r on ``cuda:LOCAL_RANK``), gloo on the CPU.
    """
    rank, world_size, local_rank = env_world()
    check_device(requested_device, world_size)
    if world_size <= 1:
        return Context(device=pick_device(requested_device))
    device = pick_device(requested_device, local_rank)
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def shutdown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def shard(global_batch: np.ndarray, ctx: Context) -> np.ndarray:
    """This rank's contiguous share of a global batch (its length must divide evenly)."""
    n = len(global_batch)
    check_split(n, ctx.world_size)
    k = n // ctx.world_size
    return global_batch[ctx.rank * k:(ctx.rank + 1) * k]


def check_split(batch_size: int, world_size: int, what: str = "global batch") -> None:
    """An :class:`~hmr.errors.InputError` unless ``batch_size`` splits evenly over the processes."""
    if batch_size % world_size:
        raise InputError(f"{what} {batch_size} does not split evenly over {world_size} processes")


class GlobalBatchNorm(torch.nn.modules.batchnorm._BatchNorm):
    """Batch norm whose training statistics span the global batch of every rank (all-reduced
    sums, differentiable). torch's SyncBatchNorm is GPU-only; this one also runs on gloo/CPU."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        with warnings.catch_warnings():  # its successor is private API; this one still works
            warnings.simplefilter("ignore", FutureWarning)
            return self._global_forward(x)

    def _global_forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch.distributed.nn.functional import all_reduce

        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor(float(x.numel() // x.shape[1]), dtype=x.dtype)
        count = all_reduce(count)
        mean = all_reduce(x.sum(dims)) / count
        var = all_reduce(((x - mean.view(shape).detach()) ** 2).sum(dims)) / count
        # E[(x - mean)^2] with the detached mean equals the biased variance: exact value, and the
        # gradient through the mean's own term vanishes (the deviations sum to zero)
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1
                self.running_mean.mul_(1 - m).add_(m * mean.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach() * count / (count - 1))
                self.num_batches_tracked.add_(1)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def _global_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Replace every BatchNorm{1,2,3}d in ``module`` by :class:`GlobalBatchNorm` (same state)."""
    if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        new.load_state_dict(module.state_dict())
        return new.to(next(module.parameters(), torch.empty(0)).device)
    for name, child in module.named_children():
        setattr(module, name, _global_batchnorm(child))
    return module


def wrap(model: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """Move to the device; under DDP make batch norm global (SyncBatchNorm on GPUs,
    :class:`GlobalBatchNorm` on the CPU) and wrap in DDP."""
    model = model.to(ctx.device)
    if not ctx.distributed:
        return model
    if ctx.device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    else:
        model = _global_batchnorm(model)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DDP (for saving checkpoints)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def gather_with_grad(x: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Concatenate every rank's ``x`` along dim 0 in rank order, keeping gradients to the local part."""
    if not ctx.distributed:
        return x
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():  # its successor is private API; this one still works
        warnings.simplefilter("ignore", FutureWarning)
        return torch.cat(all_gather(x), dim=0)


def mean_over_ranks(value: float, ctx: Context) -> float:
    """The average of a scalar over ranks (for logging the global loss)."""
    if not ctx.distributed:
        return float(value)
    t = torch.tensor([float(value)], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def gather_fields_with_grad(fields: dict[str, torch.Tensor], ctx: Context) -> dict[str, torch.Tensor]:
    """:func:`gather_with_grad` of several (b, ...) tensors in one collective: each becomes
    (world_size * b, ...) in rank order (promoted to one floating dtype); one process: unchanged."""
    if not ctx.distributed:
        return fields
    names = list(fields)
    dtype = fields[names[0]].dtype
    for name in names[1:]:
        dtype = torch.promote_types(dtype, fields[name].dtype)
    b = len(fields[names[0]])
    flat = [fields[n].to(dtype).reshape(b, -1) for n in names]
    sizes = [f.shape[1] for f in flat]
    gathered = gather_with_grad(torch.cat(flat, 1), ctx)
    return {n: part.reshape((-1,) + tuple(fields[n].shape[1:]))
            for n, part in zip(names, torch.split(gathered, sizes, dim=1))}


def average_gradients(params, ctx: Context) -> None:
    """Average the gradients of parameters outside the DDP module over the ranks (in place)."""
    if not ctx.distributed:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(ctx.world_size)


def rank_seed(seed: int, rank: int) -> int:
    """A per-rank seed for randomness that must differ between ranks (dropout masks): ``seed``
    itself on rank 0, so one process draws exactly what it drew before DDP existed."""
    if rank == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(rank)]).generate_state(1)[0] % 2**31)


def barrier(ctx: Context) -> None:
    """Wait for every rank (e.g. until rank 0 has written a file the others read); one process: nothing."""
    if ctx.distributed:
        dist.barrier()


def gather_objects(obj, ctx: Context) -> list:
    """Every rank's picklable ``obj`` in rank order (``[obj]`` in one process)."""
    if not ctx.distributed:
        return [obj]
    out: list = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
