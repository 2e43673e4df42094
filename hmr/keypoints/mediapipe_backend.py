"""The ``mediapipe`` backend: BlazePose from mediapipe 0.10.21's legacy ``solutions.pose``.

Only ``model_complexity=1`` ships in the wheel; mediapipe would download the heavy model (2) at
run time, so ``model_complexity: 2`` needs ``pose_landmark_heavy.tflite`` installed into the wheel
beforehand (``make blazepose-heavy`` takes it from the npm package ``@mediapipe/pose``); without it
the run stops with a one-line error instead of reaching for the network. It runs either on the
person crop from the sequence's box (square, scaled, resampled to ``crop_size``, as
:mod:`hmr.features.crop`) or on the full frame (``input``); landmarks are mapped back to frame
pixels (pixel centres at integer coordinates). Confidence is BlazePose's per-landmark
``visibility`` (the legacy API leaves ``presence`` unset). A frame where no person is
found gives confidence 0 for all 17 joints at the box centre (or the image centre).

Besides the COCO-17 keypoints, :func:`detect_mediapipe` keeps BlazePose's own outputs: all 33
image ``landmarks`` (frame pixels + visibility) and the 33 ``world_landmarks`` (metres, origin at
the hip midpoint, axes of the camera: x right, y down, z away from the camera, so they carry the
body's orientation relative to the camera) + visibility; zeros where no person was found.

``static_image_mode=False`` (tracking) runs BlazePose's person detector only when tracking is
lost and otherwise takes the region of interest from the previous frame's landmarks (and
optionally smooths landmarks over time); ``True`` detects afresh in every frame. One tracker
per sequence, so no state crosses sequences.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hmr.errors import InputError
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
    model_complexity: int = 1         # 1: the wheel's full model; 2: heavy (`make blazepose-heavy` first)

    def __post_init__(self) -> None:
        if self.input not in ("crop", "frame"):
            raise ValueError(f"mediapipe input must be 'crop' or 'frame', not {self.input!r}")
        if self.model_complexity not in (1, 2):
            raise ValueError(f"mediapipe model_complexity must be 1 or 2, not {self.model_complexity!r}")


def _world_landmarks_array(result) -> np.ndarray | None:
    """(33,4) world landmarks x, y, z (metres, hip-centred, camera axes) and visibility, or None."""
    if result.pose_world_landmarks is None:
        return None
    lm = result.pose_world_landmarks.landmark
    out = np.array([(p.x, p.y, p.z, p.visibility) for p in lm], np.float64)
    out[:, 3] = np.clip(out[:, 3], 0.0, 1.0)
    return out


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


HEAVY_MODEL = "pose_landmark_heavy.tflite"


def heavy_model_path() -> Path:
    """Where mediapipe looks for the heavy landmark model (inside its installed package)."""
    import mediapipe

    return Path(mediapipe.__file__).parent / "modules" / "pose_landmark" / HEAVY_MODEL


@contextlib.contextmanager
def blazepose(settings: MediapipeSettings) -> Iterator[object]:
    """A BlazePose tracker (``mediapipe.solutions.pose.Pose``), closed on exit."""
    import mediapipe as mp

    if settings.model_complexity == 2 and not heavy_model_path().exists():
        raise InputError(f"{heavy_model_path()}: not installed (keypoints.mediapipe.model_complexity: 2); "
                         "run `make blazepose-heavy` (npm pack @mediapipe/pose) or use model_complexity: 1")

    pose = mp.solutions.pose.Pose(
        static_image_mode=settings.static_image_mode, model_complexity=settings.model_complexity,
        smooth_landmarks=settings.smooth_landmarks, enable_segmentation=False,
        min_detection_confidence=settings.min_detection_confidence,
        min_tracking_confidence=settings.min_tracking_confidence)
    try:
        yield pose
    finally:
        pose.close()


def detect_mediapipe(batches: Iterable[np.ndarray], bbox: np.ndarray | None, width: int,
                     height: int, settings: MediapipeSettings,
                     progress: Iterable | None = None) -> dict[str, np.ndarray]:
    """BlazePose on a stream of RGB frame batches (N,H,W,3) uint8.

    Returns ``keypoints`` (T,17,3) COCO-17 pixels + confidence, ``landmarks`` (T,33,3) BlazePose's
    33 landmarks in frame pixels + visibility and ``world_landmarks`` (T,33,4) metres + visibility
    (both zeros where no person was found). ``bbox`` (T,4) (cx, cy, w, h) is needed for
    ``input="crop"`` (checked by the caller). ``progress`` is an optional tqdm bar updated per batch.
    """
    kps: list[np.ndarray] = []
    lms: list[np.ndarray] = []
    worlds: list[np.ndarray] = []
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
                result = pose.process(np.ascontiguousarray(image))
                lm = _landmarks_array(result, *size_wh)
                world = _world_landmarks_array(result)
                kp = np.zeros((17, 3))
                if lm is None:
                    centre = bbox[start + i, :2] if bbox is not None else ((width - 1) / 2, (height - 1) / 2)
                    kp[:, :2] = centre
                    lm = np.zeros((33, 3))
                else:
                    if back is not None:
                        lm[:, :2] = apply_affine(back[i:i + 1], lm[None, :, :2])[0]
                    kp = blazepose_to_coco17(lm)
                kps.append(kp)
                lms.append(lm)
                worlds.append(world if world is not None and lm.any() else np.zeros((33, 4)))
            start += n
            if progress is not None:
                progress.update(n)
    return {"keypoints": np.asarray(kps, np.float32).reshape(-1, 17, 3),
            "landmarks": np.asarray(lms, np.float32).reshape(-1, 33, 3),
            "world_landmarks": np.asarray(worlds, np.float32).reshape(-1, 33, 4)}
