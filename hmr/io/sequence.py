"""The one sequence format every dataset is turned into.

One HDF5 file per sequence, ``data/{dataset}/{seq}.h5``:

=====================  ============  ==========================================================
name                   shape         meaning
=====================  ============  ==========================================================
``frames``             (T,H,W,3) u8  RGB frames (absent when the root attribute ``video_path``
                                     names a video file instead)
``bbox``               (T,4) f32     person box (cx, cy, w, h) in pixels, as VIBE; optional
                                     for videos before detection
``gt/pose``            (T,72) f32    SMPL axis-angle pose, root orientation in the camera frame
``gt/betas``           (T,10) f32    SMPL shape
``gt/trans``           (T,3) f32     SMPL translation in the camera frame (meters): the body
                                     model run on (pose, betas, trans) gives camera-frame joints
``gt/joints3d``        (T,24,3) f32  SMPL joints, camera frame, meters
``gt/joints2d``        (T,24,2) f32  SMPL joints projected with ``camera/K``, pixels
``gt/visible``         (T,24) bool   joint inside the image
``gt/valid``           (T,) bool     frame has usable ground truth
``camera/K``           (T,3,3) f32   intrinsics (pixels)
``camera/R``           (T,3,3) f32   world-to-camera rotation (X_cam = R X_world + t)
``camera/t``           (T,3) f32     world-to-camera translation
=====================  ============  ==========================================================

Root attributes: ``name``, ``dataset``, ``fps``, ``n_frames``, ``width``, ``height``,
optional ``video_path`` and free-form ``info_json``. Every ``gt/`` and ``camera/`` array is
optional (2D-only datasets have ``gt/joints2d`` and ``gt/valid`` only; a user's own video has
none).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hmr.io.h5 import H5FormatError, atomic_h5, check_array, write_array

# name -> (shape with None for T, dtype kind); T is checked against n_frames
GT_FIELDS: dict[str, tuple[tuple[int | None, ...], str]] = {
    "gt/pose": ((None, 72), "f"),
    "gt/betas": ((None, 10), "f"),
    "gt/trans": ((None, 3), "f"),
    "gt/joints3d": ((None, 24, 3), "f"),
    "gt/joints2d": ((None, 24, 2), "f"),
    "gt/visible": ((None, 24), "b"),
    "gt/valid": ((None,), "b"),
    "camera/K": ((None, 3, 3), "f"),
    "camera/R": ((None, 3, 3), "f"),
    "camera/t": ((None, 3), "f"),
}


@dataclass
class Sequence:
    """A video of one person with optional ground truth (see the module docstring)."""

    name: str
    dataset: str
    fps: float
    width: int
    height: int
    n_frames: int
    frames: np.ndarray | None = None
    video_path: str | None = None
    bbox: np.ndarray | None = None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # gt/* and camera/*
    info: dict[str, Any] = field(default_factory=dict)

    def validate(self, where: str) -> None:
        """Check shapes against ``n_frames`` and the frame size; raise naming ``where``."""
        T = self.n_frames
        if (self.frames is None) == (self.video_path is None):
            raise H5FormatError(f"{where}: exactly one of frames / video_path must be given")
        if self.frames is not None:
            check_array(self.frames, f"{where}:frames", (T, self.height, self.width, 3), "u")
        if self.bbox is not None:
            check_array(self.bbox, f"{where}:bbox", (T, 4), "f")
        for name, value in self.arrays.items():
            if name not in GT_FIELDS:
                raise H5FormatError(f"{where}: unknown dataset '{name}'")
            shape, kind = GT_FIELDS[name]
            check_array(value, f"{where}:{name}", (T,) + shape[1:], kind)


def write_sequence(path: str | os.PathLike, seq: Sequence,
                   config: Mapping[str, Any] | None = None) -> None:
    """Validate ``seq`` and write it atomically to ``path``."""
    seq.validate(str(path))
    attrs = {"name": seq.name, "dataset": seq.dataset, "fps": float(seq.fps),
             "n_frames": int(seq.n_frames), "width": int(seq.width), "height": int(seq.height),
             "info_json": json.dumps(seq.info, sort_keys=True, default=str)}
    if seq.video_path is not None:
        attrs["video_path"] = str(seq.video_path)
    with atomic_h5(path, config=config, attrs=attrs) as f:
        if seq.frames is not None:
            # one chunk per frame: readers stream frames without decompressing the video
            f.create_dataset("frames", data=seq.frames, chunks=(1,) + seq.frames.shape[1:],
                             compression="gzip", compression_opts=3)
        if seq.bbox is not None:
            write_array(f, "bbox", seq.bbox.astype(np.float32))
        for name, value in seq.arrays.items():
            write_array(f, name, value)


def read_sequence(path: str | os.PathLike, load_frames: bool = False) -> Sequence:
    """Read a sequence file; frames only when ``load_frames`` (use :func:`iter_frames` to stream)."""
    path = Path(path)
    if not path.exists():
        raise H5FormatError(f"{path}: file not found")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise H5FormatError(f"{path}: not a readable HDF5 file") from None
    with f:
        for key in ("name", "fps", "n_frames", "width", "height"):
            if key not in f.attrs:
                raise H5FormatError(f"{path}: attribute '{key}' missing (not a sequence file?)")
        a = f.attrs
        video_path = a.get("video_path")
        if "frames" not in f and video_path is None:
            raise H5FormatError(f"{path}: neither 'frames' nor attribute 'video_path'")
        seq = Sequence(
            name=str(a["name"]), dataset=str(a.get("dataset", "")), fps=float(a["fps"]),
            width=int(a["width"]), height=int(a["height"]), n_frames=int(a["n_frames"]),
            frames=f["frames"][()] if (load_frames and "frames" in f) else None,
            video_path=str(video_path) if video_path is not None else None,
            bbox=f["bbox"][()] if "bbox" in f else None,
            arrays={name: f[name][()] for name in GT_FIELDS if name in f},
            info=json.loads(a.get("info_json", "{}")),
        )
        if seq.frames is None and seq.video_path is None:
            seq.video_path = ""  # frames stored in the file; streamed by iter_frames
    if seq.frames is not None or seq.video_path:
        seq.validate(str(path))
    return seq


def iter_frames(path: str | os.PathLike, batch_size: int = 16) -> Iterator[np.ndarray]:
    """Stream RGB frames of a sequence file in batches (N,H,W,3) uint8, memory bounded."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        if "frames" in f:
            frames = f["frames"]
            for start in range(0, frames.shape[0], batch_size):
                yield frames[start:start + batch_size]
            return
        video_path = f.attrs.get("video_path")
    if video_path is None:
        raise H5FormatError(f"{path}: neither 'frames' nor attribute 'video_path'")
    yield from iter_video(video_path, batch_size)


def iter_video(video_path: str | os.PathLike, batch_size: int = 16) -> Iterator[np.ndarray]:
    """Stream RGB frames of a video file with OpenCV in batches."""
    import cv2

    cap = cv2.VideoCapture(str(video_path))
    if not cap.isOpened():
        raise H5FormatError(f"{video_path}: cannot open video")
    batch: list[np.ndarray] = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if len(batch) == batch_size:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)
    finally:
        cap.release()
