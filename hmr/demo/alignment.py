"""How well the demo's mesh lies on the person, measured without 3D ground truth.

The predicted SMPL joints are projected into the frame exactly as ``demo_export`` draws the mesh
(``smpl.npz``'s ``joints3d`` through its ``orig_cam``, :func:`hmr.render.overlay.orig_cam_project`;
``orig_cam`` is the frame-pixel camera the renderer uses) and compared with the landmarks BlazePose
found while tracking (``track.h5``'s ``landmarks``), both in COCO-17
(:func:`hmr.body.joint_sets.convert_joints` for SMPL's joints, by name as
:data:`hmr.body.joint_sets.SMPL45_TO_COCO17`; :func:`hmr.keypoints.coco.blazepose_to_coco17`).

Per frame the score is the **median** pixel distance over the 12 limb joints (shoulders, elbows,
wrists, hips, knees, ankles) that BlazePose sees with visibility >= 0.5, divided by the height of
the tracked person box (``bboxes``' h): 0 is a perfect overlay, 0.1 means the typical joint is a
tenth of the box height off (the box is the landmarks' extent x ``demo.track.bbox_scale``). A frame without such a joint (no landmarks: zeros, visibility 0) scores NaN
and is left out of the summary (median and 90th percentile over frames, share of frames under
0.08).

Both skeletons are estimates: BlazePose's own error and the two joint definitions (SMPL's hip
joints sit higher and more medial than a 2D detector's hips) put a floor under the score, so it
compares runs and videos rather than stating an absolute accuracy. Nor is the reference
independent of the model: with the mediapipe keypoints backend the network's 2D-pose input comes
from BlazePose too, so the score measures agreement with that detector, not with the truth.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np

from hmr.body.joint_sets import COCO17, convert_joints
from hmr.demo.smpl_npz import load_smpl_npz
from hmr.errors import InputError
from hmr.io.atomic import atomic_path
from hmr.io.h5 import read_array
from hmr.keypoints.coco import BLAZEPOSE33, blazepose_to_coco17
from hmr.render.overlay import orig_cam_project

log = logging.getLogger(__name__)

LIMB_JOINTS: tuple[str, ...] = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
LIMB_INDICES: tuple[int, ...] = tuple(COCO17.index(n) for n in LIMB_JOINTS)
MIN_VISIBILITY = 0.5
GOOD_THRESHOLD = 0.08
CSV_COLUMNS = ("frame", "frame_id", "joints", "median_px", "box_height_px", "alignment")


def alignment_per_frame(pred_joints: np.ndarray, landmarks: np.ndarray, visibility: np.ndarray,
                        boxes: np.ndarray, min_visibility: float = MIN_VISIBILITY,
                        joints: tuple[int, ...] = LIMB_INDICES) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame median distance between the predicted joints and the landmarks over box height.

    Args:
        pred_joints: (T,17,2) predicted COCO-17 joints in frame pixels.
        landmarks: (T,17,2) detected COCO-17 joints (BlazePose's, mapped) in frame pixels.
        visibility: (T,17) the detector's visibility of each landmark.
        boxes: (T,4) person boxes (cx, cy, w, h) in pixels; the height ``h`` normalises.
        min_visibility: landmarks below this visibility are ignored.
        joints: the COCO-17 joints scored (default the 12 limb joints).

    Returns:
        ``alignment`` (T,) float64: the median distance / box height over the joints used, NaN
        where no joint qualifies (or the box has no positive height); ``n_joints`` (T,) int64: the
        number of joints used. A joint is used when its landmark is visible enough and both
        points are finite.
    """
    pred = np.asarray(pred_joints, np.float64)
    lm = np.asarray(landmarks, np.float64)
    vis = np.asarray(visibility, np.float64)
    box = np.asarray(boxes, np.float64)
    T = len(pred)
    if pred.shape[1:] != (len(COCO17), 2) or lm.shape != pred.shape or vis.shape != pred.shape[:2] \
            or box.shape != (T, 4):
        raise ValueError(f"alignment_per_frame: shapes pred {pred.shape}, landmarks {lm.shape}, "
                         f"visibility {vis.shape}, boxes {box.shape}; expected (T,17,2), (T,17,2), "
                         "(T,17), (T,4)")
    sel = list(joints)
    pred, lm, vis = pred[:, sel], lm[:, sel], vis[:, sel]
    use = (vis >= min_visibility) & np.isfinite(pred).all(-1) & np.isfinite(lm).all(-1)
    dist = np.where(use, np.linalg.norm(np.nan_to_num(pred - lm), axis=-1), np.nan)
    n_joints = use.sum(1).astype(np.int64)
    height = box[:, 3]
    ok = (n_joints > 0) & np.isfinite(height) & (height > 0)
    median = np.full(T, np.nan)
    if ok.any():
        median[ok] = np.nanmedian(dist[ok], axis=1)
    return np.where(ok, median / np.where(ok, height, 1.0), np.nan), n_joints


