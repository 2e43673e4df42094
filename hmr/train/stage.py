"""The regressor stage's file-level entry points (one per rule): train, predict, evaluate."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hmr.cli import aligned
from hmr.distributed import context as D
from hmr.errors import InputError
from hmr.model.variants import get_variant

if TYPE_CHECKING:
    from hmr.train.loop import TrainResult

log = logging.getLogger(__name__)


def checkpoint_path(out: str | os.PathLike) -> Path:
    """Where a training run keeps its resume state: next to the model, ``.ckpt`` suffix."""
    return Path(out).with_suffix(".ckpt")


def train_regressor_files(cfg: dict[str, Any], variant: str, sequences: list[str], features: list[str],
                          body_model: str, out: str | os.PathLike, log_csv: str | os.PathLike,
                          plot: str | os.PathLike, *, embeddings: list[str] | None = None,
                          dynamics: list[str] | None = None, embedding_model: str | None = None,
                          seed: int = 0, device: str = "auto", progress: bool = True,
                          ctx: D.Context | None = None) -> dict[str, Any]:
    """Train variant ``variant`` on the given training sequences' stage files; write the model,
    its log CSV and loss-curve PNG. Resumes from ``<out>.ckpt`` when a killed run left one.

    Under ``torchrun`` (or with a distributed ``ctx``) every rank reads the data and trains its
    share of each global batch; only rank 0 writes the files."""
    from hmr.body.smpl import smpl_layer
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.data import InMemoryWindows, load_sequence_arrays
    from hmr.train.loop import train_regressor

    ctx = ctx if ctx is not None else D.init(device)
    v = get_variant(variant)
    n = len(sequences)
    if v.needs_embedding and not embeddings:
        raise InputError(f"variant '{variant}' needs the embedding stage files (--embeddings)")
    if v.use_d and not dynamics:
        raise InputError(f"variant '{variant}' needs the dynamics stage files (--dynamics)")
    feats = aligned("features", features, n)
    embs = aligned("embeddings", embeddings if v.needs_embedding else None, n)
    dyns = aligned("dynamics", dynamics if v.use_d else None, n)
    seqs = [load_sequence_arrays(s, f, e, d) for s, f, e, d in zip(sequences, feats, embs, dyns)]
    windows = InMemoryWindows(seqs, int(cfg["window"]))
    body = BodyModel(smpl_layer(body_model))
    embedder = None
    if v.unc_loss and float(cfg["loss"]["lambda_unc"]) > 0:
        if not embedding_model:
            raise InputError(f"variant '{variant}' uses L_unc: pass --embedding-model")
        from hmr.embedding.model import load_embedder

        embedder = load_embedder(embedding_model)
    ck = checkpoint_path(out)
    if ctx.is_main:
        log.info("%s: %d sequences, %d windows of %d frames, feature size %d, %d process(es)", variant,
                 n, len(windows), windows.window, windows.feat_dim, ctx.world_size)
    result = train_regressor(windows, variant, cfg, body, seed=seed, embedder=embedder,
                             checkpoint=ck, progress=progress, ctx=ctx)
    meta = {"variant": variant, "steps": int(cfg["train"]["steps"]), "seconds": result.seconds,
            "resumed_from": result.resumed_from, "n_windows": len(windows), "window": windows.window,
            "dt": int(cfg["dt"]), "crop_scales": sorted({s.crop_scale for s in seqs}),
            "feat_dim": windows.feat_dim,
            "sequences": [str(s) for s in sequences], "config_json": json.dumps(cfg, sort_keys=True),
            "seed": int(seed), "world_size": ctx.world_size}
    write_training_outputs(result, meta, out, log_csv, plot, ctx)
    return meta


def write_training_outputs(result: TrainResult, meta: dict[str, Any], out: str | os.PathLike,
                           log_csv: str | os.PathLike, plot: str | os.PathLike, ctx: D.Context) -> None:
    """Rank 0 writes the model, log CSV and loss plot of a finished run and removes its resume
    checkpoint; the other ranks write nothing."""
    from hmr.train.loop import plot_losses, save_model, write_log_csv

    if not ctx.is_main:
        return
    save_model(result.model, out, meta)
    write_log_csv(result.log, log_csv)
    last = result.log[-1]["loss"] if result.log else float("nan")
    plot_losses(result.log, plot, f"regressor {meta['variant']}: {meta['n_windows']} windows, "
                                  f"{meta['steps']} steps, {result.seconds:.0f} s, final loss {last:.3g}")
    ck = checkpoint_path(out)
    if ck.exists():
        ck.unlink()
    log.info("trained %s in %.1f s (final loss %.4g)", meta["variant"], result.seconds, last)


def predict_files(model_path: str, sequences: list[str], features: list[str], body_model: str,
                  outs: list[str | os.PathLike], *, embeddings: list[str] | None = None,
                  dynamics: list[str] | None = None, save_vertices: bool = False, batch_windows: int = 64,
                  device: str = "cpu", config: dict[str, Any] | None = None) -> list[dict]:
    """Predict every frame of each sequence and write its ``outs`` entry (see
    :mod:`hmr.model.predict`); the model and the body model are loaded once for all of them.
    ``features``, ``embeddings``, ``dynamics`` and ``outs`` are in the order of ``sequences``."""
    from hmr.body.smpl import smpl_layer
    from hmr.model.predict import predict_sequence, write_predictions
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.data import load_sequence_arrays
    from hmr.train.loop import load_model, pick_device

    dev = pick_device(device)
    model, meta = load_model(model_path, dev)
    v = model.variant
    if v.use_u and not embeddings:
        raise InputError(f"{model_path}: variant '{v.name}' needs the sequences' embedding files")
    if v.use_d and not dynamics:
        raise InputError(f"{model_path}: variant '{v.name}' needs the sequences' dynamics files")
    n = len(sequences)
    features, embeddings, outs = aligned("features", features, n), aligned("embeddings", embeddings, n), \
        aligned("out", outs, n)
    dynamics = aligned("dynamics", dynamics if v.use_d else None, n)
    # every input is read and checked before the first output is written
    seqs = [load_sequence_arrays(*paths, with_targets=False)
            for paths in zip(sequences, features, embeddings, dynamics)]
    for seq, feats in zip(seqs, features):
        if seq.features.shape[1] != model.hparams["feat_dim"]:
            raise InputError(f"{feats}: feature size {seq.features.shape[1]}, the model "
                             f"{model_path} expects {model.hparams['feat_dim']}")
    body = BodyModel(smpl_layer(body_model))
    window = int(meta.get("window", 16))
    preds = []
    for seq, out in zip(seqs, outs):
        pred = predict_sequence(model, body, seq, window, batch_windows=batch_windows,
                                with_vertices=save_vertices, device=dev)
        attrs = {"variant": v.name, "model": str(model_path), "window": window,
                 "crop_scale": seq.crop_scale,
                 "joints3d_frame": "root-relative (pelvis at origin), camera axes, meters",
                 "frame_source": "last position of the window ending at t (first window for t < W-1)"}
        write_predictions(out, pred, attrs, config=config)
        preds.append(pred)
    return preds
