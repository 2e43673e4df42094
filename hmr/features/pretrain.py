"""Pretraining the feature backbone as a frame-based SMPL regressor (SPIN-style, from scratch).

When the config names no weights, the DAG trains its own backbone on the training split: person
crop -> ResNet -> pooled feature -> :class:`~hmr.features.spin_head.SMPLRegressorHead` -> SMPL pose
(6D rotations), betas and a weak-perspective camera, with losses on

* 2D joints (the SMPL joints projected by the predicted camera vs the ground-truth projections in
  crop-normalised coordinates, visible joints only),
* 3D joints (pelvis-centred SMPL joints from the differentiable body model vs ground truth),
* SMPL parameters (rotation matrices and betas),

so that the pooled features carry pose information (as SPIN's, which VIBE and the paper use). The
result, ``results/models/backbone.pt``, is a SPIN-format checkpoint (backbone + regressor keys under
``model``) that the features stage reads like any SPIN file; beside it a log CSV (losses, throughput,
val MPJPE / PA-MPJPE in mm) and a loss-curve PNG.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hmr import __version__
from hmr.features.backbone import (
    FEATURE_DIMS,
    autocast,
    build_backbone,
    imagenet_backbone,
    select_device,
    use_bf16,
)
from hmr.features.pretrain_data import (
    CropSet,
    augment_batch,
    load_crops,
    normalize_float,
)
from hmr.features.spin_head import SMPLRegressorHead, mean_params, weak_perspective
from hmr.io.atomic import atomic_path
from hmr.model.smpl_torch import BodyModel
from hmr.train.schedule import lr_factor

log = logging.getLogger(__name__)

LOSS_NAMES = ("joints2d", "joints3d", "pose", "betas")
LOG_COLUMNS = ("step", "epoch", "lr", "loss", *(f"loss_{n}" for n in LOSS_NAMES), "frames_per_s",
               "elapsed_s", "val_mpjpe_mm", "val_pa_mpjpe_mm", "val_2d_px")


def regression_losses(R: torch.Tensor, betas: torch.Tensor, cam: torch.Tensor, joints: torch.Tensor,
                      target: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SPIN-style losses (each a mean over the frames/joints that have ground truth):
    joints2d: ||s(J_xy + t) - x||^2 over visible joints; joints3d: ||J - J_gt||^2 (pelvis-centred,
    m^2); pose: ||R - R_gt||_F^2 per joint; betas: mean (beta - beta_gt)^2."""
    J = joints - joints[:, :1]
    vis = target["visible"].float()
    x = weak_perspective(J, cam)
    l2d = (((x - target["joints2d"]) ** 2).sum(-1) * vis).sum() / vis.sum().clamp(min=1)
    valid = target["valid"].float()
    n = valid.sum().clamp(min=1)
    l3d = (((J - target["joints3d"]) ** 2).sum(-1).mean(1) * valid).sum() / n
    lpose = (((R - target["rotmats"]) ** 2).sum((-1, -2)).mean(1) * valid).sum() / n
    lbetas = (((betas - target["betas"]) ** 2).mean(1) * valid).sum() / n
    return {"joints2d": l2d, "joints3d": l3d, "pose": lpose, "betas": lbetas}


def joints24(body: BodyModel, R: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """SMPL's 24 joints (B,24,3) of rotations (B,24,3,3) and betas, differentiable."""
    return body.joints(R, betas)[:, :24]


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame mean joint distance of (N,J,3) arrays (same units)."""
    return np.linalg.norm(pred - gt, axis=-1).mean(-1)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-frame MPJPE after a similarity Procrustes alignment of ``pred`` onto ``gt``."""
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    X, Y = pred - mp, gt - mg
    U, S, Vt = np.linalg.svd(np.einsum("nji,njk->nik", X, Y))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", U, Vt)))
    D = np.ones_like(S)
    D[:, -1] = d
    R = np.einsum("nij,nj,njk->nik", U, D, Vt)               # X R ~ Y
    scale = (S * D).sum(1) / (X ** 2).sum((1, 2))
    aligned = scale[:, None, None] * np.einsum("nji,nik->njk", X, R) + mg
    return np.linalg.norm(aligned - gt, axis=-1).mean(-1)


class FrameRegressor(nn.Module):
    """ResNet trunk + SMPL regressor head (the model being pretrained)."""

    def __init__(self, backbone: nn.Module, head: SMPLRegressorHead):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor):
        return self.head(self.backbone(x).float())

    def spin_state_dict(self) -> dict[str, torch.Tensor]:
        """One flat state dict in SPIN's layout: trunk keys (conv1., layer1., ...) + head keys."""
        state = {k: v.detach().cpu().clone() for k, v in self.backbone.state_dict().items()}
        state.update({k: v.detach().cpu().clone() for k, v in self.head.state_dict().items()})
        return state


