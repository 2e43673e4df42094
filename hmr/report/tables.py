"""The paper's ablation tables regenerated from our metrics CSVs, and the summary beside 3DPW.

Input: ``results/{dataset}/metrics/{run}.csv`` with columns ``seq, n_frames, mpjpe, pa_mpjpe,
mpvpe, accel_err`` (mm) and ``orient_err`` (degrees, optional), one row per sequence and a final
row with ``seq = mean``. A variant has one or more runs (seeds: ``full``, ``full-s1``, ...); its
table row is the mean over its runs of their ``mean`` rows, with the standard deviation over runs.

Outputs:

* ``results/tables/ablation_{dataset}.csv``: one row per (table, variant) with ``table``,
  ``variant``, ``label``, ``n_seeds``, ``n_sequences``, ``n_frames``, each metric (mean over seeds),
  ``<metric>_std`` (sample std over seeds; NaN with one seed) and ``best_<metric>`` (True where the
  variant has the lowest value of that table, compared at the one decimal shown; ties are all
  marked); then the ``baselines`` rows (constant mean pose, per-frame f_t only) and the
  ``train_split`` rows (the same models scored on training sequences: the generalisation gap);
* ``results/tables/paired_{dataset}.csv``: full against each ablation, per metric, paired over the
  test sequences (:func:`paired_comparisons`): mean difference, 95% interval, verdict;
* ``results/tables/ablation_{dataset}.md``: all of it as Markdown, best values in bold;
* ``results/tables/summary.md``: every dataset's rows next to the paper's 3DPW numbers, then
  other published 3DPW results, all labelled as different data.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hmr import __version__
from hmr.errors import InputError
from hmr.io.atomic import atomic_path
from hmr.report.paper import (
    ABLATIONS,
    BASELINES,
    METRICS,
    OUR_METRICS,
    PAPER_ABLATION_3DPW,
    PUBLISHED_3DPW,
    PUBLISHED_NOTE,
    VARIANT_LABELS,
)

METRIC_COLUMNS = ("seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err")
# metrics whose mean may be NaN: MPVPE is not computed when the ground-truth SMPL parameters are
# not in the body model's shape space (e.g. 3DPW with the embedded body model), the orientation
# error without ground-truth SMPL poses (and absent from older CSVs); shown as "-"
OPTIONAL_METRICS = ("mpvpe", "orient_err")
DECIMALS = 1


def read_metrics(path: str | os.PathLike) -> pd.DataFrame:
    """A variant's metrics CSV, checked: required columns (others are ignored), numbers, a final
    ``mean`` row with a value for every metric but those of :data:`OPTIONAL_METRICS` (MPVPE), which
    may be NaN."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: metrics file not found")
    try:
        df = pd.read_csv(path, dtype={"seq": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc.__class__.__name__})") from None
    missing = [c for c in METRIC_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    if "orient_err" not in df.columns:
        df["orient_err"] = np.nan
    if len(df) == 0 or df["seq"].iloc[-1] != "mean":
        raise InputError(f"{path}: the last row must be the 'mean' row")
    try:
        values = df[[m for m, _ in OUR_METRICS] + ["n_frames"]].astype(np.float64).to_numpy()
    except ValueError:
        raise InputError(f"{path}: non-numeric metric values") from None
    bad = [name for (m, name), v in zip(OUR_METRICS, values[-1])
           if not np.isfinite(v) and not (m in OPTIONAL_METRICS and np.isnan(v))]
    if bad:   # a single sequence may lack a metric (e.g. too short for accel); the mean may not
        raise InputError(f"{path}: the mean row has no value for {', '.join(bad)}")
    return df


def _runs(value: pd.DataFrame | Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    return [value] if isinstance(value, pd.DataFrame) else list(value)


def _row(table: str, name: str, label: str, runs: list[pd.DataFrame]) -> dict[str, Any]:
    """One table row: the mean (and std) over runs of each run's ``mean`` row."""
    means = pd.DataFrame([df.iloc[-1] for df in runs])
    row: dict[str, Any] = {"table": table, "variant": name, "label": label, "n_seeds": len(runs),
                           "n_sequences": len(runs[0]) - 1, "n_frames": int(means["n_frames"].iloc[0])}
    for m, _ in OUR_METRICS:
        v = means[m].astype(np.float64).to_numpy()
        row[m] = float(v.mean()) if np.isfinite(v).all() else float("nan")
        row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 and np.isfinite(v).all() else float("nan")
    return row


def ablation_table(metrics: Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]],
                   baselines: Mapping[str, pd.DataFrame] | None = None,
                   train: Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]] | None = None) -> pd.DataFrame:
    """Rows of both ablation tables from each variant's runs (``variant -> DataFrame or list``),
    then the ``baselines`` rows (``baseline_<kind> -> DataFrame``) and the ``train_split`` rows
    (``name -> DataFrame(s)`` scored on training sequences)."""
    rows = []
    for table, (_, variants) in ABLATIONS.items():
        missing = [v for v in variants if v not in metrics]
        if missing:
            raise InputError(f"{table}: no metrics for variant(s) {', '.join(missing)}")
        block = [_row(table, v, VARIANT_LABELS[v], _runs(metrics[v])) for v in variants]
        for m, _ in OUR_METRICS:
            shown = np.round([r[m] for r in block], DECIMALS)
            best = np.nanmin(shown) if np.isfinite(shown).any() else np.nan
            for r, s in zip(block, shown):
                r[f"best_{m}"] = bool(s == best)
        rows += block
    for name, df in (baselines or {}).items():
        rows.append(_row("baselines", name, BASELINES.get(name, name), _runs(df)))
    for name, df in (train or {}).items():
        label = BASELINES.get(name, VARIANT_LABELS.get(name, name))
        rows.append(_row("train_split", name, f"{label}, on training sequences", _runs(df)))
    return pd.DataFrame(rows)


