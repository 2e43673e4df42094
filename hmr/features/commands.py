"""CLI subcommands of the features stage: ``pretrain-backbone`` and ``features`` (one sequence)."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import aligned, for_each_sequence, set_torch_threads

log = logging.getLogger("hmr")


def _threads(n: int) -> None:
    import cv2

    set_torch_threads(n)
    cv2.setNumThreads(1)  # the crops run beside the network; keep OpenCV off the torch threads


def cmd_pretrain_backbone(args: argparse.Namespace) -> None:
    from hmr.features.pretrain import pretrain_backbone

    _threads(args.threads)
    s = pretrain_backbone(args.train, args.val or [], args.body_model, json.loads(args.params),
                          seed=args.seed, out=args.out, log_csv=args.log_csv, plot=args.plot)
    f = s["final"]
    log.info("wrote %s (%d steps on %d crops, %.0f s): final loss %.4f, val MPJPE %.1f mm "
             "(mean pose %.1f mm), PA-MPJPE %.1f mm", args.out, s["steps"], s["train_crops"],
             s["seconds"], f.get("loss", float("nan")), f.get("val_mpjpe_mm", float("nan")),
             s["initial"].get("val_mpjpe_mm", float("nan")), f.get("val_pa_mpjpe_mm", float("nan")))


def cmd_features(args: argparse.Namespace) -> None:
    _threads(args.threads)
    params = json.loads(args.params)
    n = len(args.sequence)
    outs, keypoints = aligned("out", args.out, n), aligned("keypoints", args.keypoints, n)
    if params.get("source", "resnet") == "blazepose":       # no backbone: skip importing torch
        from hmr.features.landmarks import extract_landmark_features

        def one(i: int) -> None:
            s = extract_landmark_features(args.sequence[i], outs[i], params, keypoints[i])
            log.info("wrote %s: %d frames, %d-d (BlazePose landmarks)", outs[i], s["frames"], s["dim"])

        for_each_sequence(outs, one)
        return
    from hmr.features.extract import extract_features

    if args.weights:
        params["weights"] = args.weights
        params["weights_format"] = args.weights_format or params.get("weights_format", "spin")
    if not params.get("weights") and params.get("source", "resnet") != "blazepose":
        log.warning("no weights given (features.weights null, no --weights): RANDOM backbone weights")

    def one(i: int) -> None:
        s = extract_features(args.sequence[i], outs[i], params, keypoints=keypoints[i])
        log.info("wrote %s: %d frames, %d-d (%s, %.1f frames/s)", outs[i], s["frames"], s["dim"],
                 s["backbone"], s["frames"] / max(s["seconds"], 1e-9) if s["seconds"] else float("inf"))

    for_each_sequence(outs, one)


def register(add) -> None:
    """Add the features subcommands to the ``python -m hmr`` parser."""
    sp = add("pretrain-backbone", cmd_pretrain_backbone,
             "pretrain the feature backbone as a frame-based SMPL regressor (SPIN-style)")
    sp.add_argument("--train", nargs="+", required=True, help="training sequence files")
    sp.add_argument("--val", nargs="*", default=[], help="validation sequence files (errors in the log)")
    sp.add_argument("--body-model", required=True, help="SMPL-format model file")
    sp.add_argument("--params", required=True, help="the config's features section as JSON")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", required=True, help="checkpoint (SPIN format), e.g. results/models/backbone.pt")
    sp.add_argument("--log-csv", default=None)
    sp.add_argument("--plot", default=None)

    sp = add("features", cmd_features, "per-frame features f_t of one or more sequences")
    sp.add_argument("--sequence", nargs="+", required=True, help="sequence files data/{dataset}/{seq}.h5")
    sp.add_argument("--params", required=True, help="the config's features section as JSON")
    sp.add_argument("--weights", default=None, help="checkpoint (overrides features.weights)")
    sp.add_argument("--weights-format", default=None, choices=("spin", "torchvision"))
    sp.add_argument("--keypoints", nargs="+", default=None,
                    help="the sequences' keypoints files, same order (features.source blazepose / concat)")
    sp.add_argument("--out", nargs="+", required=True, help="one file per --sequence")
