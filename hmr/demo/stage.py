"""The demo's front part: a user's video -> a sequence file with the tracked person's boxes.

Outputs of :func:`run_demo_track`:

* the sequence file (:mod:`hmr.io.sequence`): the frames stay in the video (``video_path``),
  ``bbox`` (T,4) holds the smoothed box of the tracked person, ``info_json`` the tracking
  summary (``split`` "none", ``source`` "video", detection counts);
* ``track.h5`` (diagnostics): ``bbox`` (T,4) the same boxes; ``raw_bbox`` (T,4) the detections
  of the chosen person (zeros where ``source`` is 0); ``source`` (T,) int8 (0 none, 1 full-frame
  detector, 2 re-detection crop); ``tracklet`` (T,) int32; ``landmarks`` (T,33,3) BlazePose
  landmarks, pixels + visibility (zeros where none); attributes ``n_tracklets``, ``chain``,
  ``seconds``, ``frames_per_second`` (detection and tracking, decoding included);
* a PNG contact sheet of frames with the final box (green) and the raw detection (red).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hmr.demo.detect import TrackResult, track_person
from hmr.demo.track import SOURCE_FRAME, SOURCE_ROI, TrackSettings, jitter
from hmr.errors import InputError
from hmr.io.h5 import write_arrays
from hmr.io.sequence import Sequence, iter_video, write_sequence
from hmr.render.mesh_video import sheet_indices, tile, write_png

log = logging.getLogger(__name__)


def video_fps(path: str | os.PathLike) -> float:
    """The frame rate a video declares (its frames are counted while tracking)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"{path}: cannot open video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    cap.release()
    if not fps > 0:
        raise InputError(f"{path}: video has no frame rate")
    return float(fps)


def track_settings(params: Mapping[str, Any]) -> TrackSettings:
    """:class:`TrackSettings` from the config's ``demo.track`` section; InputError on a bad key."""
    try:
        return TrackSettings(**dict(params))
    except (TypeError, ValueError) as exc:
        raise InputError(f"demo.track: {exc}") from None


def draw_boxes(frame: np.ndarray, boxes: list[tuple[np.ndarray, tuple[int, int, int]]]) -> np.ndarray:
    """Copy of ``frame`` with (cx, cy, w, h) boxes drawn in the given RGB colours (NaN skipped)."""
    import cv2

    img = np.ascontiguousarray(frame.copy())
    thick = max(2, round(max(img.shape[:2]) / 300))
    for box, color in boxes:
        if not np.isfinite(box).all():
            continue
        cx, cy, w, h = box
        cv2.rectangle(img, (round(cx - w / 2), round(cy - h / 2)),
                      (round(cx + w / 2), round(cy + h / 2)), color, thick, cv2.LINE_AA)
    return img


def track_preview(video: str | os.PathLike, result: TrackResult, out: str | os.PathLike,
                  n_frames: int = 8, tile_width: int = 480) -> None:
    """PNG contact sheet: evenly spaced frames, final box green, raw detection red (none: no red)."""
    import cv2

    picks = sheet_indices(result.n_frames, n_frames)
    tiles, labels = [], []
    for k, frames in enumerate(iter_video(video, batch_size=1, frame_indices=picks)):
        t = int(picks[k])
        img = draw_boxes(frames[0], [(result.raw_bbox[t], (255, 40, 40)), (result.bbox[t], (40, 255, 40))])
        s = tile_width / img.shape[1]
        tiles.append(cv2.resize(img, (tile_width, round(img.shape[0] * s)), interpolation=cv2.INTER_AREA))
        src = {SOURCE_FRAME: "detected", SOURCE_ROI: "re-detected"}.get(int(result.source[t]), "interpolated")
        labels.append(f"frame {t} {src}")
    write_png(out, tile(tiles, columns=4, labels=labels))


def run_demo_track(video: str | os.PathLike, out_sequence: str | os.PathLike,
                   out_track: str | os.PathLike, out_preview: str | os.PathLike | None,
                   dataset: str, params: Mapping[str, Any],
                   name: str | None = None) -> TrackResult:
    """Detect and track the main person of ``video``; write the sequence file, ``track.h5``
    and the preview (module docstring). ``params`` is the config's ``demo`` section."""
    video = Path(video).resolve()
    if not video.exists():
        raise InputError(f"{video}: video file not found")
    settings = track_settings(params.get("track", {}))
    fps = video_fps(video)
    result = track_person(video, settings, fps, params.get("mediapipe"))
    n_frames, width, height = result.n_frames, result.width, result.height
    detected = result.source > 0
    summary = {
        "frames": int(result.n_frames),
        "detected": int((result.source == SOURCE_FRAME).sum()),
        "re_detected": int((result.source == SOURCE_ROI).sum()),
        "interpolated": int((~detected).sum()),
        "tracklets": int(result.n_tracklets),
        "chain": result.chain,
        "frames_per_second": round(result.n_frames / max(result.seconds, 1e-9), 2),
        "jitter_raw_px": round(jitter(result.raw_bbox[detected][:, :2]), 3) if detected.sum() > 2 else None,
        "jitter_smoothed_px": round(jitter(result.bbox[:, :2]), 3),
    }
    seq = Sequence(name=name or video.stem, dataset=dataset, fps=fps, width=width, height=height,
                   n_frames=n_frames, video_path=str(video), bbox=result.bbox.astype(np.float32),
                   info={"split": "none", "source": "video", "tracking": summary})
    write_sequence(out_sequence, seq, config=params)
    write_arrays(out_track, {
        "bbox": result.bbox.astype(np.float32),
        "raw_bbox": np.nan_to_num(result.raw_bbox, nan=0.0).astype(np.float32),
        "source": result.source, "tracklet": result.tracklet,
        "landmarks": np.nan_to_num(result.landmarks, nan=0.0).astype(np.float32),
    }, config=dict(params), attrs={"n_tracklets": result.n_tracklets, "chain": json.dumps(result.chain),
                                   "seconds": result.seconds, "video": str(video),
                                   "frames_per_second": summary["frames_per_second"]})
    if out_preview is not None:
        track_preview(video, result, out_preview)
    log.info("tracked %s: %s", video.name, json.dumps(summary))
    return result
