"""One synthetic sequence: motion + body + moving camera, rendered with exact ground truth.

Deterministic: the random generator of a sequence is seeded from the global seed and the
sequence's dataset/name, so any sequence can be rebuilt alone, in any order, on any machine.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from hmr.body.smpl import smpl_forward, smpl_layer
from hmr.io.sequence import Sequence, write_sequence
from hmr.synthetic.amass import list_amass_clips, load_amass_npz
from hmr.synthetic.backgrounds import crop_background, make_background
from hmr.synthetic.camera import generate_camera, project
from hmr.synthetic.motion import random_motion
from hmr.synthetic.render import part_colors, render_mesh

log = logging.getLogger(__name__)


MAX_CAMERA_TRIES = 5
MIN_BOX_VISIBLE = 0.2   # share of the person box's area that stays inside the image in every frame


def visible_box_fraction(bbox: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T,) share of each (cx, cy, w, h) box's area inside the width x height image."""
    cx, cy, w, h = np.asarray(bbox, np.float64).T
    ix = np.clip(np.minimum(cx + w / 2, width) - np.maximum(cx - w / 2, 0), 0, None)
    iy = np.clip(np.minimum(cy + h / 2, height) - np.maximum(cy - h / 2, 0), 0, None)
    return ix * iy / np.maximum(w * h, 1e-9)


def frames_of_split(n_frames: int | Mapping[str, int], split: str) -> int:
    """Frames of a sequence of ``split``: ``n_frames`` is one number or one per split."""
    if isinstance(n_frames, Mapping):
        return int(n_frames.get(split, n_frames["train"]))
    return int(n_frames)


def sequence_rng(seed: int, dataset: str, seq: str) -> np.random.Generator:
    """The generator of one sequence, from the global seed and a stable hash of its name."""
    return np.random.default_rng([seed, zlib.crc32(f"{dataset}/{seq}".encode())])


def _motion(params: Mapping[str, Any], n: int, fps: float, rng: np.random.Generator,
            pelvis_rest: np.ndarray) -> dict:
    """Procedural motion, or a random window of a random AMASS clip when configured."""
    amass_dir = params.get("amass_dir")
    if amass_dir and rng.random() < params.get("amass_fraction", 0.5):
        clips = list_amass_clips(amass_dir)
        if clips:
            path = clips[rng.integers(len(clips))]
            clip = load_amass_npz(path, target_fps=fps, pelvis_rest=pelvis_rest)
            T = len(clip["pose"])
            start = int(rng.integers(0, max(T - n, 0) + 1))
            idx = np.minimum(np.arange(start, start + n), T - 1)  # hold the last frame if short
            return {"pose": clip["pose"][idx], "trans": clip["trans"][idx],
                    "action": f"amass:{os.path.basename(path)}@{start}"}
    return random_motion(n, fps, rng)


