"""CLI subcommand of the dynamics stage: ``dynamics`` (one sequence -> homographies and d_t)."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import aligned, for_each_sequence, set_torch_threads

log = logging.getLogger("hmr")


def cmd_dynamics(args: argparse.Namespace) -> None:
    from hmr.flow.stage import run_dynamics, set_cv_threads

    params = json.loads(args.params)
    set_cv_threads(args.threads)
    if params.get("backend") == "raft":
        set_torch_threads(args.threads)
    outs = aligned("out", args.out, len(args.sequence))

    def one(i: int) -> None:
        arrays = run_dynamics(args.sequence[i], outs[i], params, seed=args.seed)
        support = arrays["support"][1:]
        log.info("wrote %s: %d frames, %s flow on the %s, mean support %.2f", outs[i],
                 len(arrays["d"]), params.get("backend"), params.get("input"),
                 float(support.mean()) if support.size else 0.0)

    for_each_sequence(outs, one)


def register(add) -> None:
    """Add the dynamics subcommand to the ``python -m hmr`` parser."""
    sp = add("dynamics", cmd_dynamics, "optical flow homographies and the 135-d d_t of one or more sequences")
    sp.add_argument("--sequence", nargs="+", required=True, help="sequence files data/{dataset}/{seq}.h5")
    sp.add_argument("--params", required=True, help="the config's dynamics section as JSON")
    sp.add_argument("--seed", type=int, default=0, help="RANSAC sampling seed (solver.robust: ransac)")
    sp.add_argument("--out", nargs="+", required=True, help="one file per --sequence")
