"""Person detection in every frame of a video with BlazePose, and single-person tracking.

Two BlazePose instances (mediapipe 0.10.21, ``model_complexity=1``, the only model its wheel
ships, offline; created through :func:`hmr.keypoints.mediapipe_backend.blazepose`):

* the **full-frame** one runs in tracking mode on every whole frame: it detects a person, then
  follows that person's landmarks from frame to frame, and detects afresh only when it loses
  them (so it finds at most one person per frame, not always the same one);
* the **re-detection** one runs in static-image mode on a crop around the last box of a
  tracklet that the full-frame detector did not find in this frame (``roi_scale`` times the
  box size, resampled to ``roi_size`` pixels; at most ``max_roi_per_frame`` tracklets, most
  detected first): it finds the tracked person again while the full-frame detector follows
  somebody else or nobody.

Detections become tracklets and one identity as :mod:`hmr.demo.track` describes.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from hmr.demo.track import (
    SOURCE_FRAME,
    SOURCE_ROI,
    TrackletBuilder,
    TrackSettings,
    chain_to_frames,
    consistent,
    fill_gaps,
    landmarks_box,
    select_identity,
    smooth_boxes,
)
from hmr.errors import InputError
from hmr.features.crop import apply_affine, crop_frames, crop_matrices, invert_affine
from hmr.io.sequence import iter_video

log = logging.getLogger(__name__)


@dataclass
class TrackResult:
    """Per-frame result of :func:`track_person` (T frames)."""

    bbox: np.ndarray        # (T,4) final boxes: gaps filled, smoothed
    raw_bbox: np.ndarray    # (T,4) the chosen person's detected boxes, NaN where none
    source: np.ndarray      # (T,) int8: 0 none, 1 full-frame detector, 2 re-detection crop
    tracklet: np.ndarray    # (T,) int32 tracklet id of the chosen person's detection, -1 none
    landmarks: np.ndarray   # (T,33,3) the chosen person's landmarks (x, y px, visibility), NaN none
    n_tracklets: int        # tracklets found (all people)
    chain: list[int]        # tracklet ids that make up the chosen person
    seconds: float          # wall time of detection and tracking (decoding included)
    fps: float              # the video's frame rate
    width: int
    height: int

    @property
    def n_frames(self) -> int:
        return len(self.bbox)


def _landmarks(result, width: int, height: int) -> np.ndarray | None:
    """(33,3) landmark pixels (pixel centres at integers) and visibility, or None."""
    if result.pose_landmarks is None:
        return None
    lm = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], np.float64)
    lm[:, 0] = lm[:, 0] * width - 0.5
    lm[:, 1] = lm[:, 1] * height - 0.5
    lm[:, 2] = np.clip(lm[:, 2], 0.0, 1.0)
    return lm


def _redetect(pose, frame: np.ndarray, ref: np.ndarray, settings: TrackSettings) -> np.ndarray | None:
    """Landmarks (33,3) in frame pixels of a person in the crop around box ``ref``, or None."""
    boxes = ref[None]
    crop = crop_frames(frame[None], boxes, settings.roi_size, settings.roi_scale)[0]
    lm = _landmarks(pose.process(crop), settings.roi_size, settings.roi_size)
    if lm is None:
        return None
    back = invert_affine(crop_matrices(boxes, settings.roi_size, settings.roi_scale))
    lm[:, :2] = apply_affine(back, lm[None, :, :2])[0]
    return lm


def track_person(video: str | os.PathLike, settings: TrackSettings, fps: float,
                 mediapipe_params: dict | None = None) -> TrackResult:
    """Detect and track one person through ``video`` (see the module docstring).

    ``fps`` is the video's frame rate (for the time-based settings); ``mediapipe_params`` may
    override the confidence thresholds of :class:`hmr.keypoints.mediapipe_backend.MediapipeSettings`.
    Raises InputError naming the video when nobody is found in any frame.
    """
    from hmr.keypoints.mediapipe_backend import MediapipeSettings, blazepose

    mp_params = dict(mediapipe_params or {})
    full_cfg = MediapipeSettings(input="frame", static_image_mode=False, smooth_landmarks=True,
                                 **mp_params)
    roi_cfg = MediapipeSettings(input="frame", static_image_mode=True, smooth_landmarks=False,
                                **mp_params)
    builder = TrackletBuilder(settings, fps)
    t = 0
    width = height = 0
    t0 = time.perf_counter()
    bar = tqdm(desc=f"track {os.path.basename(str(video))}", unit="frame", mininterval=2.0)
    with blazepose(full_cfg) as full, blazepose(roi_cfg) as roi, bar:
        for frames in iter_video(video, batch_size=8):
            height, width = frames.shape[1:3]
            for frame in frames:
                frame = np.ascontiguousarray(frame)
                found = set()
                lm = _landmarks(full.process(frame), width, height)
                box = None if lm is None else landmarks_box(lm, settings.bbox_scale,
                                                            settings.min_landmark_visibility)
                if box is not None:
                    found.add(builder.assign(t, box, SOURCE_FRAME, lm.astype(np.float32)).id)
                if settings.roi:
                    lost = [tr for tr in builder.active(t) if tr.id not in found]
                    for tr in lost[:settings.max_roi_per_frame]:
                        lm_r = _redetect(roi, frame, tr.boxes[-1], settings)
                        box_r = None if lm_r is None else landmarks_box(
                            lm_r, settings.bbox_scale, settings.min_landmark_visibility)
                        if box_r is not None and consistent(box_r, tr.boxes[-1], t - tr.last, settings):
                            tr.add(t, box_r, SOURCE_ROI, lm_r.astype(np.float32))
                t += 1
            bar.update(len(frames))
    seconds = time.perf_counter() - t0
    if t == 0:
        raise InputError(f"{video}: no decodable frames")
    chain = select_identity(builder.tracklets, settings)
    per_frame = chain_to_frames(chain, t)
    bbox = smooth_boxes(fill_gaps(per_frame["boxes"], str(video)), fps, settings)
    return TrackResult(bbox=bbox, raw_bbox=per_frame["boxes"], source=per_frame["source"],
                       tracklet=per_frame["tracklet"], landmarks=per_frame["landmarks"],
                       n_tracklets=len(builder.tracklets), chain=[tr.id for tr in chain],
                       seconds=seconds, fps=fps, width=width, height=height)