def alignment_summary(alignment: np.ndarray, threshold: float = GOOD_THRESHOLD) -> dict[str, Any]:
    """Summary over the frames with a score (NaN frames excluded): ``frames``, ``scored_frames``,
    ``median``, ``p90`` (90th percentile, linear interpolation), ``share_under`` (share of scored
    frames with a score below ``threshold``) and ``threshold``; None where no frame is scored."""
    a = np.asarray(alignment, np.float64)
    good = a[np.isfinite(a)]
    scored = len(good) > 0
    return {
        "frames": int(a.size),
        "scored_frames": int(good.size),
        "median": float(np.median(good)) if scored else None,
        "p90": float(np.percentile(good, 90)) if scored else None,
        "share_under": float((good < threshold).mean()) if scored else None,
        "threshold": float(threshold),
    }


def predicted_coco17(joints3d: np.ndarray, orig_cam: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T,24,3) SMPL joints and (T,4) ``orig_cam`` -> (T,17,2) COCO-17 frame pixels, projected as
    the demo draws the mesh (face joints, which SMPL's 24 lack, are NaN)."""
    joints2d = orig_cam_project(joints3d, orig_cam, width, height)
    coco, present = convert_joints(joints2d, "smpl24", "coco17")
    coco[..., ~present, :] = np.nan
    return coco


def load_alignment_inputs(smpl_npz: str | os.PathLike, track: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays the score needs from the demo's ``smpl.npz`` and ``track.h5``: ``pred`` (T,17,2),
    ``landmarks`` (T,17,2), ``visibility`` (T,17), ``boxes`` (T,4), ``frame_ids`` (T,).
    A missing, unreadable or inconsistent file raises a one-line :class:`InputError` naming it."""
    arrays = load_smpl_npz(smpl_npz)
    T = len(arrays["pose"])
    landmarks = read_array(track, "landmarks", shape=(None, len(BLAZEPOSE33), 3), dtype_kind="f")
    if len(landmarks) != T:
        raise InputError(f"{track}: 'landmarks' has {len(landmarks)} frames, {smpl_npz} has {T}")
    width, height = (int(v) for v in arrays["image_size"])
    coco = blazepose_to_coco17(landmarks).astype(np.float64)
    return {
        "pred": predicted_coco17(arrays["joints3d"], arrays["orig_cam"], width, height),
        "landmarks": coco[..., :2], "visibility": coco[..., 2],
        "boxes": np.asarray(arrays["bboxes"], np.float64),
        "frame_ids": np.asarray(arrays["frame_ids"], np.int64),
    }


def run_demo_alignment(smpl_npz: str | os.PathLike, track: str | os.PathLike,
                       out_csv: str | os.PathLike, out_json: str | os.PathLike,
                       min_visibility: float = MIN_VISIBILITY,
                       threshold: float = GOOD_THRESHOLD) -> dict[str, Any]:
    """Score one demo video: the per-frame CSV (columns :data:`CSV_COLUMNS`; empty where NaN) and
    the JSON summary (:func:`alignment_summary` plus the settings and input files). Returns the
    summary."""
    import pandas as pd

    x = load_alignment_inputs(smpl_npz, track)
    alignment, n_joints = alignment_per_frame(x["pred"], x["landmarks"], x["visibility"], x["boxes"],
                                              min_visibility=min_visibility)
    height = x["boxes"][:, 3]
    df = pd.DataFrame({
        "frame": np.arange(len(alignment)), "frame_id": x["frame_ids"], "joints": n_joints,
        "median_px": alignment * height, "box_height_px": height, "alignment": alignment,
    }, columns=list(CSV_COLUMNS))
    summary = alignment_summary(alignment, threshold)
    summary.update({"min_visibility": float(min_visibility), "joints": list(LIMB_JOINTS),
                    "smpl_npz": str(smpl_npz), "track": str(track)})
    with atomic_path(out_csv, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_path(out_json, suffix=".json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n")
    log.info("%s: median %s, p90 %s, %s of %d scored frames under %g (%d frames)", smpl_npz,
             *(f"{summary[k]:.4f}" if summary[k] is not None else "n/a" for k in ("median", "p90", "share_under")),
             summary["scored_frames"], threshold, summary["frames"])
    return summary
