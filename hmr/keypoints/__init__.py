"""2D keypoints in COCO-17 order, pixels, with confidence: ``keypoints`` (T,17,3) per sequence.

Backends (``keypoints.backend`` in the config):

* ``mediapipe`` -- BlazePose (mediapipe 0.10.21's legacy ``solutions.pose``, weights in the wheel,
  offline); its 33 landmarks are mapped to COCO-17 (:mod:`hmr.keypoints.coco`).
* ``mmpose`` -- HRNet-W48 top-down (the paper's choice); an optional extra, imported lazily
  (:mod:`hmr.keypoints.mmpose_backend`).
* ``synthetic-detector`` -- **simulated**: the ground-truth COCO-17 projection with a noise and
  dropout model that imitates a detector's errors (:mod:`hmr.keypoints.simulated`).

Undetected joints have confidence 0 and finite x, y (the person box centre).
"""
