"""Training losses (Sec. 3.4, Eq. 6-11).

L = lambda_G L_G + lambda_dt L_dt + lambda_unc L_unc                                   (Eq. 6)
L_G = L_2D + L_3D + L_SMPL                                                             (Eq. 7)

Each term is an average over the frames (and joints) where its ground truth exists, so 2D-only
sequences give L_2D only and a batch without 3D ground truth contributes no L_3D. The equations
write each term with ||.||_2; as VIBE's training code (which the paper builds on) the terms here
are means of *squared* errors, each with its own weight inside L_G (``w_2d``, ``w_3d``, ``w_pose``,
``w_shape`` in the config):

* L_2D (Eq. 8): joints projected with the predicted weak-perspective camera vs the ground-truth
  2D joints, normalised crop coordinates, weighted by visibility/confidence.
* L_3D (Eq. 9): root-relative (pelvis-subtracted) 3D joints, meters.
* L_SMPL (Eq. 10): pose as rotation matrices (squared Frobenius distance per joint, free of the
  axis-angle wrap-around) and shape beta.
* L_dt: L_2D + L_3D + pose part of L_SMPL at t - dt and t + dt for the dynamics decoder's poses
  theta_t -/+ Delta theta, shape copied from t (as HMMR); the 2D term uses the optimal
  weak-perspective camera solved in closed form against the visible ground-truth 2D joints at
  t -/+ dt, without gradient through the camera.
* L_unc (Eq. 11): || sigma^2 / sum(sigma^2) * mu - sigma_hat^2 / sum(sigma_hat^2) * mu_hat ||_2
  between the embedding of the input 2D pose (the embedding stage's mu, sigma) and the embedding
  of the reconstruction's projected COCO-17 joints through the *frozen* embedder.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hmr.body.joint_sets import SMPL45_TO_COCO17
from hmr.model.camera import optimal_weak_perspective, weak_perspective
from hmr.model.rotations import axis_angle_to_rotmat, rot6d_to_rotmat
from hmr.model.smpl_torch import BodyModel

LOSS_KEYS = ("loss", "g_2d", "g_3d", "g_pose", "g_shape", "dt_2d", "dt_3d", "dt_pose", "unc")


def wmean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean of ``values`` (weights broadcast); 0 (with a graph) when all weights are 0."""
    w = weights.to(values.dtype).expand_as(values)
    return (values * w).sum() / w.sum().clamp(min=1.0)


