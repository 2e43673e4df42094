"""End to end: the DAG on the tiny config, in a scratch working directory."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from hmr.io.manifest import read_manifest
from hmr.io.sequence import read_sequence

TINY = REPO / "tests" / "configs" / "tiny.yaml"


def snakemake(workdir, *args, config=TINY):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--configfile", str(config), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dag")
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def test_dry_run_lists_the_rules(tmp_path):
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, run.stderr
    for rule in ("build_body_model", "synthesize_sequence", "synthetic_manifest", "preview", "all"):
        assert rule in run.stdout


def test_dag_outputs(finished):
    df = read_manifest(finished / "data/synthetic/manifest.csv")
    assert list(df.seq) == ["train_000", "train_001", "val_000", "test_000"]
    assert list(df.split) == ["train", "train", "val", "test"] and df.has_gt.all()
    for name in df.seq:
        seq = read_sequence(finished / f"data/synthetic/{name}.h5", load_frames=True)
        assert seq.frames.shape == (12, 96, 128, 3)
        assert seq.frames.std() > 10  # a rendered, textured image, not a flat fill
    png = finished / "results/synthetic/preview.png"
    assert png.stat().st_size > 10_000
    assert (finished / "logs/build_body_model.log").exists()
    assert (finished / "logs/synthesize/synthetic/train_000.log").exists()


def test_rerun_recomputes_nothing(finished):
    run = snakemake(finished)
    assert run.returncode == 0, run.stderr
    assert "Nothing to be done" in run.stdout + run.stderr


def test_bad_config_is_one_line_and_runs_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("n_frames: 12", "n_frames: twelve"))
    run = snakemake(tmp_path, config=bad)
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("Config error")]
    assert errors == [f"Config error: {bad}: datasets.synthetic.n_frames: 'twelve' is not of type 'integer'"]
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


def test_lint_is_clean(tmp_path):
    run = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0
    assert "Lints for" not in run.stdout + run.stderr


def test_same_seed_gives_identical_sequences(finished, tmp_path):
    """The same seed gives identical sequences when the DAG is run again from scratch."""
    run = snakemake(tmp_path, "data/synthetic/val_000.h5")
    assert run.returncode == 0, run.stderr[-3000:]
    a = read_sequence(finished / "data/synthetic/val_000.h5", load_frames=True)
    b = read_sequence(tmp_path / "data/synthetic/val_000.h5", load_frames=True)
    np.testing.assert_array_equal(a.frames, b.frames)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