def _target(data: CropSet, idx: torch.Tensor, joints2d: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor]:
    t = {"joints2d": joints2d, "visible": data.visible[idx], "joints3d": data.joints3d[idx],
         "rotmats": data.rotmats[idx], "betas": data.betas[idx], "valid": data.valid[idx]}
    return {k: v.to(device) for k, v in t.items()}


VAL_KEYS = ("val_mpjpe_mm", "val_pa_mpjpe_mm", "val_2d_px")


def _val_errors(J: np.ndarray, x2d: np.ndarray, data: CropSet, size: int) -> dict[str, float]:
    """MPJPE, PA-MPJPE (mm; pelvis-centred joints ``J`` (N,24,3)) on the valid frames and the 2D
    error of the projected joints ``x2d`` (N,24,2, crop-normalised) on visible joints, in pixels
    of the ``size``-pixel crop."""
    ok = data.valid.numpy()
    vis = data.visible.numpy()
    if not ok.any():
        return {k: float("nan") for k in VAL_KEYS}
    gt = data.joints3d.numpy().astype(np.float64)
    d2 = np.linalg.norm(x2d - data.margin * data.joints2d.numpy(), axis=-1) * size / 2
    return {"val_mpjpe_mm": 1000 * float(mpjpe(J[ok], gt[ok]).mean()),
            "val_pa_mpjpe_mm": 1000 * float(pa_mpjpe(J[ok], gt[ok]).mean()),
            "val_2d_px": float(d2[vis].mean()) if vis.any() else float("nan")}


@torch.no_grad()
def evaluate(model: FrameRegressor, body: BodyModel, data: CropSet, device: torch.device,
             bf16: bool, size: int, batch_size: int = 64) -> dict[str, float]:
    """Validation errors (:func:`_val_errors`) of the model on ``data``, crops as the features
    stage makes them (no augmentation)."""
    model.eval()
    joints, proj = [], []
    for i in range(0, len(data), batch_size):
        x = data.images[i:i + batch_size].permute(0, 3, 1, 2).float()
        x = normalize_float(x).contiguous(memory_format=torch.channels_last).to(device)
        with autocast(device, bf16):
            R, betas, cam = model(x)
        J = joints24(body, R.float(), betas.float())
        J = J - J[:, :1]
        joints.append(J.cpu().numpy())
        proj.append(weak_perspective(J, cam.float()).cpu().numpy())
    model.train()
    return _val_errors(np.concatenate(joints).astype(np.float64), np.concatenate(proj), data, size)


@torch.no_grad()
def mean_pose_errors(head: SMPLRegressorHead, body: BodyModel, data: CropSet, size: int) -> dict[str, float]:
    """Validation errors of predicting the head's initial mean parameters for every frame."""
    from hmr.model.rotations import rot6d_to_rotmat

    R = rot6d_to_rotmat(head.init_pose.reshape(1, -1, 6))
    J = joints24(body, R, head.init_shape)
    J = J - J[:, :1]
    x2d = weak_perspective(J, head.init_cam)
    n = len(data)
    return _val_errors(np.broadcast_to(J.cpu().numpy().astype(np.float64), (n, 24, 3)),
                       np.broadcast_to(x2d.cpu().numpy(), (n, 24, 2)), data, size)


