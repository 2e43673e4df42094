"""The embedding stage's file-level entry points (one per rule): train, evaluate.

Seeds: training derives its seed from the config ``seed`` and the variant, the evaluation views
from the config ``seed``; the probabilistic and deterministic models see identical batches.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from typing import Any

import h5py
import numpy as np
import torch

from hmr.distributed import context as D
from hmr.embedding.data import (
    PosePool,
    build_pool,
    heldout_views,
    precompute_matches,
    sequence_poses3d,
)
from hmr.embedding.model import load_checkpoint, load_embedder, save_embedder
from hmr.embedding.retrieval import evaluate_retrieval, mean_match_rate, write_eval_csv
from hmr.embedding.train import TrainResult, plot_losses, train_embedder, write_log_csv
from hmr.errors import InputError
from hmr.io.h5 import read_array, read_attrs, write_arrays

log = logging.getLogger(__name__)


def stage_seed(seed: int, name: str) -> int:
    """A per-purpose seed derived from the config seed (stable across runs and machines)."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0] % 2**31)


def build_pool_file(cfg: dict[str, Any], sequences: list[str], keypoints: list[str] | None,
                    body_model: str, out: str | os.PathLike, *, seed: int,
                    amass_dir: str | None = None) -> PosePool:
    """Collect the training poses (and detector keypoints) once, for every training run.

    Writes ``poses3d`` (N,17,3), ``detected`` (N,17,3), ``has_detected`` (N,) and, for pools of
    at most ``train.precompute_max_poses`` poses, ``match`` (N,N) (NP-MPJPE <= kappa).
    """
    if float(cfg["train"]["detected_share"]) <= 0:
        keypoints = None
    pool = build_pool(sequences, keypoints, body_model, amass_dir=amass_dir,
                      amass_fps=float(cfg["amass"]["fps"]), amass_max_poses=int(cfg["amass"]["max_poses"]),
                      seed=stage_seed(seed, "embedding/amass"),
                      conf_threshold=float(cfg["conf_threshold"]),
                      min_detected_joints=int(cfg["train"]["min_detected_joints"]))
    precompute_matches(pool, float(cfg["loss"]["kappa"]), int(cfg["train"]["precompute_max_poses"]))
    arrays = {"poses3d": pool.poses3d.numpy(), "detected": pool.detected.numpy(),
              "has_detected": pool.has_detected.numpy()}
    if pool.match is not None:
        arrays["match"] = pool.match.numpy()
    write_arrays(out, arrays, config=cfg,
                 attrs={"kappa": float(cfg["loss"]["kappa"]), "n_sequences": len(sequences),
                        "amass_dir": amass_dir or "", "sequences_json": json.dumps(list(map(str, sequences)))})
    log.info("pool: %d 3D poses, %d with detector keypoints, match matrix %s", len(pool),
             int(pool.has_detected.sum()), "precomputed" if pool.match is not None else "per batch")
    return pool


def read_pool_file(path: str | os.PathLike, kappa: float) -> PosePool:
    """The pool written by :func:`build_pool_file` (its match matrix only if made for ``kappa``)."""
    poses = read_array(path, "poses3d", (None, 17, 3), "f")
    n = len(poses)
    det = read_array(path, "detected", (n, 17, 3), "f")
    has = read_array(path, "has_detected", (n,), "b")
    match = None
    attrs = read_attrs(path)
    with h5py.File(path, "r") as f:
        if "match" in f and abs(float(attrs.get("kappa", -1)) - kappa) < 1e-12:
            match = torch.from_numpy(read_array(path, "match", (n, n), "b"))
    if n == 0:
        raise InputError(f"{path}: the pose pool is empty")
    return PosePool(torch.from_numpy(poses), torch.from_numpy(det), torch.from_numpy(has), match)


def train_embedding_files(cfg: dict[str, Any], pool_path: str | os.PathLike, out: str | os.PathLike,
                          log_csv: str | os.PathLike, plot: str | os.PathLike, *, deterministic: bool,
                          seed: int, device: str = "cpu", ctx: D.Context | None = None) -> dict[str, Any]:
    """Train on a pool file; write the model, the log CSV and the loss plot.

    Under ``torchrun`` (or with a distributed ``ctx``) every rank reads the pool and embeds its
    share of each global batch; only rank 0 writes the files."""
    ctx = ctx if ctx is not None else D.init(device)
    pool = read_pool_file(pool_path, float(cfg["loss"]["kappa"]))
    result = train_embedder(pool, cfg, deterministic=deterministic,
                            seed=stage_seed(seed, "embedding/train"), ctx=ctx)
    meta = {"deterministic": deterministic, "n_poses": len(pool), "n_detected": int(pool.has_detected.sum()),
            "steps": int(cfg["train"]["steps"]), "seconds": result.seconds,
            "cpu_seconds": result.cpu_seconds, "pool": str(pool_path),
            "config_json": json.dumps(cfg, sort_keys=True), "world_size": ctx.world_size}
    write_embedding_outputs(result, meta, out, log_csv, plot, ctx)
    return meta


