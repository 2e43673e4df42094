"""MediaPipe BlazePose's 33 landmarks and their COCO-17 counterparts.

BlazePose (like COCO) names sides from the person's point of view: ``left_shoulder`` is the
person's left shoulder, on the image's right when the person faces the camera.

=====  ==============  ===================  =========
COCO   COCO name       BlazePose landmark   BlazePose
index                                       index
=====  ==============  ===================  =========
0      nose            NOSE                 0
1      left_eye        LEFT_EYE             2
2      right_eye       RIGHT_EYE            5
3      left_ear        LEFT_EAR             7
4      right_ear       RIGHT_EAR            8
5      left_shoulder   LEFT_SHOULDER        11
6      right_shoulder  RIGHT_SHOULDER       12
7      left_elbow      LEFT_ELBOW           13
8      right_elbow     RIGHT_ELBOW          14
9      left_wrist      LEFT_WRIST           15
10     right_wrist     RIGHT_WRIST          16
11     left_hip        LEFT_HIP             23
12     right_hip       RIGHT_HIP            24
13     left_knee       LEFT_KNEE            25
14     right_knee      RIGHT_KNEE           26
15     left_ankle      LEFT_ANKLE           27
16     right_ankle     RIGHT_ANKLE          28
=====  ==============  ===================  =========

The other 16 landmarks (inner/outer eye corners, mouth corners, hand and foot points) have no
COCO-17 counterpart and are dropped.
"""

from __future__ import annotations

import numpy as np

from hmr.body.joint_sets import COCO17

BLAZEPOSE33: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)

# BlazePose index of each COCO-17 joint (the table above); the names coincide.
BLAZEPOSE33_TO_COCO17: tuple[int, ...] = tuple(BLAZEPOSE33.index(name) for name in COCO17)


def blazepose_to_coco17(landmarks: np.ndarray) -> np.ndarray:
    """(..., 33, C) BlazePose landmarks -> (..., 17, C) COCO-17 joints."""
    landmarks = np.asarray(landmarks)
    if landmarks.shape[-2] != len(BLAZEPOSE33):
        raise ValueError(f"blazepose_to_coco17: expected 33 landmarks, got {landmarks.shape[-2]}")
    return landmarks[..., BLAZEPOSE33_TO_COCO17, :]
