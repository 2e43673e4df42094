"""Benchmark of the Pr-VIPE embedding stage on already rendered sequences (the default config's).

Runs the stage's own functions (no Snakemake): the pose pool from the train split (GT SMPL ->
COCO-17, plus the train split's detector keypoints), a probabilistic and a deterministic embedder
trained with the config's ``embedding`` section, and the cross-view retrieval evaluation on the
held-out splits (``results/models/embedding_eval.csv``'s table). Prints wall-clock times (pool,
each training) and the evaluation table as Markdown, per seed.

Detector keypoints: ``--keypoints-dir`` holding ``{seq}.h5`` of the train sequences (e.g.
``results/synthetic/keypoints``); missing files are computed there with the config's keypoints
backend for that dataset (mediapipe on the default config: about a minute per 100 frames on a
loaded CPU).

Usage: ``python benchmarks/bench_embedding.py --data data/synthetic
--body-model results/body_model/anny_smpl.pkl --keypoints-dir /tmp/kp [--seeds 0 1]``
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hmr.embedding.stages import (
    build_pool_file,
    evaluate_embedding_files,
    train_embedding_files,
)
from hmr.io.manifest import read_manifest


def detector_keypoints(config: dict, dataset: str, seqs: list[Path], folder: Path,
                       body_model: str) -> list[str]:
    """Keypoints files of ``seqs`` in ``folder``, computing the missing ones."""
    from hmr.keypoints.stage import run_keypoints

    kcfg = config["keypoints"]
    backend = kcfg.get("backend_by_dataset", {}).get(dataset, kcfg["backend"])
    out = []
    for seq in seqs:
        path = folder / f"{seq.stem}.h5"
        if not path.exists():
            t0 = time.perf_counter()
            run_keypoints(seq, path, backend, kcfg, seed=config["seed"], body_model=body_model)
            print(f"keypoints {seq.stem} [{backend}]: {time.perf_counter() - t0:.1f} s", flush=True)
        out.append(str(path))
    return out


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (floats with 3 decimals), without extra dependencies."""
    cells = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    head = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/synthetic", help="folder with the sequences + manifest.csv")
    ap.add_argument("--dataset", default="synthetic", help="its name in the config")
    ap.add_argument("--body-model", default="results/body_model/anny_smpl.pkl")
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--keypoints-dir", default=None, help="detector keypoints of the train split")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--steps", type=int, default=None, help="override embedding.train.steps")
    ap.add_argument("--detected-share", type=float, default=None,
                    help="override embedding.train.detected_share (0: clean projections only)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="write the combined table as CSV here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(args.config) as fh:
        config = yaml.safe_load(fh)
    cfg = copy.deepcopy(config["embedding"])
    if args.steps:
        cfg["train"]["steps"] = args.steps
    if args.detected_share is not None:
        cfg["train"]["detected_share"] = args.detected_share
    data = Path(args.data)
    manifest = read_manifest(data / "manifest.csv")
    split_of = dict(zip(manifest.seq, manifest.split))
    train = [data / f"{s}.h5" for s, sp in split_of.items() if sp == "train"]
    held = [str(data / f"{s}.h5") for s, sp in split_of.items() if sp in cfg["eval"]["splits"]]
    keypoints = None
    if float(cfg["train"]["detected_share"]) > 0 and args.keypoints_dir:
        folder = Path(args.keypoints_dir)
        folder.mkdir(parents=True, exist_ok=True)
        keypoints = detector_keypoints(config, args.dataset, train, folder, args.body_model)

    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0, c0 = time.perf_counter(), time.process_time()
        pool = build_pool_file(cfg, [str(p) for p in train], keypoints, args.body_model,
                               tmp / "pool.h5", seed=args.seeds[0])
        t_pool, c_pool = time.perf_counter() - t0, time.process_time() - c0
        print(f"pool: {len(pool)} poses ({int(pool.has_detected.sum())} with detections) "
              f"from {len(train)} train sequences in {t_pool:.1f} s wall ({c_pool:.1f} s CPU)", flush=True)
        for seed in args.seeds:
            models, times, cpu = {}, {}, {}
            for name, det in (("probabilistic", False), ("deterministic", True)):
                models[name] = str(tmp / f"{name}_{seed}.pt")
                t0 = time.perf_counter()
                meta = train_embedding_files(cfg, tmp / "pool.h5", models[name], tmp / f"{name}.csv",
                                             tmp / f"{name}.png", deterministic=det, seed=seed)
                times[name], cpu[name] = time.perf_counter() - t0, meta["cpu_seconds"]
                print(f"seed {seed}: {name} trained in {times[name]:.1f} s wall "
                      f"({cpu[name]:.1f} s CPU in the loop)", flush=True)
            rows = evaluate_embedding_files(cfg, models, held, args.body_model, tmp / "eval.csv", seed=seed)
            df = pd.DataFrame(rows)
            df.insert(0, "seed", seed)
            df["train_s"] = df.model.map(times)
            df["train_cpu_s"] = df.model.map(cpu)
            tables.append(df)
            print(markdown(df[["seed", "model", "retrieval", "kappa", "hit1", "hit10", "match_rate",
                               "top1_np_mpjpe", "mean_sigma", "sigma_error_spearman", "train_s",
                               "train_cpu_s"]]),
                  flush=True)
    table = pd.concat(tables, ignore_index=True)
    if len(args.seeds) > 1:
        agg = table.groupby(["model", "retrieval", "kappa"], sort=False)[
            ["hit1", "hit10", "sigma_error_spearman", "train_s", "train_cpu_s"]].agg(["mean", "std"])
        agg.columns = [f"{a} {b}" for a, b in agg.columns]
        print(markdown(agg.reset_index()))
    if args.out:
        table.to_csv(args.out, index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