def pretrain_backbone(train_paths: Seq[str | os.PathLike], val_paths: Seq[str | os.PathLike],
                      body_model: str | os.PathLike, params: Mapping[str, Any], seed: int,
                      out: str | os.PathLike, log_csv: str | os.PathLike | None = None,
                      plot: str | os.PathLike | None = None) -> dict[str, Any]:
    """Train, then write the SPIN-format checkpoint ``out`` (+ ``log_csv``, ``plot``).

    ``params`` is the config's ``features`` section (``arch``, ``input_size``, ``crop_scale``,
    ``precision``, ``channels_last``, ``device`` and the ``pretrain`` subsection). Returns a summary
    with the log rows and the final validation errors."""
    from hmr.body.smpl import smpl_layer

    pp = params["pretrain"]
    arch, size = params["arch"], int(params["input_size"])
    crop_scale = float(params.get("crop_scale", 1.2))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    device = select_device(params.get("device", "auto"))
    bf16 = use_bf16(params.get("precision", "auto"), device)

    t_load = time.perf_counter()
    train = load_crops(train_paths, size, crop_scale, margin=float(pp.get("context_margin", 1.25)),
                       stride=int(pp.get("frame_stride", 1)))
    val = load_crops(val_paths, size, crop_scale, 1.0, stride=int(pp.get("val_stride", 1))) if val_paths else None
    log.info("pretraining data: %d train crops, %d val crops (%.1f s)", len(train),
             0 if val is None else len(val), time.perf_counter() - t_load)

    ok = train.valid.numpy()
    init = mean_params(train.rotmats.numpy()[ok], train.betas.numpy()[ok], train.joints3d.numpy()[ok],
                       train.margin * train.joints2d.numpy()[ok], train.visible.numpy()[ok])
    head = SMPLRegressorHead(FEATURE_DIMS[arch], *init, hidden=int(pp.get("head_hidden", 1024)),
                             n_iter=int(pp.get("head_iterations", 3)), dropout=float(pp.get("dropout", 0.5)))
    init_from = pp.get("init", "random")
    trunk = imagenet_backbone(arch) if init_from == "imagenet" else build_backbone(arch)
    log.info("backbone %s initialised from %s", arch, "ImageNet (registry package)" if init_from == "imagenet" else "random weights")
    model = FrameRegressor(trunk, head).to(device)
    if params.get("channels_last", True):
        model = model.to(memory_format=torch.channels_last)
    body = BodyModel(smpl_layer(body_model)).to(device)
    model.train()

    batch = int(pp["batch_size"])
    steps_per_epoch = max(1, len(train) // batch)
    total = int(pp["epochs"]) * steps_per_epoch
    weights = {k: float(pp["loss_weights"][k]) for k in LOSS_NAMES}
    opt = torch.optim.AdamW(model.parameters(), lr=float(pp["lr"]), weight_decay=float(pp["weight_decay"]))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: lr_factor(s, total, "cosine", int(pp.get("warmup_steps", 0))))
    aug = pp.get("augment", {})
    log_every = max(1, int(pp.get("log_every", 10)))
    val_every = int(pp.get("val_every", 0)) or total

    rows: list[dict[str, Any]] = []
    # step 0: the mean parameters the head starts from (a constant prediction), as a baseline
    rows.append({"step": 0, "epoch": 0.0,
                 **(mean_pose_errors(head, body, val, size) if val is not None else {})})
    acc = {k: 0.0 for k in ("loss", *LOSS_NAMES)}
    n_acc = 0
    t0 = t_int = time.perf_counter()
    frames_int = 0
    order = torch.empty(0, dtype=torch.long)
    bar = tqdm(range(total), desc=f"pretrain {arch}@{size} {'bf16' if bf16 else 'fp32'}",
               unit="step", mininterval=2.0)
    for step in bar:
        if step % steps_per_epoch == 0:
            order = torch.randperm(len(train), generator=gen)
        k = step % steps_per_epoch
        idx = order[k * batch:(k + 1) * batch]
        x, j2 = augment_batch(train, idx, size, gen, zoom=float(aug.get("zoom", 0)),
                              shift=float(aug.get("shift", 0)), color=float(aug.get("color", 0)))
        x = x.to(device, non_blocking=True)
        with autocast(device, bf16):
            R, betas, cam = model(x)
        R, betas, cam = R.float(), betas.float(), cam.float()
        losses = regression_losses(R, betas, cam, joints24(body, R, betas), _target(train, idx, j2, device))
        loss = sum(weights[n] * losses[n] for n in LOSS_NAMES)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"pretraining diverged at step {step} (loss {loss.item()}); lower features.pretrain.lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        acc["loss"] += loss.item()
        for n in LOSS_NAMES:
            acc[n] += losses[n].item()
        n_acc += 1
        frames_int += len(idx)
        last = step + 1 == total
        val_now = val is not None and ((step + 1) % val_every == 0 or last)
        if (step + 1) % log_every == 0 or val_now or last:
            now = time.perf_counter()
            fps = frames_int / max(now - t_int, 1e-9)
            row: dict[str, Any] = {"step": step + 1, "epoch": (step + 1) / steps_per_epoch,
                                   "lr": opt.param_groups[0]["lr"], "loss": acc["loss"] / n_acc,
                                   **{f"loss_{n}": acc[n] / n_acc for n in LOSS_NAMES},
                                   "frames_per_s": fps, "elapsed_s": now - t0}
            if val_now:
                row.update(evaluate(model, body, val, device, bf16, size))
            rows.append(row)
            bar.set_postfix(loss=f"{row['loss']:.4f}", fps=f"{fps:.1f}",
                            **({"val_mpjpe": f"{row['val_mpjpe_mm']:.0f}mm"} if "val_mpjpe_mm" in row else {}))
            acc = {k: 0.0 for k in acc}
            n_acc = 0
            frames_int = 0
            t_int = time.perf_counter()
    seconds = time.perf_counter() - t0
    final = rows[-1]
    ckpt = {"model": model.spin_state_dict(), "arch": arch, "input_size": size, "crop_scale": crop_scale,
            "feature_dim": FEATURE_DIMS[arch], "steps": total, "seed": seed, "hmr_version": __version__,
            "config_json": json.dumps(dict(params), sort_keys=True, default=str),
            "val_mpjpe_mm": float(final.get("val_mpjpe_mm", float("nan"))),
            **{k: float(final.get(k, float("nan"))) for k in VAL_KEYS if k != "val_mpjpe_mm"}}
    with atomic_path(out, suffix=".pt") as tmp:
        torch.save(ckpt, tmp)
    if log_csv is not None:
        write_log(rows, log_csv)
    if plot is not None:
        plot_log(rows, plot, title=f"backbone pretraining ({arch}@{size}, {len(train)} train crops)")
    summary = {"rows": rows, "seconds": seconds, "steps": total, "train_crops": len(train),
               "val_crops": 0 if val is None else len(val), "initial": rows[0], "final": final}
    nan = float("nan")
    log.info("pretrained %s in %.0f s (%d steps); val, mean pose -> trained: MPJPE %.1f -> %.1f mm, "
             "PA-MPJPE %.1f -> %.1f mm, 2D %.2f -> %.2f px", arch, seconds, total,
             rows[0].get("val_mpjpe_mm", nan), final.get("val_mpjpe_mm", nan),
             rows[0].get("val_pa_mpjpe_mm", nan), final.get("val_pa_mpjpe_mm", nan),
             rows[0].get("val_2d_px", nan), final.get("val_2d_px", nan))
    return summary