def _t975(dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def paired_comparisons(metrics: Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]],
                       reference: str = "full") -> pd.DataFrame:
    """The reference variant against every other variant of the ablation tables, per metric.

    Paired over the test sequences: for each sequence, the metric averaged over each variant's
    seeds, then the difference (variant - reference); the row holds the mean difference over
    sequences and its 95% t-interval. ``verdict``: ``holds`` when the interval lies above 0 (the
    ablation is worse, as the paper reports for every row of Tables 2 and 3), ``reversed`` when it
    lies below 0, else ``not resolved``."""
    def per_seq(runs: list[pd.DataFrame], m: str) -> pd.Series:
        return pd.concat([df.iloc[:-1].set_index("seq")[m].astype(np.float64) for df in runs], axis=1).mean(1)

    ref = _runs(metrics[reference])
    rows = []
    for table, (_, variants) in ABLATIONS.items():
        for v in variants:
            if v == reference or v not in metrics:
                continue
            runs = _runs(metrics[v])
            for m, name in OUR_METRICS:
                d = (per_seq(runs, m) - per_seq(ref, m)).dropna()
                n = len(d)
                mean = float(d.mean()) if n else float("nan")
                half = _t975(n - 1) * float(d.std(ddof=1)) / np.sqrt(n) if n > 1 else float("nan")
                lo, hi = mean - half, mean + half
                verdict = ("holds" if lo > 0 else "reversed" if hi < 0 else "not resolved") if n > 1 else "not resolved"
                rows.append({"table": table, "variant": v, "reference": reference, "metric": m,
                             "metric_name": name, "n_sequences": n, "n_seeds": len(runs),
                             "mean_diff": mean, "ci_low": lo, "ci_high": hi, "verdict": verdict})
    return pd.DataFrame(rows)


def provenance() -> str:
    """One line: generation date (UTC), git commit of the code (``-dirty`` with local changes),
    package version."""
    repo = Path(__file__).resolve().parents[2]
    commit = "unknown"
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=False)
        if sha.returncode == 0:
            commit = sha.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10, check=False)
            if dirty.returncode == 0 and dirty.stdout.strip():
                commit += "-dirty"
    except (OSError, subprocess.TimeoutExpired):
        pass
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"generated {date} from commit {commit} (hmr {__version__})"


