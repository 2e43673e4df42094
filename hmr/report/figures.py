"""The report's figures: per-frame acceleration error (the paper's Figure 3), per-joint error, and
predicted meshes over frames beside the ground truth.

Errors use the metrics stage's own functions (:mod:`hmr.eval.metrics`) on the same joints it
evaluates: SMPL's 24 joints with the pelvis as root when a sequence has ``gt/joints3d``, else the
predicted joints named like the ``gt/keypoints3d`` joint set with the hip midpoint as root.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from hmr.body.joint_sets import convert_joints, joint_names, pelvis_from_hips
from hmr.body.joints import SMPL_JOINT_NAMES
from hmr.errors import InputError
from hmr.eval.metrics import accel_error, root_align
from hmr.io.atomic import atomic_path
from hmr.io.h5 import read_array
from hmr.io.sequence import Sequence as Seq
from hmr.io.sequence import iter_frames, read_sequence
from hmr.report.paper import VARIANT_SHORT

# fixed colour per variant, so every figure uses the same legend colours
VARIANT_COLORS: dict[str, str] = {
    "full": "#1f77b4", "no_u": "#ff7f0e", "no_d": "#2ca02c", "no_u_no_d": "#d62728",
    "no_dynamics": "#9467bd", "no_d_no_dynamics": "#8c564b", "fc_dynamics": "#e377c2",
}


def evaluated_joints(seq: Seq, pred_joints: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Root-aligned (T,J,3) predicted and ground-truth joints (metres) as the metrics stage
    compares them, and the joint names."""
    a = seq.arrays
    pred_joints = np.asarray(pred_joints, np.float64)
    if "gt/joints3d" in a:
        return (root_align(pred_joints, 0), root_align(a["gt/joints3d"], 0), list(SMPL_JOINT_NAMES))
    if "gt/keypoints3d" in a:
        js = seq.joint_sets["gt/keypoints3d"]
        pj, present = convert_joints(pred_joints, "smpl24", js)
        gt = np.asarray(a["gt/keypoints3d"][..., :3], np.float64)
        pj = pj[:, present] - pelvis_from_hips(pj, js)[:, None]
        gt = gt[:, present] - pelvis_from_hips(gt, js)[:, None]
        return pj, gt, [n for n, p in zip(joint_names(js), present) if p]
    raise InputError(f"{where}: no 3D ground truth (gt/joints3d or gt/keypoints3d)")


def accel_per_frame(seq: Seq, pred_joints: np.ndarray, where: str) -> np.ndarray:
    """(T,) acceleration error in mm/frame^2 at each frame, NaN where it is undefined (first and
    last frame, or a neighbour without valid ground truth)."""
    pj, gt, _ = evaluated_joints(seq, pred_joints, where)
    T = len(pj)
    out = np.full(T, np.nan)
    if T >= 3:
        err = 1000 * accel_error(pj, gt, valid=None, root=None)
        valid = np.asarray(seq.arrays.get("gt/valid", np.ones(T, bool)), bool)
        ok = valid[:-2] & valid[1:-1] & valid[2:]
        out[1:-1] = np.where(ok, err, np.nan)
    return out


