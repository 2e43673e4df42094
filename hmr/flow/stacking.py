"""The dynamic feature d_t: the 15 homographies between successive frames of [t-15, t].

``pairs[s]`` is the homography of the frame pair (s-1, s), mapping points of frame s-1 to their
positions in frame s, for s >= 1 (``pairs[0]`` has no pair: frame -1 does not exist). For frame
t the window [t-15, t] holds 16 frames and 15 successive pairs; slot k = 0..14 holds the pair
ending at frame s = t - 14 + k, oldest first, so slot 14 is (t-1, t) and slot 0 is (t-15, t-14).
A slot whose pair would start before frame 0 (s < 1, i.e. every frame t < 15 has some) holds the
identity and is flagged in ``padded``. ``d[t]`` is the window flattened row-major: 15 x 9 = 135
values, ``d[t, 9k:9k+9]`` = slot k's matrix, rows first.
"""

from __future__ import annotations

import numpy as np

WINDOW = 15  # homographies per frame (paper: the interval [t-15, t])
D_DIM = 9 * WINDOW  # 135


def stack_windows(pairs: np.ndarray, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """(T,3,3) per-pair homographies -> (T,window,3,3) windows and (T,window) ``padded`` mask.

    Slot k of frame t holds ``pairs[t - window + 1 + k]`` when that index is >= 1, else the
    identity (padded)."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 3 or pairs.shape[1:] != (3, 3):
        raise ValueError(f"pairs must be (T,3,3), got {pairs.shape}")
    T = len(pairs)
    s = np.arange(T)[:, None] - window + 1 + np.arange(window)[None, :]  # (T, window) pair index
    padded = s < 1
    eye = np.eye(3, dtype=pairs.dtype)
    stacked = np.where(padded[..., None, None], eye, pairs[np.clip(s, 0, max(T - 1, 0))] if T else eye)
    return stacked.reshape(T, window, 3, 3), padded


def dynamic_feature(stacked: np.ndarray) -> np.ndarray:
    """(T,15,3,3) windows -> (T,135) d_t (row-major flattening of the 15 matrices)."""
    stacked = np.asarray(stacked)
    return stacked.reshape(len(stacked), -1)