def write_log(rows: Seq[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """The training log as CSV (one row per logged interval; empty cells where not measured)."""
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{row[k]:.6g}" if isinstance(row.get(k), float) else row.get(k, ""))
                        for k in LOG_COLUMNS})


def plot_log(rows: Seq[Mapping[str, Any]], path: str | os.PathLike, title: str = "") -> None:
    """Training losses (log scale) and validation errors against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    tr = [r for r in rows if "loss" in r]
    steps = [r["step"] for r in tr]
    a.plot(steps, [r["loss"] for r in tr], "k-", lw=2, label="total")
    for n in LOSS_NAMES:
        a.plot(steps, [r[f"loss_{n}"] for r in tr], lw=1, label=n)
    a.set_yscale("log")
    a.set_xlabel("step")
    a.set_title("training loss (total weighted; terms unweighted)")
    a.legend(fontsize=8)
    va = [r for r in rows if not math.isnan(float(r.get("val_mpjpe_mm", float("nan"))))]
    if va:
        b.plot([r["step"] for r in va], [r["val_mpjpe_mm"] for r in va], "o-", label="MPJPE")
        b.plot([r["step"] for r in va], [r["val_pa_mpjpe_mm"] for r in va], "s-", label="PA-MPJPE")
        b.legend(fontsize=8, loc="upper left")
        c = b.twinx()
        c.plot([r["step"] for r in va], [r["val_2d_px"] for r in va], "^--", color="tab:green", label="2D (px)")
        c.set_ylabel("2D error, crop pixels")
        c.legend(fontsize=8, loc="upper right")
    else:
        b.text(0.5, 0.5, "no validation split", ha="center", va="center", transform=b.transAxes)
    b.set_xlabel("step")
    b.set_ylabel("mm")
    b.set_title("validation (24 SMPL joints, pelvis-centred)")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)

