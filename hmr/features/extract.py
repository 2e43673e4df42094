"""The features stage: one sequence file -> ``results/{dataset}/features/{seq}.h5``.

Output: ``features`` (T,D) float32, by ``features.source``:

* ``resnet``: the globally pooled ResNet feature of each frame's person crop (square, ``crop_scale``
  x max(bbox w, h), ``input_size`` px, ImageNet mean/std);
* ``blazepose``: BlazePose's landmarks from the keypoints file (:mod:`hmr.features.landmarks`,
  198-d), no backbone;
* ``concat``: both, ResNet first;

root attributes ``source``, ``backbone`` (e.g. ``resnet18``, ``blazepose``, or ``precomputed``
when the sequence file ships ``precomputed/features``, e.g. VIBE's db files), ``weights``,
``input_size``, ``precision``, ``crop_scale``.

Frames are streamed in batches and cropped in a background thread while the network runs on the
previous batch (a bounded queue, so memory is bounded by the batch size whatever the video length),
and the features are written batch by batch into the output dataset.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hmr.errors import InputError
from hmr.features.backbone import (
    FEATURE_DIMS,
    autocast,
    load_backbone,
    normalize_crops,
    prepare,
    select_device,
    use_bf16,
)
from hmr.features.crop import check_boxes, crop_frames
from hmr.features.fast_frames import INFLATE_ERRORS, iter_stored_frames
from hmr.features.landmarks import chunk_rows, extract_landmark_features, sequence_landmark_features
from hmr.io.h5 import atomic_h5
from hmr.io.sequence import Sequence, read_sequence

log = logging.getLogger(__name__)

PRECOMPUTED = "precomputed/features"
SOURCES = ("resnet", "blazepose", "concat")


@dataclass
class FeatureExtractor:
    """A loaded backbone and how to run it (built once, applied to any number of sequences)."""

    net: nn.Module
    arch: str
    input_size: int
    crop_scale: float
    device: torch.device
    bf16: bool
    channels_last: bool
    weights: str | None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], weights: str | os.PathLike | None = None,
                    weights_format: str | None = None) -> FeatureExtractor:
        """From the config's ``features`` section; ``weights`` overrides ``params['weights']``."""
        weights = weights if weights is not None else params.get("weights")
        fmt = weights_format or params.get("weights_format", "spin")
        device = select_device(params.get("device", "auto"))
        channels_last = bool(params.get("channels_last", True))
        net = prepare(load_backbone(params["arch"], weights, fmt), device, channels_last)
        return cls(net=net, arch=params["arch"], input_size=int(params["input_size"]),
                   crop_scale=float(params.get("crop_scale", 1.2)), device=device,
                   bf16=use_bf16(params.get("precision", "auto"), device),
                   channels_last=channels_last, weights=None if weights is None else str(weights))

    @property
    def dim(self) -> int:
        return FEATURE_DIMS[self.arch]

    @property
    def precision(self) -> str:
        return "bf16" if self.bf16 else "fp32"

    @torch.inference_mode()
    def forward_crops(self, crops: np.ndarray) -> np.ndarray:
        """(B,S,S,3) uint8 crops -> (B,D) float32 features."""
        x = torch.from_numpy(np.ascontiguousarray(crops))
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
        x = normalize_crops(x)
        x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        with autocast(self.device, self.bf16):
            f = self.net(x)
        return f.float().cpu().numpy()


def _open(path: str | os.PathLike) -> Sequence:
    seq = read_sequence(path)
    if seq.n_frames <= 0:
        raise InputError(f"{path}: sequence has no frames")
    return seq


def _has_precomputed(path: str | os.PathLike) -> bool:
    with h5py.File(path, "r") as f:
        return PRECOMPUTED in f


def iter_crops(path: str | os.PathLike, bbox: np.ndarray, n_frames: int, size: int, scale: float,
               batch_size: int) -> Iterator[np.ndarray]:
    """Person crops (B,size,size,3) uint8 of the sequence file ``path``, streamed in batches.

    Unreadable frames (corrupt HDF5 chunks, a broken video) and a frame count other than
    ``n_frames`` end in one-line :class:`InputError`\\ s naming the file."""
    start = 0
    try:
        for frames in iter_stored_frames(path, batch_size):
            stop = start + len(frames)
            if stop > n_frames:
                raise InputError(f"{path}: more frames than n_frames={n_frames}")
            yield crop_frames(frames, bbox[start:stop], size, scale)
            start = stop
    except (OSError, RuntimeError, *INFLATE_ERRORS) as exc:  # failed chunk reads, decoder errors
        raise InputError(f"{path}: frames unreadable after frame {start} "
                         f"({exc.__class__.__name__}: {str(exc).splitlines()[0][:120]})") from None
    if start != n_frames:
        raise InputError(f"{path}: {start} frames could be read, n_frames says {n_frames}")


def prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run the iterator ``items`` in a background thread, ``depth`` items ahead (bounded memory);
    exceptions are re-raised in the consumer. HDF5 decompression, video decoding and OpenCV's
    warps release the GIL, so they overlap with the network's forward pass."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer and re-raised there
            q.put(exc)

    thread = threading.Thread(target=work, name="crop-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def use_prefetch(setting: bool | str, device: torch.device) -> bool:
    """``auto``: read and crop in a background thread only when a core is free for it: on CUDA, or
    when torch uses fewer threads than the cores this process may run on. With every core in
    torch's OpenMP team the extra thread only preempts it (measured slower on 2 cores: HDF5's
    gzip inflation is ~90% of the reading cost and cannot overlap with a saturated CPU)."""
    if setting != "auto":
        return bool(setting)
    if device.type == "cuda":
        return True
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return torch.get_num_threads() < cores


def extract_features(path: str | os.PathLike, out: str | os.PathLike, params: Mapping[str, Any],
                     extractor: FeatureExtractor | None = None,
                     config: Mapping[str, Any] | None = None,
                     keypoints: str | os.PathLike | None = None) -> dict[str, Any]:
    """Write the features file ``out`` for the sequence file ``path``; return a summary.

    ``params`` is the config's ``features`` section (``source``, ``batch_size``,
    ``use_precomputed``, and what :meth:`FeatureExtractor.from_params` reads); a prebuilt
    ``extractor`` may be passed; ``keypoints`` is the sequence's keypoints file (sources
    ``blazepose`` and ``concat``). Bad input (no frames, unreadable frames, a bbox outside the
    image, a checkpoint with the wrong keys, a keypoints file without world landmarks) raises
    :class:`InputError` and leaves no output file."""
    seq = _open(path)
    T = seq.n_frames
    source = params.get("source", "resnet")
    if source not in SOURCES:
        raise InputError(f"features.source: unknown source {source!r} (one of {', '.join(SOURCES)})")
    if source == "blazepose":
        return extract_landmark_features(path, out, params, keypoints, config)
    attrs: dict[str, Any] = {"sequence": seq.name, "n_frames": T, "source": source}
    if params.get("use_precomputed", True) and PRECOMPUTED in seq.arrays:
        feats = np.asarray(seq.arrays[PRECOMPUTED], np.float32)
        with atomic_h5(out, config=config or dict(params), attrs={**attrs, "backbone": "precomputed",
                                                                  "weights": "precomputed"}) as f:
            f.create_dataset("features", data=feats, chunks=(chunk_rows(feats.shape[1], T), feats.shape[1]),
                             compression="gzip", compression_opts=4, shuffle=True)
        log.info("%s: copied precomputed features %s", path, feats.shape)
        return {"frames": T, "dim": feats.shape[1], "backbone": "precomputed", "seconds": 0.0}
    if seq.bbox is None:
        raise InputError(f"{path}: no 'bbox' (person boxes are needed to crop the features' input)")
    bbox = check_boxes(seq.bbox, seq.width, seq.height, str(path))
    land = None
    if source == "concat":
        land = sequence_landmark_features(keypoints, source, path, bbox, T, float(params.get("crop_scale", 1.2)))
    ex = extractor or FeatureExtractor.from_params(params)
    D = ex.dim + (0 if land is None else land.shape[1])
    batch = int(params.get("batch_size", 32))
    attrs.update(backbone=ex.arch, weights=ex.weights or "random", input_size=ex.input_size,
                 crop_scale=ex.crop_scale, precision=ex.precision, device=str(ex.device))
    crops = iter_crops(path, bbox, T, ex.input_size, ex.crop_scale, batch)
    if use_prefetch(params.get("prefetch", "auto"), ex.device):
        crops = prefetch(crops)
    t0 = time.perf_counter()
    done = 0
    with atomic_h5(out, config=config or dict(params), attrs=attrs) as f:
        dset = f.create_dataset("features", shape=(T, D), dtype=np.float32,
                                chunks=(chunk_rows(D, T), D), compression="gzip",
                                compression_opts=4, shuffle=True)
        bar = tqdm(total=T, desc=f"features {seq.name} [{ex.arch}@{ex.input_size} {ex.precision}]",
                   unit="frame", mininterval=2.0)
        with bar:
            for c in crops:
                feats = ex.forward_crops(c)
                if not np.isfinite(feats).all():
                    raise InputError(f"{ex.weights or 'backbone'}: features of {path} frames "
                                     f"{done}..{done + len(c) - 1} are NaN/inf (broken weights?)")
                if land is not None:
                    feats = np.concatenate([feats, land[done:done + len(c)]], axis=1)
                dset[done:done + len(c)] = feats
                done += len(c)
                bar.update(len(c))
    seconds = time.perf_counter() - t0
    log.info("%s: %d frames -> %s (%d-d, %.1f frames/s)", path, T, out, D, T / max(seconds, 1e-9))
    return {"frames": T, "dim": D, "backbone": ex.arch, "seconds": seconds}


def read_features(path: str | os.PathLike) -> np.ndarray:
    """The (T,D) features of a features file, checked."""
    from hmr.io.h5 import read_array

    return read_array(Path(path), "features", (None, None), "f")
