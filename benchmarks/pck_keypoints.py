"""PCK@α of keypoint backends against the ground truth of a synthetic split (a measurement
script, not a test): runs each backend setting in-process on the split's sequence files and prints
one row per setting, with per-joint-group PCK, the detection rate, error statistics (errors as a
fraction of the box size max(w, h)) and frames/s.

    .venv/bin/python benchmarks/pck_keypoints.py --data data/synthetic --split test \
        --body-model results/body_model/anny_smpl.pkl
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hmr.body.joint_sets import COCO17_FLIP
from hmr.body.smpl import smpl_layer
from hmr.io.sequence import read_sequence
from hmr.keypoints.ground_truth import coco17_ground_truth
from hmr.keypoints.pck import pck_hits
from hmr.keypoints.stage import detect_sequence

GROUPS = {"head": (0, 1, 2, 3, 4), "shoulder": (5, 6), "elbow": (7, 8), "wrist": (9, 10),
          "hip": (11, 12), "knee": (13, 14), "ankle": (15, 16)}

SETTINGS = {
    "mediapipe crop256 track": ("mediapipe", {"mediapipe": {"input": "crop", "crop_size": 256, "static_image_mode": False}}),
    "mediapipe crop256 static": ("mediapipe", {"mediapipe": {"input": "crop", "crop_size": 256, "static_image_mode": True}}),
    "mediapipe crop192 track": ("mediapipe", {"mediapipe": {"input": "crop", "crop_size": 192, "static_image_mode": False}}),
    "mediapipe crop320 track": ("mediapipe", {"mediapipe": {"input": "crop", "crop_size": 320, "static_image_mode": False}}),
    "mediapipe frame track": ("mediapipe", {"mediapipe": {"input": "frame", "static_image_mode": False}}),
    "mediapipe frame static": ("mediapipe", {"mediapipe": {"input": "frame", "static_image_mode": True}}),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/synthetic")
    p.add_argument("--split", default="test")
    p.add_argument("--body-model", default="results/body_model/anny_smpl.pkl")
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--settings", nargs="*", default=None,
                   help=f"names among: {', '.join(SETTINGS)}, synthetic-detector (default: all)")
    p.add_argument("--calibrate", nargs="*", default=[],
                   help="settings whose errors to fit the simulated detector's parameters to")
    p.add_argument("--config", default="config.yaml", help="simulated-detector noise from here")
    args = p.parse_args()

    import yaml

    with open(args.config) as fh:
        cfg = yaml.safe_load(fh)
    settings = dict(SETTINGS)
    settings["synthetic-detector"] = ("synthetic-detector", {"simulated": cfg["keypoints"]["simulated"]})
    names = args.settings or list(settings)

    paths = sorted(Path(args.data).glob(f"{args.split}_*.h5"))
    layer = smpl_layer(args.body_model)
    gts = []
    for path in paths:
        seq = read_sequence(path)
        _, gt2d, vis = coco17_ground_truth(seq, layer, where=str(path))
        gts.append((path, gt2d, vis, seq.bbox))
    n_frames = sum(len(g[1]) for g in gts)
    print(f"{len(paths)} sequences, {n_frames} frames, {args.split} split of {args.data}; "
          f"PCK@{args.alpha} (threshold {args.alpha} * max(bbox w, h)), visible joints only")
    head = (f"| {'setting':26s} | PCK@{args.alpha:g} | PCK@{args.alpha / 2:g} | " + " | ".join(GROUPS) +
            " | detected | median err | err>0.3 | swaps | frames/s |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    calib = []
    for name in names:
        backend, params = settings[name]
        hits, hits2, vis_all, errs, swaps, det = [], [], [], [], [], []
        t0 = time.perf_counter()
        kps = [detect_sequence(path, backend, params, seed=cfg["seed"], body_model=args.body_model)["keypoints"]
               for path, *_ in gts]
        fps = n_frames / (time.perf_counter() - t0)
        for kp, (path, gt2d, vis, bbox) in zip(kps, gts):
            hits.append(pck_hits(kp, gt2d, vis, bbox, args.alpha))
            hits2.append(pck_hits(kp, gt2d, vis, bbox, args.alpha / 2))
            vis_all.append(vis)
            size = np.maximum(bbox[:, 2], bbox[:, 3])[:, None]
            e_own = np.linalg.norm(kp[..., :2] - gt2d, axis=-1) / size
            e_flip = np.linalg.norm(kp[..., :2] - gt2d[:, list(COCO17_FLIP)], axis=-1) / size
            m = vis & (kp[..., 2] > 0)
            errs.append(e_own[m])
            side = np.array([j != COCO17_FLIP[j] for j in range(17)])
            swaps.append(((e_flip < 0.5 * e_own) & (e_own > args.alpha))[m & side[None]])
            det.append(m[vis])
        h, v = np.concatenate(hits), np.concatenate(vis_all)
        e = np.concatenate(errs)
        cells = [f"{h[:, list(ix)].sum() / v[:, list(ix)].sum():.3f}" for ix in GROUPS.values()]
        h2 = np.concatenate(hits2)
        print(f"| {name:26s} | {h.sum() / v.sum():.3f} | {h2.sum() / v.sum():.3f} | " + " | ".join(cells) +
              f" | {np.concatenate(det).mean():.3f} | {np.median(e):.4f} | {(e > 0.3).mean():.3f}"
              f" | {np.concatenate(swaps).mean():.3f} | {fps:.1f} |", flush=True)
        if name in args.calibrate:
            calib.append((name, calibrate(kps, gts, args.alpha)))
    for name, fitted in calib:
        print(f"simulated-detector parameters fitted to {name}: " +
              ", ".join(f"{k}: {v:.4g}" for k, v in fitted.items()))


def calibrate(kps, gts, alpha: float) -> dict[str, float]:
    """Simulated-detector parameters that match a backend's errors (box-size units): inliers are
    detections within ``alpha`` of their own joint; jitter std is the robust (MAD) per-axis std of
    inlier errors, its correlation the lag-1 autocorrelation of inlier errors over frames; swaps
    are misses nearer (by 2x) to the mirrored joint, per left/right pair and frame; outliers are
    the other misses, their scale 4/3 of their median length (lengths are U[0.5, 1] * scale);
    dropout is the share of visible joints reported with confidence 0."""
    side = [j for j in range(17) if j != COCO17_FLIP[j]]
    out_len = []
    inl, lag0, lag1, n_out, n_swap, n_pairs, n_det, n_drop = [], 0.0, 0.0, 0, 0, 0, 0, 0
    for kp, (path, gt2d, vis, bbox) in zip(kps, gts):
        size = np.maximum(bbox[:, 2], bbox[:, 3])[:, None, None]
        e = (kp[..., :2] - gt2d) / size
        e_flip = np.linalg.norm(kp[..., :2] - gt2d[:, list(COCO17_FLIP)], axis=-1) / size[..., 0]
        r = np.linalg.norm(e, axis=-1)
        det = vis & (kp[..., 2] > 0)
        n_drop += int((vis & ~det).sum())
        n_det += int(det.sum())
        ok = det & (r <= alpha)
        inl.append(e[ok])
        both = ok[1:] & ok[:-1]
        c = e - np.where(ok[..., None], e, 0).sum(0) / np.maximum(ok.sum(0), 1)[:, None]
        lag0 += float((c[1:][both] ** 2).sum())
        lag1 += float((c[1:][both] * c[:-1][both]).sum())
        swap = det & (r > alpha) & (e_flip < 0.5 * r)
        n_swap += int(swap[:, side].sum()) // 2
        n_pairs += int((vis[:, side]).sum()) // 2
        n_out += int((det & (r > alpha) & ~swap).sum())
        out_len.append(r[det & (r > alpha) & ~swap])
    x = np.concatenate(inl).ravel()
    return {"noise_std": 1.4826 * float(np.median(np.abs(x - np.median(x)))),
            "noise_corr": lag1 / max(lag0, 1e-12), "outlier_prob": n_out / max(n_det, 1),
            "outlier_scale": float(np.median(np.concatenate(out_len))) * 4 / 3 if n_out else 0.0,
            "swap_prob": n_swap / max(n_pairs, 1), "dropout_prob": n_drop / max(n_det + n_drop, 1)}


if __name__ == "__main__":
    main()
