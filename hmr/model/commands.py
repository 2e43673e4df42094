"""CLI subcommands of the regressor stage: ``train-regressor``, ``predict``, ``evaluate``,
``fit-baseline``, ``predict-baseline``."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import set_torch_threads

log = logging.getLogger("hmr")


def cmd_train_regressor(args: argparse.Namespace) -> None:
    """One process, or one rank of ``torchrun --nproc_per_node N -m hmr train-regressor ...``."""
    from hmr.distributed import context as D
    from hmr.train.stage import train_regressor_files

    set_torch_threads(args.threads)
    ctx = D.init(args.device)
    if not ctx.is_main:
        log.setLevel(logging.WARNING)   # rank 0 reports; the others only warn
    try:
        meta = train_regressor_files(json.loads(args.params), args.variant, args.sequences, args.features,
                                     args.body_model, args.out, args.log, args.plot,
                                     embeddings=args.embeddings, dynamics=args.dynamics,
                                     embedding_model=args.embedding_model, seed=args.seed,
                                     device=args.device, progress=not args.no_progress, ctx=ctx)
    finally:
        D.shutdown(ctx)
    log.info("wrote %s (%d steps, %.1f s, %d process(es))", args.out, meta["steps"], meta["seconds"],
             ctx.world_size)


def cmd_predict(args: argparse.Namespace) -> None:
    from hmr.train.stage import predict_files

    set_torch_threads(args.threads)
    preds = predict_files(args.model, args.sequence, args.features, args.body_model, args.out,
                          embeddings=args.embedding, dynamics=args.dynamics, save_vertices=args.save_vertices,
                          device=args.device, config=json.loads(args.params) if args.params else None)
    for out, pred in zip(args.out, preds):
        log.info("wrote %s: %d frames", out, len(pred["pose"]))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from hmr.eval.evaluate import evaluate_files

    set_torch_threads(args.threads)
    df = evaluate_files(args.sequences, args.predictions, args.body_model, args.out)
    m = df.iloc[-1]
    log.info("wrote %s: MPJPE %.1f PA-MPJPE %.1f MPVPE %.1f mm, accel %.2f mm/frame^2 (%d sequences)",
             args.out, m.mpjpe, m.pa_mpjpe, m.mpvpe, m.accel_err, len(df) - 1)


def cmd_fit_baseline(args: argparse.Namespace) -> None:
    from hmr.model.baselines import fit_baseline, save_baseline

    model = fit_baseline(args.kind, args.sequences, args.features)
    save_baseline(args.out, model)
    log.info("wrote %s (baseline %s from %d training sequences)", args.out, args.kind, len(args.sequences))


def cmd_predict_baseline(args: argparse.Namespace) -> None:
    from hmr.model.baselines import predict_baseline_files

    set_torch_threads(args.threads)
    preds = predict_baseline_files(args.model, args.sequence, args.body_model, args.out, args.features)
    for out, pred in zip(args.out, preds):
        log.info("wrote %s: %d frames", out, len(pred["pose"]))


def register(add) -> None:
    """Add the regressor subcommands to the ``python -m hmr`` parser."""
    sp = add("train-regressor", cmd_train_regressor, "train one regressor variant on stage files")
    sp.add_argument("--variant", required=True)
    sp.add_argument("--params", required=True, help="the config's regressor section as JSON")
    sp.add_argument("--sequences", nargs="+", required=True, help="training sequence files")
    sp.add_argument("--features", nargs="+", required=True, help="features files, same order")
    sp.add_argument("--embeddings", nargs="*", default=None, help="embedding files, same order")
    sp.add_argument("--dynamics", nargs="*", default=None, help="dynamics files, same order")
    sp.add_argument("--embedding-model", default=None, help="frozen embedder for L_unc")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--device", default="auto",
                    help="auto (CUDA if present) | cpu | cuda; under torchrun rank r takes cuda:LOCAL_RANK")
    sp.add_argument("--no-progress", action="store_true")
    sp.add_argument("--out", required=True)
    sp.add_argument("--log-csv", "--log", dest="log", required=True,
                    help="training log CSV (under torchrun spell it --log-csv: torchrun's own parser "
                         "refuses --log as an ambiguous abbreviation)")
    sp.add_argument("--plot", required=True, help="loss-curve PNG")

    sp = add("predict", cmd_predict, "per-frame SMPL predictions of sequences (sliding window)")
    sp.add_argument("--model", required=True)
    sp.add_argument("--sequence", "--sequences", dest="sequence", nargs="+", required=True)
    sp.add_argument("--features", nargs="+", required=True, help="features files, same order")
    sp.add_argument("--embedding", "--embeddings", dest="embedding", nargs="+", default=None,
                    help="embedding files (u_t and the output sigma), same order")
    sp.add_argument("--dynamics", nargs="+", default=None, help="dynamics files, same order")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--save-vertices", action="store_true", help="also store the mesh (float16)")
    sp.add_argument("--params", default=None, help="config section recorded in the output")
    sp.add_argument("--device", default="cpu")
    sp.add_argument("--out", nargs="+", required=True, help="prediction files, same order")

    sp = add("evaluate", cmd_evaluate, "MPJPE, PA-MPJPE, MPVPE, accel error per sequence (CSV)")
    sp.add_argument("--sequences", nargs="+", required=True)
    sp.add_argument("--predictions", nargs="+", required=True, help="prediction files, same order")
    sp.add_argument("--body-model", default=None, help="body model for MPVPE (omit: no MPVPE)")
    sp.add_argument("--out", required=True)

    KINDS = ("mean_pose", "per_frame")   # hmr.model.baselines.KINDS (not imported: it loads torch)

    sp = add("fit-baseline", cmd_fit_baseline, "fit a baseline (constant mean pose, per-frame ridge on f_t)")
    sp.add_argument("--kind", required=True, choices=KINDS)
    sp.add_argument("--sequences", nargs="+", required=True, help="training sequence files")
    sp.add_argument("--features", nargs="*", default=None, help="their features files (per_frame)")
    sp.add_argument("--out", required=True, help="results/models/baseline_<kind>.npz")

    sp = add("predict-baseline", cmd_predict_baseline, "per-frame predictions of a fitted baseline")
    sp.add_argument("--model", required=True)
    sp.add_argument("--sequence", "--sequences", dest="sequence", nargs="+", required=True)
    sp.add_argument("--features", nargs="+", default=None, help="features files, same order (per_frame)")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--out", nargs="+", required=True, help="prediction files, same order")
