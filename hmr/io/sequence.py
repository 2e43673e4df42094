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
``image_paths``        (T,) str      one image file per frame: the third way to hold frames
                                     (real datasets whose image folders are too big to copy)
``video_frames``       (T,) int      with ``video_path``: the video frame index of each
                                     sequence frame (a subsampled video, e.g. every 5th frame
                                     of Human3.6M); absent = frames 0..T-1 of the video
``gt/keypoints2d``     (T,J,3) f32   2D annotations in the dataset's own joint set: x, y in
                                     pixels, then visibility/confidence (0 = not annotated)
``gt/keypoints3d``     (T,J,3) f32   3D joints in the dataset's own joint set, camera frame,
                                     meters (e.g. Human3.6M's 17 joints)
``precomputed/features`` (T,D) f32   per-frame features shipped with the data (VIBE's ``*_db.pt``
                                     2048-d SPIN features): the features stage copies them
=====================  ============  ==========================================================

Exactly one of ``frames``, ``video_path`` and ``image_paths`` holds the frames. The two
variable-joint arrays carry a dataset attribute ``joint_set`` naming their joint order (a name
in :data:`hmr.body.joint_sets.JOINT_SETS`); :class:`Sequence` keeps these in ``joint_sets``
(array name -> joint set name) and :func:`write_sequence` checks J against the named set.

Root attributes: ``name``, ``dataset``, ``fps``, ``n_frames``, ``width``, ``height``,
optional ``video_path`` and free-form ``info_json``. Every ``gt/`` and ``camera/`` array is
optional (2D-only datasets have ``gt/keypoints2d`` and ``gt/valid`` only; a user's own video has
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
    "gt/keypoints2d": ((None, None, 3), "f"),
    "gt/keypoints3d": ((None, None, 3), "f"),
    "precomputed/features": ((None, None), "f"),
}
# arrays whose joint order is named by a ``joint_set`` attribute
JOINT_SET_FIELDS = ("gt/keypoints2d", "gt/keypoints3d")


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
    image_paths: list[str] | None = None      # one image file per frame (third frame source)
    video_frames: np.ndarray | None = None    # (T,) video frame index per frame, with video_path
    joint_sets: dict[str, str] = field(default_factory=dict)  # gt/keypoints* -> joint set name

    def validate(self, where: str) -> None:
        """Check shapes against ``n_frames`` and the frame size; raise naming ``where``."""
        T = self.n_frames
        sources = sum(x is not None for x in (self.frames, self.video_path, self.image_paths))
        if sources != 1:
            raise H5FormatError(f"{where}: exactly one of frames / video_path / image_paths must be given")
        if self.image_paths is not None and len(self.image_paths) != T:
            raise H5FormatError(f"{where}:image_paths: {len(self.image_paths)} paths for {T} frames")
        if self.video_frames is not None:
            if self.video_path is None:
                raise H5FormatError(f"{where}: video_frames given without a video_path")
            idx = np.asarray(self.video_frames)
            check_array(idx, f"{where}:video_frames", (T,), "iu")
            if np.any(np.diff(idx) <= 0) or np.any(idx < 0):
                raise H5FormatError(f"{where}:video_frames: must be increasing and >= 0")
        if self.frames is not None:
            check_array(self.frames, f"{where}:frames", (T, self.height, self.width, 3), "u")
        if self.bbox is not None:
            check_array(self.bbox, f"{where}:bbox", (T, 4), "f")
        for name, value in self.arrays.items():
            if name not in GT_FIELDS:
                raise H5FormatError(f"{where}: unknown dataset '{name}'")
            shape, kind = GT_FIELDS[name]
            check_array(value, f"{where}:{name}", (T,) + shape[1:], kind)
            if name in JOINT_SET_FIELDS:
                _check_joint_set(self.joint_sets.get(name), value.shape[1], f"{where}:{name}")
        extra = sorted(set(self.joint_sets) - set(self.arrays))
        if extra:
            raise H5FormatError(f"{where}: joint_sets names array(s) not present: {extra}")


def _check_joint_set(name: str | None, n_joints: int, where: str) -> None:
    from hmr.body.joint_sets import JOINT_SETS

    if name is None:
        raise H5FormatError(f"{where}: no joint_set named for this array")
    if name not in JOINT_SETS:
        raise H5FormatError(f"{where}: unknown joint_set '{name}' (known: {', '.join(sorted(JOINT_SETS))})")
    if len(JOINT_SETS[name]) != n_joints:
        raise H5FormatError(f"{where}: {n_joints} joints, joint_set '{name}' has {len(JOINT_SETS[name])}")


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
        if seq.image_paths is not None:
            f.create_dataset("image_paths", data=np.array([str(p) for p in seq.image_paths],
                                                          dtype=h5py.string_dtype()))
        if seq.video_frames is not None:
            write_array(f, "video_frames", np.asarray(seq.video_frames, np.int64))
        if seq.bbox is not None:
            write_array(f, "bbox", seq.bbox.astype(np.float32))
        for name, value in seq.arrays.items():
            dset = write_array(f, name, value)
            if name in seq.joint_sets:
                dset.attrs["joint_set"] = seq.joint_sets[name]


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
        image_paths = list(f["image_paths"].asstr()[()]) if "image_paths" in f else None
        if "frames" not in f and video_path is None and image_paths is None:
            raise H5FormatError(f"{path}: neither 'frames', 'image_paths' nor attribute 'video_path'")
        present = [name for name in GT_FIELDS if name in f]
        seq = Sequence(
            name=str(a["name"]), dataset=str(a.get("dataset", "")), fps=float(a["fps"]),
            width=int(a["width"]), height=int(a["height"]), n_frames=int(a["n_frames"]),
            frames=f["frames"][()] if (load_frames and "frames" in f) else None,
            video_path=str(video_path) if video_path is not None else None,
            bbox=f["bbox"][()] if "bbox" in f else None,
            arrays={name: f[name][()] for name in present},
            info=json.loads(a.get("info_json", "{}")),
            image_paths=image_paths,
            video_frames=f["video_frames"][()] if "video_frames" in f else None,
            joint_sets={name: str(f[name].attrs["joint_set"]) for name in present
                        if "joint_set" in f[name].attrs},
        )
        if seq.frames is None and seq.video_path is None and seq.image_paths is None:
            seq.video_path = ""  # frames stored in the file; streamed by iter_frames
    if seq.frames is not None or seq.video_path or seq.image_paths is not None:
        seq.validate(str(path))
    return seq


def iter_frames(path: str | os.PathLike, batch_size: int = 16) -> Iterator[np.ndarray]:
    """Stream RGB frames of a sequence file in batches (N,H,W,3) uint8, memory bounded.

    Frames come from the file itself, from its ``image_paths`` (each image checked against the
    file's width/height) or from its video (only the ``video_frames`` when present).
    """
    path = Path(path)
    with h5py.File(path, "r") as f:
        if "frames" in f:
            frames = f["frames"]
            for start in range(0, frames.shape[0], batch_size):
                yield frames[start:start + batch_size]
            return
        video_path = f.attrs.get("video_path")
        image_paths = list(f["image_paths"].asstr()[()]) if "image_paths" in f else None
        video_frames = f["video_frames"][()] if "video_frames" in f else None
        size = (int(f.attrs.get("width", 0)), int(f.attrs.get("height", 0)))
    if image_paths is not None:
        yield from iter_images(image_paths, batch_size, size=size, where=str(path))
        return
    if video_path is None:
        raise H5FormatError(f"{path}: neither 'frames', 'image_paths' nor attribute 'video_path'")
    yield from iter_video(video_path, batch_size, frame_indices=video_frames)


def iter_images(paths: list[str], batch_size: int = 16, size: tuple[int, int] | None = None,
                where: str = "") -> Iterator[np.ndarray]:
    """Stream RGB images read from ``paths`` in batches; all must exist and share one size."""
    import cv2

    batch: list[np.ndarray] = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise H5FormatError(f"{p}: image missing or unreadable (frame of {where or 'a sequence'})")
        if size is not None and size[0] and (img.shape[1], img.shape[0]) != tuple(size):
            raise H5FormatError(f"{p}: image is {img.shape[1]}x{img.shape[0]}, the sequence "
                                f"{where} says {size[0]}x{size[1]}")
        batch.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def iter_video(video_path: str | os.PathLike, batch_size: int = 16,
               frame_indices: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Stream RGB frames of a video file with OpenCV in batches (only ``frame_indices``, an
    increasing list of 0-based frame numbers, when given; a video too short for them is an error)."""
    import cv2

    cap = cv2.VideoCapture(str(video_path))
    if not cap.isOpened():
        raise H5FormatError(f"{video_path}: cannot open video")
    wanted = None if frame_indices is None else np.asarray(frame_indices, np.int64)
    k = 0  # next wanted index position
    i = -1  # index of the frame just grabbed
    batch: list[np.ndarray] = []
    try:
        while wanted is None or k < len(wanted):
            if wanted is not None:
                ok = cap.grab()  # skip frames without converting them
                i += 1
                if not ok:
                    raise H5FormatError(f"{video_path}: video ends at frame {i}, the sequence needs "
                                        f"frame {int(wanted[k])}")
                if i != wanted[k]:
                    continue
                k += 1
                ok, frame = cap.retrieve()
                if not ok:
                    raise H5FormatError(f"{video_path}: frame {i} does not decode")
            else:
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
