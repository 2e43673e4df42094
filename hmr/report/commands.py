"""CLI subcommands of the report: ``report-tables``, ``report-summary``, ``report-accel``,
``report-per-joint``, ``report-qualitative``."""

from __future__ import annotations

import argparse
import logging

from hmr.cli import set_torch_threads

log = logging.getLogger("hmr")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    """``name=path`` arguments -> dict (order kept)."""
    from hmr.errors import InputError

    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise InputError(f"{what}: expected NAME=PATH, got {item!r}")
        out[name] = path
    return out


def cmd_tables(args: argparse.Namespace) -> None:
    from hmr.report.tables import write_ablation

    def runs(pairs: dict[str, str]) -> dict[str, list[str]]:
        return {k: v.split(",") for k, v in pairs.items()}

    table = write_ablation(runs(_pairs(args.metrics, "--metrics")), args.dataset, args.out_md, args.out_csv,
                           baseline_files=_pairs(args.baselines, "--baselines"),
                           train_files=runs(_pairs(args.train, "--train")), out_paired=args.out_paired)
    log.info("wrote %s and %s (%d rows)", args.out_md, args.out_csv, len(table))


def cmd_summary(args: argparse.Namespace) -> None:
    from hmr.report.tables import write_summary

    write_summary(_pairs(args.ablation, "--ablation"), args.out)
    log.info("wrote %s", args.out)


def cmd_accel(args: argparse.Namespace) -> None:
    from hmr.report.figures import accel_figure

    curves = accel_figure(args.sequence, _pairs(args.predictions, "--predictions"), args.out, args.dataset)
    log.info("wrote %s (%d variants)", args.out, len(curves))


def cmd_per_joint(args: argparse.Namespace) -> None:
    from hmr.errors import InputError
    from hmr.report.figures import per_joint_figure

    preds: dict[str, list[str]] = {}
    for v, p in _pairs(args.predictions, "--predictions").items():
        preds[v] = p.split(",")
    if not args.sequences:
        raise InputError("--sequences: no sequence given")
    per_joint_figure(args.sequences, preds, args.out, args.dataset)
    log.info("wrote %s", args.out)


def cmd_qualitative(args: argparse.Namespace) -> None:
    from hmr.report.figures import qualitative_figure

    set_torch_threads(args.threads)
    idx = qualitative_figure(args.sequence, _pairs(args.predictions, "--predictions"), args.body_model,
                             args.out, args.dataset, n_frames=args.n_frames, tile_width=args.tile_width)
    log.info("wrote %s (frames %s)", args.out, idx.tolist())


def register(add) -> None:
    """Add the report subcommands to the ``python -m hmr`` parser."""
    sp = add("report-tables", cmd_tables, "ablation tables (paper Tables 2 and 3) from metrics CSVs")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--metrics", nargs="+", required=True, metavar="VARIANT=CSV[,CSV...]",
                    help="each variant's metrics CSV, one per seed, comma-separated")
    sp.add_argument("--baselines", nargs="*", default=[], metavar="NAME=CSV", help="baselines on the same split")
    sp.add_argument("--train", nargs="*", default=[], metavar="NAME=CSV[,CSV...]",
                    help="metrics on training sequences (the generalisation gap)")
    sp.add_argument("--out-md", required=True)
    sp.add_argument("--out-csv", required=True)
    sp.add_argument("--out-paired", default=None, help="paired comparisons of full against each ablation (CSV)")

    sp = add("report-summary", cmd_summary, "summary.md: our ablations beside the paper's 3DPW numbers")
    sp.add_argument("--ablation", nargs="+", required=True, metavar="DATASET=CSV")
    sp.add_argument("--out", required=True)

    sp = add("report-accel", cmd_accel, "per-frame acceleration error of each variant (PNG)")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--sequence", required=True)
    sp.add_argument("--predictions", nargs="+", required=True, metavar="VARIANT=H5")
    sp.add_argument("--out", required=True)

    sp = add("report-per-joint", cmd_per_joint, "per-joint error of each variant (PNG)")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--sequences", nargs="+", required=True)
    sp.add_argument("--predictions", nargs="+", required=True, metavar="VARIANT=H5,H5,...",
                    help="per variant, its prediction files in the order of --sequences")
    sp.add_argument("--out", required=True)

    sp = add("report-qualitative", cmd_qualitative, "predicted meshes over frames beside ground truth (PNG)")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--sequence", required=True)
    sp.add_argument("--predictions", nargs="+", required=True, metavar="VARIANT=H5")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--n-frames", type=int, default=4)
    sp.add_argument("--tile-width", type=int, default=320)
    sp.add_argument("--out", required=True)
