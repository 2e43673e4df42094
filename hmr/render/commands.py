"""CLI subcommands of rendering: ``render-predictions`` (meshes over a sequence's frames -> video)
and ``export-bvh`` (predicted motion -> BVH)."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import set_torch_threads

log = logging.getLogger("hmr")


def cmd_render(args: argparse.Namespace) -> None:
    import numpy as np

    from hmr.body.smpl import smpl_forward, smpl_layer
    from hmr.demo.export import render_settings
    from hmr.io.sequence import read_sequence
    from hmr.render.mesh_video import render_mesh_video
    from hmr.render.overlay import fit_weak_perspective
    from hmr.render.predictions import read_predictions

    set_torch_threads(args.threads)
    seq = read_sequence(args.sequence)
    pred = read_predictions(args.predictions, seq.n_frames, fields=("pose", "betas", "joints2d"))
    layer = smpl_layer(args.body_model)
    _, joints = smpl_forward(layer, pred["pose"], pred["betas"])
    cam = fit_weak_perspective(joints[:, :24], pred["joints2d"])

    def verts_fn(a: int, b: int) -> np.ndarray:
        return smpl_forward(layer, pred["pose"][a:b], pred["betas"][a:b])[0]

    n = render_mesh_video(args.sequence, verts_fn, np.asarray(layer.faces, np.int64), cam, seq.fps,
                          args.out, args.sheet, render_settings(json.loads(args.params)))
    log.info("wrote %s (%d frames)", args.out, n)


def cmd_bvh(args: argparse.Namespace) -> None:
    from hmr.body.smpl import smpl_forward, smpl_layer
    from hmr.demo.export import default_focal, trans_from_weak
    from hmr.io.sequence import read_sequence
    from hmr.render.bvh import rest_joints, smpl_motion_to_bvh
    from hmr.render.overlay import fit_weak_perspective
    from hmr.render.predictions import read_predictions

    set_torch_threads(args.threads)
    seq = read_sequence(args.sequence)
    pred = read_predictions(args.predictions, seq.n_frames, fields=("pose", "betas", "joints2d"))
    layer = smpl_layer(args.body_model)
    _, joints = smpl_forward(layer, pred["pose"], pred["betas"])
    cam = fit_weak_perspective(joints[:, :24], pred["joints2d"])
    focal = args.focal_px or default_focal(seq.width)
    trans = trans_from_weak(cam, focal, seq.width, seq.height)
    smpl_motion_to_bvh(args.out, pred["pose"], trans, rest_joints(layer, pred["betas"].mean(0)),
                       fps=seq.fps, scale=args.scale)
    log.info("wrote %s (%d frames)", args.out, seq.n_frames)


def register(add) -> None:
    """Add the rendering subcommands to the ``python -m hmr`` parser."""
    sp = add("render-predictions", cmd_render, "draw predicted meshes over a sequence's frames (video)")
    sp.add_argument("--sequence", required=True)
    sp.add_argument("--predictions", required=True)
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--params", default="{}", help="the config's demo.render section as JSON")
    sp.add_argument("--out", required=True)
    sp.add_argument("--sheet", default=None, help="PNG contact sheet of some rendered frames")

    sp = add("export-bvh", cmd_bvh, "predicted SMPL motion as a BVH file (Blender opens it)")
    sp.add_argument("--sequence", required=True)
    sp.add_argument("--predictions", required=True)
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--focal-px", type=float, default=None, help="assumed focal length (default: 60 deg FOV)")
    sp.add_argument("--scale", type=float, default=1.0, help="file units per metre")
    sp.add_argument("--out", required=True)
