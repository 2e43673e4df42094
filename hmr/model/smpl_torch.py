"""A differentiable torch SMPL call for training and prediction, built from the body-model layer.

:class:`BodyModel` takes the buffers of the layer from :func:`hmr.body.smpl.smpl_layer` and offers

* :meth:`BodyModel.joints`: smplx's 45 joints only, exactly as the layer computes them but without
  skinning every vertex. SMPL's 24 joints are the kinematic chain applied to the rest joints
  J = J_regressor (v_template + shapedirs beta), which is linear in beta and precomputed here
  (``J_template``, ``J_shapedirs``); the 21 extra joints (nose, eyes, ears, feet, finger tips) are
  single posed vertices, so only those vertices are skinned. This is what makes CPU training
  affordable (the embedded model has ~14k vertices; skinning them for every frame of a batch is
  the dominant cost otherwise).
* :meth:`BodyModel.vertices`: the full mesh through the layer itself (for prediction and MPVPE).

Poses are rotation matrices (B,24,3,3); translation is zero (outputs are in the body's frame with
the root orientation applied about the rest pelvis, as smplx does).
"""

from __future__ import annotations

import torch
from torch import nn

from hmr.body.joints import NUM_BETAS, NUM_SMPL_JOINTS


class BodyModel(nn.Module):
    """Differentiable SMPL on rotation matrices; see the module docstring."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer.requires_grad_(False)
        v_template = layer.v_template.detach().float()
        shapedirs = layer.shapedirs.detach().float()[..., :NUM_BETAS]       # (V,3,10)
        J_reg = layer.J_regressor.detach().float()                            # (24,V)
        self.register_buffer("J_template", J_reg @ v_template)                # (24,3)
        self.register_buffer("J_shapedirs", torch.einsum("jv,vcl->jcl", J_reg, shapedirs))
        parents = layer.parents.detach().long().clone()
        parents[0] = -1
        self.parents = [int(p) for p in parents]
        idx = layer.vertex_joint_selector.extra_joints_idxs.detach().long()
        self.register_buffer("extra_idx", idx)
        V = v_template.shape[0]
        posedirs = layer.posedirs.detach().float().reshape(-1, V, 3)         # (207,V,3)
        self.register_buffer("x_template", v_template[idx])                   # (E,3)
        self.register_buffer("x_shapedirs", shapedirs[idx])                   # (E,3,10)
        self.register_buffer("x_posedirs", posedirs[:, idx])                  # (207,E,3)
        self.register_buffer("x_weights", layer.lbs_weights.detach().float()[idx])  # (E,24)

    @property
    def n_joints(self) -> int:
        return NUM_SMPL_JOINTS + int(self.extra_idx.numel())

    def rest_joints(self, betas: torch.Tensor) -> torch.Tensor:
        """(B,10) -> (B,24,3) rest-pose joints of the shaped body."""
        return self.J_template + torch.einsum("bl,jcl->bjc", betas, self.J_shapedirs)

    def _chain(self, rotmats: torch.Tensor, J: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward kinematics: posed joints (B,24,3) and the skinning transforms (B,24,3,4)."""
        rot, trans = [rotmats[:, 0]], [J[:, 0]]
        for j in range(1, NUM_SMPL_JOINTS):
            p = self.parents[j]
            rot.append(rot[p] @ rotmats[:, j])
            trans.append(trans[p] + (rot[p] @ (J[:, j] - J[:, p]).unsqueeze(-1)).squeeze(-1))
        R = torch.stack(rot, 1)                                               # (B,24,3,3)
        posed = torch.stack(trans, 1)                                         # (B,24,3)
        # skinning transform of joint j: v -> R_j (v - J_j) + posed_j
        t = posed - (R @ J.unsqueeze(-1)).squeeze(-1)
        return posed, torch.cat([R, t.unsqueeze(-1)], -1)

    def joints(self, rotmats: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """(B,24,3,3), (B,10) -> smplx's 45 joints (B,45,3), equal to the layer's output."""
        J = self.rest_joints(betas)
        posed, A = self._chain(rotmats, J)
        eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
        pose_feature = (rotmats[:, 1:] - eye).reshape(len(rotmats), -1)       # (B,207)
        x = (self.x_template + torch.einsum("bl,ecl->bec", betas, self.x_shapedirs)
             + torch.einsum("bp,pec->bec", pose_feature, self.x_posedirs))   # (B,E,3) posed rest
        T = torch.einsum("ej,bjrc->berc", self.x_weights, A)                  # (B,E,3,4)
        extra = (T[..., :3] @ x.unsqueeze(-1)).squeeze(-1) + T[..., 3]
        return torch.cat([posed, extra], 1)

    def vertices(self, rotmats: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
        """(B,24,3,3), (B,10) -> mesh vertices (B,V,3) through the SMPL layer."""
        out = self.layer(global_orient=rotmats[:, :1], body_pose=rotmats[:, 1:], betas=betas,
                         pose2rot=False)
        return out.vertices
