"""Training and evaluation data for the embedding: 3D COCO-17 poses, detector keypoints, pairs.

3D poses come from ground-truth SMPL parameters (``gt/pose``, ``gt/betas``, ``gt/trans``; camera
frame) run through the body model and mapped to COCO-17 (:func:`hmr.body.joint_sets.smpl_to_coco17`),
valid frames only; optionally also from AMASS clips (:mod:`hmr.synthetic.amass`, turned from its
Y-up world into a y-down camera-like frame so the random views see an upright person).

Each training record is one 3D pose seen twice (:class:`PairSampler`): the positive is always a
clean random-view projection; the anchor is a clean random-view projection too, except that for
records with detector keypoints (the keypoints stage run on the training sequences) it is, with
probability ``train.detected_share``, the detector's 2D keypoints of that frame (original camera,
low-confidence joints masked), as Pr-VIPE mixes input 2D keypoints with 3D projections. Clean
projections get stratified keypoint dropout (``augment``: a share of records loses each joint with
some probability, masked exactly as low-confidence detections are) and optional Gaussian jitter.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hmr.body.joint_sets import COCO17, smpl_to_coco17
from hmr.embedding.normalize import SCALE_UNIT_2D, known_mask, normalize_points
from hmr.embedding.npmpjpe import pairwise_np_mpjpe
from hmr.embedding.views import random_views
from hmr.errors import InputError
from hmr.keypoints.stage import (
    read_keypoints,  # the keypoints stage's reader: shape, NaN, confidence
)

log = logging.getLogger(__name__)


def sequence_poses3d(path: str | os.PathLike, layer) -> tuple[np.ndarray, np.ndarray]:
    """COCO-17 3D joints (T,17,3) in the camera frame from a sequence's GT SMPL, and ``gt/valid`` (T,)."""
    from hmr.body.smpl import smpl_forward
    from hmr.io.sequence import read_sequence

    seq = read_sequence(path)
    missing = [k for k in ("gt/pose", "gt/betas") if k not in seq.arrays]
    if missing:
        raise InputError(f"{path}: no ground-truth SMPL ({', '.join(missing)} missing); the embedding "
                         "trains and evaluates on sequences with 3D ground truth")
    trans = seq.arrays.get("gt/trans")
    _, joints = smpl_forward(layer, seq.arrays["gt/pose"], seq.arrays["gt/betas"], trans)
    valid = seq.arrays.get("gt/valid", np.ones(seq.n_frames, bool)).astype(bool)
    return smpl_to_coco17(joints).astype(np.float32), valid


def amass_poses3d(folder: str | os.PathLike, layer, fps: float, max_poses: int,
                  seed: int) -> np.ndarray:
    """COCO-17 3D poses (N,17,3) from the AMASS clips under ``folder``, resampled to ``fps``.

    Y-up world -> y-down frame (rotation by 180 degrees about x). At most ``max_poses`` poses,
    drawn evenly at random (seeded) when the clips hold more.
    """
    from hmr.body.smpl import smpl_forward
    from hmr.synthetic.amass import list_amass_clips, load_amass_npz

    clips = list_amass_clips(folder)
    if not clips:
        raise InputError(f"{folder}: no AMASS .npz clips found")
    out = []
    for clip in clips:
        try:
            m = load_amass_npz(clip, fps)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        _, joints = smpl_forward(layer, m["pose"], m["betas"], m["trans"])
        out.append(smpl_to_coco17(joints) * np.array([1.0, -1.0, -1.0], np.float32))
    poses = np.concatenate(out).astype(np.float32)
    if len(poses) > max_poses:
        keep = np.sort(np.random.default_rng(seed).choice(len(poses), max_poses, replace=False))
        poses = poses[keep]
    return poses


@dataclass
class PosePool:
    """3D poses (N,17,3) and, where available, the detector's keypoints of the same frame."""

    poses3d: torch.Tensor
    detected: torch.Tensor          # (N,17,3) x, y, confidence; zeros where has_detected is False
    has_detected: torch.Tensor      # (N,) bool
    match: torch.Tensor | None = None   # (N,N) bool NP-MPJPE <= kappa, when precomputed

    def __len__(self) -> int:
        return len(self.poses3d)


