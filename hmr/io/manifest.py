"""The manifest CSV that lists a dataset's sequences: ``seq,split,n_frames,fps,has_gt``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from hmr.io.atomic import atomic_path
from hmr.io.h5 import H5FormatError
from hmr.io.sequence import read_sequence

MANIFEST_COLUMNS = ("seq", "split", "n_frames", "fps", "has_gt")
SPLITS = ("pretrain", "train", "val", "test", "none")


def manifest_row(path: str | os.PathLike, split: str) -> dict:
    """One manifest row describing the sequence file at ``path``."""
    seq = read_sequence(path)
    return {"seq": Path(path).stem, "split": split, "n_frames": seq.n_frames,
            "fps": seq.fps, "has_gt": "gt/joints3d" in seq.arrays}


def write_manifest(rows: Iterable[dict], path: str | os.PathLike) -> pd.DataFrame:
    """Write rows atomically as the manifest CSV (sorted by split order then name)."""
    df = pd.DataFrame(list(rows), columns=list(MANIFEST_COLUMNS))
    df["split"] = pd.Categorical(df["split"], categories=list(SPLITS))
    df = df.sort_values(["split", "seq"]).reset_index(drop=True)
    df["split"] = df["split"].astype(str)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return df


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a manifest CSV; one-line error naming the file on a problem."""
    path = Path(path)
    if not path.exists():
        raise H5FormatError(f"{path}: manifest not found")
    df = pd.read_csv(path, dtype={"seq": str, "split": str})  # names like Penn Action's 0001 stay text
    missing = [c for c in MANIFEST_COLUMNS if c not in df.columns]
    if missing:
        raise H5FormatError(f"{path}: manifest lacks column(s) {', '.join(missing)}")
    bad = sorted(set(df["split"]) - set(SPLITS))
    if bad:
        raise H5FormatError(f"{path}: unknown split(s) {bad}; allowed {list(SPLITS)}")
    if df["seq"].duplicated().any():
        raise H5FormatError(f"{path}: duplicate sequence name(s) {sorted(df.seq[df.seq.duplicated()])}")
    return df
