"""Per-sequence evaluation of predictions -> ``results/{dataset}/metrics/{variant}.csv``.

One row per sequence with ``seq, n_frames, mpjpe, pa_mpjpe, mpvpe, accel_err`` (mm, mm/frame^2),
then a ``mean`` row. The mean is **frame-weighted**: each sequence counts with its number of
evaluated frames (for accel_err, with its number of evaluated acceleration frames), i.e. it is the
mean over all frames of the split, as the field reports it.

Ground truth, by what a sequence file holds:

* ``gt/joints3d`` (SMPL's 24 joints): MPJPE / PA-MPJPE / accel on the 24 joints, root = pelvis
  (joint 0); MPVPE between the predicted mesh and the ground-truth mesh of the same body model
  run on ``gt/pose`` and ``gt/betas``, each minus its own pelvis joint.
* otherwise ``gt/keypoints3d`` in a named joint set (e.g. LSP-14): the predicted SMPL joints of the
  same names, root = hip midpoint (VIBE's protocol); MPVPE only when SMPL ground truth exists.

Frames with ``gt/valid`` False are left out.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from hmr.body.joint_sets import convert_joints, pelvis_from_hips
from hmr.errors import InputError
from hmr.eval.metrics import accel_error, mpjpe, mpvpe, pa_mpjpe
from hmr.io.atomic import atomic_path
from hmr.io.h5 import read_array
from hmr.io.sequence import read_sequence
from hmr.model.rotations import axis_angle_to_rotmat
from hmr.model.smpl_torch import BodyModel

log = logging.getLogger(__name__)

METRIC_COLUMNS = ("seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err")


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


def evaluate_sequence(sequence: str | os.PathLike, prediction: str | os.PathLike,
                      body: BodyModel | None) -> dict[str, float] | None:
    """Metrics of one sequence in mm (None when it has no 3D ground truth)."""
    seq = read_sequence(sequence)
    T, a = seq.n_frames, seq.arrays
    pred_j = read_array(prediction, "joints3d", shape=(T, 24, 3), dtype_kind="f").astype(np.float64)
    valid = a["gt/valid"].astype(bool) if "gt/valid" in a else np.ones(T, bool)
    if "gt/joints3d" in a:
        gt_j, pj, root = a["gt/joints3d"].astype(np.float64), pred_j, 0
    elif "gt/keypoints3d" in a:
        js = seq.joint_sets["gt/keypoints3d"]
        pj, present = convert_joints(pred_j, "smpl24", js)
        gt_j = a["gt/keypoints3d"][..., :3].astype(np.float64)
        if not present.any():
            raise InputError(f"{sequence}: no joint of '{js}' exists among SMPL's 24 joints")
        root = None
        pj = pj[:, present] - pelvis_from_hips(pj, js)[:, None]
        gt_j = gt_j[:, present] - pelvis_from_hips(gt_j, js)[:, None]
    else:
        return None
    if not valid.any():
        return None
    row = {"seq": seq.name, "n_frames": int(valid.sum())}
    row["mpjpe"] = 1000 * float(mpjpe(pj[valid], gt_j[valid], root).mean())
    row["pa_mpjpe"] = 1000 * float(pa_mpjpe(pj[valid], gt_j[valid]).mean())
    acc = accel_error(pj, gt_j, valid, root)
    row["accel_err"] = 1000 * float(acc.mean()) if len(acc) else float("nan")
    row["n_accel"] = int(len(acc))
    row["mpvpe"] = float("nan")
    if body is not None and "gt/pose" in a and "gt/betas" in a:
        pose = read_array(prediction, "pose", shape=(T, 72), dtype_kind="f")
        betas = read_array(prediction, "betas", shape=(T, 10), dtype_kind="f")
        pv, pr = mesh(body, pose[valid], betas[valid])
        gv, gr = mesh(body, a["gt/pose"][valid], a["gt/betas"][valid])
        row["mpvpe"] = 1000 * float(mpvpe(pv, gv, pr, gr).mean())
    return row


def frame_weighted_mean(df: pd.DataFrame) -> dict[str, float]:
    """The ``mean`` row: position metrics weighted by n_frames, accel_err by its frame count."""
    out: dict[str, float] = {"seq": "mean", "n_frames": int(df["n_frames"].sum())}
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
        row = evaluate_sequence(s, p, body)
        if row is None:
            log.warning("%s: no 3D ground truth; not evaluated", s)
            continue
        rows.append(row)
    if not rows:
        raise InputError(f"{out}: none of the {len(sequences)} sequences has 3D ground truth")
    df = pd.DataFrame(rows)
    df = pd.concat([df, pd.DataFrame([frame_weighted_mean(df)])], ignore_index=True)
    df = df[list(METRIC_COLUMNS)]
    with atomic_path(out, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.3f")
    return df
