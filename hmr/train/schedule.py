"""Learning-rate schedules shared by the trainings (a factor of the base rate per step)."""

from __future__ import annotations

import math


def lr_factor(step: int, total: int, schedule: str = "cosine", warmup: int = 0, final: float = 0.05) -> float:
    """Factor of the base learning rate at 0-based ``step`` of ``total``.

    ``constant``: 1 after the warm-up. ``cosine``: linear warm-up over ``warmup`` steps, then a
    cosine decay to ``final`` x the base rate at the last step.
    """
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule '{schedule}' (constant | cosine)")
    p = (step - warmup) / max(1, total - warmup)
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0)))
