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
    (workdir / "dag_output.txt").write_text(run.stdout + run.stderr)
    return workdir


def test_dry_run_lists_the_rules(tmp_path):
    run = snakemake(tmp_path, "-n")
    assert run.returncode == 0, run.stderr
    for rule in ("build_body_model", "synthesize_synthetic_000", "synthetic_manifest", "preview", "all"):
        assert rule in run.stdout
    # per-sequence stages run as jobs of compute.sequences_per_job sequences of one split each
    assert "keypoints_synthetic_001" in run.stdout and "keypoints_synthetic_005" not in run.stdout


def test_dag_outputs(finished):
    df = read_manifest(finished / "data/synthetic/manifest.csv")
    assert list(df.seq) == ["pretrain_000", "train_000", "train_001", "val_000", "test_000"]
    assert list(df.split) == ["pretrain", "train", "train", "val", "test"] and df.has_gt.all()
    for name in df.seq:
        seq = read_sequence(finished / f"data/synthetic/{name}.h5", load_frames=True)
        assert seq.frames.shape == (12, 96, 128, 3)
        assert seq.frames.std() > 10  # a rendered, textured image, not a flat fill
    png = finished / "results/synthetic/preview.png"
    assert png.stat().st_size > 10_000
    assert (finished / "logs/build_body_model.log").exists()
    assert (finished / "logs/synthesize/synthetic/train_000-train_001.log").exists()   # one job


def test_rerun_recomputes_nothing(finished):
    run = snakemake(finished)
    assert run.returncode == 0, run.stderr
    assert "Nothing to be done" in run.stdout + run.stderr


def test_bad_config_is_one_line_and_runs_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.read_text().replace("width: 128", "width: wide"))
    run = snakemake(tmp_path, config=bad)
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("Config error")]
    assert errors == [f"Config error: {bad}: datasets.synthetic.width: 'wide' is not of type 'integer'"]
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


def test_default_target_produces_every_stage_table_and_figure(finished):
    """The tiny default target ends in every stage's files, the ablation tables holding every
    variant with exactly the numbers of its metrics CSV, the figures, and the embedding's table."""
    import h5py
    import pandas as pd

    from hmr.report.paper import VARIANTS

    for seq in ("train_000", "train_001", "test_000"):
        with h5py.File(finished / f"results/synthetic/keypoints/{seq}.h5", "r") as f:
            assert f["keypoints"].shape == (12, 17, 3)
        with h5py.File(finished / f"results/synthetic/dynamics/{seq}.h5", "r") as f:
            assert f["homographies"].shape == (12, 15, 3, 3) and f["d"].shape == (12, 135)
        with h5py.File(finished / f"results/synthetic/embedding/{seq}.h5", "r") as f:
            assert f["mu"].shape == (12, 32) and f["sigma"].shape == (12, 32)
            assert (f["sigma"][:] > 0).all()
        with h5py.File(finished / f"results/synthetic/features/{seq}.h5", "r") as f:
            assert f["features"].shape == (12, 512) and np.isfinite(f["features"][:]).all()
    with h5py.File(finished / "results/synthetic/predictions/full/test_000.h5", "r") as f:
        assert f["pose"].shape == (12, 72) and f["joints3d"].shape == (12, 24, 3)

    emb = pd.read_csv(finished / "results/models/embedding_eval.csv")
    assert {"hit1", "hit10", "sigma_error_spearman"} <= set(emb.columns)
    assert emb["hit1"].between(0, 1).all() and (emb["hit10"] >= emb["hit1"]).all()

    table = pd.read_csv(finished / "results/tables/ablation_synthetic.csv")
    md = (finished / "results/tables/ablation_synthetic.md").read_text()
    ablations = table[table.table.isin(["table2", "table3"])]
    assert set(ablations.variant) == set(VARIANTS)
    # a table row is the mean over the variant's seeds (tiny: full and no_u train 2 runs each)
    for row in ablations.itertuples():
        runs = [row.variant] + ([f"{row.variant}-s1"] if row.variant in ("full", "no_u") else [])
        assert row.n_seeds == len(runs)
        means = [pd.read_csv(finished / f"results/synthetic/metrics/{r}.csv").iloc[-1] for r in runs]
        assert all(m["seq"] == "mean" for m in means)
        for m in ("mpjpe", "pa_mpjpe", "mpvpe", "accel_err", "orient_err"):
            value = float(np.mean([float(x[m]) for x in means]))
            assert getattr(row, m) == pytest.approx(value, rel=1e-5)
            assert f"{value:.1f}" in md
        if len(runs) > 1:
            assert np.isfinite(row.pa_mpjpe_std) and " ± " in md
    # the baselines on the same test split, and the generalisation gap on a training sequence
    for name, folder in (("baseline_mean_pose", "metrics"), ("baseline_per_frame", "metrics"),
                         ("full", "metrics_train"), ("baseline_mean_pose", "metrics_train")):
        block = table[(table.table == ("baselines" if folder == "metrics" else "train_split"))
                      & (table.variant == name)]
        mean = pd.read_csv(finished / f"results/synthetic/{folder}/{name}.csv").iloc[-1]
        assert block.pa_mpjpe.item() == pytest.approx(float(mean["pa_mpjpe"]), rel=1e-5)
    assert "Constant mean pose" in md and "on training sequences" in md
    paired = pd.read_csv(finished / "results/tables/paired_synthetic.csv")
    assert set(paired.variant) == set(VARIANTS) - {"full"}
    assert set(paired.verdict) <= {"holds", "reversed", "not resolved"}
    summary = (finished / "results/tables/summary.md").read_text()
    assert "Different data" in summary and "3DPW" in summary
    for name in ("accel", "per_joint", "qualitative"):
        png = finished / f"results/figures/{name}_synthetic.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    # the one-line summary at the end of the DAG points to the tables
    assert "hmr: tables in results/tables/" in (finished / "dag_output.txt").read_text()