def _fmt(value: float, best: bool = False, std: float = float("nan")) -> str:
    if not np.isfinite(value):
        return "-"             # a metric not computed (MPVPE without a matching body model)
    text = f"{value:.{DECIMALS}f}"
    text = f"**{text}**" if best else text
    return f"{text} ± {std:.{DECIMALS}f}" if np.isfinite(std) else text


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _cells(r: Any, best: bool = True) -> list[str]:
    return [_fmt(getattr(r, m), best and bool(getattr(r, f"best_{m}", False)), getattr(r, f"{m}_std", float("nan")))
            for m, _ in OUR_METRICS]


def ablation_markdown(table: pd.DataFrame, dataset: str, note: str = "",
                      paired: pd.DataFrame | None = None) -> str:
    """Markdown of :func:`ablation_table` (best values in bold) and of :func:`paired_comparisons`."""
    lines = [f"# Ablations on `{dataset}`", ""]
    if note:
        lines += [note, ""]
    header = ["Variant"] + [name for _, name in OUR_METRICS] + ["Seeds", "Sequences", "Frames"]
    for key, (title, _) in ABLATIONS.items():
        block = table[table["table"] == key]
        rows = [[f"{r.label} (`{r.variant}`)"] + _cells(r)
                + [str(getattr(r, "n_seeds", 1)), str(r.n_sequences), str(r.n_frames)] for r in block.itertuples()]
        lines += [f"## {title}", ""] + _md_table(header, rows) + [""]
    extra = table[table["table"].isin(["baselines", "train_split"])] if "table" in table else table.iloc[:0]
    if len(extra):
        full = table[(table["table"] == next(iter(ABLATIONS))) & (table["variant"] == "full")]
        rows = [[f"{r.label} (`{r.variant}`)"] + _cells(r, best=False)
                + [str(r.n_seeds), str(r.n_sequences), str(r.n_frames)]
                for r in list(full.itertuples()) + list(extra.itertuples())]
        lines += ["## Baselines on the same split, and the generalisation gap", "",
                  ("The constant mean pose and the per-frame f_t-only estimator are fitted on the "
                   "training split and scored on the same test sequences as the variants; the "
                   "training-split rows score the same models on training sequences."), ""]
        lines += _md_table(header, rows) + [""]
    if paired is not None and len(paired):
        lines += ["## Full model against each ablation, paired over test sequences", "",
                  ("Mean over test sequences of (variant - full), each sequence's metric averaged over "
                   "the seeds, with its 95% t-interval. *holds*: the interval lies above 0 (the ablation "
                   "is worse, the paper's ordering); *reversed*: below 0; *not resolved*: it contains 0."), ""]
        ph = ["Variant"] + [name for _, name in OUR_METRICS]
        prow = []
        for v, block in paired.groupby("variant", sort=False):
            cells = []
            for m, _ in OUR_METRICS:
                r = block[block.metric == m].iloc[0]
                cells.append("-" if not np.isfinite(r.mean_diff) else
                             f"{r.mean_diff:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}] {r.verdict}")
            prow.append([f"{VARIANT_LABELS.get(v, v)} (`{v}`)"] + cells)
        lines += _md_table(ph, prow) + [""]
    lines += [("Millimetres; Accel in mm/frame^2; Orient: median root-orientation error in degrees. "
               "Lower is better; the best value of each table is in bold; `mean ± std` over seeds. "
               "Each run's numbers are the `mean` row of "
               f"`results/{dataset}/metrics/<run>.csv`. '-': not computed (MPVPE needs ground-truth "
               "SMPL parameters of the configured body model; see the metrics log)."), ""]
    return "\n".join(lines)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path, suffix=Path(path).suffix) as tmp:
        tmp.write_text(text)


