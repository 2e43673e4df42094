"""Penn Action (Zhang et al., ICCV 2013): 2,326 sports clips with 13 annotated 2D joints.

Layout under ``root``::

    frames/<id>/000001.jpg ...      <id> = 0001 .. 2326; file numbers are 1-based
    labels/<id>.mat                 MATLAB v5: x, y, visibility (nframes, 13), bbox (nframes, 4)
                                    as x1, y1, x2, y2, nframes, dimensions (H, W, nframes),
                                    train (1 = train, -1 = test), action, pose

One sequence per clip, named by its id. Ground truth is 2D only: ``gt/keypoints2d`` in Penn's
13-joint order (``penn13``; x, y in pixels as annotated, visibility as the third value),
``gt/valid`` all true. ``bbox`` is the annotated box; where its row count differs from
``nframes`` (a few label files have one row more or less) the box is computed from the visible
joints instead, and ``info['bbox_from']`` says so. The frame rate is not in the labels; ``fps``
(default 30) is an assumption.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

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
)
from hmr.io.sequence import Sequence

DEFAULTS: dict[str, Any] = {
    "fps": 30.0,          # not in the labels: an assumption
    "bbox_scale": 1.2,    # used only when the annotated boxes do not match the frames
}
KEYS = ("x", "y", "visibility", "bbox", "nframes", "train")


def read_label(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path), squeeze_me=True)
    except Exception as exc:
        raise DatasetError(f"{path}: not a readable MATLAB v5 file ({exc.__class__.__name__})") from None
    require_keys(mat, KEYS, str(path), "Penn Action labels")
    return mat


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    labels = require_dir(root / "labels", "Penn Action labels")
    require_dir(root / "frames", "Penn Action frames")
    sources = []
    for path in sorted(labels.glob("*.mat")):
        split = memo.get(path, "penn-split", lambda p=path: "train" if int(read_label(p)["train"]) == 1 else "test")
        sources.append(SeqSource(name=path.stem, split=split, inputs=(str(path),),
                                 meta={"label": str(path)}))
    return sources


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    path = Path(source.meta["label"])
    mat = read_label(path)
    n = int(mat["nframes"])
    joints = []
    for key in ("x", "y", "visibility"):
        a = np.asarray(mat[key], np.float64).reshape(-1, 13) if np.size(mat[key]) % 13 == 0 else None
        if a is None or len(a) != n:
            raise DatasetError(f"{path}: '{key}' has shape {np.shape(mat[key])}, expected ({n}, 13) "
                               f"for nframes = {n}")
        joints.append(a)
    kp = np.stack(joints, -1)  # (n, 13, 3)
    kp[~np.isfinite(kp)] = 0.0

    frame_dir = require_dir(root / "frames" / path.stem, f"Penn Action frames of {path.stem}")
    paths = [frame_dir / f"{i:06d}.jpg" for i in range(1, n + 1)]  # 1-based file numbers
    check_frame_count(n, len(list(frame_dir.glob("*.jpg"))), str(path), str(frame_dir))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} frame(s) have no image in {frame_dir} (first {missing[0]})")
    width, height = image_size(paths[0])
    if "dimensions" in mat:
        dims = np.asarray(mat["dimensions"]).reshape(-1)
        if dims.size >= 2 and (int(dims[0]), int(dims[1])) != (height, width):
            raise DatasetError(f"{path}: dimensions say {int(dims[1])}x{int(dims[0])}, "
                               f"{paths[0].name} is {width}x{height}")

    box = np.asarray(mat["bbox"], np.float64).reshape(-1, 4) if np.size(mat["bbox"]) % 4 == 0 else np.zeros((0, 4))
    if len(box) == n and np.isfinite(box).all():
        x1, y1, x2, y2 = box.T
        bbox = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1)
        bbox_from = "annotated"
    else:
        bbox, has = bbox_from_points(kp[..., :2], kp[..., 2] > 0, opts["bbox_scale"])
        bbox = fill_missing_boxes(bbox, has, str(path))
        bbox_from = f"joints (bbox has {len(box)} rows for {n} frames)"
    f32 = np.float32
    action = mat.get("action")
    return Sequence(
        name=source.name, dataset=dataset, fps=float(opts["fps"]), width=width, height=height,
        n_frames=n, image_paths=[str(p.resolve()) for p in paths], bbox=bbox.astype(f32),
        arrays={"gt/keypoints2d": kp.astype(f32), "gt/valid": np.ones(n, bool)},
        joint_sets={"gt/keypoints2d": "penn13"},
        info={"split": source.split, "source": "penn_action", "action": str(action) if action is not None else "",
              "bbox_from": bbox_from, "fps_assumed": True},
    )
