"""Per-frame predictions of a sequence with a sliding window of stride 1.

Which window gives frame t its output: the window that *ends* at t (frames t-W+1..t), its last
position — the encoder's GRU is unidirectional, so that output has seen the W frames up to t and
nothing later (an online estimate). The first W-1 frames have no full window ending at them; they
take their position in the first window (frames 0..W-1), which, the GRU being causal, is exactly
the output of a window made of frames 0..t alone. No padding is needed, and a sequence shorter than
W is one window.

Output arrays (``results/{dataset}/predictions/{variant}/{seq}.h5``), T frames:

=================  ============  ==================================================================
``pose``           (T,72)        SMPL axis-angle pose, root orientation in the camera's axes
``betas``          (T,10)        SMPL shape
``cam``            (T,3)         weak-perspective camera [s, tx, ty] in normalised crop coordinates
``joints3d``       (T,24,3)      SMPL joints in meters, **root-relative** (pelvis at the origin),
                                 camera axes (x right, y down, z forward)
``joints2d``       (T,24,2)      the same joints projected with ``cam``, in frame pixels
``pelvis_cam``     (T,3)         camera-frame pelvis position implied by ``cam`` and ``camera/K``
                                 (weak perspective read as perspective; an approximation); only
                                 when the sequence has intrinsics
``sigma``          (T,32)        the embedding sigma of the input 2D pose (per-frame uncertainty);
                                 when an embedding file is given
``vertices``       (T,V,3) f16   root-relative mesh, float16; only with ``save_vertices``
=================  ============  ==================================================================
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from hmr.io.h5 import write_arrays
from hmr.model.camera import crop_side, crop_to_pixels
from hmr.model.network import HMRNetwork
from hmr.model.rotations import rot6d_to_rotmat, rotmat_to_axis_angle
from hmr.model.smpl_torch import BodyModel
from hmr.train.data import SequenceArrays, input_arrays


def window_plan(T: int, W: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows and which (window, position) gives each frame: returns ``starts`` (N,) window
    start frames, and per frame t ``win`` (T,) and ``pos`` (T,) with start[win[t]] + pos[t] == t."""
    if T <= W:
        return np.zeros(1, np.int64), np.zeros(T, np.int64), np.arange(T)
    starts = np.arange(T - W + 1)
    t = np.arange(T)
    win = np.maximum(t - W + 1, 0)
    pos = t - starts[win]
    return starts, win, pos


@torch.no_grad()
def predict_sequence(model: HMRNetwork, body: BodyModel, seq: SequenceArrays, window: int,
                     batch_windows: int = 64, with_vertices: bool = False,
                     device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Every frame's prediction (see the module docstring) as numpy arrays."""
    device = torch.device(device)
    model = model.to(device).eval()
    body = body.to(device)
    T = seq.n_frames
    W = min(int(window), T)
    starts, win, pos = window_plan(T, W)
    inputs = input_arrays(seq)
    v = model.variant
    names = ["feat"] + (["u"] if v.use_u else []) + (["d"] if v.use_d else [])
    for n in names:
        if n not in inputs:
            raise ValueError(f"variant '{v.name}' needs input '{n}' (embedding/dynamics file missing)")
    arrays = {n: torch.from_numpy(inputs[n]).to(device) for n in names}
    offs = torch.arange(W, device=device)
    c_frames = None
    for b in range(0, len(starts), batch_windows):
        st = torch.from_numpy(starts[b:b + batch_windows]).to(device)
        idx = st[:, None] + offs[None]                                      # (n,W)
        c = model.encoder(arrays["feat"][idx], arrays["u"][idx] if v.use_u else None,
                          arrays["d"][idx] if v.use_d else None)           # (n,W,C)
        if c_frames is None:
            c_frames = c.new_zeros((T, c.shape[-1]))
        # frames whose output comes from windows b..b+n-1
        sel = np.flatnonzero((win >= b) & (win < b + len(st)))
        c_frames[torch.from_numpy(sel).to(device)] = c[torch.from_numpy(win[sel] - b).to(device),
                                                       torch.from_numpy(pos[sel]).to(device)]
    pose6d, betas, cam = model.regressor(c_frames)
    rot = rot6d_to_rotmat(pose6d)                                           # (T,24,3,3)
    j45 = body.joints(rot, betas)
    root = j45[:, :1]
    j3d = (j45 - root)[:, :24]
    x = cam[:, None, :1] * (j3d[..., :2] + cam[:, None, 1:])
    out = {"pose": rotmat_to_axis_angle(rot).reshape(T, 72).cpu().numpy(),
           "betas": betas.cpu().numpy(), "cam": cam.cpu().numpy(), "joints3d": j3d.cpu().numpy()}
    out["joints2d"] = crop_to_pixels(x.cpu().numpy(), seq.bbox, seq.crop_scale)
    if seq.K is not None:
        out["pelvis_cam"] = pelvis_from_weak_perspective(out["cam"], seq.bbox, seq.K, seq.crop_scale)
    if seq.sigma is not None:
        out["sigma"] = seq.sigma
    if with_vertices:
        verts = []
        for i in range(0, T, 64):
            vv = body.vertices(rot[i:i + 64], betas[i:i + 64])
            verts.append((vv - root[i:i + 64]).cpu().numpy().astype(np.float16))
        out["vertices"] = np.concatenate(verts)
    return {k: np.asarray(a, np.float16 if k == "vertices" else np.float32) for k, a in out.items()}


def pelvis_from_weak_perspective(cam: np.ndarray, bbox: np.ndarray, K: np.ndarray,
                                 crop_scale: float) -> np.ndarray:
    """Camera-frame pelvis (T,3) for weak-perspective cameras [s, tx, ty] in crop coordinates.

    Reading u = s (X + t) as the perspective projection of a body at depth Z: s = 2 f / (Z side),
    so Z = 2 f / (s side), and X_pelvis = t + (c_box - c_principal) Z / f per axis.
    """
    cam = np.asarray(cam, np.float64)
    side = crop_side(bbox, crop_scale)
    f = np.asarray(K, np.float64)[:, [0, 1], [0, 1]]                       # (T,2) fx, fy
    p = np.asarray(K, np.float64)[:, [0, 1], [2, 2]]                       # (T,2) principal point
    s = np.maximum(cam[:, 0], 1e-6)
    Z = 2 * f.mean(1) / (s * side)
    xy = cam[:, 1:] + (np.asarray(bbox, np.float64)[:, :2] - p) * Z[:, None] / f
    return np.concatenate([xy, Z[:, None]], 1)


def write_predictions(path: str | os.PathLike, pred: dict[str, np.ndarray], attrs: dict[str, Any],
                      config: dict[str, Any] | None = None) -> None:
    write_arrays(path, pred, config=config, attrs=attrs)
