"""Training and prediction data: per-sequence arrays from the stage files, 16-frame windows, and a
deterministic, rank-aware batch sampler.

* :func:`load_sequence_arrays` reads one sequence's stage files (features, embedding, dynamics)
  and ground truth into a :class:`SequenceArrays` (numpy, in memory).
* :class:`WindowSource` is the interface the training loop draws windows from; :class:`InMemoryWindows`
  holds every sequence in memory (the default data is small). A streaming source (reading windows
  from the HDF5 files on demand) only needs the same two methods.
* :class:`BatchSampler` gives the window indices of step k: the data order is a seeded permutation
  per epoch (seed + epoch), so a run resumed at step k sees exactly the batches an uninterrupted run
  sees. With ``world_size > 1`` each rank takes its contiguous share of the global batch.

Windows shorter than a sequence are all start positions with stride 1; a sequence shorter than the
window gives one window padded at the end (``mask`` False there; the GRU is causal, so padding after
a frame does not change that frame's output).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from hmr.body.joint_sets import convert_joints
from hmr.errors import InputError
from hmr.io.h5 import read_array, read_attrs
from hmr.io.sequence import read_sequence
from hmr.model.camera import pixels_to_crop

N_J45 = 45
DEFAULT_CROP_SCALE = 1.2   # VIBE's crop: 1.2 x the larger side of the person box


@dataclass
class SequenceArrays:
    """One sequence in memory. Inputs: ``features`` (T,D), ``mu``/``sigma`` (T,32) or None,
    ``d`` (T,135) or None. Targets (zeros with weight 0 where absent): ``kp2d`` (T,45,2) normalised
    crop coordinates with weights ``kp2d_w`` (T,45), ``j3d`` (T,24,3) root-relative meters with
    ``has_j3d`` (T,), ``pose`` (T,72) axis-angle and ``betas`` (T,10) with ``has_smpl`` (T,)."""

    name: str
    features: np.ndarray
    bbox: np.ndarray
    crop_scale: float = 1.2
    mu: np.ndarray | None = None
    sigma: np.ndarray | None = None
    d: np.ndarray | None = None
    kp2d: np.ndarray | None = None
    kp2d_w: np.ndarray | None = None
    j3d: np.ndarray | None = None
    has_j3d: np.ndarray | None = None
    pose: np.ndarray | None = None
    betas: np.ndarray | None = None
    has_smpl: np.ndarray | None = None
    K: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return len(self.features)


def _stage_array(path: str | os.PathLike, name: str, T: int, shape: tuple) -> np.ndarray:
    a = read_array(path, name, shape=(None,) + shape, dtype_kind="f")
    if len(a) != T:
        raise InputError(f"{path}:{name}: {len(a)} frames, the sequence has {T}")
    return a.astype(np.float32)


def load_sequence_arrays(sequence: str | os.PathLike, features: str | os.PathLike,
                         embedding: str | os.PathLike | None = None,
                         dynamics: str | os.PathLike | None = None, *,
                         crop_scale: float | None = None, with_targets: bool = True) -> SequenceArrays:
    """Read one sequence's stage files (and, with ``with_targets``, its ground truth).

    ``crop_scale`` (crop side / max(bbox w, h)) defines the normalised crop coordinates of the 2D
    targets and the camera; None takes the features file's ``crop_scale`` attribute (the crops the
    features were computed on), else :data:`DEFAULT_CROP_SCALE`.
    """
    seq = read_sequence(sequence)
    T = seq.n_frames
    if seq.bbox is None:
        raise InputError(f"{sequence}: no 'bbox' (the regressor needs the person box of every frame)")
    feats = read_array(features, "features", shape=(None, None), dtype_kind="f").astype(np.float32)
    if len(feats) != T:
        raise InputError(f"{features}:features: {len(feats)} frames, the sequence has {T}")
    if crop_scale is None:
        crop_scale = float(read_attrs(features).get("crop_scale", DEFAULT_CROP_SCALE))
    out = SequenceArrays(name=seq.name, features=feats, bbox=seq.bbox.astype(np.float32),
                         crop_scale=float(crop_scale))
    if embedding is not None:
        out.mu = _stage_array(embedding, "mu", T, (None,))
        out.sigma = _stage_array(embedding, "sigma", T, (out.mu.shape[1],))
    if dynamics is not None:
        out.d = _stage_array(dynamics, "d", T, (135,))
    if "camera/K" in seq.arrays:
        out.K = seq.arrays["camera/K"].astype(np.float32)
    if with_targets:
        _add_targets(out, seq, crop_scale, str(sequence))
    return out


def _add_targets(out: SequenceArrays, seq, crop_scale: float, where: str) -> None:
    T, a = seq.n_frames, seq.arrays
    valid = a["gt/valid"].astype(bool) if "gt/valid" in a else np.ones(T, bool)
    kp = np.zeros((T, N_J45, 2))
    w = np.zeros((T, N_J45), np.float32)
    if "gt/joints2d" in a:
        kp[:, :24] = a["gt/joints2d"]
        w[:, :24] = a["gt/visible"] if "gt/visible" in a else 1.0
    elif "gt/keypoints2d" in a:
        conv, present = convert_joints(a["gt/keypoints2d"], seq.joint_sets["gt/keypoints2d"], "smpl45")
        kp = conv[..., :2].astype(np.float64)
        w = (conv[..., 2] > 0).astype(np.float32) * present[None]
    out.kp2d = pixels_to_crop(kp, out.bbox, crop_scale).astype(np.float32)
    out.kp2d_w = (w * valid[:, None]).astype(np.float32)
    if "gt/joints3d" in a:
        j3 = a["gt/joints3d"].astype(np.float32)
        out.j3d = j3 - j3[:, :1]
        out.has_j3d = valid.copy()
    else:
        out.j3d, out.has_j3d = np.zeros((T, 24, 3), np.float32), np.zeros(T, bool)
    if "gt/pose" in a and "gt/betas" in a:
        out.pose, out.betas = a["gt/pose"].astype(np.float32), a["gt/betas"].astype(np.float32)
        out.has_smpl = valid.copy()
    else:
        out.pose, out.betas = np.zeros((T, 72), np.float32), np.zeros((T, 10), np.float32)
        out.has_smpl = np.zeros(T, bool)
    if not (out.kp2d_w.any() or out.has_j3d.any() or out.has_smpl.any()):
        raise InputError(f"{where}: no usable ground truth (2D, 3D or SMPL) to train on")


def input_arrays(s: SequenceArrays) -> dict[str, np.ndarray]:
    """The network inputs of a sequence: ``feat``, and ``u`` = [mu, sigma^2], ``d`` when present."""
    arrays = {"feat": s.features}
    if s.mu is not None:
        arrays["u"] = np.concatenate([s.mu, s.sigma ** 2], -1)
    if s.d is not None:
        arrays["d"] = s.d
    return arrays


class WindowSource(Protocol):
    """What the training loop needs from its data: the window length and feature size, a number
    of windows, batches of them, and per-channel input statistics (for the encoder's
    standardisation; a streaming source may compute them on a sample)."""

    window: int
    feat_dim: int

    def __len__(self) -> int: ...

    def batch(self, indices: np.ndarray) -> dict[str, np.ndarray]: ...

    def input_stats(self) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...


_TARGETS = ("kp2d", "kp2d_w", "j3d", "has_j3d", "pose", "betas", "has_smpl")


class InMemoryWindows:
    """Every ``window``-frame window (stride 1) of sequences held in memory."""

    def __init__(self, sequences: list[SequenceArrays], window: int) -> None:
        if not sequences:
            raise InputError("no training sequences")
        dims = {s.features.shape[1] for s in sequences}
        if len(dims) != 1:
            raise InputError(f"training sequences have different feature sizes {sorted(dims)}")
        self.sequences, self.window = sequences, int(window)
        self.feat_dim = dims.pop()
        self.index = np.array([(i, start) for i, s in enumerate(sequences)
                               for start in range(max(s.n_frames - self.window, 0) + 1)], np.int64)
        self.with_u = all(s.mu is not None for s in sequences)
        self.with_d = all(s.d is not None for s in sequences)
        self._arrays = [self._fields(s) for s in sequences]

    def __len__(self) -> int:
        return len(self.index)

    def _fields(self, s: SequenceArrays) -> dict[str, np.ndarray]:
        f = input_arrays(s)
        for k in _TARGETS:
            f[k] = getattr(s, k)
        if s.mu is not None:
            f["mu"], f["sigma"] = s.mu, s.sigma
            f["has_emb"] = np.ones(s.n_frames, bool)
        return f

    def batch(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """(B,W,...) arrays of the windows ``indices``, plus ``mask`` (B,W) of real frames."""
        W = self.window
        rows: dict[str, list[np.ndarray]] = {}
        masks = []
        for i in np.asarray(indices, np.int64):
            si, start = self.index[i]
            s = self.sequences[si]
            n = min(W, s.n_frames - start)
            idx = np.minimum(np.arange(start, start + W), start + n - 1)   # pad with the last frame
            m = np.arange(W) < n
            masks.append(m)
            for k, v in self._arrays[si].items():
                rows.setdefault(k, []).append(v[idx])
        out = {k: np.stack(v) for k, v in rows.items()}
        out["mask"] = np.stack(masks)
        return out

    def input_stats(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per-channel mean and std of each input over every frame (for the encoder's standardisation)."""
        stats = {}
        for key in ("feat", "u", "d"):
            arrays = [input_arrays(s).get(key) for s in self.sequences]
            if any(a is None for a in arrays):
                continue
            x = np.concatenate(arrays).astype(np.float64)
            stats[key] = (x.mean(0).astype(np.float32), x.std(0).astype(np.float32))
        return stats


class BatchSampler:
    """Deterministic batches: step k takes global positions [kB, (k+1)B) of an endless stream
    whose epoch e is ``default_rng([seed, e]).permutation(n)``. ``rank``/``world_size`` select this
    process's contiguous share of the global batch (DDP)."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} does not split over {world_size} processes")
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.rank, self.world_size = int(rank), int(world_size)
        self._perm_cache: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perm_cache:
            if len(self._perm_cache) > 2:
                self._perm_cache.pop(min(self._perm_cache))
            self._perm_cache[epoch] = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self._perm_cache[epoch]

    def global_batch(self, step: int) -> np.ndarray:
        pos = np.arange(step * self.batch_size, (step + 1) * self.batch_size, dtype=np.int64)
        epochs, offsets = pos // self.n, pos % self.n
        return np.array([self._perm(int(e))[o] for e, o in zip(epochs, offsets)], np.int64)

    def indices(self, step: int) -> np.ndarray:
        k = self.batch_size // self.world_size
        return self.global_batch(step)[self.rank * k:(self.rank + 1) * k]

    def epoch_of(self, step: int) -> float:
        return step * self.batch_size / self.n
