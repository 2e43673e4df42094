"""Keypoints stage: COCO-17 mapping, mediapipe on a real photo, the simulated detector, PCK, the
CLI and its bad-input handling, and the mmpose backend (error path; real test only with mmcv ops)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from hmr.body.joint_sets import COCO17, COCO17_FLIP, SMPL45_TO_COCO17
from hmr.cli import main
from hmr.errors import InputError
from hmr.io.h5 import read_attrs, write_arrays
from hmr.io.sequence import read_sequence, write_sequence
from hmr.keypoints.coco import BLAZEPOSE33, BLAZEPOSE33_TO_COCO17, blazepose_to_coco17
from hmr.keypoints.pck import pck, pck_hits, pck_per_joint
from hmr.keypoints.simulated import (
    LR_PAIRS,
    DetectorNoise,
    detector_rng,
    simulate_detections,
)
from hmr.keypoints.stage import detect_sequence, read_keypoints

J = COCO17.index
ZERO_NOISE = {"noise_std": 0, "noise_corr": 0, "outlier_prob": 0, "outlier_scale": 0,
              "swap_prob": 0, "dropout_prob": 0, "conf_scale": 0.1}
NOISY = {"noise_std": 0.02, "noise_corr": 0.7, "outlier_prob": 0.03, "outlier_scale": 0.3,
         "swap_prob": 0.01, "dropout_prob": 0.02, "conf_scale": 0.1}
MP = {"input": "crop", "crop_size": 256, "crop_scale": 1.2, "static_image_mode": False}


def params(**overrides):
    p = {"mediapipe": dict(MP), "mmpose": {"config": None, "checkpoint": None},
         "simulated": dict(NOISY)}
    p.update(overrides)
    return p


# --- COCO-17 mapping --------------------------------------------------------------------------

def test_blazepose_to_coco17_known_indices():
    assert len(BLAZEPOSE33) == 33
    assert BLAZEPOSE33_TO_COCO17 == (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
    lm = np.arange(33 * 2, dtype=float).reshape(33, 2)
    coco = blazepose_to_coco17(lm[None])[0]
    assert coco.shape == (17, 2)
    assert coco[J("nose"), 0] == 0 and coco[J("left_shoulder"), 0] == 22  # landmark 11
    assert coco[J("right_hip"), 0] == 48 and coco[J("left_ankle"), 0] == 54  # 24, 27
    with pytest.raises(ValueError, match="33 landmarks"):
        blazepose_to_coco17(np.zeros((17, 2)))


def test_mapping_keeps_left_and_right():
    for c, b in enumerate(BLAZEPOSE33_TO_COCO17):
        assert BLAZEPOSE33[b] == COCO17[c]
        mirror = COCO17[COCO17_FLIP[c]]
        assert BLAZEPOSE33[BLAZEPOSE33_TO_COCO17[COCO17_FLIP[c]]] == mirror
        if COCO17[c].startswith("left_"):
            assert mirror == COCO17[c].replace("left_", "right_")
    assert {(COCO17[a], COCO17[b]) for a, b in LR_PAIRS} >= {("left_wrist", "right_wrist")}
    assert len(LR_PAIRS) == 8


# --- mediapipe on a real photo -------------------------------------------------------------------

@pytest.fixture(scope="module")
def hopper():
    import matplotlib.image as mpimg
    from matplotlib import cbook

    img = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    assert img.dtype == np.uint8 and img.shape == (600, 512, 3)
    return img


def _check_hopper(kp: np.ndarray, h: int, w: int) -> None:
    assert kp.shape == (17, 3) and np.isfinite(kp).all()
    upper = [J(n) for n in ("nose", "left_eye", "right_eye", "left_shoulder", "right_shoulder")]
    assert (kp[upper, 2] > 0.5).all()
    assert ((kp[upper, 0] >= 0) & (kp[upper, 0] < w) & (kp[upper, 1] >= 0) & (kp[upper, 1] < h)).all()
    nose, ls, rs = kp[J("nose")], kp[J("left_shoulder")], kp[J("right_shoulder")]
    assert nose[1] < ls[1] - 50 and nose[1] < rs[1] - 50  # nose well above the shoulders
    assert rs[0] < nose[0] < ls[0]  # she faces the camera: her left is the image's right
    assert kp[J("left_eye"), 1] < nose[1] and kp[J("right_eye"), 0] < kp[J("left_eye"), 0]
    assert 150 < nose[0] < 370 and 100 < nose[1] < 330  # her face is in the upper middle


def test_mediapipe_finds_grace_hopper(hopper):
    from hmr.keypoints.mediapipe_backend import MediapipeSettings, detect_mediapipe

    h, w = hopper.shape[:2]
    frame_kp = detect_mediapipe([hopper[None]], None, w, h, MediapipeSettings(input="frame"))["keypoints"][0]
    _check_hopper(frame_kp, h, w)
    bbox = np.array([[w / 2, h / 2, w, h]], np.float32)
    crop = detect_mediapipe([hopper[None]], bbox, w, h, MediapipeSettings(input="crop", crop_size=256))
    crop_kp = crop["keypoints"][0]
    # BlazePose's 33 landmarks and world landmarks are kept: metres, hip-centred, y down
    world = crop["world_landmarks"][0]
    assert crop["landmarks"].shape == (1, 33, 3) and world.shape == (33, 4)
    np.testing.assert_allclose(crop["landmarks"][0, [0, 11, 12, 23, 24]], crop_kp[[0, 5, 6, 11, 12]])
    assert np.abs(world[[23, 24], :3].mean(0)).max() < 0.05          # origin at the hip midpoint
    assert world[[11, 12], 1].mean() < -0.3                           # shoulders above the hips
    assert 0.2 < np.linalg.norm(world[11, :3] - world[12, :3]) < 0.6  # shoulder width in metres
    _check_hopper(crop_kp, h, w)
    # crop coordinates map back onto the frame: both runs agree on the face (within 10 px) and
    # the shoulders (within 5% of the image height; the 720-px crop is seen at 256 px)
    face = [J("nose"), J("left_eye"), J("right_eye")]
    assert np.abs(frame_kp[face, :2] - crop_kp[face, :2]).max() < 10
    shoulders = [J("left_shoulder"), J("right_shoulder")]
    assert np.abs(frame_kp[shoulders, :2] - crop_kp[shoulders, :2]).max() < 0.05 * h


def test_mediapipe_nothing_found_is_confidence_zero():
    from hmr.keypoints.mediapipe_backend import MediapipeSettings, detect_mediapipe

    frames = np.full((2, 96, 128, 3), 127, np.uint8)
    bbox = np.array([[60.0, 40.0, 30.0, 50.0]] * 2)
    out = detect_mediapipe([frames], bbox, 128, 96, MediapipeSettings(input="crop"))
    kp = out["keypoints"]
    assert out["landmarks"].shape == (2, 33, 3) and out["world_landmarks"].shape == (2, 33, 4)
    assert not out["world_landmarks"].any() and not out["landmarks"].any()
    assert kp.shape == (2, 17, 3) and np.isfinite(kp).all()
    assert (kp[..., 2] == 0).all()
    np.testing.assert_allclose(kp[..., :2], np.broadcast_to([60.0, 40.0], (2, 17, 2)))


def test_mediapipe_heavy_model_missing_is_one_line_error(tmp_path, monkeypatch):
    """model_complexity 2 without the heavy model installed: a clear error, no download attempt."""
    from hmr.keypoints import mediapipe_backend as mb

    with pytest.raises(ValueError, match="model_complexity must be 1 or 2"):
        mb.MediapipeSettings(model_complexity=0)
    monkeypatch.setattr(mb, "heavy_model_path", lambda: tmp_path / mb.HEAVY_MODEL)
    frames = np.full((1, 96, 128, 3), 127, np.uint8)
    with pytest.raises(InputError, match=r"pose_landmark_heavy.tflite: not installed.*make blazepose-heavy"):
        mb.detect_mediapipe([frames], None, 128, 96, mb.MediapipeSettings(input="frame", model_complexity=2))


# --- ground truth and the simulated detector -------------------------------------------------------

def test_coco17_ground_truth_matches_sequence(tiny_dataset, embedded_model_path):
    from hmr.body.smpl import smpl_layer
    from hmr.keypoints.ground_truth import coco17_ground_truth

    seq = read_sequence(tiny_dataset / "test_000.h5")
    j3d, j2d, vis = coco17_ground_truth(seq, smpl_layer(embedded_model_path))
    assert j3d.shape == (12, 17, 3) and j2d.shape == (12, 17, 2) and vis.dtype == bool
    # limb joints are SMPL joints: same as the sequence's own ground truth
    for c in range(5, 17):
        s = SMPL45_TO_COCO17[c]
        np.testing.assert_allclose(j3d[:, c], seq.arrays["gt/joints3d"][:, s], atol=1e-5)
        np.testing.assert_allclose(j2d[:, c], seq.arrays["gt/joints2d"][:, s], atol=1e-2)
    assert vis.mean() > 0.9
    no_gt = read_sequence(tiny_dataset / "test_000.h5")
    del no_gt.arrays["gt/pose"]
    with pytest.raises(InputError, match="no ground truth.*gt/pose"):
        coco17_ground_truth(no_gt, smpl_layer(embedded_model_path))


def test_simulated_zero_noise_is_the_ground_truth_projection(tiny_dataset, embedded_model_path):
    from hmr.body.smpl import smpl_layer
    from hmr.keypoints.ground_truth import coco17_ground_truth

    path = tiny_dataset / "test_000.h5"
    seq = read_sequence(path)
    _, j2d, vis = coco17_ground_truth(seq, smpl_layer(embedded_model_path))
    kp = detect_sequence(path, "synthetic-detector", params(simulated=ZERO_NOISE), seed=3,
                         body_model=embedded_model_path)
    assert list(kp) == ["keypoints"]       # no BlazePose landmarks from the simulated detector
    kp = kp["keypoints"]
    assert kp.dtype == np.float32 and kp.shape == (12, 17, 3)
    np.testing.assert_array_equal(kp[vis][:, :2], j2d[vis])
    np.testing.assert_array_equal(kp[..., 2], vis.astype(np.float32))


def _fake_gt(T=3000, size=200.0):
    rng = np.random.default_rng(0)
    j2d = rng.uniform(100, 400, (T, 17, 2))
    bbox = np.tile([250.0, 250.0, size / 2, size], (T, 1))
    return j2d, np.ones((T, 17), bool), bbox


def test_simulated_noise_statistics_match_the_config():
    j2d, vis, bbox = _fake_gt()
    size = 200.0
    # jitter alone: per-axis std = noise_std * size, lag-1 autocorrelation = noise_corr
    jitter = DetectorNoise(noise_std=0.02, noise_corr=0.7)
    kp = simulate_detections(j2d, vis, bbox, jitter, np.random.default_rng(1))
    e = (kp[..., :2] - j2d) / size
    assert abs(e.std() / 0.02 - 1) < 0.03
    assert abs(np.corrcoef(e[1:].ravel(), e[:-1].ravel())[0, 1] - 0.7) < 0.02
    # confidence exp(-r^2 / (2 (0.1 s)^2)) with r^2 / (0.02 s)^2 ~ chi2(2) = Exp(mean 2):
    # P(conf > 0.9) = P(chi2 < 2 ln(1/0.9) / 0.04) = 1 - exp(-ln(1/0.9) / 0.04)
    assert abs((kp[..., 2] > 0.9).mean() - (1 - np.exp(-np.log(1 / 0.9) / 0.04))) < 0.01
    # outliers: rate, and jump lengths in [0.5, 1] * outlier_scale
    out = DetectorNoise(outlier_prob=0.05, outlier_scale=0.3)
    r = np.linalg.norm(simulate_detections(j2d, vis, bbox, out, np.random.default_rng(2))[..., :2] - j2d, axis=-1) / size
    moved = r > 1e-6
    assert abs(moved.mean() - 0.05) < 0.005
    assert r[moved].min() >= 0.15 - 1e-6 and r[moved].max() <= 0.3 + 1e-6
    # dropout: rate, confidence 0, box centre
    drop = DetectorNoise(dropout_prob=0.1)
    kp = simulate_detections(j2d, vis, bbox, drop, np.random.default_rng(3))
    dropped = kp[..., 2] == 0
    assert abs(dropped.mean() - 0.1) < 0.005
    np.testing.assert_array_equal(kp[dropped][:, :2], np.broadcast_to([250.0, 250.0], (dropped.sum(), 2)))
    # swaps: both joints of a pair trade places
    swap = DetectorNoise(swap_prob=0.2)
    kp = simulate_detections(j2d, vis, bbox, swap, np.random.default_rng(4))
    left, right = LR_PAIRS[0]
    swapped = np.all(kp[:, left, :2] == j2d[:, right].astype(np.float32), axis=-1)
    assert abs(swapped.mean() - 0.2) < 0.02
    np.testing.assert_array_equal(kp[swapped, right, :2], j2d[swapped, left].astype(np.float32))


def test_simulated_off_image_joints_are_not_detected():
    j2d, vis, bbox = _fake_gt(T=10)
    vis[:, 3] = False
    kp = simulate_detections(j2d, vis, bbox, DetectorNoise(), np.random.default_rng(0))
    assert (kp[:, 3, 2] == 0).all() and (kp[:, :3, 2] == 1).all()


def test_simulated_detector_is_deterministic_per_seed():
    j2d, vis, bbox = _fake_gt(T=50)
    noise = DetectorNoise(**NOISY)
    a = simulate_detections(j2d, vis, bbox, noise, detector_rng(0, "synthetic", "test_000"))
    b = simulate_detections(j2d, vis, bbox, noise, detector_rng(0, "synthetic", "test_000"))
    c = simulate_detections(j2d, vis, bbox, noise, detector_rng(1, "synthetic", "test_000"))
    d = simulate_detections(j2d, vis, bbox, noise, detector_rng(0, "synthetic", "test_001"))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_bad_noise_parameters():
    with pytest.raises(ValueError, match="unknown"):
        DetectorNoise.from_config({"noise": 1})
    with pytest.raises(ValueError, match="noise_corr"):
        DetectorNoise(noise_corr=1.0)


# --- PCK -------------------------------------------------------------------------------------------

def test_pck_known_answer():
    gt = np.zeros((1, 6, 2))
    bbox = np.array([[0.0, 0.0, 100.0, 200.0]])  # threshold 0.1 * 200 = 20 px
    pred = np.zeros((1, 6, 3))
    pred[0, :, 2] = 1
    pred[0, 0, :2] = [10, 0]        # hit
    pred[0, 1, :2] = [12, 15.9]     # 19.92 px: hit
    pred[0, 2, :2] = [0, 20.1]      # miss
    pred[0, 3, 2] = 0               # not detected: miss
    pred[0, 4, :2] = [500, 500]     # invisible: ignored
    visible = np.array([[True, True, True, True, False, True]])
    assert pck(pred, gt, visible, bbox, 0.1) == pytest.approx(3 / 5)
    assert pck(pred, gt, visible, bbox, 0.3) == pytest.approx(4 / 5)
    hits = pck_hits(pred, gt, visible, bbox, 0.1)
    np.testing.assert_array_equal(hits[0], [True, True, False, False, False, True])
    per = pck_per_joint(pred, gt, visible, bbox, 0.1)
    assert per[0] == 1 and per[2] == 0 and np.isnan(per[4])
    assert pck(pred[..., :2], gt, visible, bbox, 0.1) == pytest.approx(4 / 5)  # no confidence
    assert np.isnan(pck(pred, gt, np.zeros_like(visible), bbox))
    with pytest.raises(ValueError, match="pck"):
        pck(pred[:, :5], gt, visible, bbox)


# --- the stage through the CLI ---------------------------------------------------------------------

def run_cli(capsys, *argv):
    rc = main(list(argv))
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    return rc, lines


def _kp_args(seq, out, backend, body_model, cfg=None):
    import json

    return ["keypoints", "--sequence", str(seq), "--backend", backend, "--params",
            json.dumps(cfg or params()), "--seed", "0", "--body-model", str(body_model), "--out", str(out)]


def test_cli_keypoints_and_pck(tiny_dataset, embedded_model_path, tmp_path, capsys):
    seq = tiny_dataset / "test_000.h5"
    sim, mp_out = tmp_path / "sim.h5", tmp_path / "mp.h5"
    assert main(_kp_args(seq, sim, "synthetic-detector", embedded_model_path)) == 0
    attrs = read_attrs(sim)
    assert attrs["backend"] == "synthetic-detector" and bool(attrs["simulated"]) is True
    kp = read_keypoints(sim, n_frames=12)
    assert kp.shape == (12, 17, 3) and kp.dtype == np.float32
    again = tmp_path / "sim2.h5"
    assert main(_kp_args(seq, again, "synthetic-detector", embedded_model_path)) == 0
    np.testing.assert_array_equal(read_keypoints(again), kp)  # deterministic

    assert main(_kp_args(seq, mp_out, "mediapipe", embedded_model_path)) == 0
    assert bool(read_attrs(mp_out)["simulated"]) is False
    mp_kp = read_keypoints(mp_out, n_frames=12)
    assert np.isfinite(mp_kp).all() and (mp_kp[..., 2] >= 0).all() and (mp_kp[..., 2] <= 1).all()

    csv = tmp_path / "pck.csv"
    assert main(["keypoints-pck", "--sequences", str(seq), str(seq), "--keypoints", str(sim),
                 str(mp_out), "--body-model", str(embedded_model_path), "--out", str(csv)]) == 0
    import pandas as pd

    df = pd.read_csv(csv)
    assert list(df.seq) == ["test_000", "test_000", "all"]
    assert set(df.backend) == {"mediapipe,synthetic-detector"}
    assert ((df.pck >= 0) & (df.pck <= 1)).all() and df.pck.iloc[0] > 0.5
    assert df.visible_joints.iloc[2] == df.visible_joints.iloc[0] * 2


def test_cli_job_of_several_sequences(tiny_dataset, embedded_model_path, tmp_path, capsys):
    """A job of several sequences (the DAG's per-sequence stages) writes what one job per sequence
    writes; when one sequence is bad, none of the job's outputs is left behind."""
    import json

    seqs = [tiny_dataset / "test_000.h5", tiny_dataset / "train_000.h5"]
    outs = [tmp_path / "a.h5", tmp_path / "b.h5"]
    cfg = json.dumps(params())
    common = ["--backend", "synthetic-detector", "--params", cfg, "--seed", "0",
              "--body-model", str(embedded_model_path)]
    assert main(["keypoints", "--sequence", *map(str, seqs), *common, "--out", *map(str, outs)]) == 0
    for seq, out in zip(seqs, outs):
        single = tmp_path / f"single_{seq.stem}.h5"
        assert main(["keypoints", "--sequence", str(seq), *common, "--out", str(single)]) == 0
        np.testing.assert_array_equal(read_keypoints(out), read_keypoints(single))

    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    job = tmp_path / "job"
    job.mkdir()
    rc, lines = run_cli(capsys, "keypoints", "--sequence", str(seqs[0]), str(bad), *common,
                        "--out", str(job / "a.h5"), str(job / "b.h5"))
    assert rc == 1 and len(lines) == 1 and "bad.h5" in lines[0]
    assert list(job.iterdir()) == []            # the first sequence's file is removed as well
    rc, lines = run_cli(capsys, "keypoints", "--sequence", *map(str, seqs), *common,
                        "--out", str(job / "a.h5"))
    assert rc == 1 and lines == ["error: --out: 1 files for 2 sequences"]


def _no_outputs(folder: Path) -> bool:
    return not any(p.suffix in (".h5", ".csv", ".tmp") for p in folder.iterdir())


def test_zero_frame_sequence_is_one_line(tmp_path, embedded_model_path, capsys):
    seq = tmp_path / "empty.h5"
    with h5py.File(seq, "w") as f:
        f.attrs.update({"name": "empty", "dataset": "synthetic", "fps": 30.0, "n_frames": 0,
                        "width": 128, "height": 96})
        f.create_dataset("frames", shape=(0, 96, 128, 3), dtype=np.uint8)
        f.create_dataset("bbox", shape=(0, 4), dtype=np.float32)
    out = tmp_path / "out" / "empty.h5"
    for backend in ("mediapipe", "synthetic-detector"):
        rc, lines = run_cli(capsys, *_kp_args(seq, out, backend, embedded_model_path))
        assert rc == 1 and len(lines) == 1 and "empty.h5: sequence has no frames" in lines[0]
    assert not out.exists()


def test_bbox_outside_image_is_one_line(tiny_dataset, tmp_path, embedded_model_path, capsys):
    seq = read_sequence(tiny_dataset / "test_000.h5", load_frames=True)
    seq.bbox = seq.bbox.copy()
    seq.bbox[5] = [500.0, 40.0, 30.0, 60.0]
    bad = tmp_path / "test_000.h5"
    write_sequence(bad, seq)
    out = tmp_path / "out" / "test_000.h5"
    (tmp_path / "out").mkdir()
    for backend in ("mediapipe", "synthetic-detector"):
        rc, lines = run_cli(capsys, *_kp_args(bad, out, backend, embedded_model_path))
        assert rc == 1 and len(lines) == 1
        assert "test_000.h5: bbox of frame 5" in lines[0] and "outside the 128x96 image" in lines[0]
    assert _no_outputs(tmp_path / "out")


def test_nan_keypoints_are_refused_where_read(tiny_dataset, tmp_path, embedded_model_path, capsys):
    kp = np.zeros((12, 17, 3), np.float32)
    kp[3, 4, 0] = np.nan
    bad = tmp_path / "kp" / "test_000.h5"
    write_arrays(bad, {"keypoints": kp}, attrs={"backend": "mediapipe", "simulated": False})
    with pytest.raises(InputError, match="keypoints: contains NaN"):
        read_keypoints(bad)
    out = tmp_path / "pck" / "pck.csv"
    rc, lines = run_cli(capsys, "keypoints-pck", "--sequences", str(tiny_dataset / "test_000.h5"),
                        "--keypoints", str(bad), "--body-model", str(embedded_model_path), "--out", str(out))
    assert rc == 1 and len(lines) == 1 and "test_000.h5:keypoints: contains NaN or inf" in lines[0]
    assert not out.parent.exists() or _no_outputs(out.parent)
    kp[3, 4, 0] = 0
    kp[0, 0, 2] = 1.5
    write_arrays(bad, {"keypoints": kp})
    with pytest.raises(InputError, match="confidence outside"):
        read_keypoints(bad)
    kp[0, 0, 2] = 1.0
    write_arrays(bad, {"keypoints": kp[:5]})
    with pytest.raises(InputError, match="5 frames, the sequence has 12"):
        read_keypoints(bad, n_frames=12)


# --- mmpose -----------------------------------------------------------------------------------------

def test_mmpose_missing_files_and_packages(tmp_path, monkeypatch, tiny_dataset, embedded_model_path, capsys):
    from hmr.keypoints import mmpose_backend as mb

    with pytest.raises(InputError, match="keypoints.mmpose.config: not set"):
        mb.MMPoseDetector(None, None)
    with pytest.raises(InputError, match="nope.py: mmpose model config not found"):
        mb.MMPoseDetector(tmp_path / "nope.py", None)
    cfg = tmp_path / "hrnet.py"
    cfg.write_text("# an mmpose config\n")
    with pytest.raises(InputError, match="keypoints.mmpose.checkpoint: not set"):
        mb.MMPoseDetector(cfg, None)
    with pytest.raises(InputError, match="w48.pth: mmpose checkpoint not found"):
        mb.MMPoseDetector(cfg, tmp_path / "w48.pth")
    ckpt = tmp_path / "w48.pth"
    ckpt.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "mmcv", None)  # as if mmcv were not installed
    with pytest.raises(InputError, match="backend mmpose: mmcv is not installed"):
        mb.MMPoseDetector(cfg, ckpt)
    out = tmp_path / "out" / "test_000.h5"
    cfg_json = params(mmpose={"config": str(cfg), "checkpoint": str(ckpt)})
    rc, lines = run_cli(capsys, *_kp_args(tiny_dataset / "test_000.h5", out, "mmpose",
                                          embedded_model_path, cfg_json))
    assert rc == 1 and len(lines) == 1 and "mmcv is not installed" in lines[0]
    assert not out.exists()


