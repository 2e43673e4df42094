"""f_t from BlazePose: the per-frame feature vector built from the keypoints stage's landmarks.

BlazePose (mediapipe 0.10.21, weights in the wheel, offline) is a detector trained on real images;
its 33 ``world_landmarks`` are metric 3D points, hip-centred and expressed in the camera's axes, so
they carry the body's articulation *and* its orientation relative to the camera (the yaw a
regressor otherwise has to guess). Its 33 image ``landmarks`` say where the body is in the crop
(the weak-perspective camera). Per frame the feature is

    [ world x, y, z (33 x 3, metres) | image x, y (33 x 2, normalised crop coordinates) | visibility (33) ]

= :data:`LANDMARK_DIM` = 198 values; a frame where BlazePose found nobody is all zeros (visibility
0 tells the network). Normalised crop coordinates are those of the regressor's 2D targets
(:func:`hmr.features.crop.pixels_to_crop`: the box centre at 0, the crop's half side 1).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hmr.errors import InputError
from hmr.features.crop import pixels_to_crop
from hmr.io.h5 import atomic_h5

log = logging.getLogger(__name__)

N_LANDMARKS = 33
LANDMARK_DIM = N_LANDMARKS * 6


def landmark_features(landmarks: np.ndarray, world_landmarks: np.ndarray, bbox: np.ndarray,
                      crop_scale: float) -> np.ndarray:
    """(T,198) float32 features from (T,33,3) pixel landmarks + visibility, (T,33,4) world
    landmarks + visibility and (T,4) boxes (cx, cy, w, h)."""
    landmarks = np.asarray(landmarks, np.float64)
    world = np.asarray(world_landmarks, np.float64)
    T = len(landmarks)
    if landmarks.shape != (T, N_LANDMARKS, 3) or world.shape != (T, N_LANDMARKS, 4) or len(bbox) != T:
        raise ValueError(f"landmark_features: shapes {landmarks.shape}, {world.shape}, {np.shape(bbox)} "
                         f"(expected (T,33,3), (T,33,4), (T,4))")
    found = (landmarks[..., 2] > 0).any(1) | (world[..., 3] > 0).any(1)          # (T,)
    xy = pixels_to_crop(landmarks[..., :2], bbox, crop_scale)
    feats = np.concatenate([world[..., :3].reshape(T, -1), xy.reshape(T, -1), world[..., 3]], axis=1)
    feats[~found] = 0.0
    return feats.astype(np.float32)


def chunk_rows(dim: int, n: int) -> int:
    """HDF5 chunk rows of a (n, dim) features dataset (about 1 MB per chunk)."""
    return max(1, min(n, (1 << 18) // max(dim, 1)))


def sequence_landmark_features(keypoints: str | os.PathLike | None, source: str, path: str | os.PathLike,
                               bbox: np.ndarray, T: int, crop_scale: float) -> np.ndarray:
    """(T,198) BlazePose features of one sequence's keypoints file (``features.source``
    blazepose / concat); InputError naming the file when it has no world landmarks."""
    from hmr.keypoints.stage import read_world_landmarks

    if keypoints is None:
        raise InputError(f"{path}: features.source {source} needs the sequence's keypoints file (--keypoints)")
    lm = read_world_landmarks(keypoints, T)
    return landmark_features(lm["landmarks"], lm["world_landmarks"], bbox, crop_scale)


def extract_landmark_features(path: str | os.PathLike, out: str | os.PathLike, params: Mapping[str, Any],
                              keypoints: str | os.PathLike | None,
                              config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The features file of ``features.source: blazepose`` for the sequence file ``path`` (no
    backbone, no torch); bad input raises InputError and leaves no output."""
    from hmr.features.crop import check_boxes
    from hmr.io.sequence import read_sequence

    seq = read_sequence(path)
    if seq.bbox is None:
        raise InputError(f"{path}: no 'bbox' (the landmark features are normalised by the person box)")
    bbox = check_boxes(seq.bbox, seq.width, seq.height, str(path))
    crop_scale = float(params.get("crop_scale", 1.2))
    feats = sequence_landmark_features(keypoints, "blazepose", path, bbox, seq.n_frames, crop_scale)
    T, D = feats.shape
    attrs = {"sequence": seq.name, "n_frames": T, "source": "blazepose", "backbone": "blazepose",
             "weights": "mediapipe-0.10.21", "crop_scale": crop_scale}
    with atomic_h5(out, config=config or dict(params), attrs=attrs) as f:
        f.create_dataset("features", data=feats, chunks=(chunk_rows(D, T), D), compression="gzip",
                         compression_opts=4, shuffle=True)
    log.info("%s: BlazePose landmark features %s", path, feats.shape)
    return {"frames": T, "dim": D, "backbone": "blazepose", "seconds": 0.0}