def write_embedding_outputs(result: TrainResult, meta: dict[str, Any], out: str | os.PathLike,
                            log_csv: str | os.PathLike, plot: str | os.PathLike, ctx: D.Context) -> None:
    """Rank 0 writes the model (with its matching kernel), the log CSV and the loss plot; the
    other ranks write nothing."""
    if not ctx.is_main:
        return
    kernel_state = {k: v.detach().cpu() for k, v in result.kernel.state_dict().items()}
    kernel_state["smoothing"] = torch.tensor(result.kernel.smoothing)
    save_embedder(result.model, out, kernel_state, meta)
    write_log_csv(result.log, log_csv)
    variant = "deterministic" if meta["deterministic"] else "probabilistic"
    plot_losses(result.log, plot, f"Pr-VIPE embedding ({variant}), {meta['n_poses']} poses, "
                                  f"{result.seconds:.0f} s")
    log.info("trained %s embedding in %.1f s (%.1f s CPU)", variant, result.seconds, result.cpu_seconds)


def load_kernel(path: str | os.PathLike):
    """The learned matching kernel (a, b, smoothing) stored beside the embedder."""
    from hmr.embedding.losses import MatchingKernel

    ckpt = load_checkpoint(path)
    k = ckpt.get("kernel")
    if not k or not {"raw_a", "b"} <= set(k):
        raise InputError(f"{path}: checkpoint holds no matching kernel (raw_a, b)")
    kernel = MatchingKernel(float(k["raw_a"]), float(k["b"]), float(k.get("smoothing", 0.1)))
    return kernel.requires_grad_(False)


def heldout_poses(sequences: list[str], body_model: str, max_poses: int, seed: int) -> torch.Tensor:
    """Valid-frame COCO-17 3D poses of the held-out sequences, at most ``max_poses`` (seeded)."""
    from hmr.body.smpl import smpl_layer

    layer = smpl_layer(body_model)
    poses = []
    for path in sequences:
        p3, valid = sequence_poses3d(path, layer)
        poses.append(p3[valid])
    if not poses or sum(len(p) for p in poses) == 0:
        raise InputError("no held-out frames with ground truth to evaluate the embedding on: "
                         + ", ".join(map(str, sequences[:3])))
    allp = np.concatenate(poses)
    if 0 < max_poses < len(allp):
        keep = np.sort(np.random.default_rng(seed).choice(len(allp), max_poses, replace=False))
        allp = allp[keep]
    return torch.from_numpy(allp)


def evaluate_embedding_files(cfg: dict[str, Any], models: dict[str, str], sequences: list[str],
                             body_model: str, out: str | os.PathLike, *, seed: int) -> list[dict[str, Any]]:
    """Cross-view retrieval of every model on the held-out sequences; writes the CSV ``out``.

    Rows: each model x retrieval distance (``mean``; ``mc`` for probabilistic models) x kappa in
    ``eval.kappas``, plus ``untrained``: the probabilistic network at its initialisation (same
    seed as training), the floor that training should clear.
    """
    from hmr.embedding.train import build_training

    ecfg = cfg["eval"]
    poses3d = heldout_poses(sequences, body_model, int(ecfg["max_poses"]), stage_seed(seed, "embedding/eval-poses"))
    q2d, db2d = heldout_views(poses3d, cfg["views"], stage_seed(seed, "embedding/eval-views"))
    loaded = {name: load_embedder(path) for name, path in models.items()}
    untrained, _ = build_training(cfg, deterministic=False, seed=stage_seed(seed, "embedding/train"))
    loaded["untrained"] = untrained.eval()
    rows = []
    for kappa in [float(k) for k in ecfg["kappas"]]:
        rate = mean_match_rate(poses3d, poses3d, kappa)
        for name, model in loaded.items():
            mc = not model.deterministic and bool(ecfg["mc_retrieval"]) and name in models
            for distance in ["mean"] + (["mc"] if mc else []):
                kernel = load_kernel(models[name]) if distance == "mc" else None
                row = evaluate_retrieval(model, q2d, db2d, poses3d, poses3d, kappa, distance, kernel,
                                         int(ecfg["mc_samples"]), stage_seed(seed, "embedding/eval-mc"),
                                         rate)
                rows.append({"model": name, **row})
                log.info("kappa %.3g %s (%s): Hit@1 %.3f Hit@10 %.3f (chance %.3f), sigma-error rho %.3f",
                         kappa, name, distance, row["hit1"], row["hit10"], rate,
                         row["sigma_error_spearman"])
    write_eval_csv(rows, out)
    return rows
