"""The ``mediapipe`` backend: BlazePose from mediapipe 0.10.21's legacy ``solutions.pose``.

Only ``model_complexity=1`` ships in the wheel (0 and 2 download weights at run time), so that is
the model. It runs either on the person crop from the sequence's box (square, scaled, resampled
to ``crop_size``, as :mod:`hmr.features.crop`) or on the full frame (``input``); landmarks are
mapped back to frame pixels (pixel centres at integer coordinates). Confidence is BlazePose's
per-landmark ``visibility`` (the legacy API leaves ``presence`` unset). A frame where no person is
found gives confidence 0 for all 17 joints at the box centre (or the image centre).

``static_image_mode=False`` (tracking) runs BlazePose's person detector only when tracking is
lost and otherwise takes the region of interest from the previous frame's landmarks (and
optionally smooths landmarks over time); ``True`` detects afresh in every frame. One tracker
per sequence, so no state crosses sequences.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from hmr.features.crop import apply_affine, crop_frames, crop_matrices, invert_affine
from hmr.keypoints.coco import blazepose_to_coco17


@dataclass(frozen=True)
class MediapipeSettings:
    """Options of the mediapipe backend (``keypoints.mediapipe`` in the config)."""

    input: str = "crop"               # "crop" (person crop from the bbox) or "frame"
    crop_size: int = 256              # crop side in pixels
    crop_scale: float = 1.2           # crop side = crop_scale * max(w, h) of the box
    static_image_mode: bool = False   # False: track across frames; True: detect in every frame
    smooth_landmarks: bool = True     # temporal smoothing (tracking mode only)
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if self.input not in ("crop", "frame"):
            raise ValueError(f"mediapipe input must be 'crop' or 'frame', not {self.input!r}")


def _landmarks_array(result, width: int, height: int) -> np.ndarray | None:
    """(33,3) pixel x, y and visibility of one result, or None when no person was found."""
    if result.pose_landmarks is None:
        return None
    lm = result.pose_landmarks.landmark
    out = np.array([(p.x, p.y, p.visibility) for p in lm], np.float64)
    # normalised [0, 1] across the image -> pixel-centre coordinates
    out[:, 0] = out[:, 0] * width - 0.5
    out[:, 1] = out[:, 1] * height - 0.5
    out[:, 2] = np.clip(out[:, 2], 0.0, 1.0)
    return out


@contextlib.contextmanager
def blazepose(settings: MediapipeSettings) -> Iterator[object]:
    """A BlazePose tracker (``mediapipe.solutions.pose.Pose``), closed on exit."""
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(
        static_image_mode=settings.static_image_mode, model_complexity=1,
        smooth_landmarks=settings.smooth_landmarks, enable_segmentation=False,
        min_detection_confidence=settings.min_detection_confidence,
        min_tracking_confidence=settings.min_tracking_confidence)
    try:
        yield pose
    finally:
        pose.close()


def detect_mediapipe(batches: Iterable[np.ndarray], bbox: np.ndarray | None, width: int,
                     height: int, settings: MediapipeSettings,
                     progress: Iterable | None = None) -> np.ndarray:
    """COCO-17 keypoints (T,17,3) of a stream of RGB frame batches (N,H,W,3) uint8.

    ``bbox`` (T,4) (cx, cy, w, h) is needed for ``input="crop"`` (checked by the caller).
    ``progress`` is an optional tqdm bar updated per batch.
    """
    out: list[np.ndarray] = []
    start = 0
    with blazepose(settings) as pose:
        for frames in batches:
            n = len(frames)
            if settings.input == "crop":
                boxes = bbox[start:start + n]
                images = crop_frames(frames, boxes, settings.crop_size, settings.crop_scale)
                back = invert_affine(crop_matrices(boxes, settings.crop_size, settings.crop_scale))
                size_wh = (settings.crop_size, settings.crop_size)
            else:
                images, back, size_wh = frames, None, (width, height)
            for i, image in enumerate(images):
                lm = _landmarks_array(pose.process(np.ascontiguousarray(image)), *size_wh)
                kp = np.zeros((17, 3))
                if lm is None:
                    centre = bbox[start + i, :2] if bbox is not None else ((width - 1) / 2, (height - 1) / 2)
                    kp[:, :2] = centre
                else:
                    kp = blazepose_to_coco17(lm)
                    if back is not None:
                        kp[:, :2] = apply_affine(back[i:i + 1], kp[None, :, :2])[0]
                out.append(kp)
            start += n
            if progress is not None:
                progress.update(n)
    return np.asarray(out, np.float32).reshape(-1, 17, 3)