def write_ablation(metric_files: Mapping[str, str | os.PathLike | Sequence[str | os.PathLike]], dataset: str,
                   out_md: str | os.PathLike, out_csv: str | os.PathLike,
                   baseline_files: Mapping[str, str | os.PathLike] | None = None,
                   train_files: Mapping[str, str | os.PathLike | Sequence[str | os.PathLike]] | None = None,
                   out_paired: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read each variant's metrics CSV(s) (one per seed), write ``ablation_{dataset}.md`` and
    ``.csv`` (and ``paired_{dataset}.csv`` with ``out_paired``)."""
    def load(files):
        return [read_metrics(p) for p in ([files] if isinstance(files, (str, os.PathLike)) else files)]

    metrics = {v: load(p) for v, p in metric_files.items()}
    table = ablation_table(metrics, {k: load(p) for k, p in (baseline_files or {}).items()},
                           {k: load(p) for k, p in (train_files or {}).items()})
    paired = paired_comparisons(metrics) if out_paired is not None else None
    note = f"Regenerated by the pipeline on dataset `{dataset}`: {provenance()}."
    write_text(out_md, ablation_markdown(table, dataset, note, paired))
    with atomic_path(out_csv, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    if out_paired is not None:
        with atomic_path(out_paired, suffix=".csv") as tmp:
            paired.to_csv(tmp, index=False, float_format="%.6g")
    return table


def read_ablation_csv(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: ablation table not found")
    df = pd.read_csv(path)
    need = ["table", "variant"] + [m for m, _ in METRICS]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def summary_markdown(tables: Mapping[str, pd.DataFrame]) -> str:
    """``summary.md``: for each dataset and ablation, our rows beside the paper's 3DPW rows, then
    the published 3DPW results; both blocks labelled as different data."""
    names = [name for _, name in METRICS]
    lines = ["# Summary: our ablations beside the paper's published 3DPW numbers", "",
             f"_{provenance()}._", "",
             ("**Different data.** Our columns are measured by this pipeline on the dataset named in "
              "each heading (by default the synthetic benchmark: rendered bodies, exact ground truth, "
              "SMPL-24 joints); the paper's columns are its published results on the 3DPW test set "
              "(real videos, 14 LSP joints). They are placed side by side to show whether the "
              "ablations move the same way, not to compare levels."), ""]
    for dataset, table in tables.items():
        for key, (title, _) in ABLATIONS.items():
            block = table[table["table"] == key]
            header = (["Variant"] + [f"{n} (ours, {dataset})" for n in names]
                      + [f"{n} (paper, 3DPW)" for n in names])
            rows = []
            for r in block.itertuples():
                ours = [_fmt(getattr(r, m), bool(getattr(r, f"best_{m}", False))) for m, _ in METRICS]
                paper = PAPER_ABLATION_3DPW.get(r.variant)
                theirs = [f"{v:.1f}" for v in paper] if paper else ["-"] * len(METRICS)
                rows.append([f"{VARIANT_LABELS.get(r.variant, r.variant)} (`{r.variant}`)"] + ours + theirs)
            lines += [f"## `{dataset}`: {title}", ""] + _md_table(header, rows) + [""]
    lines += ["## Published results on 3DPW (different data, for reference)", ""]
    lines += _md_table(["Method"] + names, [[m] + [f"{v:.1f}" for v in vals] for m, vals in PUBLISHED_3DPW])
    lines += ["", PUBLISHED_NOTE,
              ("Millimetres; Accel in mm/frame^2 (ours as the metrics stage computes it, see its CSVs). "
               "'-': the paper has no such row (FC dynamics is our addition), or, in our columns, "
               "a metric not computed (MPVPE without ground-truth SMPL parameters of the configured "
               "body model)."), ""]
    return "\n".join(lines)


def write_summary(ablation_csvs: Mapping[str, str | os.PathLike], out: str | os.PathLike) -> str:
    """``summary.md`` from the ablation CSVs of each dataset (``dataset -> path``)."""
    text = summary_markdown({d: read_ablation_csv(p) for d, p in ablation_csvs.items()})
    write_text(out, text)
    return text
