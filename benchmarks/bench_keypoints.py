"""Frames/s of each keypoints backend at the default settings (config.yaml) on this machine.

A measurement script, not a test. Times the whole stage per sequence (reading and streaming
frames, cropping, inference, mapping back), after one warm-up run; mmpose is reported as
unavailable unless its optional extra is installed (`make mmpose`); without a model config and
checkpoint in the config it times HRNet-W48 (256x192, the config in mmpose's wheel) with random
weights, which costs what the trained network costs (timing only; the keypoints are meaningless).

    .venv/bin/python benchmarks/bench_keypoints.py [--sequence data/synthetic/test_000.h5]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hmr.errors import InputError
from hmr.io.sequence import read_sequence
from hmr.keypoints.stage import BACKENDS, detect_sequence


def hrnet_random_fps(sequence: str, repeats: int) -> float:
    """Frames/s of the mmpose backend's HRNet-W48 (random weights) on a sequence's frames and boxes."""
    import mmpose

    from hmr.keypoints.mmpose_backend import MMPoseDetector

    config = next((Path(mmpose.__file__).parent / ".mim" / "configs").glob(
        "body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py"))
    det = MMPoseDetector(config, None, need_checkpoint=False)
    seq = read_sequence(sequence, load_frames=True)
    det.detect(seq.frames[:2], seq.bbox[:2])                    # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        det.detect(seq.frames, seq.bbox)
    return repeats * seq.n_frames / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sequence", default="data/synthetic/test_000.h5")
    p.add_argument("--body-model", default="results/body_model/anny_smpl.pkl")
    p.add_argument("--config", default="config.yaml")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()

    import torch
    import yaml

    torch.set_num_threads(1)  # as the rule runs it (keypoints.threads)
    with open(args.config) as fh:
        cfg = yaml.safe_load(fh)
    kp_cfg = cfg["keypoints"]
    seq = read_sequence(args.sequence)
    print(f"{args.sequence}: {seq.n_frames} frames {seq.width}x{seq.height}; "
          f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| backend | settings | frames/s |")
    print("|---|---|---|")
    for backend in BACKENDS:
        section = {"mediapipe": "mediapipe", "mmpose": "mmpose", "synthetic-detector": "simulated"}[backend]
        shown = {k: v for k, v in kp_cfg[section].items()
                 if k in ("input", "crop_size", "static_image_mode", "config", "noise_std")}
        try:
            if backend == "mmpose":  # say first whether the optional extra is there at all
                from hmr.keypoints.mmpose_backend import import_mmpose_apis

                import_mmpose_apis()
            if backend == "mmpose" and not (kp_cfg["mmpose"].get("config") and kp_cfg["mmpose"].get("checkpoint")):
                fps = f"{hrnet_random_fps(args.sequence, args.repeats):.1f}"
                shown = {"model": "HRNet-W48 256x192 from mmpose's wheel config, RANDOM weights (timing only)"}
                print(f"| {backend} | {shown} | {fps} |", flush=True)
                continue
            detect_sequence(args.sequence, backend, kp_cfg, seed=cfg["seed"], body_model=args.body_model)
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                detect_sequence(args.sequence, backend, kp_cfg, seed=cfg["seed"], body_model=args.body_model)
            fps = f"{args.repeats * seq.n_frames / (time.perf_counter() - t0):.1f}"
        except InputError as exc:
            fps = f"unavailable ({exc})"
        print(f"| {backend} | {shown} | {fps} |", flush=True)


if __name__ == "__main__":
    main()