def root_relative_joints(body: BodyModel, rot: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """(N,24,3,3), (N,10) -> smplx's 45 joints (N,45,3) with the pelvis at the origin."""
    j = body.joints(rot, betas)
    return j - j[:, :1]


def generator_terms(joints: torch.Tensor, rot: torch.Tensor, betas: torch.Tensor | None,
                    cam: torch.Tensor | None, tgt: dict[str, torch.Tensor], sel: torch.Tensor
                    ) -> dict[str, torch.Tensor]:
    """The parts of L_G (Eq. 8-10) for N flattened frames.

    ``joints`` (N,45,3) root-relative, ``rot`` (N,24,3,3), ``betas`` (N,10) or None (no shape
    term), ``cam`` (N,3) or None (solve the optimal camera); ``tgt`` flattened targets, ``sel``
    (N,) 0/1 frames that count.
    """
    sel = sel.float()
    kp_w = tgt["kp2d_w"] * sel[:, None]                                # (N,45)
    if cam is None:
        cam = optimal_weak_perspective(joints[..., :2].detach(), tgt["kp2d"], kp_w > 0)
    x = weak_perspective(joints, cam)
    terms = {"2d": wmean(((x - tgt["kp2d"]) ** 2).sum(-1), kp_w)}     # Eq. 8
    w3 = tgt["has_j3d"].float() * sel
    terms["3d"] = wmean(((joints[:, :24] - tgt["j3d"]) ** 2).sum(-1), w3[:, None])   # Eq. 9
    ws = tgt["has_smpl"].float() * sel
    rot_gt = axis_angle_to_rotmat(tgt["pose"].reshape(-1, 24, 3))
    terms["pose"] = wmean(((rot - rot_gt) ** 2).sum((-1, -2)), ws[:, None])        # Eq. 10
    if betas is not None:
        terms["shape"] = wmean(((betas - tgt["betas"]) ** 2).sum(-1), ws)           # Eq. 10
    return terms


def _flat(t: torch.Tensor, nd: int) -> torch.Tensor:
    """(B,W,*rest) -> (B*W,*rest) where rest has ``nd`` dims."""
    return t.reshape((-1,) + tuple(t.shape[t.dim() - nd:]))


_TARGET_DIMS = {"kp2d": 2, "kp2d_w": 1, "j3d": 2, "has_j3d": 0, "pose": 1, "has_smpl": 0,
                "betas": 1}


def _targets(batch: dict[str, torch.Tensor], sl: slice) -> dict[str, torch.Tensor]:
    return {k: _flat(batch[k][:, sl], nd) for k, nd in _TARGET_DIMS.items()}


def uncertainty_loss(joints: torch.Tensor, cam: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
                     sel: torch.Tensor, embedder: nn.Module) -> torch.Tensor:
    """Eq. 11 for N frames: ``joints`` (N,45,3) root-relative, ``cam`` (N,3), input embedding
    ``mu``, ``sigma`` (N,dim) (sigma a standard deviation), ``sel`` (N,) frames that count."""
    from hmr.embedding.normalize import normalize_2d

    x = weak_perspective(joints[:, list(SMPL45_TO_COCO17)], cam)    # reconstruction's 2D COCO-17
    mu_hat, sigma_hat = embedder(normalize_2d(x))
    var, var_hat = sigma ** 2, sigma_hat ** 2
    a = var / var.sum(-1, keepdim=True).clamp(min=1e-12) * mu
    b = var_hat / var_hat.sum(-1, keepdim=True).clamp(min=1e-12) * mu_hat
    return wmean(torch.sqrt(((a - b) ** 2).sum(-1) + 1e-12), sel.float())


def regressor_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], body: BodyModel,
                   cfg: dict[str, Any], dt: int, embedder: nn.Module | None = None
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 6 for one batch of windows. ``out`` from :class:`~hmr.model.network.HMRNetwork`
    (B,W,...), ``batch`` the window tensors (see :mod:`hmr.train.data`), ``cfg`` the ``loss``
    config section (lambdas and term weights), ``embedder`` the frozen embedder (None: no L_unc).
    """
    B, W = batch["mask"].shape
    mask = batch["mask"].float()
    full = slice(0, W)
    rot = rot6d_to_rotmat(out["pose6d"].float())                       # (B,W,24,3,3)
    betas = out["betas"].float()
    cam = out["cam"].float()
    rot_f, betas_f, cam_f = _flat(rot, 3), _flat(betas, 1), _flat(cam, 1)
    joints = root_relative_joints(body, rot_f, betas_f)
    g = generator_terms(joints, rot_f, betas_f, cam_f, _targets(batch, full), _flat(mask, 0))
    l_g = (cfg["w_2d"] * g["2d"] + cfg["w_3d"] * g["3d"] + cfg["w_pose"] * g["pose"]
           + cfg["w_shape"] * g["shape"])                              # Eq. 7
    total = cfg["lambda_g"] * l_g
    stats = {f"g_{k}": float(v.detach()) for k, v in g.items()}

    zero = rot.new_zeros(())
    dt_terms = {"2d": zero, "3d": zero, "pose": zero}
    if "pose6d_next" in out and 0 < dt < W:
        n_pairs = 0
        # t + dt: predictions at positions [0, W-dt) against targets at [dt, W); t - dt mirrored
        for key, src, dst in (("pose6d_next", slice(0, W - dt), slice(dt, W)),
                              ("pose6d_prev", slice(dt, W), slice(0, W - dt))):
            rot_dt = _flat(rot6d_to_rotmat(out[key][:, src].float()), 3)
            b_src = _flat(betas[:, src], 1)                             # shape copied from t
            sel = _flat(mask[:, src] * mask[:, dst], 0)
            j_dt = root_relative_joints(body, rot_dt, b_src)
            terms = generator_terms(j_dt, rot_dt, None, None, _targets(batch, dst), sel)
            for k in dt_terms:
                dt_terms[k] = dt_terms[k] + terms[k]
            n_pairs += 1
        dt_terms = {k: v / n_pairs for k, v in dt_terms.items()}
        l_dt = cfg["w_2d"] * dt_terms["2d"] + cfg["w_3d"] * dt_terms["3d"] + cfg["w_pose"] * dt_terms["pose"]
        total = total + cfg["lambda_dt"] * l_dt
    stats.update({f"dt_{k}": float(v.detach()) for k, v in dt_terms.items()})

    l_unc = zero
    if embedder is not None and cfg["lambda_unc"] > 0:
        sel = _flat(mask * batch["has_emb"].float(), 0)
        l_unc = uncertainty_loss(joints, cam_f, _flat(batch["mu"], 1), _flat(batch["sigma"], 1),
                                 sel, embedder)
        total = total + cfg["lambda_unc"] * l_unc                    # Eq. 6
    stats["unc"] = float(l_unc.detach())
    stats["loss"] = float(total.detach())
    return total, stats
