"""CLI subcommands of the embedding stage (``python -m hmr <name>``), one per rule."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable

from hmr.cli import aligned, for_each_sequence, set_torch_threads

log = logging.getLogger("hmr")


def cmd_embedding_pool(args: argparse.Namespace) -> None:
    from hmr.embedding.stages import build_pool_file

    set_torch_threads(args.threads)
    cfg = json.loads(args.params)
    build_pool_file(cfg, args.sequences, args.keypoints or None, args.body_model, args.out,
                    seed=args.seed, amass_dir=args.amass_dir or None)
    log.info("wrote %s", args.out)


def cmd_train_embedding(args: argparse.Namespace) -> None:
    """One process, or one rank of ``torchrun --nproc_per_node N -m hmr train-embedding ...``."""
    from hmr.distributed import context as D
    from hmr.embedding.stages import train_embedding_files

    set_torch_threads(args.threads)
    ctx = D.init(args.device)
    if not ctx.is_main:
        log.setLevel(logging.WARNING)   # rank 0 reports; the others only warn
    try:
        train_embedding_files(json.loads(args.params), args.pool, args.out, args.log_csv, args.plot,
                              deterministic=args.deterministic, seed=args.seed, device=args.device,
                              ctx=ctx)
    finally:
        D.shutdown(ctx)
    log.info("wrote %s (%d process(es))", args.out, ctx.world_size)


def cmd_embed(args: argparse.Namespace) -> None:
    from hmr.embedding.embed import embed_sequence_file

    set_torch_threads(args.threads)
    outs = aligned("out", args.out, len(args.keypoints))

    def one(i: int) -> None:
        embed_sequence_file(args.keypoints[i], args.model, outs[i], threshold=args.conf_threshold,
                            config={"conf_threshold": args.conf_threshold, "model": args.model})
        log.info("wrote %s", outs[i])

    for_each_sequence(outs, one)


def cmd_evaluate_embedding(args: argparse.Namespace) -> None:
    from hmr.embedding.stages import evaluate_embedding_files

    set_torch_threads(args.threads)
    models = {"probabilistic": args.model, "deterministic": args.deterministic_model}
    evaluate_embedding_files(json.loads(args.params), models, args.sequences, args.body_model,
                             args.out, seed=args.seed)
    log.info("wrote %s", args.out)


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add the embedding subcommands to the ``python -m hmr`` parser."""
    sp = add("embedding-pool", cmd_embedding_pool,
             "3D COCO-17 training poses (+ detector keypoints, match matrix) for the embedding")
    sp.add_argument("--params", required=True, help="the embedding config section as JSON")
    sp.add_argument("--sequences", nargs="+", required=True, help="training sequence files (GT SMPL)")
    sp.add_argument("--keypoints", nargs="*", default=[],
                    help="keypoints-stage files of the same sequences, same order (optional)")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--amass-dir", default="", help="folder of AMASS clips to add (optional)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", required=True)

    sp = add("train-embedding", cmd_train_embedding, "train the Pr-VIPE pose embedding")
    sp.add_argument("--params", required=True, help="the embedding config section as JSON")
    sp.add_argument("--pool", required=True, help="embedding-pool output")
    sp.add_argument("--deterministic", action="store_true",
                    help="same network without variance (the comparison baseline)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--device", default="cpu",
                    help="cpu | auto (CUDA if present) | cuda; under torchrun rank r takes cuda:LOCAL_RANK")
    sp.add_argument("--out", required=True)
    sp.add_argument("--log-csv", required=True)
    sp.add_argument("--plot", required=True)

    sp = add("embed", cmd_embed, "embed sequences' 2D keypoints: mu, sigma per frame")
    sp.add_argument("--keypoints", nargs="+", required=True, help="keypoints files, one per sequence")
    sp.add_argument("--model", required=True)
    sp.add_argument("--conf-threshold", type=float, default=0.2)
    sp.add_argument("--out", nargs="+", required=True, help="one file per --keypoints")

    sp = add("evaluate-embedding", cmd_evaluate_embedding,
             "cross-view retrieval (Hit@1/Hit@10) and sigma-error correlation on held-out poses")
    sp.add_argument("--params", required=True, help="the embedding config section as JSON")
    sp.add_argument("--model", required=True, help="probabilistic embedding")
    sp.add_argument("--deterministic-model", required=True)
    sp.add_argument("--sequences", nargs="+", required=True, help="held-out sequence files (GT SMPL)")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", required=True)
