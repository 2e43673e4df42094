"""Shared fixtures: the embedded body model is built once per test session (anny, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def embedded_model_path(tmp_path_factory) -> Path:
    """The embedded anny-derived SMPL-format model, built with few shape samples (fast)."""
    from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle

    path = tmp_path_factory.mktemp("body_model") / "anny_smpl.pkl"
    write_smpl_pickle(build_smpl_from_anny(n_shape_samples=40, seed=0), path)
    return path


TINY_SYNTHETIC = {"type": "synthetic", "splits": {"train": 2, "val": 0, "test": 1}, "n_frames": 12,
                  "fps": 30, "width": 128, "height": 96, "amass_dir": None, "amass_fraction": 0.5,
                  "out_of_frame_prob": 0.0, "shape_std": 1.0}


@pytest.fixture(scope="session")
def tiny_dataset(embedded_model_path, tmp_path_factory) -> Path:
    """A folder with three rendered synthetic sequences (train_000, train_001, test_000; 12 frames
    at 128x96, exact ground truth) and their manifest.csv, made once per test session."""
    from hmr.io.manifest import manifest_row, write_manifest
    from hmr.synthetic.generate import synthesize_sequence

    folder = tmp_path_factory.mktemp("tiny_dataset")
    rows = []
    for seq in ("train_000", "train_001", "test_000"):
        out = folder / f"{seq}.h5"
        synthesize_sequence("synthetic", seq, TINY_SYNTHETIC, str(embedded_model_path), seed=0, out=str(out))
        rows.append(manifest_row(out, seq.split("_")[0]))
    write_manifest(rows, folder / "manifest.csv")
    return folder
