"""The dynamics stage: one sequence file -> ``results/{dataset}/dynamics/{seq}.h5``.

Frames are streamed (memory bounded whatever the video length). For every successive pair
(s-1, s), s = 1..T-1, dense flow runs on the two person crops (``input: crop``, the crop of each
frame made from its own bbox, :mod:`hmr.features.crop`) or on the two full frames
(``input: frame``); a ``grid`` x ``grid`` lattice of flow vectors gives the correspondences, and
one homography per pair is fitted to them by the batched normalised DLT
(:mod:`hmr.flow.homography`).

Which pair, which coordinates
-----------------------------
``pairs[s]`` maps a point of frame s-1 to its position in frame s (forward flow s-1 -> s);
``pairs[0]`` is the identity (no pair). It is expressed in *normalised image coordinates of
frame s's image*: for ``input: crop`` that image is the crop of frame s (crop pixel x -> (x -
(size-1)/2) / (size/2), so the crop spans [-1, 1]), for ``input: frame`` the full frame (frame
pixel x -> (x - c) / (max(W, H)/2), c the frame centre). With crops, the flow runs between crop
s-1 (box s-1) and crop s (box s); the lattice points are then carried from crop s-1 into crop s's
coordinates with the two known crop maps, so both ends of each correspondence are in crop s's
coordinates and the box's own motion between the frames does *not* enter the homography: it is
the image motion of frame s-1 -> s (person and background), seen in the person-centred, scale-
normalised frame of crop s. :func:`pairs_to_frame_pixels` converts back to frame pixels.
Each matrix is then scaled so that its top-left element is 1 (the paper), with a guard
(:func:`hmr.flow.homography.normalize_top_left`).

Output datasets: ``homographies`` (T,15,3,3) float32 and ``d`` (T,135) float32, the windows of
:mod:`hmr.flow.stacking` (slot k of frame t = pair t-14+k; identity where that is < 1),
``padded`` (T,15) bool, plus ``pairs`` (T,3,3) float32 and ``support`` (T,) float32 (share of
the lattice points that were usable and kept by the robust fit; 0 where a pair had fewer than
``solver.min_points`` usable points and got the identity, and for pair 0).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from hmr.errors import InputError
from hmr.features.crop import check_boxes, crop_frames, crop_matrices
from hmr.flow.flow import BACKENDS, FlowBackend, make_flow
from hmr.flow.homography import SolverSettings, normalize_top_left, solve_homographies
from hmr.flow.stacking import dynamic_feature, stack_windows
from hmr.io.h5 import write_arrays
from hmr.io.sequence import iter_frames, read_sequence

log = logging.getLogger(__name__)

INPUTS = ("crop", "frame")


@dataclass(frozen=True)
class DynamicsSettings:
    """The config section ``dynamics`` (see config.yaml for each key's meaning)."""

    backend: str = "farneback"
    input: str = "crop"
    crop_size: int = 128
    crop_scale: float = 1.2
    grid: int = 16
    batch: int = 16
    solve_batch: int = 256
    threads: int = 1
    farneback: dict = field(default_factory=dict)
    dis: dict = field(default_factory=dict)
    raft: dict = field(default_factory=dict)
    solver: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.input not in INPUTS:
            raise ValueError(f"input must be crop or frame, got {self.input!r}")
        if self.crop_size < 16 or self.crop_scale < 1 or self.grid < 3:
            raise ValueError("need crop_size >= 16, crop_scale >= 1 and grid >= 3")
        if self.batch < 1 or self.solve_batch < 1:
            raise ValueError("batch and solve_batch must be >= 1")

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> DynamicsSettings:
        try:
            return cls(**dict(params))
        except (TypeError, ValueError) as exc:
            raise InputError(f"dynamics: {exc}") from None

    def solver_settings(self) -> SolverSettings:
        try:
            return SolverSettings(**self.solver)
        except (TypeError, ValueError) as exc:
            raise InputError(f"dynamics.solver: {exc}") from None


def _h3(A: np.ndarray) -> np.ndarray:
    """(N,2,3) affine -> (N,3,3)."""
    M = np.zeros((len(A), 3, 3))
    M[:, :2] = A
    M[:, 2, 2] = 1.0
    return M


def image_normalization(width: int, height: int) -> np.ndarray:
    """(3,3) map pixel -> normalised coordinates: centre at 0, the longer side spans [-1, 1]."""
    s = 2.0 / max(width, height)
    return np.array([[s, 0, -s * (width - 1) / 2], [0, s, -s * (height - 1) / 2], [0, 0, 1.0]])


def lattice(width: int, height: int, n: int) -> np.ndarray:
    """(n*n, 2) integer pixel positions of an n x n lattice of cell centres, x fastest."""
    xs = np.round((np.arange(n) + 0.5) * width / n - 0.5)
    ys = np.round((np.arange(n) + 0.5) * height / n - 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], -1)


