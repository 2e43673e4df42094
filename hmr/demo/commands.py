"""CLI subcommands of the demo: ``demo-track`` (video -> sequence file with the tracked box),
``demo-export`` (predictions -> mesh.mp4, smpl.npz, .bvh), ``demo-alignment`` (how well the
mesh lies on BlazePose's landmarks) and ``fetch-demo-video``."""

from __future__ import annotations

import argparse
import json
import logging

from hmr.cli import set_torch_threads

log = logging.getLogger("hmr")


def cmd_track(args: argparse.Namespace) -> None:
    from hmr.demo.stage import run_demo_track

    r = run_demo_track(args.video, args.out_sequence, args.out_track, args.out_preview,
                       dataset=args.dataset, params=json.loads(args.params), name=args.name)
    log.info("wrote %s: %d frames, %.1f frames/s for detection and tracking", args.out_sequence,
             r.n_frames, r.n_frames / max(r.seconds, 1e-9))


def cmd_export(args: argparse.Namespace) -> None:
    from hmr.demo.export import export_demo

    set_torch_threads(args.threads)
    export_demo(args.sequence, args.predictions, args.body_model, args.out_npz, args.out_bvh,
                args.out_video, args.out_sheet, json.loads(args.params))


def cmd_alignment(args: argparse.Namespace) -> None:
    from hmr.demo.alignment import run_demo_alignment

    run_demo_alignment(args.smpl, args.track, args.out_csv, args.out_json,
                       min_visibility=args.min_visibility, threshold=args.threshold)


def cmd_fetch(args: argparse.Namespace) -> None:
    from hmr.demo.fetch import fetch_demo_video

    fetch_demo_video(args.out, version=args.version)


def register(add) -> None:
    """Add the demo subcommands to the ``python -m hmr`` parser."""
    from hmr.demo.fetch import SPORTS2D_VERSION

    sp = add("demo-track", cmd_track, "detect and track one person in a video -> sequence file with bbox")
    sp.add_argument("--video", required=True)
    sp.add_argument("--dataset", required=True, help="dataset name written into the sequence file")
    sp.add_argument("--name", default=None, help="sequence name (default: the video's file stem)")
    sp.add_argument("--params", required=True, help="the config's demo section as JSON")
    sp.add_argument("--out-sequence", required=True)
    sp.add_argument("--out-track", required=True)
    sp.add_argument("--out-preview", default=None, help="PNG of frames with the tracked box")

    sp = add("demo-export", cmd_export, "predictions -> mesh.mp4, smpl.npz and a BVH of the motion")
    sp.add_argument("--sequence", required=True)
    sp.add_argument("--predictions", required=True)
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--params", required=True, help="the config's demo section as JSON")
    sp.add_argument("--out-npz", required=True)
    sp.add_argument("--out-bvh", required=True)
    sp.add_argument("--out-video", default=None)
    sp.add_argument("--out-sheet", default=None, help="PNG of some rendered frames")

    from hmr.demo.alignment import GOOD_THRESHOLD, MIN_VISIBILITY

    sp = add("demo-alignment", cmd_alignment,
             "predicted 2D joints vs BlazePose's landmarks per frame -> alignment CSV and JSON summary")
    sp.add_argument("--smpl", required=True, help="the demo's smpl.npz")
    sp.add_argument("--track", required=True, help="the demo's track.h5 (BlazePose landmarks)")
    sp.add_argument("--out-csv", required=True, help="per-frame scores")
    sp.add_argument("--out-json", required=True, help="summary over frames")
    sp.add_argument("--min-visibility", type=float, default=MIN_VISIBILITY,
                    help="landmarks below this BlazePose visibility are ignored")
    sp.add_argument("--threshold", type=float, default=GOOD_THRESHOLD,
                    help="the summary's share of frames under this score")

    sp = add("fetch-demo-video", cmd_fetch,
             "extract the sports2d demo video from its wheel (pip download --no-deps; nothing installed)")
    sp.add_argument("--out", default="videos/demo.mp4")
    sp.add_argument("--version", default=SPORTS2D_VERSION, help="sports2d release to take it from")