def test_xyxy_boxes():
    from hmr.keypoints.mmpose_backend import xyxy_boxes

    np.testing.assert_allclose(xyxy_boxes(np.array([[50.0, 40.0, 20.0, 60.0]])), [[40, 10, 60, 70]])


def _mmcv_ops() -> bool:
    try:
        return importlib.util.find_spec("mmcv") is not None and importlib.import_module("mmcv._ext") is not None
    except ImportError:
        return False


needs_mmcv_ops = pytest.mark.skipif(
    not _mmcv_ops(), reason="mmpose backend needs mmcv's compiled ops (mmcv._ext): `make mmpose` installs "
    "them from ../shared/wheels/ (absent here); see README, 2D keypoints")


def _hrnet_config() -> Path:
    import mmpose

    root = Path(mmpose.__file__).parent / ".mim" / "configs"
    configs = sorted(root.glob("body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py"))
    assert configs, f"HRNet-W48 config not found under {root}"
    return configs[0]


def _padded_box(bbox: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mmpose's input region of (cx, cy, w, h) boxes: padded by 1.25, widened to 3:4 (w:h)."""
    w = 1.25 * np.maximum(bbox[:, 2], 0.75 * bbox[:, 3])
    size = np.stack([w, w / 0.75], 1)
    return bbox[:, :2] - size / 2, size


@needs_mmcv_ops
def test_mmpose_random_hrnet_topdown(hopper):
    """A randomly initialised HRNet-W48 from the config shipped in mmpose's wheel: shapes, COCO
    order (17 joints), confidences in [0, 1]; every located joint inside mmpose's input region
    (its heatmap maximum is a cell of it), every joint without a maximum at the box centre with
    confidence 0 (mmpose would report one cell outside the region)."""
    import torch

    from hmr.keypoints.mmpose_backend import MMPoseDetector

    torch.manual_seed(0)
    det = MMPoseDetector(_hrnet_config(), None, need_checkpoint=False)
    assert det.model.dataset_meta["num_keypoints"] == 17
    frames = np.stack([hopper, hopper])
    bbox = np.array([[256.0, 300.0, 300.0, 400.0], [200.0, 250.0, 120.0, 200.0]])
    kp = det.detect_stream([frames[:1], frames[1:]], bbox)
    assert kp.shape == (2, 17, 3) and np.isfinite(kp).all()
    assert ((kp[..., 2] >= 0) & (kp[..., 2] <= 1)).all()
    lo, size = _padded_box(bbox)
    found = kp[..., 2] > 0
    inside = (kp[..., :2] >= lo[:, None] - 1e-3) & (kp[..., :2] <= (lo + size)[:, None] + 1e-3)
    assert inside.all(-1)[found].all()
    np.testing.assert_allclose(kp[..., :2][~found], np.broadcast_to(bbox[:, None, :2], kp[..., :2].shape)[~found])


@needs_mmcv_ops
def test_mmpose_decoding_and_order_match_mediapipe_on_the_same_crop(hopper):
    """Known answer without a checkpoint: the HRNet head is replaced by heatmaps whose joint-k peak
    sits where mediapipe puts COCO joint k on the same frame and box (mapped into mmpose's
    192x256 input with the padding and 3:4 aspect above). The backend must give mediapipe's
    keypoints back, joint by joint (COCO-17 order) and in frame pixels (box handling), within a
    quarter of a heatmap cell plus the quarter-cell refinement."""
    import torch

    from hmr.keypoints.mediapipe_backend import MediapipeSettings, detect_mediapipe
    from hmr.keypoints.mmpose_backend import MMPoseDetector

    h, w = hopper.shape[:2]
    image_box = np.array([[w / 2, h / 2, w, h]])
    ref = detect_mediapipe([hopper[None]], image_box, w, h, MediapipeSettings(input="crop"))["keypoints"][0]
    assert (ref[:, 2] > 0.3).sum() >= 9                            # mediapipe found her
    # her legs are below the portrait: mediapipe extrapolates them; the box holds all 17 joints
    x0, y0, x1, y1 = *ref[:, :2].min(0), *ref[:, :2].max(0)
    bbox = np.array([[(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]])
    lo, size = _padded_box(bbox)
    cell = size[0] / np.array([48, 64])                            # frame pixels per heatmap cell
    peak = (ref[:, :2] - lo[0]) / cell                             # (17,2) heatmap coordinates
    assert ((peak > 1) & (peak < [47, 63])).all()
    yy, xx = np.mgrid[0:64, 0:48]
    heat = np.exp(-((xx[None] - peak[:, 0, None, None]) ** 2 + (yy[None] - peak[:, 1, None, None]) ** 2) / (2 * 2.0 ** 2))
    heat = torch.from_numpy(heat[None].astype(np.float32))         # (1,17,64,48)

    torch.manual_seed(0)
    det = MMPoseDetector(_hrnet_config(), None, need_checkpoint=False)
    det.model.test_cfg["flip_test"] = False                       # one forward: the heatmaps below
    det.model.extract_feat = lambda inputs: (inputs,)
    det.model.head.forward = lambda feats: heat
    kp = det.detect(hopper[None], bbox)[0]
    assert (kp[:, 2] > 0.9).all()                                  # the peaks' values
    err = np.abs(kp[:, :2] - ref[:, :2]) / cell                   # in heatmap cells
    assert err.max() < 0.5, err.max()