def build_pool(sequences: list[str], keypoints: list[str] | None, body_model: str,
               amass_dir: str | None = None, amass_fps: float = 10.0, amass_max_poses: int = 0,
               seed: int = 0, conf_threshold: float = 0.2, min_detected_joints: int = 8) -> PosePool:
    """Collect the training poses of ``sequences`` (paired by position with ``keypoints`` files).

    A frame's detector keypoints are used only when at least ``min_detected_joints`` joints reach
    ``conf_threshold`` (a person mostly outside the image gives no useful anchor).
    """
    from hmr.body.smpl import smpl_layer

    if keypoints is not None and len(keypoints) != len(sequences):
        raise InputError(f"{len(keypoints)} keypoints files for {len(sequences)} sequences; "
                         "give one keypoints file per sequence, in the same order")
    layer = smpl_layer(body_model)
    poses, det, has = [], [], []
    for i, path in enumerate(sequences):
        p3, valid = sequence_poses3d(path, layer)
        if keypoints is not None:
            kp = read_keypoints(keypoints[i], n_frames=len(p3)).astype(np.float32)
            det.append(kp[valid])
            has.append((kp[valid, :, 2] >= conf_threshold).sum(-1) >= min_detected_joints)
        else:
            det.append(np.zeros((int(valid.sum()), len(COCO17), 3), np.float32))
            has.append(np.zeros(int(valid.sum()), bool))
        poses.append(p3[valid])
    if amass_dir:
        extra = amass_poses3d(amass_dir, layer, amass_fps, amass_max_poses, seed)
        log.info("AMASS: %d poses from %s", len(extra), amass_dir)
        poses.append(extra)
        det.append(np.zeros((len(extra), len(COCO17), 3), np.float32))
        has.append(np.zeros(len(extra), bool))
    if not poses or sum(len(p) for p in poses) == 0:
        raise InputError("no valid ground-truth frames to train the embedding on: "
                         + ", ".join(map(str, sequences[:3])))
    return PosePool(torch.from_numpy(np.concatenate(poses)), torch.from_numpy(np.concatenate(det)),
                    torch.from_numpy(np.concatenate(has)))


def precompute_matches(pool: PosePool, kappa: float, max_poses: int) -> PosePool:
    """Fill ``pool.match`` (all pairs) when the pool has at most ``max_poses`` poses."""
    if 0 < len(pool) <= max_poses:
        pool.match = pairwise_np_mpjpe(pool.poses3d, pool.poses3d) <= kappa
    return pool


@dataclass
class PairBatch:
    """One training batch: normalised anchor/positive 2D poses of the same 3D poses."""

    anchor: torch.Tensor      # (N,17,2)
    positive: torch.Tensor    # (N,17,2)
    poses3d: torch.Tensor     # (N,17,3)
    match: torch.Tensor       # (N,N) bool, NP-MPJPE(y_i, y_j) <= kappa
    detected: torch.Tensor    # (N,) bool, anchor from the detector


def keypoint_dropout(n: int, apply_prob: float, drop_prob: float,
                     generator: torch.Generator) -> torch.Tensor:
    """(n,17) 0/1 keep mask: a share ``apply_prob`` of records loses each joint w.p. ``drop_prob``."""
    apply = torch.rand(n, 1, generator=generator) < apply_prob
    drop = torch.rand(n, len(COCO17), generator=generator) < drop_prob
    return (~(apply & drop)).float()


class PairSampler:
    """Draws :class:`PairBatch` es from a :class:`PosePool`; all randomness from its own generator."""

    def __init__(self, pool: PosePool, cfg: dict, seed: int) -> None:
        self.pool, self.cfg = pool, cfg
        self.generator = torch.Generator().manual_seed(int(seed))

    def _clean_views(self, poses3d: torch.Tensor) -> torch.Tensor:
        g, aug = self.generator, self.cfg["augment"]
        kp = random_views(poses3d, g, self.cfg["views"])
        known = keypoint_dropout(len(kp), float(aug["dropout_apply_prob"]),
                                 float(aug["dropout_keypoint_prob"]), g)
        x = normalize_points(kp, known, SCALE_UNIT_2D)
        if float(aug["jitter_std"]) > 0:
            x = (x + float(aug["jitter_std"]) * torch.randn(x.shape, generator=g)) * known.unsqueeze(-1)
        return x

    def sample(self, batch_size: int) -> PairBatch:
        pool, g = self.pool, self.generator
        idx = torch.randint(len(pool), (batch_size,), generator=g)
        poses3d = pool.poses3d[idx]
        anchor = self._clean_views(poses3d)
        positive = self._clean_views(poses3d)
        use_det = pool.has_detected[idx] & (
            torch.rand(batch_size, generator=g) < float(self.cfg["train"]["detected_share"]))
        if use_det.any():
            det = pool.detected[idx[use_det]]
            known = known_mask(det[..., 2], float(self.cfg["conf_threshold"]))
            anchor[use_det] = normalize_points(det[..., :2], known, SCALE_UNIT_2D)
        if pool.match is not None:
            match = pool.match[idx][:, idx]
        else:
            match = pairwise_np_mpjpe(poses3d, poses3d) <= float(self.cfg["loss"]["kappa"])
        return PairBatch(anchor, positive, poses3d, match, use_det)


def heldout_views(poses3d: torch.Tensor, view_cfg: dict, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views (normalised 2D, (N,17,2) each) of held-out 3D poses."""
    g = torch.Generator().manual_seed(int(seed))
    v1 = random_views(poses3d, g, view_cfg)
    v2 = random_views(poses3d, g, view_cfg)
    return normalize_points(v1, None, SCALE_UNIT_2D), normalize_points(v2, None, SCALE_UNIT_2D)


def sequence_list(paths: list[str | os.PathLike]) -> list[str]:
    """Paths as strings, checked to exist (one line naming the first missing one)."""
    out = []
    for p in paths:
        if not Path(p).exists():
            raise InputError(f"{p}: file not found")
        out.append(str(p))
    return out
