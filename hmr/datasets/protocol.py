"""The joints a dataset's evaluation protocol scores, for ground truth and for predictions alike.

Each imported sequence names its metric joint set in ``info['metric_joint_set']`` (the config's
``metric_joint_set``, else :data:`hmr.body.joint_sets.PROTOCOL_JOINT_SETS`). Ground truth comes
from ``gt/keypoints3d`` in the dataset's own joint set when the sequence has it (Human3.6M,
MPI-INF-3DHP, VIBE db), else from ``gt/joints3d`` (SMPL-24: 3DPW, synthetic). Predictions are
smplx's 45 SMPL joints. Both are converted by joint name; a metric uses the joints both sides have
(``mask``): e.g. on 3DPW the 14 LSP joints less the head top, which SMPL's joints do not include
(the field's numbers regress all 14 from the mesh with a Human3.6M regressor that needs SMPL's
own topology; say which one a table used).
"""

from __future__ import annotations

import numpy as np

from hmr.body.joint_sets import convert_joints
from hmr.io.sequence import Sequence


def metric_joint_set(seq: Sequence, default: str = "smpl24") -> str:
    return str(seq.info.get("metric_joint_set", default))


def ground_truth_joints(seq: Sequence, joint_set: str) -> tuple[np.ndarray, np.ndarray]:
    """(T,J,3) ground-truth 3D joints (camera frame, m) of ``seq`` in ``joint_set`` and the (J,)
    mask of the joints it has. ValueError when the sequence has no 3D ground truth."""
    if "gt/keypoints3d" in seq.arrays:
        src = seq.joint_sets["gt/keypoints3d"]
        return convert_joints(seq.arrays["gt/keypoints3d"], src, joint_set)
    if "gt/joints3d" in seq.arrays:
        return convert_joints(seq.arrays["gt/joints3d"], "smpl24", joint_set)
    raise ValueError(f"sequence {seq.name}: no 3D ground truth (gt/keypoints3d or gt/joints3d)")


def predicted_joints(joints45: np.ndarray, joint_set: str) -> tuple[np.ndarray, np.ndarray]:
    """(T,45,3) smplx SMPL joints -> (T,J,3) in ``joint_set`` and the (J,) mask it can give."""
    return convert_joints(joints45, "smpl45", joint_set)


def metric_joints(seq: Sequence, joints45: np.ndarray,
                  joint_set: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gt (T,J,3), prediction (T,J,3), mask (J,)) on the sequence's metric joint set (or
    ``joint_set``): the joints to score are ``mask``; frames to score are ``gt/valid``."""
    name = joint_set or metric_joint_set(seq)
    gt, has_gt = ground_truth_joints(seq, name)
    pred, has_pred = predicted_joints(joints45, name)
    return gt, pred, has_gt & has_pred
