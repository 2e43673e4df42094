"""Every real-dataset importer through the Snakemake DAG on the tiny config: fixtures in each
official layout -> data/{dataset}/{seq}.h5 -> data/{dataset}/manifest.csv."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from conftest import REPO
from real_dataset_fixtures import (
    write_3dpw,
    write_h36m,
    write_insta_variety,
    write_mpi_inf_3dhp,
    write_penn_action,
    write_posetrack,
    write_vibe_db,
)

from hmr.io.manifest import read_manifest
from hmr.io.sequence import read_sequence

TINY = REPO / "tests" / "configs" / "tiny.yaml"

EXPECTED = {  # dataset -> {seq: (split, n_frames)}
    "pw3d": {"courtyard_toy_00_0": ("test", 6), "courtyard_toy_00_1": ("test", 6)},
    "h36m": {"S1_Directions_1.54138969": ("train", 3), "S9_Directions_1.54138969": ("test", 3)},
    "mpi": {"S1_Seq1_cam0": ("train", 8), "TS1": ("test", 8), "TS2": ("test", 8)},
    "penn": {"0001": ("train", 7), "0002": ("test", 7)},
    "posetrack": {"000001_bonn_train_0": ("train", 6)},
    "insta": {"insta_0001": ("train", 5)},
    "vibe": {"3dpw_test-downtown_toy_00_0": ("test", 5), "3dpw_test-downtown_toy_00_1": ("test", 4)},
}


KEYPOINT_TARGETS = ["results/pw3d/keypoints/courtyard_toy_00_1.h5"]  # frames from an image folder


def snakemake(workdir, config, *args):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def real_config(tmp_path_factory, embedded_model_path):
    from hmr.body.smpl import smpl_layer

    base = tmp_path_factory.mktemp("real_roots")
    write_3dpw(base / "3dpw", smpl_layer(embedded_model_path))
    write_h36m(base / "h36m")
    write_mpi_inf_3dhp(base / "mpi")
    write_penn_action(base / "penn")
    write_posetrack(base / "posetrack")
    write_insta_variety(base / "insta")
    write_vibe_db(base / "vibe", base / "vibe_images")
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"].update({
        "pw3d": {"type": "3dpw", "root": str(base / "3dpw")},
        "h36m": {"type": "h36m", "root": str(base / "h36m"), "train_subjects": ["S1"], "test_subjects": ["S9"]},
        "mpi": {"type": "mpi_inf_3dhp", "root": str(base / "mpi"), "subjects": ["S1"], "train_cameras": [0],
                "metric_joint_set": "mpi3dhp17"},
        "penn": {"type": "penn_action", "root": str(base / "penn")},
        "posetrack": {"type": "posetrack", "root": str(base / "posetrack"), "min_frames": 3},
        "insta": {"type": "insta_variety", "root": str(base / "insta")},
        "vibe": {"type": "vibe_db", "root": str(base / "vibe"),
                 "image_prefix": {"from": "/old/place/imageFiles", "to": str(base / "vibe_images")}},
    })
    path = base / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path, base


@pytest.fixture(scope="module")
def imported(real_config, tmp_path_factory):
    config, _ = real_config
    workdir = tmp_path_factory.mktemp("real_dag")
    targets = [f"data/{name}/manifest.csv" for name in EXPECTED]
    # the next stage reads the frames through the sequence file (the whole DAG to metrics on these
    # fixtures takes minutes: run by hand, see the README)
    targets += KEYPOINT_TARGETS
    run = snakemake(workdir, config, *targets)
    assert run.returncode == 0, run.stderr[-4000:]
    return workdir, config, targets


def test_every_dataset_imports_through_the_dag(imported):
    workdir, _, _ = imported
    for name, expected in EXPECTED.items():
        df = read_manifest(workdir / f"data/{name}/manifest.csv")
        got = {row.seq: (row.split, row.n_frames) for row in df.itertuples()}
        assert got == expected, name
        for seq in expected:
            s = read_sequence(workdir / f"data/{name}/{seq}.h5")
            assert s.dataset == name and s.info["source_type"] in {
                "3dpw", "h36m", "mpi_inf_3dhp", "penn_action", "posetrack", "insta_variety", "vibe_db"}
            assert (workdir / f"logs/import/{name}/{seq}.log").exists()
    assert read_sequence(workdir / "data/mpi/TS1.h5").info["metric_joint_set"] == "mpi3dhp17"
    assert read_manifest(workdir / "data/pw3d/manifest.csv").has_gt.all()  # SMPL joints present
    from hmr.io.h5 import read_array

    for target in KEYPOINT_TARGETS:
        assert read_array(workdir / target, "keypoints", (6, 17, 3), "f").shape[0] == 6


def test_rerun_recomputes_nothing_and_the_scan_is_cached(imported):
    workdir, config, targets = imported
    run = snakemake(workdir, config, *targets)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Nothing to be done" in run.stdout + run.stderr
    assert list((workdir / ".snakemake/hmr_dataset_scan").glob("*.json"))


def test_bad_layout_stops_the_dag_with_one_line(real_config, tmp_path):
    config, _ = real_config
    cfg = yaml.safe_load(config.read_text())
    broken = tmp_path / "penn"
    (broken / "frames").mkdir(parents=True)  # labels/ missing
    cfg["datasets"]["penn"]["root"] = str(broken)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    run = snakemake(tmp_path, bad, "data/penn/manifest.csv")
    assert run.returncode != 0
    lines = [ln for ln in run.stderr.splitlines() if ln.startswith("Dataset error")]
    assert lines == [f"Dataset error: datasets.penn: {broken}/labels: Penn Action labels folder not found"]
    assert not (tmp_path / "data").exists()
