"""PoseTrack 2018 (Andriluka et al., CVPR 2018): 2D keypoints tracked through video, one
sequence per person track.

Layout under ``root`` (as the dataset unpacks)::

    annotations/{train,val}/<video>.json
    images/{train,val}/<video>/000000.jpg ...     (the json's ``file_name``, relative to root)

Each json is COCO-like: ``images`` (``id``, ``file_name``, ``frame_id``, ``is_labeled``, ...),
``annotations`` (``image_id``, ``track_id``, ``keypoints`` = 17 x (x, y, visibility), ``bbox`` =
x, y, w, h) and ``categories`` (the 17 keypoint names: COCO's order with ``head_bottom`` and
``head_top`` in place of the eyes). One sequence per track, named ``<video>_<track_id>``, from
the track's first to its last annotated frame; frames in between without an annotation of this
track (PoseTrack labels only some frames) have ``gt/valid`` false, confidence 0 and an
interpolated box. Ground truth is 2D only: ``gt/keypoints2d`` (``posetrack17``). Tracks spanning
fewer than ``min_frames`` frames are skipped. The frame rate is not in the annotations: ``fps``
(default 30) is an assumption.
"""

from __future__ import annotations

import json
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
    "splits": ["train", "val"],   # annotations/ folders (the test split has no public keypoints)
    "fps": 30.0,                  # not in the annotations: an assumption
    "min_frames": 8,
    "bbox_scale": 1.2,            # for annotations without a box
}
LAYOUT = "PoseTrack 2018 json"


def read_json(path: Path) -> dict[str, Any]:
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable json file ({exc.__class__.__name__})") from None
    require_keys(data, ["images", "annotations"], str(path), LAYOUT)
    for i, ann in enumerate(data["annotations"]):
        require_keys(ann, ["image_id", "track_id", "keypoints"], f"{path}: annotations[{i}]", LAYOUT)
    for i, img in enumerate(data["images"]):
        require_keys(img, ["id", "file_name"], f"{path}: images[{i}]", LAYOUT)
    return data


def _frame_order(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(images, key=lambda im: (im.get("frame_id", im["id"]), im["id"]))


def _tracks(path: Path) -> list[list[int]]:
    """[track_id, first frame, last frame] of every track of a video."""
    data = read_json(path)
    pos = {im["id"]: k for k, im in enumerate(_frame_order(data["images"]))}
    spans: dict[int, list[int]] = {}
    for ann in data["annotations"]:
        if ann["image_id"] not in pos:
            raise DatasetError(f"{path}: an annotation refers to image_id {ann['image_id']}, not in 'images'")
        k = pos[ann["image_id"]]
        lo, hi = spans.get(int(ann["track_id"]), [k, k])
        spans[int(ann["track_id"])] = [min(lo, k), max(hi, k)]
    return [[tid, lo, hi] for tid, (lo, hi) in sorted(spans.items())]


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    sources = []
    for split in opts["splits"]:
        folder = require_dir(root / "annotations" / split, f"PoseTrack {split} annotations")
        for path in sorted(folder.glob("*.json")):
            for tid, lo, hi in memo.get(path, "posetrack-tracks", lambda p=path: _tracks(p)):
                if hi - lo + 1 >= int(opts["min_frames"]):
                    sources.append(SeqSource(
                        name=f"{path.stem}_{tid}", split="val" if split == "val" else "train",
                        inputs=(str(path),), meta={"json": str(path), "track_id": tid}))
    return sources


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    path = Path(source.meta["json"])
    tid = int(source.meta["track_id"])
    data = read_json(path)
    images = _frame_order(data["images"])
    pos = {im["id"]: k for k, im in enumerate(images)}
    anns = {pos[a["image_id"]]: a for a in data["annotations"]
            if int(a["track_id"]) == tid and a["image_id"] in pos}
    if not anns:
        raise DatasetError(f"{path}: no annotation with track_id {tid}")
    lo, hi = min(anns), max(anns)
    frames = images[lo:hi + 1]
    T = len(frames)

    paths = [root / im["file_name"] for im in frames]
    video_dir = paths[0].parent
    require_dir(video_dir, f"PoseTrack images of {path.stem}")
    check_frame_count(len(images), len(list(video_dir.glob("*.jpg"))), str(path), str(video_dir))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} frame(s) of track {tid} have no image (first {missing[0]})")
    width, height = image_size(paths[0])

    kp = np.zeros((T, 17, 3))
    bbox = np.zeros((T, 4))
    has_box = np.zeros(T, bool)
    for k in range(T):
        ann = anns.get(lo + k)
        if ann is None:
            continue
        pts = np.asarray(ann["keypoints"], np.float64)
        if pts.size != 51:
            raise DatasetError(f"{path}: track {tid} frame {lo + k}: {pts.size} keypoint values, expected 51")
        kp[k] = pts.reshape(17, 3)
        box = np.asarray(ann.get("bbox") or [], np.float64)
        if box.size == 4 and box[2] > 0 and box[3] > 0:
            bbox[k] = [box[0] + box[2] / 2, box[1] + box[3] / 2, box[2], box[3]]
            has_box[k] = True
    kp[~np.isfinite(kp)] = 0.0
    kp[..., 2] = (kp[..., 2] > 0).astype(np.float64)
    valid = kp[..., 2].sum(1) > 0
    kp_box, kp_has = bbox_from_points(kp[..., :2], kp[..., 2] > 0, opts["bbox_scale"])
    use = ~has_box & kp_has
    bbox[use], has_box[use] = kp_box[use], True
    bbox = fill_missing_boxes(bbox, has_box, f"{path} track {tid}")
    f32 = np.float32
    return Sequence(
        name=source.name, dataset=dataset, fps=float(opts["fps"]), width=width, height=height,
        n_frames=T, image_paths=[str(p.resolve()) for p in paths], bbox=bbox.astype(f32),
        arrays={"gt/keypoints2d": kp.astype(f32), "gt/valid": valid},
        joint_sets={"gt/keypoints2d": "posetrack17"},
        info={"split": source.split, "source": "posetrack", "video": path.stem, "track_id": tid,
              "first_frame": lo, "labeled_frames": int(valid.sum()), "fps_assumed": True},
    )
