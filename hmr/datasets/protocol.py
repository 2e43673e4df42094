"""The joints a dataset's evaluation protocol scores, for ground truth and for predictions alike.

Each imported sequence names its metric joint set in ``info['metric_joint_set']`` (the config's
``metric_joint_set``, else :data:`hmr.body.joint_sets.PROTOCOL_JOINT_SETS`); sequences without it
(the synthetic benchmark, a ``sequences`` folder) are scored on ``smpl24``.

* Ground truth comes from ``gt/keypoints3d`` in the dataset's own joint set when the sequence has
  it (Human3.6M ``h36m17``, MPI-INF-3DHP ``mpi3dhp28`` / ``mpi3dhp17``, VIBE db ``spin49``), else
  from ``gt/joints3d`` (``smpl24``: 3DPW's own SMPL joints, synthetic).
* Predictions: the prediction files store SMPL's 24 joints (``joints3d`` (T,24,3),
  root-relative; see :mod:`hmr.model.predict`), so they are converted from ``smpl24`` (an array of
  smplx's 45 joints is converted from ``smpl45``; its extra joints — nose, eyes, ears, feet, finger
  tips — are in none of the protocol joint sets LSP-14 / H36M-17 / MPI-INF-3DHP-17).

Both are converted by joint name. A metric uses the joints both sides have (``mask``) and, per
frame, only ground-truth joints that are not missing there (all three coordinates exactly 0: how
VIBE's db files and converted joint sets mark an unannotated joint); frames with ``gt/valid`` False
are left out. What SMPL's 24 joints give:

* ``lsp14`` (3DPW, Human3.6M, MPI-INF-3DHP, VIBE db by default): 13 of the 14 LSP joints, all but
  ``head_top`` (the field's numbers regress all 14 from the mesh with a Human3.6M regressor that
  needs SMPL's own topology; a table from this pipeline is on the 13);
* ``h36m17``: 15 of 17 (no ``head_top``, no H36M ``spine``, the mid-torso point);
* ``mpi3dhp17``: 15 of 17 (the same two);
* ``smpl24``: all 24.

Root alignment (:func:`root_point`): the pelvis joint for ``smpl24`` / ``smpl45`` (the synthetic
benchmark), the midpoint of the two hips for every other set (VIBE's / TCMR's protocol for
LSP-14, used for H36M-17 and MPI-INF-3DHP-17 too), each side its own root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hmr.body.joint_sets import convert_joints, joint_names, pelvis_from_hips
from hmr.io.sequence import Sequence

PELVIS_ROOT_SETS = ("smpl24", "smpl45")


def metric_joint_set(seq: Sequence, default: str = "smpl24") -> str:
    return str(seq.info.get("metric_joint_set", default))


def root_joints(joint_set: str) -> tuple[str, ...]:
    """The joints the root of ``joint_set`` is made of: ``("pelvis",)`` for SMPL's sets, the two
    hips otherwise. ValueError when the set lacks them."""
    need = ("pelvis",) if joint_set in PELVIS_ROOT_SETS else ("left_hip", "right_hip")
    names = joint_names(joint_set)
    lacking = [n for n in need if n not in names]
    if lacking:
        raise ValueError(f"joint set '{joint_set}' has no {' / '.join(lacking)} to align the root on")
    return need


def root_description(joint_set: str) -> str:
    """The root in words, for logs: ``pelvis`` or ``hip midpoint``."""
    return "pelvis" if root_joints(joint_set) == ("pelvis",) else "hip midpoint"


def root_point(joints: np.ndarray, joint_set: str) -> np.ndarray:
    """(..., J, 3) joints in ``joint_set`` -> (..., 3) root point (see the module docstring)."""
    joints = np.asarray(joints)
    if root_joints(joint_set) == ("pelvis",):
        return joints[..., joint_names(joint_set).index("pelvis"), :]
    return pelvis_from_hips(joints, joint_set)


def prediction_joint_set(joints: np.ndarray) -> str:
    """``smpl24`` for (...,24,3) prediction joints (what prediction files store), ``smpl45`` for
    smplx's 45; ValueError otherwise."""
    J = np.asarray(joints).shape[-2]
    if J == 24:
        return "smpl24"
    if J == 45:
        return "smpl45"
    raise ValueError(f"predicted joints: expected SMPL's 24 or smplx's 45 joints, got {J}")


