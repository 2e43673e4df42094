"""The paper's ablation tables regenerated from our metrics CSVs, and the summary beside 3DPW.

Input: ``results/{dataset}/metrics/{variant}.csv`` with columns ``seq, n_frames, mpjpe,
pa_mpjpe, mpvpe, accel_err`` (mm), one row per sequence and a final row with ``seq = mean``.
Each table row is a variant's ``mean`` row, unchanged.

Outputs:

* ``results/tables/ablation_{dataset}.csv``: one row per (table, variant) with ``table``,
  ``variant``, ``label``, ``n_sequences``, ``n_frames``, the four metrics as in the CSVs, and
  ``best_<metric>`` (True where the variant has the lowest value of that table, compared at the
  one decimal shown; ties are all marked);
* ``results/tables/ablation_{dataset}.md``: the same as Markdown, best values in bold;
* ``results/tables/summary.md``: every dataset's rows next to the paper's 3DPW numbers, then
  other published 3DPW results, all labelled as different data.
"""

from __future__ import annotations

import datetime as _dt
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from hmr import __version__
from hmr.errors import InputError
from hmr.io.atomic import atomic_path
from hmr.report.paper import (
    ABLATIONS,
    METRICS,
    PAPER_ABLATION_3DPW,
    PUBLISHED_3DPW,
    PUBLISHED_NOTE,
    VARIANT_LABELS,
)

METRIC_COLUMNS = ("seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err")
# metrics whose mean may be NaN: MPVPE is not computed when the ground-truth SMPL parameters are
# not in the body model's shape space (e.g. 3DPW with the embedded body model); shown as "-"
OPTIONAL_METRICS = ("mpvpe",)
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
    if len(df) == 0 or df["seq"].iloc[-1] != "mean":
        raise InputError(f"{path}: the last row must be the 'mean' row")
    try:
        values = df[[m for m, _ in METRICS] + ["n_frames"]].astype(np.float64).to_numpy()
    except ValueError:
        raise InputError(f"{path}: non-numeric metric values") from None
    bad = [name for (m, name), v in zip(METRICS, values[-1])
           if not np.isfinite(v) and not (m in OPTIONAL_METRICS and np.isnan(v))]
    if bad:   # a single sequence may lack a metric (e.g. too short for accel); the mean may not
        raise InputError(f"{path}: the mean row has no value for {', '.join(bad)}")
    return df


def ablation_table(metrics: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows of both ablation tables from each variant's metrics (``variant -> DataFrame``)."""
    rows = []
    for table, (_, variants) in ABLATIONS.items():
        missing = [v for v in variants if v not in metrics]
        if missing:
            raise InputError(f"{table}: no metrics for variant(s) {', '.join(missing)}")
        block = []
        for v in variants:
            df = metrics[v]
            mean = df.iloc[-1]
            row = {"table": table, "variant": v, "label": VARIANT_LABELS[v],
                   "n_sequences": len(df) - 1, "n_frames": int(mean["n_frames"])}
            row.update({m: float(mean[m]) for m, _ in METRICS})
            block.append(row)
        for m, _ in METRICS:
            shown = np.round([r[m] for r in block], DECIMALS)
            best = np.nanmin(shown) if np.isfinite(shown).any() else np.nan
            for r, s in zip(block, shown):
                r[f"best_{m}"] = bool(s == best)
        rows += block
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


def _fmt(value: float, best: bool = False) -> str:
    if not np.isfinite(value):
        return "-"             # a metric not computed (MPVPE without a matching body model)
    text = f"{value:.{DECIMALS}f}"
    return f"**{text}**" if best else text


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def ablation_markdown(table: pd.DataFrame, dataset: str, note: str = "") -> str:
    """Markdown of :func:`ablation_table` for ``dataset`` (best values in bold)."""
    lines = [f"# Ablations on `{dataset}`", ""]
    if note:
        lines += [note, ""]
    header = ["Variant"] + [name for _, name in METRICS] + ["Sequences", "Frames"]
    for key, (title, _) in ABLATIONS.items():
        block = table[table["table"] == key]
        rows = [[f"{r.label} (`{r.variant}`)"]
                + [_fmt(getattr(r, m), getattr(r, f"best_{m}")) for m, _ in METRICS]
                + [str(r.n_sequences), str(r.n_frames)] for r in block.itertuples()]
        lines += [f"## {title}", ""] + _md_table(header, rows) + [""]
    lines += [("Millimetres; Accel in mm/frame^2. Lower is better; the best value of each table "
               "is in bold. Each row is the `mean` row of "
               f"`results/{dataset}/metrics/<variant>.csv`. '-': not computed (MPVPE needs ground-truth "
               "SMPL parameters of the configured body model; see the metrics log)."), ""]
    return "\n".join(lines)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path, suffix=Path(path).suffix) as tmp:
        tmp.write_text(text)


def write_ablation(metric_files: Mapping[str, str | os.PathLike], dataset: str,
                   out_md: str | os.PathLike, out_csv: str | os.PathLike) -> pd.DataFrame:
    """Read each variant's metrics CSV, write ``ablation_{dataset}.md`` and ``.csv``."""
    table = ablation_table({v: read_metrics(p) for v, p in metric_files.items()})
    note = f"Regenerated by the pipeline on dataset `{dataset}`: {provenance()}."
    write_text(out_md, ablation_markdown(table, dataset, note))
    with atomic_path(out_csv, suffix=".csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
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
