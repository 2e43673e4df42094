"""Data-parallel training with torch.distributed: one code path for one CPU process, one GPU or
N GPUs (``torchrun --nproc_per_node N``). See :mod:`hmr.distributed.context`."""
