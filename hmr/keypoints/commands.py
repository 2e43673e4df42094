"""CLI subcommands of the keypoints stage: ``keypoints`` (one sequence) and ``keypoints-pck``."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import aligned, for_each_sequence, set_torch_threads

log = logging.getLogger("hmr")


def cmd_keypoints(args: argparse.Namespace) -> None:
    from hmr.keypoints.stage import run_keypoints

    set_torch_threads(args.threads)
    params, outs = json.loads(args.params), aligned("out", args.out, len(args.sequence))

    def one(i: int) -> None:
        kp = run_keypoints(args.sequence[i], outs[i], args.backend, params, seed=args.seed,
                           body_model=args.body_model)
        detected = float((kp[..., 2] > 0).mean()) if kp.size else 0.0
        log.info("wrote %s: %d frames, %.1f%% of joints detected (%s)", outs[i], len(kp),
                 100 * detected, args.backend)

    for_each_sequence(outs, one)


def cmd_keypoints_pck(args: argparse.Namespace) -> None:
    from hmr.keypoints.stage import pck_table, write_pck_table

    df = pck_table(args.sequences, args.keypoints, args.body_model, alpha=args.alpha)
    write_pck_table(df, args.out)
    log.info("wrote %s: PCK@%g = %.3f over %d sequences", args.out, args.alpha,
             df["pck"].iloc[-1] if len(df) else float("nan"), max(len(df) - 1, 0))


def register(add) -> None:
    """Add the keypoints subcommands to the ``python -m hmr`` parser."""
    from hmr.keypoints.stage import BACKENDS

    sp = add("keypoints", cmd_keypoints, "2D COCO-17 keypoints of one or more sequences")
    sp.add_argument("--sequence", nargs="+", required=True, help="sequence files data/{dataset}/{seq}.h5")
    sp.add_argument("--backend", required=True, choices=BACKENDS)
    sp.add_argument("--params", required=True, help="the config's keypoints section as JSON")
    sp.add_argument("--body-model", default=None, help="SMPL-format model (synthetic-detector)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", nargs="+", required=True, help="one file per --sequence")

    sp = add("keypoints-pck", cmd_keypoints_pck, "PCK of keypoints files against ground truth (CSV)")
    sp.add_argument("--sequences", nargs="+", required=True)
    sp.add_argument("--keypoints", nargs="+", required=True, help="keypoints files, same order")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--alpha", type=float, default=0.1, help="threshold = alpha * max(bbox w, h)")
    sp.add_argument("--out", required=True)
