"""The demo's back part: a sequence's predictions -> ``mesh.mp4``, ``smpl.npz`` and a ``.bvh``.

* ``smpl.npz``: :mod:`hmr.demo.smpl_npz` documents its keys.
* the BVH (:mod:`hmr.render.bvh`): the skeleton of the sequence's mean shape; the root
  translation is estimated from the weak-perspective camera with an assumed focal length
  (``focal_px``; default: a 60 degree horizontal field of view), so its depth is approximate.
* ``mesh.mp4``: the predicted mesh over every frame (:mod:`hmr.render.mesh_video`), and a PNG
  contact sheet of some of its frames.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hmr.demo.smpl_npz import write_smpl_npz
from hmr.errors import InputError
from hmr.io.sequence import read_sequence
from hmr.render.bvh import rest_joints, smpl_motion_to_bvh
from hmr.render.mesh_video import RenderSettings, render_mesh_video
from hmr.render.overlay import fit_weak_perspective, weak_to_orig_cam
from hmr.render.predictions import read_predictions

log = logging.getLogger(__name__)

DEFAULT_FOV_DEG = 60.0


def default_focal(width: int, fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels of a camera with horizontal field of view ``fov_deg``."""
    return 0.5 * width / np.tan(np.radians(fov_deg) / 2)


def trans_from_weak(cam_px: np.ndarray, focal: float, width: int, height: int) -> np.ndarray:
    """(T,3) camera-frame translation of the model origin that a pinhole with focal ``focal``
    and principal point at the image centre needs to match the weak perspective ``u = a X + b``
    at the body: depth f / |a|, offsets (b - c) / |a| (a negative scale, which no real camera
    has, is taken by its magnitude)."""
    a = np.maximum(np.abs(np.asarray(cam_px[:, 0], np.float64)), 1e-9)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    return np.stack([(cam_px[:, 1] - cx) / a, (cam_px[:, 2] - cy) / a, focal / a], axis=1)


def render_settings(params: Mapping[str, Any]) -> RenderSettings:
    try:
        return RenderSettings(**dict(params))
    except (TypeError, ValueError) as exc:
        raise InputError(f"demo.render: {exc}") from None


def export_demo(sequence: str | os.PathLike, predictions: str | os.PathLike,
                body_model: str | os.PathLike, out_npz: str | os.PathLike,
                out_bvh: str | os.PathLike, out_video: str | os.PathLike | None,
                out_sheet: str | os.PathLike | None, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Write the demo outputs of one sequence (module docstring); ``params`` is the config's
    ``demo`` section. Returns the arrays written to ``smpl.npz``."""
    from hmr.body.smpl import smpl_forward, smpl_layer

    seq = read_sequence(sequence)
    if seq.bbox is None:
        raise InputError(f"{sequence}: no 'bbox' (run the demo tracking first)")
    pred = read_predictions(predictions, n_frames=seq.n_frames)
    layer = smpl_layer(body_model)
    faces = np.asarray(layer.faces, np.int64)
    _, joints = smpl_forward(layer, pred["pose"], pred["betas"])
    joints24 = joints[:, :24].astype(np.float64)
    cam_px = fit_weak_perspective(joints24, pred["joints2d"])
    bad = np.flatnonzero(~(np.isfinite(cam_px).all(1) & (cam_px[:, 0] != 0)))
    if len(bad):
        raise InputError(f"{predictions}: frame {int(bad[0])}: the predicted 2D joints are degenerate "
                         "(no camera maps the 3D joints onto them)")
    negative = int((cam_px[:, 0] < 0).sum())
    if negative:
        log.warning("%s: %d of %d frames have a negative weak-perspective scale (their 2D joints are "
                    "the 3D joints turned 180 degrees): drawn as predicted; the BVH translation uses "
                    "|scale|", predictions, negative, len(cam_px))
    focal = float(params.get("focal_px") or default_focal(seq.width))
    trans = trans_from_weak(cam_px, focal, seq.width, seq.height)
    frame_ids = (np.asarray(seq.video_frames, np.int64) if seq.video_frames is not None
                 else np.arange(seq.n_frames, dtype=np.int64))
    arrays = {
        "pose": pred["pose"], "betas": pred["betas"], "pred_cam": pred["cam"],
        "orig_cam": weak_to_orig_cam(cam_px, seq.width, seq.height),
        "joints3d": joints24, "joints2d": pred["joints2d"], "bboxes": seq.bbox,
        "frame_ids": frame_ids, "sigma": pred["sigma"], "trans": trans,
        "focal_px": np.float32(focal), "fps": np.float32(seq.fps),
        "image_size": np.array([seq.width, seq.height], np.int64),
    }
    if params.get("save_vertices", False):
        arrays["verts"] = smpl_forward(layer, pred["pose"], pred["betas"])[0]
    write_smpl_npz(out_npz, arrays)
    mean_betas = pred["betas"].mean(0)
    smpl_motion_to_bvh(out_bvh, pred["pose"], trans, rest_joints(layer, mean_betas), fps=seq.fps,
                       scale=float(params.get("bvh_scale", 1.0)))
    if out_video is not None:
        def verts_fn(start: int, stop: int) -> np.ndarray:
            return smpl_forward(layer, pred["pose"][start:stop], pred["betas"][start:stop])[0]

        render_mesh_video(sequence, verts_fn, faces, cam_px, seq.fps, out_video, out_sheet,
                          render_settings(params.get("render", {})))
    log.info("wrote %s, %s%s", out_npz, out_bvh, f", {out_video}" if out_video else "")
    return arrays
