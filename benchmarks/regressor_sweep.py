"""Regressor settings compared on the val split: how the defaults of ``regressor.model`` /
``regressor.train`` and the number of training sequences were chosen (decisions on val, claims on
test).

Each try trains the ``--variant`` (default ``full``) on the first N training sequences of a finished
default DAG (its ``data/`` and ``results/<dataset>/{features,embedding,dynamics}``; the default
target does not make the val split's, so the script names the ``snakemake`` command that does) with the config's ``regressor`` section plus the try's overrides, predicts the val split
and scores it. One process, one torch thread: two sweeps may run side by side on two cores.

    python benchmarks/regressor_sweep.py [--tries base cosine gru128 ...] [--work /tmp/regressor_sweep]

Prints a table (and writes ``--out`` Markdown / ``--out-csv``). Try names and their overrides are in
``TRIES`` below; ``train_seqs`` None = every training sequence.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import ft_sources  # noqa: E402
from hmr.cli import set_torch_threads  # noqa: E402

# name: (overrides of the regressor section, number of training sequences or None for all)
OLD = {"train": {"lr_schedule": "constant"}, "model": {"gru_hidden": 256}}   # the defaults before
TRIES: dict[str, tuple[dict, int | None]] = {
    "base": (OLD, None),
    "noise0.3": ({"train": {"lr_schedule": "constant", "feature_noise": 0.3}, "model": {"gru_hidden": 256}}, None),
    "cosine": ({"train": {"lr_schedule": "cosine"}, "model": {"gru_hidden": 256}}, None),
    "cosine+noise0.3+dropout0.3": ({"train": {"lr_schedule": "cosine", "feature_noise": 0.3},
                                    "model": {"gru_hidden": 256, "dropout": 0.3}}, None),
    "cosine+1000steps": ({"train": {"lr_schedule": "cosine", "steps": 1000}, "model": {"gru_hidden": 256}}, None),
    "cosine+gru64": ({"train": {"lr_schedule": "cosine"}, "model": {"gru_hidden": 64}}, None),
    "cosine+gru128": ({"train": {"lr_schedule": "cosine"}, "model": {"gru_hidden": 128}}, None),
    "cosine+gru128+mlp256": ({"train": {"lr_schedule": "cosine"},
                              "model": {"gru_hidden": 128, "regressor_hidden": 256}}, None),
    "cosine+gru128+1000steps": ({"train": {"lr_schedule": "cosine", "steps": 1000},
                                 "model": {"gru_hidden": 128}}, None),
    "cosine+gru128, 32 seqs": ({"train": {"lr_schedule": "cosine"}, "model": {"gru_hidden": 128}}, 32),
    "cosine+gru128, 64 seqs": ({"train": {"lr_schedule": "cosine"}, "model": {"gru_hidden": 128}}, 64),
    # cheaper trainings against the current defaults (256 training sequences): the DAG-time budget
    "defaults": ({}, None),
    "400 steps": ({"train": {"steps": 400}}, None),
    "300 steps": ({"train": {"steps": 300}}, None),
    "mlp256": ({"model": {"regressor_hidden": 256}}, None),
    "mlp256, 400 steps": ({"model": {"regressor_hidden": 256}, "train": {"steps": 400}}, None),
    "batch 16": ({"train": {"batch_size": 16}}, None),
    "batch 16, 800 steps": ({"train": {"batch_size": 16, "steps": 800}}, None),
    "defaults, 256 seqs": ({}, 256),
    "batch 16, 256 seqs": ({"train": {"batch_size": 16}}, 256),
    "1000 steps, 256 seqs": ({"train": {"steps": 1000}}, 256),
    "defaults, 512 seqs": ({}, 512),
    "900 steps, 512 seqs": ({"train": {"steps": 900}}, 512),
    "batch 16, 512 seqs": ({"train": {"batch_size": 16}}, 512),
    "defaults, 768 seqs": ({}, 768),
    "400 steps, 768 seqs": ({"train": {"steps": 400}}, 768),
    "900 steps, 768 seqs": ({"train": {"steps": 900}}, 768),
}


def merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) else v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--root", default=str(REPO), help="the DAG's working directory")
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--tries", nargs="+", default=list(TRIES), choices=list(TRIES))
    ap.add_argument("--variant", default="full")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--work", default="/tmp/regressor_sweep")
    ap.add_argument("--out", default=None, help="Markdown table")
    ap.add_argument("--out-csv", default=None)
    args = ap.parse_args()
    set_torch_threads(args.threads)
    F = ft_sources
    F.ROOT, F.DATASET, F.BODY, F.VAL_LOG = Path(args.root), args.dataset, "results/body_model/anny_smpl.pkl", True
    cfg = yaml.safe_load(open(args.config))
    all_names = F.names
    missing = [f"results/{args.dataset}/{stage}/{n}.h5" for n in all_names(F.ROOT, "val")
               for stage in ("features", "embedding", "dynamics")
               if not (F.ROOT / "results" / args.dataset / stage / f"{n}.h5").exists()]
    if missing:
        raise SystemExit(f"{len(missing)} val-split stage files missing; make them first: "
                         f"snakemake --cores all {' '.join(missing)}")
    rows = []
    for name in args.tries:
        over, n_train = TRIES[name]
        run_cfg = copy.deepcopy(cfg)
        run_cfg["regressor"] = merge(cfg["regressor"], over)
        F.names = (lambda root, split, n=n_train: all_names(root, split)[:n] if split == "train" else all_names(root, split))
        seqs = F.names(F.ROOT, "train") + F.names(F.ROOT, "val")
        feats = {n: F.ROOT / "results" / args.dataset / "features" / f"{n}.h5" for n in seqs}
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        tag = name.replace(" ", "").replace(",", "_").replace("+", "_")
        r = F.train_and_score(tag, feats, run_cfg, work, args.variant, int(cfg["seed"]))
        r.update(name=name, train_seqs=len(F.names(F.ROOT, "train")), overrides=json.dumps(over))
        rows.append(r)
        print(json.dumps(r), flush=True)
    F.names = all_names
    df = pd.DataFrame(rows)[["name", "train_seqs", "pa_mpjpe", "mpjpe", "orient_err", "accel_err", "train_s"]]
    F.write_table(df, args.out, args.out_csv,
                  "| try | training sequences | PA-MPJPE | MPJPE | Orient (°) | Accel | training (s) |\n"
                  "|:---|---:|---:|---:|---:|---:|---:|",
                  lambda r: f"| {r.name} | {r.train_seqs} | {r.pa_mpjpe:.1f} | {r.mpjpe:.1f} | {r.orient_err:.1f} | "
                            f"{r.accel_err:.1f} | {r.train_s:.0f} |")

if __name__ == "__main__":
    main()
