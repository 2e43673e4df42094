"""Baselines every table shows beside the temporal model, fitted on the training split only.

* ``mean_pose``: one constant SMPL body for every frame: per joint the chordal mean of the
  training frames' rotations (the root's included, in the camera frame), the mean betas. What a
  model that ignores the image scores.
* ``per_frame``: a per-frame estimator from f_t alone: ridge regression from the standardised
  features to every joint's 6D rotation and the betas (rotations back onto SO(3) by Gram-Schmidt).
  No temporal model, no u_t, no d_t: what f_t already gives, so a reader sees what the temporal
  model adds.

Both write prediction files like the regressor's (``pose``, ``betas``, ``joints3d`` root-relative),
scored by the same ``evaluate`` rule.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from hmr.errors import InputError
from hmr.io.atomic import atomic_path
from hmr.io.h5 import write_arrays
from hmr.model.rotations import axis_angle_to_rotmat, rot6d_to_rotmat, rotmat_to_axis_angle, rotmat_to_rot6d
from hmr.model.smpl_torch import BodyModel

KINDS = ("mean_pose", "per_frame")
RIDGE_LAMBDA = 1.0   # on standardised features; per frame, in units of the feature count


def chordal_mean(rotmats: np.ndarray) -> np.ndarray:
    """(N,...,3,3) rotations -> (...,3,3) their chordal L2 mean (the mean matrix projected on SO(3))."""
    m = np.asarray(rotmats, np.float64).mean(0)
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    u[..., :, -1] *= d[..., None]
    return u @ vt


def _rotmats(pose: np.ndarray) -> np.ndarray:
    return axis_angle_to_rotmat(torch.as_tensor(pose, dtype=torch.float64).reshape(-1, 24, 3)).numpy()


def _train_pose(sequences: list, features: list | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Ground-truth poses (N,72), betas (N,10) and, with ``features``, f_t (N,D) of every valid frame."""
    from hmr.io.h5 import read_array
    from hmr.io.sequence import read_sequence

    poses, betas, feats = [], [], []
    for i, path in enumerate(sequences):
        seq = read_sequence(path)
        a = seq.arrays
        if "gt/pose" not in a or "gt/betas" not in a:
            continue
        ok = a["gt/valid"].astype(bool) if "gt/valid" in a else np.ones(seq.n_frames, bool)
        poses.append(a["gt/pose"][ok])
        betas.append(a["gt/betas"][ok])
        if features is not None:
            f = read_array(features[i], "features", shape=(seq.n_frames, None), dtype_kind="f")
            feats.append(f[ok])
    if not poses:
        raise InputError(f"baseline: none of the {len(sequences)} training sequences has gt/pose and gt/betas")
    return (np.concatenate(poses).astype(np.float64), np.concatenate(betas).astype(np.float64),
            np.concatenate(feats).astype(np.float64) if features is not None else None)


def fit_baseline(kind: str, sequences: list, features: list | None = None) -> dict[str, np.ndarray]:
    """Fit baseline ``kind`` on the training sequences (and their features files for per_frame)."""
    if kind not in KINDS:
        raise InputError(f"unknown baseline '{kind}' (one of {', '.join(KINDS)})")
    if kind == "per_frame" and not features:
        raise InputError("baseline per_frame needs the training sequences' features files")
    pose, betas, f = _train_pose(sequences, features if kind == "per_frame" else None)
    if kind == "mean_pose":
        R = chordal_mean(_rotmats(pose))
        mean_pose = rotmat_to_axis_angle(torch.as_tensor(R)).numpy().reshape(72)
        return {"kind": np.array(kind), "pose": mean_pose, "betas": betas.mean(0)}
    mean, std = f.mean(0), f.std(0)
    std = np.maximum(std, max(1e-6, 0.05 * float(std.mean())))
    x = np.concatenate([(f - mean) / std, np.ones((len(f), 1))], 1)
    y = np.concatenate([rotmat_to_rot6d(torch.as_tensor(_rotmats(pose))).numpy().reshape(len(f), -1), betas], 1)
    reg = RIDGE_LAMBDA * len(f) / x.shape[1] * np.eye(x.shape[1])
    reg[-1, -1] = 0.0                                   # the bias is not shrunk
    W = np.linalg.solve(x.T @ x + reg, x.T @ y)
    return {"kind": np.array(kind), "mean": mean, "std": std, "W": W}