def per_joint_error(seq: Seq, pred_joints: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-joint summed error in mm over the valid frames (J,), their count, joint names."""
    pj, gt, names = evaluated_joints(seq, pred_joints, where)
    valid = np.asarray(seq.arrays.get("gt/valid", np.ones(len(pj), bool)), bool)
    err = 1000 * np.linalg.norm(pj[valid] - gt[valid], axis=-1)
    return err.sum(0), int(valid.sum()), names


def _save(fig, out: str | os.PathLike, dpi: int) -> None:
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def accel_figure(sequence: str | os.PathLike, predictions: Mapping[str, str | os.PathLike],
                 out: str | os.PathLike, dataset: str, size_in: tuple[float, float] = (11, 4),
                 dpi: int = 100) -> dict[str, np.ndarray]:
    """Acceleration error per frame over one sequence for each variant (``variant -> predictions
    file``); returns the curves."""
    seq = read_sequence(sequence)
    curves = {}
    for v, path in predictions.items():
        pj = read_array(path, "joints3d", shape=(seq.n_frames, 24, 3), dtype_kind="f")
        curves[v] = accel_per_frame(seq, pj, str(path))
    plt = _plt()
    fig, ax = plt.subplots(figsize=size_in)
    for v, c in curves.items():
        ax.plot(np.arange(len(c)), c, lw=1.4, color=VARIANT_COLORS.get(v),
                label=f"{VARIANT_SHORT.get(v, v)}: mean {np.nanmean(c):.1f}")
    ax.set_xlabel("frame")
    ax.set_ylabel("acceleration error (mm/frame$^2$)")
    ax.set_title(f"Acceleration error per frame, {dataset} / {seq.name}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    _save(fig, out, dpi)
    plt.close(fig)
    return curves


def per_joint_figure(sequences: Sequence[str | os.PathLike],
                     predictions: Mapping[str, Sequence[str | os.PathLike]],
                     out: str | os.PathLike, dataset: str, size_in: tuple[float, float] = (13, 4.5),
                     dpi: int = 100) -> dict[str, np.ndarray]:
    """Grouped bars: mean error per joint (mm, root-aligned, valid frames of all ``sequences``)
    for each variant (``variant -> prediction files in the order of sequences``)."""
    seqs = [read_sequence(p) for p in sequences]
    errors: dict[str, np.ndarray] = {}
    names: list[str] = []
    for v, paths in predictions.items():
        if len(paths) != len(seqs):
            raise InputError(f"{out}: {len(paths)} prediction files of '{v}' for {len(seqs)} sequences")
        total, count = None, 0
        for seq, path in zip(seqs, paths):
            pj = read_array(path, "joints3d", shape=(seq.n_frames, 24, 3), dtype_kind="f")
            s, n, names_j = per_joint_error(seq, pj, str(path))
            if total is not None and len(s) != len(total):
                raise InputError(f"{path}: evaluated joints differ between sequences")
            total = s if total is None else total + s
            count += n
            names = names_j
        if not count:
            raise InputError(f"{out}: no valid ground-truth frame for variant '{v}'")
        errors[v] = total / count
    plt = _plt()
    fig, ax = plt.subplots(figsize=size_in)
    J, V = len(names), len(errors)
    width = 0.8 / max(V, 1)
    x = np.arange(J)
    for k, (v, e) in enumerate(errors.items()):
        ax.bar(x - 0.4 + width * (k + 0.5), e, width, color=VARIANT_COLORS.get(v),
               label=f"{VARIANT_SHORT.get(v, v)}: mean {e.mean():.1f}")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("mean joint error (mm, root-aligned)")
    ax.set_title(f"Error per joint, {dataset} ({len(seqs)} sequence{'s' if len(seqs) != 1 else ''})")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    _save(fig, out, dpi)
    plt.close(fig)
    return errors


def _frames(path: str | os.PathLike, indices: np.ndarray) -> dict[int, np.ndarray]:
    want = {int(i) for i in indices}
    out, t = {}, 0
    for batch in iter_frames(path, 16):
        for f in batch:
            if t in want:
                out[t] = f
            t += 1
    return out


def qualitative_figure(sequence: str | os.PathLike, predictions: Mapping[str, str | os.PathLike],
                       body_model: str | os.PathLike, out: str | os.PathLike, dataset: str,
                       n_frames: int = 4, tile_width: int = 320, dpi: int = 100) -> np.ndarray:
    """Rows: input frames, the ground-truth mesh, each variant's predicted mesh, over ``n_frames``
    evenly spaced frames of ``sequence``. Returns the chosen frame indices."""
    import cv2

    from hmr.body.smpl import smpl_forward, smpl_layer
    from hmr.render.mesh_video import sheet_indices
    from hmr.render.overlay import fit_weak_perspective, overlay_mesh, scale_camera
    from hmr.synthetic.render import render_mesh

    seq = read_sequence(sequence)
    a = seq.arrays
    for key in ("gt/pose", "gt/betas", "gt/trans", "camera/K"):
        if key not in a:
            raise InputError(f"{sequence}: '{key}' missing (the qualitative figure needs SMPL ground truth)")
    layer = smpl_layer(body_model)
    faces = np.asarray(layer.faces, np.int64)
    idx = sheet_indices(seq.n_frames, n_frames)
    frames = _frames(sequence, idx)
    s = tile_width / seq.width
    size = (tile_width, round(seq.height * s))
    rows: dict[str, list[np.ndarray]] = {"input": [], "ground truth": []}
    gt_verts, _ = smpl_forward(layer, a["gt/pose"][idx], a["gt/betas"][idx], a["gt/trans"][idx])
    S = np.diag([s, s, 1.0])
    shift = np.array([[1, 0, 0.5 * s - 0.5], [0, 1, 0.5 * s - 0.5], [0, 0, 1]])  # pixel centres
    for k, t in enumerate(idx):
        img = cv2.resize(frames[int(t)], size, interpolation=cv2.INTER_LINEAR)
        rows["input"].append(img)
        K = shift @ S @ a["camera/K"][t]
        gt_img, mask, _ = render_mesh(gt_verts[k], faces, K, img,
                                      face_colors=np.broadcast_to(np.float32([0.6, 0.85, 0.6]), (len(faces), 3)))
        rows["ground truth"].append(np.where(mask[..., None], (0.85 * gt_img + 0.15 * img).astype(np.uint8), img))
    for v, path in predictions.items():
        pose = read_array(path, "pose", shape=(seq.n_frames, 72), dtype_kind="f")[idx]
        betas = read_array(path, "betas", shape=(seq.n_frames, 10), dtype_kind="f")[idx]
        j2d = read_array(path, "joints2d", shape=(seq.n_frames, 24, 2), dtype_kind="f")[idx]
        verts, joints = smpl_forward(layer, pose, betas)
        cam = scale_camera(fit_weak_perspective(joints[:, :24], j2d), s)
        label = VARIANT_SHORT.get(v, v)
        rows[label] = [overlay_mesh(img, verts[k], faces, cam[k])[0] for k, img in enumerate(rows["input"])]
    plt = _plt()
    n_rows, n_cols = len(rows), len(idx)
    h_in = size[1] / size[0] * 2.2
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.2 * n_cols + 1.2, h_in * n_rows + 0.5), squeeze=False)
    for r, (name, imgs) in enumerate(rows.items()):
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"frame {int(idx[c])}", fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
    fig.suptitle(f"{dataset} / {seq.name}: meshes over the frames", fontsize=9)
    fig.tight_layout()
    _save(fig, out, dpi)
    plt.close(fig)
    return idx
