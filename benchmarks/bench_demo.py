"""Benchmark of the demo's two CPU-bound parts on a real video (default: videos/demo.mp4, the
sports2d example; ``make demo-video`` fetches it).

1. **Detection and tracking** (:func:`hmr.demo.stage.run_demo_track`, config.yaml's
   ``demo.track``): frames/s including video decoding, how many frames were detected by the
   full-frame detector, re-detected in a crop, or interpolated, and the box jitter (mean norm of
   the second difference of the box centre, pixels/frame^2) before and after smoothing. The
   tracked box is drawn on a contact sheet (``--preview``) to check that it stays on one person.
2. **Mesh rendering** (:func:`hmr.render.mesh_video.render_mesh_video` at ``demo.render``): frames/s
   of drawing a body-model mesh over every frame and encoding the video. The mesh is the body
   model's rest pose turned upright and placed on the tracked box (a stand-in for predictions:
   rendering cost does not depend on the pose), so the video shows placement, not a prediction.

Usage: ``python benchmarks/bench_demo.py [--video videos/demo.mp4] [--body-model PKL]
[--out-dir DIR]``; without ``--body-model`` it builds a small embedded model first (~15 s).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    from hmr.body.smpl import smpl_forward, smpl_layer
    from hmr.demo.export import render_settings
    from hmr.demo.stage import run_demo_track
    from hmr.io.sequence import read_sequence
    from hmr.render.mesh_video import render_mesh_video

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video", default=str(REPO / "videos" / "demo.mp4"))
    p.add_argument("--body-model", default=None)
    p.add_argument("--config", default=str(REPO / "config.yaml"))
    p.add_argument("--out-dir", default=None, help="keep the outputs here (default: a temp folder)")
    args = p.parse_args()
    demo = yaml.safe_load(Path(args.config).read_text())["demo"]
    out = Path(args.out_dir or tempfile.mkdtemp(prefix="bench_demo_"))
    out.mkdir(parents=True, exist_ok=True)

    r = run_demo_track(args.video, out / "seq.h5", out / "track.h5", out / "track.png", "demo", demo)
    seq = read_sequence(out / "seq.h5")
    t = seq.info["tracking"]
    print(f"video {args.video}: {seq.n_frames} frames {seq.width}x{seq.height} at {seq.fps:g} fps")
    print("| part | frames/s | notes |\n|---|---:|---|")
    print(f"| detection + tracking | {seq.n_frames / r.seconds:.1f} | detected {t['detected']}, "
          f"re-detected {t['re_detected']}, interpolated {t['interpolated']}; tracklets "
          f"{t['tracklets']}, chain {t['chain']}; jitter {t['jitter_raw_px']} -> "
          f"{t['jitter_smoothed_px']} px/frame^2 |")

    if args.body_model is None:
        from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle

        args.body_model = str(out / "anny_smpl.pkl")
        write_smpl_pickle(build_smpl_from_anny(n_shape_samples=40, seed=0), args.body_model)
    layer = smpl_layer(args.body_model)
    pose = np.zeros((1, 72))
    pose[0, 0] = np.pi                                      # upright in the camera's y-down frame
    verts, _ = smpl_forward(layer, pose, np.zeros(10))
    height = np.ptp(verts[0, :, 1])
    a = seq.bbox[:, 3] / 1.2 / height                        # the box is 1.2x the body
    b = seq.bbox[:, :2] - a[:, None] * verts[0, :, :2].mean(0)
    cam = np.c_[a, b]
    settings = render_settings(demo["render"])
    t0 = time.perf_counter()
    n = render_mesh_video(out / "seq.h5", lambda i, j: np.repeat(verts, j - i, 0),
                          np.asarray(layer.faces, np.int64), cam, seq.fps, out / "mesh.mp4",
                          out / "mesh_frames.png", settings)
    dt = time.perf_counter() - t0
    print(f"| mesh rendering + encoding ({settings.max_size or 'native'} px, "
          f"{len(layer.faces)} faces) | {n / dt:.1f} | stand-in mesh on the tracked box |")
    print(f"outputs in {out}")
    print(json.dumps({"track_fps": round(seq.n_frames / r.seconds, 2), "render_fps": round(n / dt, 2)}))


if __name__ == "__main__":
    main()
