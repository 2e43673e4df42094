"""Random-view synthesis: one 3D pose seen by random cameras (Pr-VIPE's training pairs).

Camera convention: x right, y down, z forward (the sequence format's camera frame), so a person in
camera coordinates is roughly upright with y pointing to the feet. A random view rotates the pose,
normalised to unit torso scale about its hip midpoint, by R = R_roll(z) R_elevation(x) R_azimuth(y)
(azimuth about the body's vertical axis), moves it to depth ``depth`` along z and projects it
perspectively (x/z, y/z). ``depth`` is in the units of the normalised pose; Pr-VIPE uses 2.0 (one
over its 2D scale unit 0.5). The rotation and projection keep the 3D pose itself unchanged, so the
anchor and positive of a training pair always match (NP-MPJPE 0).
"""

from __future__ import annotations

import math

import torch

from hmr.embedding.normalize import normalize_3d


def rotation_matrices(azimuth: torch.Tensor, elevation: torch.Tensor,
                      roll: torch.Tensor) -> torch.Tensor:
    """(n,3,3) R = R_z(roll) R_x(elevation) R_y(azimuth) from angles in radians (n,)."""
    ca, sa = torch.cos(azimuth), torch.sin(azimuth)
    ce, se = torch.cos(elevation), torch.sin(elevation)
    cr, sr = torch.cos(roll), torch.sin(roll)
    o, z = torch.ones_like(ca), torch.zeros_like(ca)
    Ry = torch.stack([ca, z, sa, z, o, z, -sa, z, ca], -1).view(-1, 3, 3)
    Rx = torch.stack([o, z, z, z, ce, -se, z, se, ce], -1).view(-1, 3, 3)
    Rz = torch.stack([cr, -sr, z, sr, cr, z, z, z, o], -1).view(-1, 3, 3)
    return Rz @ Rx @ Ry


def random_rotations(n: int, generator: torch.Generator,
                     azimuth_deg: tuple[float, float] = (-180.0, 180.0),
                     elevation_deg: tuple[float, float] = (-30.0, 30.0),
                     roll_deg: tuple[float, float] = (-30.0, 30.0),
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(n,3,3) rotations with angles drawn uniformly from the given ranges (degrees)."""
    def draw(lo_hi: tuple[float, float]) -> torch.Tensor:
        lo, hi = (math.radians(v) for v in lo_hi)
        return lo + (hi - lo) * torch.rand(n, generator=generator, dtype=dtype)
    return rotation_matrices(draw(azimuth_deg), draw(elevation_deg), draw(roll_deg))


def project_view(poses3d: torch.Tensor, R: torch.Tensor, depth: float = 2.0) -> torch.Tensor:
    """Perspective projection (n,17,2) of (n,17,3) poses rotated by R (n,3,3) at depth ``depth``."""
    P = normalize_3d(poses3d) @ R.transpose(-1, -2)
    z = (P[..., 2:3] + depth).clamp(min=1e-3)   # a joint at or behind the camera stays finite
    return P[..., :2] / z


def random_views(poses3d: torch.Tensor, generator: torch.Generator, view_cfg: dict) -> torch.Tensor:
    """One random view of each pose: (n,17,3) -> (n,17,2) (unnormalised image plane)."""
    R = random_rotations(len(poses3d), generator, tuple(view_cfg["azimuth_deg"]),
                         tuple(view_cfg["elevation_deg"]), tuple(view_cfg["roll_deg"]),
                         dtype=poses3d.dtype)
    return project_view(poses3d, R, float(view_cfg["depth"]))
