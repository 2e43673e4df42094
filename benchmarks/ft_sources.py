"""Which f_t generalises: the regressor trained with each ``features.source`` choice, scored on the
val split (never on test), with the cost of computing f_t.

Sources compared (``--sources``):

* ``blazepose``: BlazePose's 33 world + image landmarks and visibility from the keypoints stage
  (198-d, no backbone; a detector trained on real images);
* ``resnet``: the DAG's SPIN-style ResNet-18 pretrained from random weights on the ``pretrain``
  split (disjoint from the regressor's training sequences);
* ``imagenet``: EfficientNet-Lite0 initialised from ImageNet (weights from a registry package),
  then the same pretraining;
* ``concat``: resnet and blazepose side by side; ``imagenet+blazepose`` likewise.

It reads a finished (or partly finished) default DAG's files: ``data/<dataset>/`` (the pretrain,
train and val sequences), ``results/<dataset>/keypoints|embedding|dynamics/`` and
``results/models/embedding.pt``; it writes everything else under ``--work`` (backbones, features,
models, predictions), one process, so that the per-job start-up of the DAG does not count. Each
source trains the same variant with the same config and seed; the table is printed and written to
``--out`` (Markdown) and ``--out-csv``.

Usage: ``python benchmarks/ft_sources.py [--config config.yaml] [--dataset synthetic]
[--sources blazepose resnet imagenet concat] [--variant full] [--steps N] [--work /tmp/ft_sources]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hmr.cli import set_torch_threads  # noqa: E402
from hmr.io.h5 import read_array, write_arrays  # noqa: E402

BACKBONES = {"resnet": {"arch": "resnet18", "pretrain": {"init": "random"}},
             "imagenet": {"arch": "efficientnet_lite0", "pretrain": {"init": "imagenet"}}}


def names(root: Path, split: str) -> list[str]:
    return sorted(p.stem for p in (root / "data" / DATASET).glob(f"{split}_*.h5"))


def pretrain(source: str, cfg: dict, work: Path, seed: int) -> tuple[Path, float]:
    from hmr.features.pretrain import pretrain_backbone

    out = work / f"backbone_{source}.pt"
    seconds_file = out.with_suffix(".seconds")
    if out.exists():
        return out, float(seconds_file.read_text()) if seconds_file.exists() else float("nan")
    params = copy.deepcopy(cfg["features"])
    params["arch"] = BACKBONES[source]["arch"]
    params["pretrain"].update(BACKBONES[source]["pretrain"])
    train = [str(ROOT / "data" / DATASET / f"{n}.h5") for n in names(ROOT, "pretrain")]
    if not train:
        raise SystemExit(f"no pretrain_* sequences in {ROOT / 'data' / DATASET}: render them first "
                         "(datasets.<d>.splits.pretrain > 0)")
    val = [str(ROOT / "data" / DATASET / f"{n}.h5") for n in names(ROOT, "val")] if VAL_LOG else []
    t0 = time.perf_counter()
    pretrain_backbone(train, val, str(ROOT / BODY), params, seed, str(out))
    seconds_file.write_text(f"{time.perf_counter() - t0:.1f}")
    return out, time.perf_counter() - t0


def backbone_features(source: str, cfg: dict, work: Path, seqs: list[str], weights: Path) -> tuple[dict, float]:
    from hmr.features.extract import FeatureExtractor, extract_features

    params = copy.deepcopy(cfg["features"])
    params.update(source="resnet", arch=BACKBONES[source]["arch"], weights=str(weights), weights_format="spin")
    ex = FeatureExtractor.from_params(params, str(weights), "spin")
    folder = work / source
    folder.mkdir(parents=True, exist_ok=True)
    frames, t0 = 0, time.perf_counter()
    out = {}
    for n in seqs:
        path = folder / f"{n}.h5"
        if not path.exists():
            frames += extract_features(ROOT / "data" / DATASET / f"{n}.h5", path, params, extractor=ex)["frames"]
        out[n] = path
    return out, (time.perf_counter() - t0) / max(frames, 1)


def concat_features(name: str, parts: list[dict], work: Path, seqs: list[str]) -> dict:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in seqs:
        path = folder / f"{n}.h5"
        if not path.exists():
            f = np.concatenate([read_array(p[n], "features", shape=(None, None), dtype_kind="f") for p in parts], 1)
            write_arrays(path, {"features": f.astype(np.float32)}, attrs={"source": name, "crop_scale": 1.2})
        out[n] = path
    return out


def train_and_score(name: str, feats: dict, cfg: dict, work: Path, variant: str, seed: int) -> dict:
    from hmr.eval.evaluate import evaluate_files
    from hmr.model.variants import get_variant
    from hmr.train.stage import predict_files, train_regressor_files

    v = get_variant(variant)
    res = ROOT / "results" / DATASET
    train, val = names(ROOT, "train"), names(ROOT, "val")
    seq = lambda n: str(ROOT / "data" / DATASET / f"{n}.h5")  # noqa: E731
    model = work / f"regressor_{name}.pt"
    t0 = time.perf_counter()
    if not model.exists():
        train_regressor_files(
            cfg["regressor"], variant, [seq(n) for n in train], [str(feats[n]) for n in train], str(ROOT / BODY),
            model, work / f"regressor_{name}_log.csv", work / f"regressor_{name}.png",
            embeddings=[str(res / "embedding" / f"{n}.h5") for n in train] if v.needs_embedding else None,
            dynamics=[str(res / "dynamics" / f"{n}.h5") for n in train] if v.use_d else None,
            embedding_model=str(ROOT / "results/models/embedding.pt") if v.unc_loss else None,
            seed=seed, device="cpu", progress=False)
    seconds = time.perf_counter() - t0
    preds = []
    for n in val:
        out = work / "predictions" / name / f"{n}.h5"
        out.parent.mkdir(parents=True, exist_ok=True)
        emb = res / "embedding" / f"{n}.h5"
        predict_files(str(model), [seq(n)], [str(feats[n])], str(ROOT / BODY), [out],
                      embeddings=[str(emb)] if emb.exists() or v.use_u else None,
                      dynamics=[str(res / "dynamics" / f"{n}.h5")] if v.use_d else None)
        preds.append(str(out))
    m = evaluate_files([seq(n) for n in val], preds, str(ROOT / BODY), work / f"val_{name}.csv").iloc[-1]
    return {"pa_mpjpe": m.pa_mpjpe, "mpjpe": m.mpjpe, "orient_err": m.orient_err, "accel_err": m.accel_err,
            "train_s": seconds}


def write_table(df: pd.DataFrame, out: str | None, out_csv: str | None, header: str, row) -> None:
    """Print ``df``; write it as CSV to ``out_csv`` and as Markdown to ``out`` (``header`` lines, then
    ``row(r)`` per row), each when given."""
    print(df.to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    if out_csv:
        df.to_csv(out_csv, index=False, float_format="%.3f")
    if out:
        Path(out).write_text("\n".join([header] + [row(r) for r in df.itertuples()]) + "\n")


def main() -> None:
    global ROOT, DATASET, BODY, VAL_LOG
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config.yaml"))
    ap.add_argument("--root", default=str(REPO), help="the DAG's working directory")
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--sources", nargs="+", default=["blazepose", "resnet", "imagenet", "concat"])
    ap.add_argument("--variant", default="full")
    ap.add_argument("--steps", type=int, default=None, help="regressor steps (default: the config's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="/tmp/ft_sources")
    ap.add_argument("--pretrain-only", action="store_true",
                    help="only pretrain the backbones (needs the pretrain split alone; no val errors in their logs)")
    ap.add_argument("--out", default=None, help="Markdown table")
    ap.add_argument("--out-csv", default=None)
    args = ap.parse_args()
    ROOT, DATASET, BODY = Path(args.root), args.dataset, "results/body_model/anny_smpl.pkl"
    VAL_LOG = not args.pretrain_only
    set_torch_threads(args.threads)
    cfg = yaml.safe_load(open(args.config))
    if args.steps:
        cfg["regressor"]["train"]["steps"] = args.steps
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.pretrain_only:
        for source in {p for s in args.sources for p in s.replace("concat", "resnet+blazepose").split("+")} & set(BACKBONES):
            print(source, "pretrained in %.0f s" % pretrain(source, cfg, work, int(cfg["seed"]))[1], flush=True)
        return
    seqs = names(ROOT, "train") + names(ROOT, "val")
    blaze = {n: ROOT / "results" / DATASET / "features" / f"{n}.h5" for n in seqs}
    feats: dict[str, dict] = {"blazepose": blaze}
    cost = {"blazepose": float("nan")}       # the keypoints stage computes the landmarks anyway
    pre_s: dict[str, float] = {}
    rows = []
    for source in args.sources:
        for part in source.replace("concat", "resnet+blazepose").split("+"):
            if part in BACKBONES and part not in feats:
                weights, pre_s[part] = pretrain(part, cfg, work, int(cfg["seed"]))
                feats[part], cost[part] = backbone_features(part, cfg, work, seqs, weights)
        parts = source.replace("concat", "resnet+blazepose").split("+")
        f = feats[parts[0]] if len(parts) == 1 else concat_features(source.replace("+", "_"), [feats[p] for p in parts], work, seqs)
        r = train_and_score(source.replace("+", "_"), f, cfg, work, args.variant, int(cfg["seed"]))
        r.update(source=source, dim=int(read_array(f[seqs[0]], "features", shape=(None, None), dtype_kind="f").shape[1]),
                 pretrain_s=sum(pre_s.get(p, 0.0) for p in parts if p in BACKBONES),
                 ms_per_frame=sum(1000 * cost.get(p, 0.0) for p in parts if p in BACKBONES))
        rows.append(r)
        print(json.dumps(r), flush=True)
    df = pd.DataFrame(rows)[["source", "dim", "pa_mpjpe", "mpjpe", "orient_err", "accel_err", "pretrain_s",
                             "ms_per_frame", "train_s"]]
    write_table(df, args.out, args.out_csv,
                "| f_t source | D | PA-MPJPE | MPJPE | Orient (°) | Accel | backbone pretraining (s) | f_t ms/frame "
                "| regressor training (s) |\n|:---|---:|---:|---:|---:|---:|---:|---:|---:|",
                lambda r: f"| `{r.source}` | {r.dim} | {r.pa_mpjpe:.1f} | {r.mpjpe:.1f} | {r.orient_err:.1f} | "
                          f"{r.accel_err:.1f} | {r.pretrain_s:.0f} | {r.ms_per_frame:.1f} | {r.train_s:.0f} |")


if __name__ == "__main__":
    main()
