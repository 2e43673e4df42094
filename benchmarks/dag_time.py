"""Where a finished DAG spent its time: wall-clock span and job-minutes per rule, from Snakemake's
own records (``.snakemake/metadata``: start and end time of the job that made each output file).

    python benchmarks/dag_time.py [--root .] [--since 2026-12-07T23:00] [--out table.md]

Jobs with several outputs (the per-sequence stages run several sequences per job) count once. Rules
defined in a loop (``keypoints_synthetic_003``) are summed under their stage (``keypoints``). The
floor on N cores is job-minutes / N: the DAG cannot finish sooner on this machine.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd


# the per-sequence stages: one rule per job of sequences, named <stage>_<dataset>_<job>
# (workflow/rules/common.smk sequence_jobs); a stage name may itself hold "_"
JOB_STAGES = ("synthesize", "keypoints", "features", "dynamics", "embed_sequences")


def stage_of(rule: str) -> str:
    """`embed_sequences_synthetic_003` -> `embed_sequences`; any other rule is its own stage."""
    m = re.match(rf"({'|'.join(JOB_STAGES)})_\w+_\d{{3}}$", rule)
    return m.group(1) if m else rule


def job_table(root: Path, since: float = 0.0) -> pd.DataFrame:
    """One row per job (rule, start, end in epoch seconds) among the recorded outputs."""
    jobs = {}
    for path in (root / ".snakemake" / "metadata").iterdir():
        try:
            rec = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        start, end = rec.get("starttime"), rec.get("endtime")
        if start is None or end is None or rec.get("incomplete") or start < since:
            continue
        key = (rec["rule"], rec.get("job_hash"))     # one record per output file of the job
        s0, e0 = jobs.get(key, (start, end))
        jobs[key] = (min(s0, start), max(e0, end))
    df = pd.DataFrame([(r, s, e) for (r, _), (s, e) in jobs.items()], columns=["rule", "start", "end"])
    df["stage"] = df.rule.map(stage_of)
    df["minutes"] = (df.end - df.start) / 60
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".", help="the DAG's working directory")
    ap.add_argument("--since", default=None, help="only jobs started at or after this ISO time (one run)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=None, help="also write the table as Markdown")
    args = ap.parse_args()
    since = datetime.fromisoformat(args.since).timestamp() if args.since else 0.0
    df = job_table(Path(args.root), since)
    if df.empty:
        raise SystemExit(f"{args.root}/.snakemake/metadata: no finished jobs recorded"
                         + (f" since {args.since}" if args.since else ""))
    per = (df.groupby("stage").agg(jobs=("rule", "size"), job_min=("minutes", "sum"),
                                   mean_s=("minutes", lambda m: 60 * m.mean()))
           .sort_values("job_min", ascending=False))
    wall = (df.end.max() - df.start.min()) / 60
    lines = ["| stage | jobs | job-minutes | mean per job (s) |", "|:---|---:|---:|---:|"]
    lines += [f"| {s} | {int(r.jobs)} | {r.job_min:.1f} | {r.mean_s:.1f} |" for s, r in per.iterrows()]
    lines.append(f"| **all** | {len(df)} | {df.minutes.sum():.1f} | |")
    text = "\n".join(lines) + (
        f"\n\nwall clock {wall:.1f} min ({datetime.fromtimestamp(df.start.min()):%H:%M}–"
        f"{datetime.fromtimestamp(df.end.max()):%H:%M}); job-minutes / {args.cores} cores = "
        f"{df.minutes.sum() / args.cores:.1f} min floor")
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
