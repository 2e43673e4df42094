"""The evaluation protocol per dataset (hmr.datasets.protocol through hmr.eval.evaluate), on
fabricated sequences with hand-checked answers: 3DPW-like sequences (SMPL-24 ground truth,
metric joint set LSP-14) are scored on the 13 LSP joints SMPL has with the hip midpoint as root;
missing ground-truth joints and invalid frames are not scored; MPVPE only when the ground-truth
SMPL parameters belong to the body model."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from hmr.body.joint_sets import LSP14, SMPL24
from hmr.io.h5 import write_arrays
from hmr.io.sequence import Sequence, read_sequence, write_sequence

T = 4
D = 1 / 32      # an offset of 31.25 mm, exact in float32 (as are the joints below)
# the 13 LSP joints SMPL's 24 joints give (all but the head top)
LSP_FROM_SMPL = ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
                 "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
                 "left_wrist", "neck")


def _gt_joints(seed: int = 0) -> np.ndarray:
    """(T,24,3) camera-frame SMPL joints, multiples of 1/256 m (exact float32 arithmetic)."""
    rng = np.random.default_rng(seed)
    j = rng.integers(-64, 64, (1, 24, 3)) + rng.integers(-8, 8, (T, 24, 3)) + np.array([0, 0, 768])
    return (j / 256).astype(np.float32)


def _write_seq(path, joints3d, info, valid=None, pose=True, keypoints3d=None):
    arrays = {"gt/valid": np.ones(T, bool) if valid is None else np.asarray(valid, bool)}
    joint_sets = {}
    if joints3d is not None:
        arrays["gt/joints3d"] = joints3d
    if keypoints3d is not None:
        arrays["gt/keypoints3d"], joint_sets["gt/keypoints3d"] = keypoints3d
    if pose:
        rng = np.random.default_rng(1)
        arrays["gt/pose"] = (0.1 * rng.normal(size=(T, 72))).astype(np.float32)
        arrays["gt/betas"] = np.zeros((T, 10), np.float32)
    write_sequence(path, Sequence(name=path.stem, dataset="d", fps=30, width=8, height=8, n_frames=T,
                                  frames=np.zeros((T, 8, 8, 3), np.uint8), arrays=arrays,
                                  joint_sets=joint_sets, info=info))
    return path


def _write_pred(path, joints24, pose=None):
    """A prediction file as hmr.model.predict writes it: SMPL-24 joints relative to the pelvis."""
    j = np.asarray(joints24, np.float64)
    arrays = {"joints3d": (j - j[:, :1]).astype(np.float32)}
    rng = np.random.default_rng(2)
    arrays["pose"] = (0.1 * rng.normal(size=(T, 72)) if pose is None else pose).astype(np.float32)
    arrays["betas"] = np.zeros((T, 10), np.float32)
    write_arrays(path, arrays)
    return path


PW3D = {"source": "3dpw", "source_type": "3dpw", "split": "test", "metric_joint_set": "lsp14"}


def test_3dpw_like_sequence_is_scored_on_13_lsp_joints_with_the_hip_midpoint_root(tmp_path):
    from hmr.eval.evaluate import evaluate_sequence

    gt = _gt_joints()
    seq = _write_seq(tmp_path / "pw.h5", gt, PW3D)
    idx = {n: i for i, n in enumerate(SMPL24)}

    def row(pred):
        return evaluate_sequence(seq, _write_pred(tmp_path / "p.h5", pred), None)

    exact = row(gt)
    assert exact["joint_set"] == "lsp14" and exact["root"] == "hip midpoint"
    assert exact["joints"] == LSP_FROM_SMPL and exact["joints_unused"] == ("head_top",)
    assert exact["n_frames"] == T and max(exact["mpjpe"], exact["pa_mpjpe"], exact["accel_err"]) < 1e-6

    # the left knee 31.25 mm off in frame 1 only: one of 13 joints in one of 4 frames; second
    # differences -2D at frame 1 and +D at frames 0 and 2, so accel (62.5/13 + 31.25/13) / 2 over
    # the two interior frames 1, 2
    p = gt.astype(np.float64).copy()
    p[1, idx["left_knee"], 0] += D
    r = row(p)
    assert r["mpjpe"] == pytest.approx(31.25 / 13 / T, abs=1e-6)
    assert r["accel_err"] == pytest.approx((62.5 + 31.25) / 13 / 2, abs=1e-6) and r["n_accel"] == 2
    # Procrustes leaves at most the RMS error of that frame: sqrt(31.25^2 / 13), in 1 frame of 4
    assert 0 < r["pa_mpjpe"] <= 31.25 / np.sqrt(13) / T

    # the right hip 31.25 mm off in every frame: the root (hip midpoint) moves by half of it, so
    # every one of the 13 joints is 15.625 mm off after alignment (the pelvis root would give 31.25/24)
    p = gt.astype(np.float64).copy()
    p[:, idx["right_hip"], 1] += D
    assert row(p)["mpjpe"] == pytest.approx(15.625, abs=1e-6)

    # joints outside the LSP set, the pelvis included, are not scored and are not the root
    p = gt.astype(np.float64).copy()
    for name in ("spine1", "spine2", "head", "left_hand", "left_foot", "left_collar"):
        p[:, idx[name]] += [0.3, -0.2, 0.1]
    p[:, idx["pelvis"]] += [0.1, 0.1, 0.1]
    r = row(p)
    assert max(r["mpjpe"], r["pa_mpjpe"], r["accel_err"]) < 1e-3     # float32 rounding only


def test_missing_ground_truth_joints_and_invalid_frames_are_not_scored(tmp_path):
    from hmr.eval.evaluate import evaluate_sequence

    gt = _gt_joints()
    lw = SMPL24.index("left_wrist")
    gt_missing = gt.copy()
    gt_missing[2, lw] = 0.0                          # not annotated in frame 2
    valid = [True, True, True, False]                # frame 3 has no usable ground truth
    seq = _write_seq(tmp_path / "pw.h5", gt_missing, PW3D, valid=valid)
    p = gt.astype(np.float64).copy()
    p[2, lw] += [0.5, 0.5, 0.5]                      # wrong where the ground truth is missing
    p[3] += np.random.default_rng(3).normal(0, 0.2, (24, 3))   # wrong in the invalid frame
    r = evaluate_sequence(seq, _write_pred(tmp_path / "p.h5", p), None)
    assert r["n_frames"] == 3 and r["joints"] == LSP_FROM_SMPL
    assert max(r["mpjpe"], r["pa_mpjpe"]) < 1e-6
    assert r["n_accel"] == 1 and r["accel_err"] < 1e-6    # frame 1 only (0, 1, 2 valid), wrist left out
    # the same wrist error where the ground truth has it: 866.0 mm (|(.5,.5,.5)|) on 1 of 13 joints
    seq2 = _write_seq(tmp_path / "pw2.h5", gt, PW3D, valid=valid)
    r2 = evaluate_sequence(seq2, _write_pred(tmp_path / "p.h5", p), None)
    assert r2["mpjpe"] == pytest.approx(1000 * np.sqrt(0.75) / 13 / 3, abs=1e-3)

    # a frame whose ground-truth hip is missing has no root: left out
    gt_nohip = gt.copy()
    gt_nohip[0, SMPL24.index("left_hip")] = 0.0
    r3 = evaluate_sequence(_write_seq(tmp_path / "pw3.h5", gt_nohip, PW3D),
                           _write_pred(tmp_path / "p0.h5", gt), None)
    assert r3["n_frames"] == T - 1


def test_keypoint_ground_truth_in_its_own_joint_set(tmp_path):
    """Human3.6M-like (H36M-17 ground truth) on LSP-14 and on H36M-17; VIBE-db-like (SPIN-49,
    the head top present in the ground truth but not among SMPL's joints)."""
    from hmr.body.joint_sets import H36M17, SPIN49
    from hmr.eval.evaluate import evaluate_sequence

    gt24 = _gt_joints()
    by_name = dict(zip(SMPL24, np.moveaxis(gt24, 1, 0)))
    h36 = np.stack([by_name.get(n, np.full((T, 3), 0.5, np.float32)) for n in H36M17], 1)
    pred = _write_pred(tmp_path / "p.h5", gt24)
    info = {"source_type": "h36m", "metric_joint_set": "lsp14"}
    r = evaluate_sequence(_write_seq(tmp_path / "h.h5", None, info, keypoints3d=(h36, "h36m17")), pred, None)
    assert r["joints"] == LSP_FROM_SMPL and r["root"] == "hip midpoint" and r["mpjpe"] < 1e-6
    info["metric_joint_set"] = "h36m17"
    r = evaluate_sequence(_write_seq(tmp_path / "h17.h5", None, info, keypoints3d=(h36, "h36m17")), pred, None)
    assert r["joints_unused"] == ("spine", "head_top") and len(r["joints"]) == 15
    assert r["root"] == "hip midpoint" and r["mpjpe"] < 1e-6

    spin = np.zeros((T, 49, 3), np.float32)          # OpenPose part zero, as VIBE's 3D joints
    for j, n in enumerate(SPIN49):
        if n in by_name and j >= 25:
            spin[:, j] = by_name[n]
    spin[:, SPIN49.index("head_top", 25)] = 0.25
    r = evaluate_sequence(_write_seq(tmp_path / "v.h5", None, {"source_type": "vibe_db", "metric_joint_set": "lsp14"},
                                     keypoints3d=(spin, "spin49")), pred, None)
    assert r["joints"] == LSP_FROM_SMPL and r["mpjpe"] < 1e-6


def test_synthetic_benchmark_stays_on_smpl24_with_the_pelvis_root(tmp_path):
    from hmr.eval.evaluate import evaluate_sequence

    gt = _gt_joints()
    seq = _write_seq(tmp_path / "syn.h5", gt, {"synthetic": True, "body_model": "m.pkl"})
    p = gt.astype(np.float64).copy()
    p[1, SMPL24.index("left_knee"), 0] += D
    r = evaluate_sequence(seq, _write_pred(tmp_path / "p.h5", p), None)
    assert r["joint_set"] == "smpl24" and r["root"] == "pelvis" and r["joints"] == SMPL24
    assert r["mpjpe"] == pytest.approx(31.25 / 24 / T, abs=1e-6)


def test_mpvpe_only_when_the_ground_truth_betas_belong_to_the_body_model():
    from hmr.eval.evaluate import mpvpe_mismatch

    def body(n_vertices):
        return SimpleNamespace(layer=SimpleNamespace(v_template=np.zeros((n_vertices, 3))))

    real = SimpleNamespace(info=dict(PW3D))
    syn = SimpleNamespace(info={"synthetic": True, "body_model": "anny_smpl.pkl"})
    assert mpvpe_mismatch(real, body(6890), "/m/SMPL_NEUTRAL.pkl") is None
    why = mpvpe_mismatch(real, body(13718), "/m/anny_smpl.pkl")
    assert "3dpw" in why and "13718 vertices" in why and "6890" in why
    assert mpvpe_mismatch(syn, body(13718), "/x/anny_smpl.pkl") is None
    assert "rendered by body model anny_smpl.pkl" in mpvpe_mismatch(syn, body(6890), "/m/SMPL_NEUTRAL.pkl")


def test_mpvpe_is_nan_with_one_warning_and_the_report_shows_a_dash(tmp_path, embedded_model_path, caplog):
    from hmr.eval.evaluate import evaluate_files
    from hmr.report.tables import ablation_markdown, ablation_table, read_metrics

    gt = _gt_joints()
    seqs = [str(_write_seq(tmp_path / f"pw{i}.h5", gt, PW3D)) for i in range(2)]
    preds = [str(_write_pred(tmp_path / f"p{i}.h5", gt)) for i in range(2)]
    out = tmp_path / "metrics.csv"
    with caplog.at_level(logging.INFO, logger="hmr.eval.evaluate"):
        df = evaluate_files(seqs, preds, str(embedded_model_path), out)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("MPVPE not computed" in w and "official SMPL" in w for w in warnings)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any("joint set lsp14, root = hip midpoint, 13 joints scored" in m and "not scored: head_top" in m
               for m in infos)
    assert df["mpvpe"].isna().all() and np.isfinite(df[["mpjpe", "pa_mpjpe", "accel_err"]].to_numpy()).all()
    back = read_metrics(out)                       # a NaN MPVPE mean is accepted
    assert list(back.columns) == ["seq", "n_frames", "mpjpe", "pa_mpjpe", "mpvpe", "accel_err", "orient_err"]
    assert np.isnan(back["mpvpe"].iloc[-1])
    from hmr.report.paper import VARIANTS

    table = ablation_table({v: back for v in VARIANTS})
    assert not table["best_mpvpe"].any() and table["best_mpjpe"].all()
    md = ablation_markdown(table, "pw3d")
    row = next(ln for ln in md.splitlines() if "(`full`)" in ln)
    assert [c.strip() for c in row.strip("|").split("|")][3] == "-"

    # the synthetic sequence rendered by this very body model gets its MPVPE
    syn = _write_seq(tmp_path / "syn.h5", gt, {"synthetic": True, "body_model": embedded_model_path.name})
    a = read_sequence(syn).arrays
    mean = evaluate_files([str(syn)], [str(_write_pred(tmp_path / "ps.h5", gt, pose=a["gt/pose"]))],
                            str(embedded_model_path), tmp_path / "syn.csv").iloc[-1]
    assert mean["mpvpe"] == pytest.approx(0.0, abs=1e-3)


def test_lsp14_names_hold():
    assert set(LSP_FROM_SMPL) == set(LSP14) - {"head_top"}
