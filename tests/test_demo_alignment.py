"""The demo's alignment score: predicted 2D joints against BlazePose's landmarks (known answers)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hmr.body.joint_sets import COCO17, SMPL24, SMPL45, SMPL45_TO_COCO17
from hmr.demo.alignment import (
    LIMB_INDICES,
    LIMB_JOINTS,
    alignment_per_frame,
    alignment_summary,
    load_alignment_inputs,
    run_demo_alignment,
)
from hmr.errors import InputError
from hmr.keypoints.coco import BLAZEPOSE33

T, W, H = 4, 320, 240


def _skeleton(T: int = T, seed: int = 0) -> np.ndarray:
    """(T,17,2) COCO-17 points in pixels."""
    return np.random.default_rng(seed).uniform(50, 200, (T, 17, 2))


def _boxes(T: int = T, height: float = 100.0) -> np.ndarray:
    return np.tile([160.0, 120.0, 60.0, height], (T, 1))


def test_identical_skeletons_score_zero():
    pred = _skeleton()
    a, n = alignment_per_frame(pred, pred.copy(), np.ones((T, 17)), _boxes())
    np.testing.assert_array_equal(a, 0.0)
    np.testing.assert_array_equal(n, 12)                    # the 12 limb joints, not the face


def test_shift_of_10_px_over_box_height_100_is_0_1():
    pred = _skeleton()
    for shift in ([10.0, 0.0], [0.0, -10.0], [6.0, 8.0]):
        a, _ = alignment_per_frame(pred + shift, pred, np.ones((T, 17)), _boxes(height=100.0))
        np.testing.assert_allclose(a, 0.1)
    a, _ = alignment_per_frame(pred + [10.0, 0.0], pred, np.ones((T, 17)), _boxes(height=200.0))
    np.testing.assert_allclose(a, 0.05)                     # box height, not width, normalises


def test_median_over_joints_and_ignored_joints():
    pred = _skeleton()
    lm = pred.copy()
    vis = np.ones((T, 17))
    face = [COCO17.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    lm[:, face] += 500.0                                    # face joints are not scored
    wrists = [COCO17.index("left_wrist"), COCO17.index("right_wrist")]
    lm[:, wrists] += 1000.0
    vis[:, wrists] = 0.49                                   # invisible: ignored
    knee = COCO17.index("left_knee")
    vis[:, knee] = 0.5                                      # exactly the threshold: used
    lm[:, knee] += [30.0, 40.0]                             # 50 px off, one of 10 joints
    a, n = alignment_per_frame(pred, lm, vis, _boxes())
    np.testing.assert_array_equal(n, 10)
    np.testing.assert_allclose(a, 0.0)                      # the median shrugs off one bad joint
    # the median of 10 distances (5 x 0 px, 5 x 20 px) is 10 px
    lm = pred.copy()
    lm[:, list(LIMB_INDICES[:6])] += [0.0, 20.0]
    vis = np.ones((T, 17))
    vis[:, [LIMB_INDICES[5], LIMB_INDICES[6]]] = 0.0        # one shifted, one not: 5 and 5 left
    a, n = alignment_per_frame(pred, lm, vis, _boxes())
    np.testing.assert_array_equal(n, 10)
    np.testing.assert_allclose(a, 0.1)


def test_frames_without_landmarks_are_nan_and_left_out_of_the_summary():
    pred = _skeleton(T=5)
    lm = pred.copy()
    lm[:, :, 0] += np.array([0.0, 5.0, 10.0, 20.0, 0.0])[:, None]
    vis = np.ones((5, 17))
    lm[4], vis[4] = 0.0, 0.0                                # track.h5's "none": zeros
    a, n = alignment_per_frame(pred, lm, vis, _boxes(T=5))
    np.testing.assert_allclose(a[:4], [0.0, 0.05, 0.1, 0.2])
    assert np.isnan(a[4]) and n[4] == 0
    s = alignment_summary(a)
    assert s["frames"] == 5 and s["scored_frames"] == 4
    assert s["median"] == pytest.approx(0.075)
    assert s["p90"] == pytest.approx(0.17)                  # linear: 0.1 + 0.7 * (0.2 - 0.1)
    assert s["share_under"] == pytest.approx(0.5) and s["threshold"] == 0.08
    none = alignment_summary(np.full(3, np.nan))
    assert none["scored_frames"] == 0 and none["median"] is None and none["share_under"] is None


def test_limb_joints_match_the_projects_smpl_to_coco17_mapping():
    from hmr.body.joint_sets import convert_joints

    coco, present = convert_joints(np.arange(24.0)[:, None], "smpl24", "coco17")
    for name in LIMB_JOINTS:
        j = COCO17.index(name)
        assert present[j] and SMPL24[int(coco[j, 0])] == name
        assert SMPL45[SMPL45_TO_COCO17[j]] == name          # the ground truth's mapping
    assert len(LIMB_INDICES) == 12


# ------------------------------------------------------------------------- files and CLI


def _write_demo_files(folder, shift=(0.0, 10.0), missing_frame=2):
    """A smpl.npz with a known camera and a track.h5 whose landmarks are the projected joints
    shifted by ``shift`` px (one frame without a person); box height 100 px."""
    from hmr.demo.smpl_npz import write_smpl_npz
    from hmr.io.h5 import write_arrays
    from hmr.render.overlay import weak_to_orig_cam

    rng = np.random.default_rng(1)
    joints3d = rng.normal(0, 0.4, (T, 24, 3))
    cam_px = np.column_stack([rng.uniform(80, 120, T), rng.uniform(100, 200, T), rng.uniform(80, 160, T)])
    joints2d = cam_px[:, None, :1] * joints3d[..., :2] + cam_px[:, None, 1:]   # u = a X + b
    boxes = np.tile([160.0, 120.0, 50.0, 100.0], (T, 1))
    write_smpl_npz(folder / "smpl.npz", {
        "pose": np.zeros((T, 72)), "betas": np.zeros((T, 10)), "pred_cam": np.zeros((T, 3)),
        "orig_cam": weak_to_orig_cam(cam_px, W, H), "joints3d": joints3d, "joints2d": joints2d,
        "bboxes": boxes, "frame_ids": np.arange(T) + 7, "sigma": np.ones((T, 32)),
        "trans": np.zeros((T, 3)), "focal_px": np.float32(300), "fps": np.float32(30),
        "image_size": np.array([W, H])})
    landmarks = np.zeros((T, 33, 3), np.float32)
    for name in LIMB_JOINTS:                               # by name: the person's left is left
        landmarks[:, BLAZEPOSE33.index(name), :2] = joints2d[:, SMPL24.index(name)] + shift
        landmarks[:, BLAZEPOSE33.index(name), 2] = 0.9
    landmarks[missing_frame] = 0.0
    write_arrays(folder / "track.h5", {"landmarks": landmarks, "bbox": boxes.astype(np.float32)})
    return folder / "smpl.npz", folder / "track.h5"


def test_files_to_csv_and_json(tmp_path):
    npz, track = _write_demo_files(tmp_path)
    x = load_alignment_inputs(npz, track)
    assert x["pred"].shape == (T, 17, 2) and np.isnan(x["pred"][:, 0]).all()   # SMPL has no nose
    summary = run_demo_alignment(npz, track, tmp_path / "a.csv", tmp_path / "a.json")
    df = pd.read_csv(tmp_path / "a.csv")
    assert list(df.columns) == ["frame", "frame_id", "joints", "median_px", "box_height_px", "alignment"]
    assert list(df.frame) == [0, 1, 2, 3] and list(df.frame_id) == [7, 8, 9, 10]
    assert list(df.joints) == [12, 12, 0, 12]
    np.testing.assert_allclose(df.alignment.drop(index=2), 0.1, atol=1e-5)
    np.testing.assert_allclose(df.median_px.drop(index=2), 10.0, atol=1e-3)
    assert df.alignment.isna()[2]
    on_disk = json.loads((tmp_path / "a.json").read_text())
    assert on_disk == summary
    assert summary["frames"] == 4 and summary["scored_frames"] == 3
    assert summary["median"] == pytest.approx(0.1, abs=1e-5) and summary["p90"] == pytest.approx(0.1, abs=1e-5)
    assert summary["share_under"] == 0.0 and summary["joints"] == list(LIMB_JOINTS)


def test_swapped_sides_are_not_aligned(tmp_path):
    """Landmarks with left and right exchanged score worse than the correct ones (the mapping
    goes by the person's sides on both skeletons)."""
    npz, track = _write_demo_files(tmp_path, shift=(0.0, 0.0))
    x = load_alignment_inputs(npz, track)
    a, _ = alignment_per_frame(x["pred"], x["landmarks"], x["visibility"], x["boxes"])
    np.testing.assert_allclose(a[[0, 1, 3]], 0.0, atol=1e-5)
    from hmr.body.joint_sets import COCO17_FLIP

    a_flip, _ = alignment_per_frame(x["pred"], x["landmarks"][:, list(COCO17_FLIP)],
                                    x["visibility"][:, list(COCO17_FLIP)], x["boxes"])
    assert (a_flip[[0, 1, 3]] > 0.05).all()


def test_bad_files_give_one_line_naming_the_file(tmp_path, capsys):
    from hmr.cli import main
    from hmr.io.h5 import write_arrays

    npz, track = _write_demo_files(tmp_path)
    junk = tmp_path / "junk.npz"
    junk.write_text("not an archive")
    with pytest.raises(InputError, match="junk.npz") as err:
        load_alignment_inputs(junk, track)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="nowhere.h5: file not found"):
        load_alignment_inputs(npz, tmp_path / "nowhere.h5")
    write_arrays(tmp_path / "short.h5", {"landmarks": np.zeros((T - 1, 33, 3), np.float32)})
    with pytest.raises(InputError, match="short.h5: 'landmarks' has 3 frames"):
        load_alignment_inputs(npz, tmp_path / "short.h5")
    write_arrays(tmp_path / "nolm.h5", {"bbox": np.zeros((T, 4), np.float32)})
    with pytest.raises(InputError, match="nolm.h5: dataset 'landmarks' missing"):
        load_alignment_inputs(npz, tmp_path / "nolm.h5")
    # the CLI: exit 1, one line on stderr, nothing written
    out_csv, out_json = tmp_path / "x.csv", tmp_path / "x.json"
    rc = main(["demo-alignment", "--smpl", str(junk), "--track", str(track),
               "--out-csv", str(out_csv), "--out-json", str(out_json)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and "junk.npz" in lines[0] and lines[0].startswith("error:")
    assert not out_csv.exists() and not out_json.exists()
    assert main(["demo-alignment", "--smpl", str(npz), "--track", str(track),
                 "--out-csv", str(out_csv), "--out-json", str(out_json)]) == 0
    assert json.loads(out_json.read_text())["scored_frames"] == 3
