"""InstaVariety (Kanazawa et al., CVPR 2019), through a documented export.

InstaVariety ships as TensorFlow tfrecords (``SequenceExample``s with JPEG-encoded frames and
OpenPose keypoints). Decoding them needs TensorFlow and the writer's exact feature keys, neither of
which this pipeline depends on, so the importer reads an export that a user makes once in a
TensorFlow environment (or that VIBE users already have as ``insta_train_db.h5``: use the
``vibe_db`` type for that). Export layout under ``root``::

    {train,test}/<video>/images/*.jpg        the frames, in file-name order
    {train,test}/<video>/keypoints.npz       kp2d (T, J, 3): x, y in pixels, confidence
                                             joint_set: str, a joint set name of
                                             hmr.body.joint_sets (e.g. openpose25, coco17)
                                             fps (optional; else the ``fps`` option)

One sequence per video folder. Ground truth is 2D only: ``gt/keypoints2d`` in the export's joint
set, ``gt/valid`` where any keypoint has confidence > 0, ``bbox`` around the confident keypoints
(interpolated where none are).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmr.body.joint_sets import JOINT_SETS
from hmr.datasets.common import (
    DatasetError,
    ScanMemo,
    SeqSource,
    bbox_from_points,
    check_frame_count,
    fill_missing_boxes,
    image_size,
    require_dir,
    require_keys,
    safe_name,
)
from hmr.io.sequence import Sequence

DEFAULTS: dict[str, Any] = {
    "splits": ["train", "test"],
    "fps": 30.0,            # used when keypoints.npz has no fps
    "min_confidence": 0.1,
    "bbox_scale": 1.2,
}
LAYOUT = "InstaVariety export (kp2d, joint_set)"


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    sources = []
    for split in opts["splits"]:
        folder = require_dir(root / split, f"InstaVariety {split}")
        for video in sorted(p for p in folder.iterdir() if p.is_dir()):
            npz = video / "keypoints.npz"
            if not npz.is_file():
                raise DatasetError(f"{npz}: not found (each video folder needs keypoints.npz and images/)")
            sources.append(SeqSource(name=safe_name(video.name), split="test" if split == "test" else "train",
                                     inputs=(str(npz),), meta={"dir": str(video)}))
    return sources


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    video = Path(source.meta["dir"])
    npz = video / "keypoints.npz"
    try:
        data = np.load(npz, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{npz}: not a readable npz file ({exc.__class__.__name__})") from None
    with data:
        require_keys(data, ["kp2d", "joint_set"], str(npz), LAYOUT)
        kp = np.asarray(data["kp2d"], np.float64)
        joint_set = str(data["joint_set"])
        fps = float(data["fps"]) if "fps" in data.files else float(opts["fps"])
    if joint_set not in JOINT_SETS:
        raise DatasetError(f"{npz}: joint_set '{joint_set}' unknown (known: {', '.join(sorted(JOINT_SETS))})")
    J = len(JOINT_SETS[joint_set])
    if kp.ndim != 3 or kp.shape[1:] != (J, 3):
        raise DatasetError(f"{npz}: kp2d has shape {kp.shape}, expected (T, {J}, 3) for {joint_set}")
    T = len(kp)
    img_dir = require_dir(video / "images", f"InstaVariety images of {video.name}")
    paths = sorted(img_dir.glob("*.jpg"))
    check_frame_count(T, len(paths), str(npz), str(img_dir))
    width, height = image_size(paths[0])
    kp[~np.isfinite(kp)] = 0.0
    ok = kp[..., 2] > opts["min_confidence"]
    valid = (kp[..., 2] > 0).any(1)
    bbox, has = bbox_from_points(kp[..., :2], ok, opts["bbox_scale"], min_points=3)
    bbox = fill_missing_boxes(bbox, has, str(npz))
    f32 = np.float32
    return Sequence(
        name=source.name, dataset=dataset, fps=fps, width=width, height=height, n_frames=T,
        image_paths=[str(p.resolve()) for p in paths], bbox=bbox.astype(f32),
        arrays={"gt/keypoints2d": kp.astype(f32), "gt/valid": valid},
        joint_sets={"gt/keypoints2d": joint_set},
        info={"split": source.split, "source": "insta_variety", "video": video.name},
    )
