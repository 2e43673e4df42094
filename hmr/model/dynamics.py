"""Part-based 3D dynamics (Sec. 3.3): split-and-recombine (SRNet) decoder predicting the pose
change for t - dt and t + dt, and a plain fully connected decoder for the ablation.

Body groups over SMPL's 24 joints (the root is shared: every group sees it as input, the torso
group predicts it):

* torso/head: pelvis, spine1-3, neck, head
* left arm: left collar, shoulder, elbow, wrist, hand (right arm alike)
* left leg: left hip, knee, ankle, foot (right leg alike)

Input of group g: its joints' current rotations theta_t (6D, the root included) and the frame
feature c_t = [g_t, u_t, d_t] through a group-specific linear map (the image feature is global;
each group reads its own projection of it). Hidden group-connected layers follow Eq. 5 with a
low-dimensional global context (LDGC); the output of group g is Delta theta for its own joints
(6D) for t - dt and t + dt. The poses at t -/+ dt are theta_t -/+ Delta theta (Sec. 3.3), added
in the 6D representation.
"""

from __future__ import annotations

import torch
from torch import nn

from hmr.body.joints import NUM_SMPL_JOINTS, SMPL_JOINT_NAMES

_J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}
PART_NAMES: tuple[str, ...] = ("torso", "left_arm", "right_arm", "left_leg", "right_leg")
PART_JOINTS: tuple[tuple[int, ...], ...] = (
    tuple(_J[n] for n in ("pelvis", "spine1", "spine2", "spine3", "neck", "head")),
    tuple(_J[n] for n in ("left_collar", "left_shoulder", "left_elbow", "left_wrist", "left_hand")),
    tuple(_J[n] for n in ("right_collar", "right_shoulder", "right_elbow", "right_wrist", "right_hand")),
    tuple(_J[n] for n in ("left_hip", "left_knee", "left_ankle", "left_foot")),
    tuple(_J[n] for n in ("right_hip", "right_knee", "right_ankle", "right_foot")),
)
ROOT = _J["pelvis"]
# joints each group reads: its own plus the shared root
PART_INPUT_JOINTS: tuple[tuple[int, ...], ...] = tuple(
    j if ROOT in j else (ROOT,) + j for j in PART_JOINTS)
CONTEXT_MODES = ("multiply", "concat", "off")


def split_sizes(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` channels in proportion to ``weights`` (each group at least 1)."""
    raw = [total * w / sum(weights) for w in weights]
    sizes = [max(1, int(r)) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


class GroupConnectedLayer(nn.Module):
    """One group-connected layer with a low-dimensional global context (Eq. 5).

    f^{l+1}[G_g] = Theta_g( f^l[G_g] o M f^l[G \\ G_g] ): group g's output reads only its own
    input channels, recombined with M_g, a learned linear map of the *other* groups' channels to a
    ``context_dim``-dimensional vector (zero-initialised, as SRNet). Recombination ``o``:
    ``multiply`` (SRNet's default, context_dim 1): f[G_g] * sigmoid(M f[G\\G_g]); ``concat``:
    [f[G_g], M f[G\\G_g]]; ``off``: no global context (fully independent groups). SRNet puts a batch
    norm inside the sigmoid; it is left out here so a sample's output never depends on its batch.
    """

    def __init__(self, in_sizes: list[int], out_sizes: list[int], context: str = "multiply",
                 context_dim: int = 1) -> None:
        super().__init__()
        if context not in CONTEXT_MODES:
            raise ValueError(f"context must be one of {CONTEXT_MODES}, got {context!r}")
        if context == "multiply" and context_dim != 1:
            raise ValueError("context 'multiply' gates each group with one scalar (context_dim 1)")
        self.in_sizes, self.out_sizes, self.context = list(in_sizes), list(out_sizes), context
        total = sum(in_sizes)
        extra = context_dim if context == "concat" else 0
        self.theta = nn.ModuleList(nn.Linear(n + extra, m) for n, m in zip(in_sizes, out_sizes))
        self.M = nn.ModuleList()
        if context != "off":
            for n in in_sizes:
                m = nn.Linear(total - n, context_dim)
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
                self.M.append(m)

    def forward(self, groups: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for g, x in enumerate(groups):
            if self.context != "off":
                others = torch.cat([groups[k] for k in range(len(groups)) if k != g], -1)
                ctx = self.M[g](others)                          # low-dimensional global context
                x = x * torch.sigmoid(ctx) if self.context == "multiply" else torch.cat([x, ctx], -1)
            out.append(self.theta[g](x))                         # Theta_g (Eq. 5)
        return out


class PartDynamicsDecoder(nn.Module):
    """[c_t, theta_t (24x6D)] -> (Delta theta for t - dt, Delta theta for t + dt), each (...,24,6)."""

    def __init__(self, in_dim: int, hidden: int = 512, n_layers: int = 2, context: str = "multiply",
                 context_dim: int = 1) -> None:
        super().__init__()
        weights = [len(j) for j in PART_INPUT_JOINTS]
        self.hidden_sizes = split_sizes(hidden, weights)        # channels in proportion to inputs
        self.in_proj = nn.ModuleList(nn.Linear(in_dim + 6 * len(j), h)
                                     for j, h in zip(PART_INPUT_JOINTS, self.hidden_sizes))
        self.layers = nn.ModuleList(GroupConnectedLayer(self.hidden_sizes, self.hidden_sizes, context,
                                                        context_dim) for _ in range(n_layers))
        out_sizes = [2 * 6 * len(j) for j in PART_JOINTS]
        self.out = GroupConnectedLayer(self.hidden_sizes, out_sizes, context, context_dim)
        for lin in self.out.theta:                              # start from zero change
            nn.init.xavier_uniform_(lin.weight, gain=0.01)
            nn.init.zeros_(lin.bias)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, c: torch.Tensor, pose6d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        groups = [self.act(p(torch.cat([c, pose6d[..., list(j), :].flatten(-2)], -1)))
                  for p, j in zip(self.in_proj, PART_INPUT_JOINTS)]
        for layer in self.layers:
            groups = [self.act(x) for x in layer(groups)]
        outs = self.out(groups)
        delta = pose6d.new_zeros(pose6d.shape[:-2] + (2, NUM_SMPL_JOINTS, 6))
        for joints, o in zip(PART_JOINTS, outs):
            delta[..., list(joints), :] = o.reshape(o.shape[:-1] + (2, len(joints), 6))
        return delta[..., 0, :, :], delta[..., 1, :, :]


class FCDynamicsDecoder(nn.Module):
    """The ablation without the part split: an MLP [c_t, theta_t] -> (Delta theta -, Delta theta +)."""

    def __init__(self, in_dim: int, hidden: int = 512, n_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(in_dim + 6 * NUM_SMPL_JOINTS, hidden), nn.LeakyReLU(0.2)]
        for _ in range(n_layers):
            layers += [nn.Linear(hidden, hidden), nn.LeakyReLU(0.2)]
        self.mlp = nn.Sequential(*layers)
        self.out = nn.Linear(hidden, 2 * 6 * NUM_SMPL_JOINTS)
        nn.init.xavier_uniform_(self.out.weight, gain=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, c: torch.Tensor, pose6d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        o = self.out(self.mlp(torch.cat([c, pose6d.flatten(-2)], -1)))
        o = o.reshape(o.shape[:-1] + (2, NUM_SMPL_JOINTS, 6))
        return o[..., 0, :, :], o[..., 1, :, :]
