"""Throughput of the features stage vs the bare backbone forward (a script, not a test).

    .venv/bin/python benchmarks/bench_features.py [--sequence data/synthetic/test_000.h5]
        [--arch A] [--size S] [--batch B] [--threads N] [--rounds 3]

(defaults: config.yaml's features section, i.e. the stage's default settings)

Prints a markdown table of frames/s:
* the bare forward pass on one ready-made batch (already cropped and normalised), in fp32 NCHW,
  fp32 channels_last and bf16 autocast + channels_last;
* reading + cropping alone (HDF5 decompression, ``cv2.warpAffine``), no network;
* the whole stage (``extract_features``: stream, crop, normalise, forward, write) with and without
  the background prefetch thread (``prefetch: auto`` picks it when torch leaves a core free).
The stage should reach at least 90% of the bare forward at the same precision (I/O and cropping
must not be the bottleneck). Each figure is the median over ``--rounds`` interleaved rounds, per
wall-clock second and per CPU-second of the process (less disturbed by other processes).
Without ``--sequence`` (and no data/synthetic/test_000.h5) a 96-frame 320x240 sequence of random
frames with a moving box is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hmr.features.backbone import autocast, load_backbone, normalize_crops, use_bf16
from hmr.features.crop import crop_frames
from hmr.features.extract import (
    FeatureExtractor,
    extract_features,
    iter_crops,
    use_prefetch,
)
from hmr.io.sequence import Sequence, read_sequence, write_sequence

DEFAULT_SEQUENCE = Path("data/synthetic/test_000.h5")


def random_sequence(folder: Path, T: int = 96, width: int = 320, height: int = 240) -> Path:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (T, height, width, 3), dtype=np.uint8)
    t = np.arange(T)
    bbox = np.stack([width / 2 + 40 * np.sin(t / 10), height / 2 + np.zeros(T),
                     np.full(T, 60.0), np.full(T, 150.0)], 1).astype(np.float32)
    path = folder / "bench.h5"
    write_sequence(path, Sequence(name="bench", dataset="bench", fps=30.0, width=width, height=height,
                                  n_frames=T, frames=frames, bbox=bbox))
    return path


def time_it(fn, n_frames: int) -> tuple[float, float]:
    """Frames per wall-clock second and per CPU second of this process (all its threads): the
    second is less disturbed by other processes on a shared machine."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return n_frames / (time.perf_counter() - t), n_frames / (time.process_time() - c)


def main() -> None:
    import yaml

    cfg = yaml.safe_load(Path("config.yaml").read_text())["features"] if Path("config.yaml").exists() else {}
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequence", type=Path, default=None)
    p.add_argument("--arch", default=cfg.get("arch", "resnet18"), help="default: config.yaml's features.arch")
    p.add_argument("--size", type=int, default=cfg.get("input_size", 96), help="default: features.input_size")
    p.add_argument("--batch", type=int, default=cfg.get("batch_size", 32), help="default: features.batch_size")
    p.add_argument("--threads", type=int, default=cfg.get("threads", 1), help="default: features.threads")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import cv2

    cv2.setNumThreads(1)
    tmp = tempfile.TemporaryDirectory()
    seq_path = args.sequence or (DEFAULT_SEQUENCE if DEFAULT_SEQUENCE.exists() else random_sequence(Path(tmp.name)))
    seq = read_sequence(seq_path)
    T = seq.n_frames
    params = {"arch": args.arch, "input_size": args.size, "crop_scale": 1.2, "weights": None,
              "batch_size": args.batch, "precision": "auto", "channels_last": True, "device": "auto",
              "prefetch": True}
    ex = FeatureExtractor.from_params(params)
    net = load_backbone(args.arch).eval()
    net.load_state_dict(ex.net.state_dict())  # same weights for the bare-forward variants
    net_cl = load_backbone(args.arch).eval().to(memory_format=torch.channels_last)
    net_cl.load_state_dict(ex.net.state_dict())
    auto_bf16 = use_bf16("auto", torch.device("cpu"))

    from hmr.io.sequence import iter_frames

    frames = next(iter_frames(seq_path, args.batch))
    crops = crop_frames(frames, seq.bbox[:len(frames)], args.size, 1.2)
    x = normalize_crops(torch.from_numpy(crops)).contiguous()
    x_cl = x.contiguous(memory_format=torch.channels_last)
    n_batches = -(-T // args.batch)

    def bare(model, inp, bf16):
        def run():
            with torch.inference_mode(), autocast(torch.device("cpu"), bf16):
                for _ in range(n_batches):
                    model(inp)
        return run

    def io_only():
        for _ in iter_crops(seq_path, seq.bbox, T, args.size, 1.2, args.batch):
            pass

    out = Path(tmp.name) / "features.h5"

    def stage(prefetch):
        return lambda: extract_features(seq_path, out, {**params, "prefetch": prefetch}, extractor=ex)

    auto_prefetch = use_prefetch("auto", ex.device)
    default = {True: " (default)", False: ""}
    cases = {
        "bare forward, fp32 NCHW": bare(net, x, False),
        "bare forward, fp32 channels_last": bare(net_cl, x_cl, False),
        "bare forward, bf16 autocast + channels_last": bare(net_cl, x_cl, True),
        "read + crop only (no network)": io_only,
        f"stage, {ex.precision} channels_last, prefetch thread{default[auto_prefetch]}": stage(True),
        f"stage, {ex.precision} channels_last, no prefetch{default[not auto_prefetch]}": stage(False),
    }
    n_frames = {k: (n_batches * args.batch if k.startswith("bare") else T) for k in cases}
    for fn in cases.values():  # warm-up
        fn()
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            results[name].append(time_it(fn, n_frames[name]))
    wall = {k: statistics.median(w for w, _ in v) for k, v in results.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in results.items()}
    ref = "bare forward, bf16 autocast + channels_last" if ex.bf16 else "bare forward, fp32 channels_last"

    print(f"\nfeatures benchmark: {seq_path} ({T} frames {seq.width}x{seq.height}), {args.arch}@{args.size}, "
          f"batch {args.batch}, {args.threads} torch thread(s) of {len(os.sched_getaffinity(0))} cores, "
          f"native CPU bf16: {auto_bf16} -> the stage runs {ex.precision}; median of {args.rounds} rounds\n")
    print("| setting | frames/s (wall) | frames per CPU-second | stage / bare forward (wall, CPU) |")
    print("|---|---:|---:|---:|")
    for name in cases:
        ratio = (f"{100 * wall[name] / wall[ref]:.0f}%, {100 * cpu[name] / cpu[ref]:.0f}%"
                 if name.startswith("stage") else "")
        print(f"| {name} | {wall[name]:.1f} | {cpu[name]:.1f} | {ratio} |")
    tmp.cleanup()


if __name__ == "__main__":
    main()