def to_camera_frame(pose: np.ndarray, trans: np.ndarray, pelvis_rest: np.ndarray,
                    R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Express world-frame SMPL (pose, trans) in the camera frame X_c = R X_w + t.

    SMPL rotates the body about the rest pelvis joint j0: v_w = R0 (v - j0) + j0 + trans_w. In
    the camera frame v_c = (R R0)(v - j0) + j0 + trans_c with trans_c = R (j0 + trans_w) + t - j0.
    """
    root_w = Rotation.from_rotvec(pose[:, :3].astype(np.float64)).as_matrix()
    root_c = np.einsum("tij,tjk->tik", R, root_w)
    pose_c = pose.copy()
    pose_c[:, :3] = Rotation.from_matrix(root_c).as_rotvec()
    trans_c = np.einsum("tij,tj->ti", R, pelvis_rest[None] + trans) + t - pelvis_rest[None]
    return pose_c.astype(np.float32), trans_c.astype(np.float32)


def _background_offsets(K: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel shift and zoom of a far background plane implied by the camera's rotation and focal.

    The background is a distant plane (an approximation): panning/tilting shifts it by
    f * (change of yaw/pitch of the optical axis), zooming scales it by f / f0; camera
    translation (dolly) does not move it.
    """
    axis = R[:, 2, :]  # optical axis in world coordinates (third row of R)
    yaw = np.unwrap(np.arctan2(axis[:, 0], axis[:, 2]))
    pitch = np.arcsin(np.clip(axis[:, 1], -1.0, 1.0))
    f = K[:, 0, 0]
    offsets = np.stack([-f * (yaw - yaw[0]), f * (pitch - pitch[0])], axis=1)
    return offsets, f / f[0]


def synthesize_sequence(dataset: str, seq: str, params: Mapping[str, Any], body_model: str,
                        seed: int, out: str) -> Sequence:
    """Generate, render and write one synthetic sequence to ``out``."""
    rng = sequence_rng(seed, dataset, seq)
    n, fps = frames_of_split(params["n_frames"], seq.split("_")[0]), float(params["fps"])
    W, H = int(params["width"]), int(params["height"])
    layer = smpl_layer(body_model)

    betas = np.clip(rng.normal(0.0, params.get("shape_std", 1.0), 10), -2.5, 2.5).astype(np.float32)
    with torch.no_grad():
        v_shaped = layer.v_template + torch.einsum("l,vcl->vc", torch.as_tensor(betas), layer.shapedirs)
        pelvis_rest = (layer.J_regressor[0] @ v_shaped).numpy().astype(np.float64)
    motion = _motion(params, n, fps, rng, pelvis_rest)
    pose_w = motion["pose"].astype(np.float32)
    trans_w = motion["trans"].astype(np.float32).copy()
    verts_w, joints_w = smpl_forward(layer, pose_w, betas, trans_w)
    joints_w = joints_w[:, :24]
    # stand on the ground (y = 0): lift by the lowest foot height of the sequence (5th pct.)
    lift = -np.percentile(verts_w[..., 1].min(axis=1), 5)
    trans_w[:, 1] += lift
    verts_w[..., 1] += lift
    joints_w[..., 1] += lift

    out_of_frame = bool(rng.random() < params.get("out_of_frame_prob", 0.0))
    # a camera that lets the person leave the frame *partly*: redraw one that loses them entirely
    # (a box with less than MIN_BOX_VISIBLE of its area in the image); the last try frames them
    for attempt in range(MAX_CAMERA_TRIES):
        allow = out_of_frame and attempt < MAX_CAMERA_TRIES - 1
        cam = generate_camera(n, fps, W, H, joints_w[:, 0], rng, allow_out_of_frame=allow, ground_y=0.0)
        K, R, t = (cam[k].astype(np.float64) for k in ("K", "R", "t"))
        verts_c = np.einsum("tij,tvj->tvi", R, verts_w) + t[:, None]
        verts2d = project(K, np.eye(3)[None].repeat(n, 0), np.zeros((n, 3)), verts_c)
        lo, hi = verts2d.min(axis=1), verts2d.max(axis=1)
        bbox = np.concatenate([(lo + hi) / 2, hi - lo], axis=1)  # (cx, cy, w, h), may leave the image
        if visible_box_fraction(bbox, W, H).min() >= MIN_BOX_VISIBLE:
            break
        log.info("%s: camera %d loses the person (box visible < %.0f%%): redrawn", seq, attempt,
                 100 * MIN_BOX_VISIBLE)
    out_of_frame = allow

    joints_c = np.einsum("tij,tvj->tvi", R, joints_w) + t[:, None]
    joints2d = project(K, np.eye(3)[None].repeat(n, 0), np.zeros((n, 3)), joints_c)
    visible = ((joints2d[..., 0] >= 0) & (joints2d[..., 0] < W) & (joints2d[..., 1] >= 0)
               & (joints2d[..., 1] < H) & (joints_c[..., 2] > 0.05))

    pose_c, trans_c = to_camera_frame(pose_w, trans_w, pelvis_rest, R, t)

    margin = int(0.5 * max(W, H))
    canvas = make_background(rng, H, W, margin)
    offsets, zooms = _background_offsets(K, R)
    colors = part_colors(np.asarray(layer.lbs_weights), rng=rng,
                         rest_verts=layer.v_template.numpy())
    faces = np.asarray(layer.faces, dtype=np.int64)
    frames = np.empty((n, H, W, 3), np.uint8)
    for i in tqdm(range(n), desc=f"render {seq}", unit="frame", mininterval=2.0):
        bg = crop_background(canvas, offsets[i], float(zooms[i]), H, W)
        frames[i], _, _ = render_mesh(verts_c[i], faces, K[i], bg, vertex_colors=colors)

    f32 = np.float32
    sequence = Sequence(
        name=seq, dataset=dataset, fps=fps, width=W, height=H, n_frames=n, frames=frames,
        bbox=bbox.astype(f32),
        arrays={"gt/pose": pose_c, "gt/betas": np.repeat(betas[None], n, 0), "gt/trans": trans_c,
                "gt/joints3d": joints_c.astype(f32), "gt/joints2d": joints2d.astype(f32),
                "gt/visible": visible, "gt/valid": np.ones(n, bool), "camera/K": K.astype(f32),
                "camera/R": R.astype(f32), "camera/t": t.astype(f32)},
        info={"split": seq.split("_")[0], "action": motion["action"], "camera": cam["motion"],
              "out_of_frame": out_of_frame, "body_model": os.path.basename(body_model),
              "synthetic": True},
    )
    write_sequence(out, sequence, config={"dataset": dict(params), "seed": seed})
    return sequence
