"""The ``mmpose`` backend: top-down HRNet-W48 (the paper's 2D detector) through mmpose 1.x.

An optional extra, imported only when used: mmpose 1.x (``mmpose.apis.init_model`` and
``inference_topdown``) needs mmengine, mmdet 3.x and a full mmcv 2.1 with its compiled ops
(``mmcv._ext``), which OpenMMLab does not publish as wheels for this platform on PyPI (a source
build takes 12-30 minutes on 2 cores). ``make mmpose`` installs the stack from a prebuilt mmcv wheel
(``../shared/wheels/``, or ``MMCV_WHEEL=...``), without letting pip replace numpy or OpenCV.

Decoding (mmpose's ``MSRAHeatmap``, HRNet-W48 256x192): the box is padded by 1.25 and widened to
the model's 3:4 aspect, resampled to 192x256, and each joint is the maximum of a 48x64 heatmap
(4-pixel cells, a quarter-cell refinement), so a located joint lies inside the padded box. A
heatmap with no positive value has no maximum: mmpose then reports cell -1 (one cell outside the
box) with score 0; such joints are put at the box centre with confidence 0 here, as the
mediapipe backend does for a frame without a person.

The model config (an mmpose ``.py`` config, e.g. ``td-hm_hrnet-w48_8xb32-210e_coco-256x192.py``)
and checkpoint come from ``keypoints.mmpose`` in the config; no weights are downloaded. mmpose's
COCO keypoint order is COCO-17's, and ``keypoint_scores`` (heatmap maxima) become the confidence,
clipped to [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hmr.errors import InputError

INSTALL_HINT = "run `make mmpose` (see README, 2D keypoints)"


class MMPoseUnavailable(InputError):
    """mmpose, its compiled mmcv ops, or the model files are missing."""


def check_model_files(config: str | os.PathLike | None, checkpoint: str | os.PathLike | None,
                      need_checkpoint: bool = True) -> None:
    """One-line error unless the mmpose model config (and checkpoint) exist."""
    if not config:
        raise MMPoseUnavailable("keypoints.mmpose.config: not set (an mmpose model config .py is "
                                "needed for backend mmpose)")
    if not Path(config).is_file():
        raise MMPoseUnavailable(f"{config}: mmpose model config not found")
    if need_checkpoint and not checkpoint:
        raise MMPoseUnavailable("keypoints.mmpose.checkpoint: not set (HRNet weights are needed "
                                "for backend mmpose)")
    if checkpoint and not Path(checkpoint).is_file():
        raise MMPoseUnavailable(f"{checkpoint}: mmpose checkpoint not found")


def import_mmpose_apis():
    """``mmpose.apis`` or a one-line :class:`MMPoseUnavailable` naming what is missing."""
    try:
        import mmcv
    except ImportError as exc:
        raise MMPoseUnavailable(f"backend mmpose: mmcv is not installed ({exc.name}); {INSTALL_HINT}") from None
    try:
        import mmcv._ext  # noqa: F401  (compiled ops: absent from mmcv-lite)
    except ImportError:
        raise MMPoseUnavailable("backend mmpose: mmcv's compiled ops (mmcv._ext) are missing "
                                f"(mmcv-lite?); {INSTALL_HINT}") from None
    try:
        from mmpose import apis
    except ImportError as exc:
        raise MMPoseUnavailable(f"backend mmpose: cannot import mmpose.apis ({exc}); {INSTALL_HINT}") from None
    return apis


def xyxy_boxes(bbox: np.ndarray) -> np.ndarray:
    """(T,4) (cx, cy, w, h) -> (T,4) (x1, y1, x2, y2), mmpose's box format."""
    bbox = np.asarray(bbox, np.float64)
    half = bbox[:, 2:] / 2
    return np.concatenate([bbox[:, :2] - half, bbox[:, :2] + half], axis=1)


class MMPoseDetector:
    """Top-down keypoints of one person per frame with an mmpose model (HRNet-W48 by default).

    ``checkpoint=None`` builds the network with random weights (tests only).
    """

    def __init__(self, config: str | os.PathLike, checkpoint: str | os.PathLike | None,
                 device: str = "cpu", need_checkpoint: bool = True) -> None:
        check_model_files(config, checkpoint, need_checkpoint=need_checkpoint)
        self._apis = import_mmpose_apis()
        self.model = self._apis.init_model(str(config), None if checkpoint is None else str(checkpoint),
                                           device=device)

    def detect(self, frames: np.ndarray, bbox: np.ndarray) -> np.ndarray:
        """(N,17,3) keypoints of RGB frames (N,H,W,3) uint8 inside boxes (N,4) (cx, cy, w, h)."""
        boxes = xyxy_boxes(bbox)
        out = np.zeros((len(frames), 17, 3), np.float32)
        for i, frame in enumerate(frames):
            # mmpose's pipelines expect BGR, as cv2.imread gives
            samples = self._apis.inference_topdown(self.model, np.ascontiguousarray(frame[..., ::-1]),
                                                   bboxes=boxes[i:i + 1], bbox_format="xyxy")
            inst = samples[0].pred_instances
            kp = np.asarray(inst.keypoints, np.float64).reshape(-1, 17, 2)[0]
            score = np.asarray(inst.keypoint_scores, np.float64).reshape(-1, 17)[0]
            found = score > 0                 # no positive heatmap value: mmpose's cell -1
            out[i, :, :2] = np.where(found[:, None], kp, bbox[i, :2])
            out[i, :, 2] = np.where(found, np.clip(score, 0.0, 1.0), 0.0)
        return out

    def detect_stream(self, batches: Iterable[np.ndarray], bbox: np.ndarray,
                      progress: Iterable | None = None) -> np.ndarray:
        """(T,17,3) keypoints of a stream of frame batches; ``bbox`` (T,4)."""
        out, start = [], 0
        for frames in batches:
            out.append(self.detect(frames, bbox[start:start + len(frames)]))
            start += len(frames)
            if progress is not None:
                progress.update(len(frames))
        return np.concatenate(out) if out else np.zeros((0, 17, 3), np.float32)