def test_html_report(finished):
    """`snakemake --report` builds the HTML report over the finished run."""
    run = snakemake(finished, "--report", "results/report.html")
    assert run.returncode == 0, run.stderr[-3000:]
    html = (finished / "results/report.html").read_text(errors="replace")
    assert "ablation" in html.lower() and len(html) > 50_000


def test_videos_dataset_gets_tracked_boxes(tmp_path):
    """A `type: videos` folder: each video is imported with the tracked person box, so the
    crop-based stages run on it (here: dynamics on Grace Hopper's photo sliding right)."""
    import matplotlib.image as mpimg
    import yaml
    from matplotlib import cbook

    from hmr.io.h5 import read_array
    from hmr.render.video import video_writer

    img = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))  # (600,512,3)
    videos = tmp_path / "myvideos"
    videos.mkdir()
    with video_writer(videos / "hopper.mp4", 30.0, (800, 600), codecs=("mp4v",)) as w:
        for t in range(8):
            frame = np.full((600, 800, 3), 90, np.uint8)
            frame[:, 20 * t:20 * t + 512] = img
            w.write(frame)
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"]["mine"] = {"type": "videos", "path": str(videos)}
    config = tmp_path / "videos.yaml"
    config.write_text(yaml.safe_dump(cfg))
    run = snakemake(tmp_path, "results/mine/dynamics/hopper.h5", "data/mine/manifest.csv", config=config)
    assert run.returncode == 0, run.stderr[-3000:]
    seq = read_sequence(tmp_path / "data/mine/hopper.h5")
    assert seq.bbox.shape == (8, 4) and np.polyfit(np.arange(8), seq.bbox[:, 0], 1)[0] == pytest.approx(20, abs=3)
    assert read_array(tmp_path / "results/mine/dynamics/hopper.h5", "d").shape == (8, 135)
    assert (tmp_path / "results/mine/tracks/hopper.png").exists()
    assert list(read_manifest(tmp_path / "data/mine/manifest.csv").split) == ["none"]