def _inside(p: np.ndarray, width: int, height: int) -> np.ndarray:
    return ((p[..., 0] >= -0.5) & (p[..., 0] <= width - 0.5)
            & (p[..., 1] >= -0.5) & (p[..., 1] <= height - 0.5))


def correspondences(flow: np.ndarray, grid_pts: np.ndarray, image_size: tuple[int, int],
                    frame_size: tuple[int, int] | None = None,
                    crop_prev: np.ndarray | None = None,
                    crop_next: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Correspondences (src, dst, weights) of N pairs from their forward flow (N,h,w,2).

    ``grid_pts`` (M,2) integer pixels of the flow's image. Without crop maps, src = the lattice
    point and dst = src + flow (a point is usable when dst stays in the image). With the (N,3,3)
    frame->crop maps ``crop_prev`` (frame s-1) and ``crop_next`` (frame s), src is carried into
    crop s's coordinates (C_s C_{s-1}^-1) and a point is usable when it lies inside frame s-1 (not
    on the crop's black padding) and dst lies inside crop s and inside frame s.
    """
    w_img, h_img = image_size
    ix, iy = grid_pts[:, 0].astype(np.int64), grid_pts[:, 1].astype(np.int64)
    f = flow[:, iy, ix].astype(np.float64)  # (N, M, 2)
    src = np.broadcast_to(grid_pts.astype(np.float64), f.shape).copy()
    dst = src + f
    ok = np.isfinite(dst[..., 0]) & np.isfinite(dst[..., 1]) & _inside(dst, w_img, h_img)
    if crop_prev is not None:
        W, H = frame_size
        to_frame_prev = np.linalg.inv(crop_prev)
        to_frame_next = np.linalg.inv(crop_next)
        src_frame = np.einsum("nij,nmj->nmi", to_frame_prev[:, :2, :2], src) + to_frame_prev[:, None, :2, 2]
        dst_frame = np.einsum("nij,nmj->nmi", to_frame_next[:, :2, :2], dst) + to_frame_next[:, None, :2, 2]
        ok &= _inside(src_frame, W, H) & _inside(dst_frame, W, H)
        src = np.einsum("nij,nmj->nmi", crop_next[:, :2, :2], src_frame) + crop_next[:, None, :2, 2]
    return src, dst, ok.astype(np.float64)


def _frame_stream(path: str | os.PathLike, batch: int, n_frames: int) -> Iterator[np.ndarray]:
    """Frames of the sequence in batches; one-line error if their number is not ``n_frames``."""
    seen = 0
    for frames in iter_frames(path, batch):
        seen += len(frames)
        if seen > n_frames:
            raise InputError(f"{path}: more frames than n_frames={n_frames}")
        yield frames
    if seen != n_frames:
        raise InputError(f"{path}: {seen} frames could be read, n_frames says {n_frames}")


def sequence_rng(seed: int, name: str) -> np.random.Generator:
    """RANSAC's sampler for one sequence: fixed by the config seed and the sequence name."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def compute_dynamics(path: str | os.PathLike, params: Mapping[str, Any], seed: int = 0,
                     flow: FlowBackend | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """The dynamics arrays of the sequence file ``path`` (see the module docstring) with the
    config section ``params`` (``dynamics``); ``flow`` overrides the configured backend."""
    st = DynamicsSettings.from_config(params)
    solver = st.solver_settings()
    seq = read_sequence(path)
    T = seq.n_frames
    if T <= 0:
        raise InputError(f"{path}: sequence has no frames")
    W, H = seq.width, seq.height
    C = None
    if st.input == "crop":
        if seq.bbox is None:
            raise InputError(f"{path}: no 'bbox' (dynamics.input: crop needs person boxes; use frame)")
        bbox = check_boxes(seq.bbox, W, H, str(path))
        C = _h3(crop_matrices(bbox, st.crop_size, st.crop_scale))
        img_w = img_h = st.crop_size
    else:
        img_w, img_h = W, H
    if flow is None:
        flow = make_flow(st.backend, params)
    N = image_normalization(img_w, img_h)
    grid = lattice(img_w, img_h, st.grid)
    rng = sequence_rng(seed, seq.name)

    pairs = np.tile(np.eye(3), (T, 1, 1))
    support = np.zeros(T)
    guarded = np.zeros(T, bool)
    pending: list[tuple[np.ndarray, ...]] = []  # (s indices, src, dst, w) not yet solved

    def solve(chunks: list[tuple[np.ndarray, ...]]) -> None:
        s_idx, src, dst, w = (np.concatenate(x) for x in zip(*chunks))
        Hp, sup = solve_homographies(src, dst, w, solver, rng=rng)  # image pixels of frame s
        Hn = N @ Hp @ np.linalg.inv(N)  # normalised coordinates
        pairs[s_idx], guarded[s_idx] = normalize_top_left(Hn, solver.top_left_eps)
        support[s_idx] = sup

    prev_img = None
    start = 0
    bar = tqdm(total=T, desc=f"dynamics {seq.name} [{flow.name}, {st.input}]", unit="frame",
               mininterval=2.0, disable=not progress)
    with bar:
        for frames in _frame_stream(path, st.batch, T):
            n = len(frames)
            if st.input == "crop":
                imgs = crop_frames(frames, bbox[start:start + n], st.crop_size, st.crop_scale)
            else:
                imgs = np.ascontiguousarray(frames)
            seq_imgs = imgs if prev_img is None else np.concatenate([prev_img[None], imgs])
            first = start if prev_img is None else start - 1  # frame index of seq_imgs[0]
            if len(seq_imgs) >= 2:
                fl = flow(seq_imgs[:-1], seq_imgs[1:])
                s_idx = np.arange(first + 1, start + n)
                if C is not None:
                    corr = correspondences(fl, grid, (img_w, img_h), (W, H), C[s_idx - 1], C[s_idx])
                else:
                    corr = correspondences(fl, grid, (img_w, img_h))
                pending.append((s_idx,) + corr)
                if sum(len(p[0]) for p in pending) >= st.solve_batch:
                    solve(pending)
                    pending = []
            prev_img = imgs[-1]
            start += n
            bar.update(n)
    if pending:
        solve(pending)
    if guarded.any():
        log.warning("%s: %d homographies had a near-zero top-left element (normalised by H[2,2])",
                    path, int(guarded.sum()))
    stacked, padded = stack_windows(pairs.astype(np.float32))
    return {"homographies": stacked, "d": dynamic_feature(stacked), "padded": padded,
            "pairs": pairs.astype(np.float32), "support": support.astype(np.float32),
            "_guarded": guarded}


def pairs_to_frame_pixels(pairs: np.ndarray, settings: DynamicsSettings, width: int, height: int,
                          bbox: np.ndarray | None = None) -> np.ndarray:
    """Stored ``pairs`` (T,3,3) -> homographies in frame pixel coordinates (frame s-1 -> frame s),
    scaled to ||H||_F = 1 (``bbox`` needed for ``input: crop``)."""
    pairs = np.asarray(pairs, np.float64)
    if settings.input == "crop":
        N = image_normalization(settings.crop_size, settings.crop_size)
        C = N @ _h3(crop_matrices(np.asarray(bbox, np.float64), settings.crop_size, settings.crop_scale))
    else:
        C = np.broadcast_to(image_normalization(width, height), pairs.shape)
    H = np.linalg.inv(C) @ pairs @ C  # frame s pixels -> normalised crop s -> ... -> frame s pixels
    return H / np.linalg.norm(H, axis=(1, 2), keepdims=True)


def run_dynamics(sequence: str | os.PathLike, out: str | os.PathLike, params: Mapping[str, Any],
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Compute the dynamics of one sequence file and write ``out`` atomically; returns the arrays."""
    arrays = compute_dynamics(sequence, params, seed=seed)
    guarded = arrays.pop("_guarded")
    st = DynamicsSettings.from_config(params)
    coords = ("normalised coordinates of crop s (crop pixel -> (x - (size-1)/2) / (size/2))"
              if st.input == "crop" else
              "normalised coordinates of frame s (pixel -> (x - centre) / (max(W,H)/2))")
    write_arrays(out, arrays, config={"dynamics": dict(params), "seed": seed},
                 attrs={"backend": st.backend, "input": st.input, "sequence": Path(sequence).stem,
                        "pairs_meaning": "pairs[s]: frame s-1 -> frame s; pairs[0] identity",
                        "window_meaning": "homographies[t, k] = pairs[t-14+k], identity (padded) where < 1",
                        "coordinates": coords, "normalization": "top-left element = 1",
                        "top_left_guarded": int(guarded.sum())})
    return arrays


def set_cv_threads(n: int) -> None:
    """OpenCV's thread pool size for this process."""
    cv2.setNumThreads(max(1, int(n)))