def save_baseline(path: str | os.PathLike, model: dict[str, np.ndarray]) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **model)


def load_baseline(path: str | os.PathLike) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as z:
            model = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a baseline file ({exc.__class__.__name__})") from None
    if str(model.get("kind")) not in KINDS:
        raise InputError(f"{path}: not a baseline file (no known 'kind')")
    return model


@torch.no_grad()
def predict_baseline(model: dict[str, np.ndarray], body: BodyModel, n_frames: int,
                     features: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-frame ``pose`` (T,72), ``betas`` (T,10), root-relative ``joints3d`` (T,24,3)."""
    kind = str(model["kind"])
    if kind == "mean_pose":
        pose = np.repeat(model["pose"][None], n_frames, 0)
        betas = np.repeat(model["betas"][None], n_frames, 0)
        rot = _rotmats(pose)
    else:
        if features is None or features.shape[1] != len(model["mean"]):
            raise InputError(f"baseline per_frame: needs ({n_frames},{len(model['mean'])}) features")
        x = np.concatenate([(features - model["mean"]) / model["std"], np.ones((n_frames, 1))], 1)
        y = x @ model["W"]
        rot = rot6d_to_rotmat(torch.as_tensor(y[:, :144]).reshape(n_frames, 24, 6)).numpy()
        pose = rotmat_to_axis_angle(torch.as_tensor(rot)).numpy().reshape(n_frames, 72)
        betas = y[:, 144:154]
    r = torch.as_tensor(rot, dtype=torch.float32)
    b = torch.as_tensor(betas, dtype=torch.float32)
    j = torch.cat([body.joints(r[i:i + 256], b[i:i + 256]) for i in range(0, n_frames, 256)])[:, :24]
    j = (j - j[:, :1]).numpy()
    return {"pose": pose.astype(np.float32), "betas": betas.astype(np.float32), "joints3d": j.astype(np.float32)}


def predict_baseline_files(model_path: str | os.PathLike, sequences: list, body_model: str | os.PathLike,
                           outs: list, features: list | None = None) -> list[dict[str, np.ndarray]]:
    """Predict each sequence with a fitted baseline and write its ``outs`` entry (a predictions
    file); ``features`` (the per_frame baseline's input) in the order of ``sequences``."""
    from hmr.body.smpl import smpl_layer
    from hmr.io.h5 import read_array
    from hmr.io.sequence import read_sequence

    model = load_baseline(model_path)
    per_frame = str(model["kind"]) == "per_frame"
    if per_frame and (not features or len(features) != len(sequences)):
        raise InputError(f"{model_path}: the per_frame baseline needs one features file per sequence")
    if len(outs) != len(sequences):
        raise InputError(f"{model_path}: {len(outs)} outputs for {len(sequences)} sequences")
    # every input is read and checked before the first output is written
    lengths = [read_sequence(sequence).n_frames for sequence in sequences]
    feats = [read_array(features[i], "features", shape=(T, None), dtype_kind="f").astype(np.float64)
             if per_frame else None for i, T in enumerate(lengths)]
    body = BodyModel(smpl_layer(body_model))
    preds = []
    for T, f, out in zip(lengths, feats, outs):
        pred = predict_baseline(model, body, T, f)
        write_arrays(out, pred, attrs={"variant": f"baseline_{model['kind']}", "model": str(model_path),
                                      "joints3d_frame": "root-relative (pelvis at origin), camera axes, meters"})
        preds.append(pred)
    return preds