def ground_truth_joints(seq: Sequence, joint_set: str) -> tuple[np.ndarray, np.ndarray]:
    """(T,J,3) ground-truth 3D joints (camera frame, m) of ``seq`` in ``joint_set`` and the (J,)
    mask of the joints its source joint set has. ValueError when the sequence has no 3D ground
    truth."""
    if "gt/keypoints3d" in seq.arrays:
        src = seq.joint_sets["gt/keypoints3d"]
        return convert_joints(seq.arrays["gt/keypoints3d"][..., :3], src, joint_set)
    if "gt/joints3d" in seq.arrays:
        return convert_joints(seq.arrays["gt/joints3d"], "smpl24", joint_set)
    raise ValueError(f"sequence {seq.name}: no 3D ground truth (gt/keypoints3d or gt/joints3d)")


def predicted_joints(joints: np.ndarray, joint_set: str,
                     source: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T,24,3) SMPL joints (or (T,45,3) smplx joints) -> (T,J,3) in ``joint_set`` and the (J,)
    mask of the joints they can give. ``source`` defaults to :func:`prediction_joint_set`."""
    return convert_joints(joints, source or prediction_joint_set(joints), joint_set)


def metric_joints(seq: Sequence, joints: np.ndarray, joint_set: str | None = None,
                  source: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gt (T,J,3), prediction (T,J,3), mask (J,)) on the sequence's metric joint set (or
    ``joint_set``): the joints to score are ``mask``; frames to score are ``gt/valid``.
    ``joints``: the predicted SMPL-24 (or smplx-45) joints."""
    name = joint_set or metric_joint_set(seq)
    gt, has_gt = ground_truth_joints(seq, name)
    pred, has_pred = predicted_joints(joints, name, source)
    return gt, pred, has_gt & has_pred


@dataclass
class ScoredJoints:
    """What a sequence is scored on: ``gt`` and ``pred`` (T,J,3) in ``joint_set``, each minus
    its own root point; ``scored`` (T,J) the joints to score in each frame (both sides have the
    joint, the ground truth is not missing there, the frame is scored); ``frames`` (T,) the frames
    to score (``gt/valid``, the ground-truth root joints present, at least one joint scored)."""

    joint_set: str
    names: tuple[str, ...]
    root: str
    gt: np.ndarray
    pred: np.ndarray
    scored: np.ndarray
    frames: np.ndarray

    @property
    def joints_used(self) -> tuple[str, ...]:
        """Names of the joints scored in at least one frame."""
        return tuple(n for n, s in zip(self.names, self.scored.any(0)) if s)

    @property
    def joints_unused(self) -> tuple[str, ...]:
        return tuple(n for n, s in zip(self.names, self.scored.any(0)) if not s)


def scored_joints(seq: Sequence, joints: np.ndarray, joint_set: str | None = None,
                  source: str | None = None) -> ScoredJoints:
    """Ground truth and the predicted ``joints`` (T,24,3) of ``seq`` as its protocol scores
    them (see :class:`ScoredJoints` and the module docstring). ValueError without 3D ground truth
    or when the predictions lack the root joints."""
    name = joint_set or metric_joint_set(seq)
    T = seq.n_frames
    gt, pred, mask = metric_joints(seq, joints, name, source)
    gt, pred = gt.astype(np.float64), np.asarray(pred, np.float64)
    names = joint_names(name)
    root_idx = [names.index(n) for n in root_joints(name)]
    if not mask[root_idx].all():
        raise ValueError(f"sequence {seq.name}: the predictions have no {'/'.join(root_joints(name))} "
                         f"in joint set '{name}'")
    present = mask[None] & np.any(gt != 0, axis=-1)                       # (T,J)
    valid = seq.arrays["gt/valid"].astype(bool) if "gt/valid" in seq.arrays else np.ones(T, bool)
    frames = valid & present[:, root_idx].all(1)
    scored = present & frames[:, None]
    frames &= scored.any(1)
    gt = gt - root_point(gt, name)[..., None, :]
    pred = pred - root_point(pred, name)[..., None, :]
    return ScoredJoints(name, names, root_description(name), gt, pred, scored, frames)
