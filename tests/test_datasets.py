"""Real-dataset importers on tiny fixtures written in each official layout, checked field by field."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from real_dataset_fixtures import (
    H36M_K,
    MPI_K,
    write_3dpw,
    write_h36m,
    write_images,
    write_insta_variety,
    write_mpi_inf_3dhp,
    write_penn_action,
    write_posetrack,
    write_vibe_db,
    write_video,
)

from hmr.body.joint_sets import convert_joints, project_points
from hmr.datasets import import_sequence, scan_dataset
from hmr.datasets.common import DatasetError, fit_intrinsics, safe_name
from hmr.io.h5 import H5FormatError
from hmr.io.sequence import iter_frames, read_sequence


def _import_all(cfg, out_dir, dataset="ds"):
    """Import every sequence of a dataset; return {name: Sequence read back from its file}."""
    seqs = {}
    for source in scan_dataset(cfg):
        path = out_dir / f"{source.name}.h5"
        import_sequence(cfg, dataset, source.name, path, source=source)
        seqs[source.name] = read_sequence(path)
    return seqs


def _frame_numbers(path, batch_size=4):
    """Frame numbers encoded in the fixture images' brightness (see frame_image)."""
    frames = np.concatenate(list(iter_frames(path, batch_size=batch_size)))
    h, w = frames.shape[1:3]
    return np.round((frames[:, h // 2:, w // 2:].mean(axis=(1, 2, 3)) - 20) / 10).astype(int), frames


# ------------------------------------------------------------------ helpers

def test_fit_intrinsics_recovers_K():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.5, (50, 3)) + [0, 0, 4]
    K = np.array([[1145.0, 0, 512.5], [0, 1143.8, 515.4], [0, 0, 1]])
    uv = project_points(K[None], X[None])[0]
    K_fit, rms = fit_intrinsics(X, uv, "x")
    np.testing.assert_allclose(K_fit, K, atol=1e-6)
    assert rms < 1e-6
    with pytest.raises(DatasetError, match="too few"):
        fit_intrinsics(X[:2], uv[:2], "x")


def test_safe_name():
    assert safe_name("S9_Directions 1.54138969") == "S9_Directions_1.54138969"
    with pytest.raises(DatasetError):
        safe_name("  ")


# ------------------------------------------------------------------ 3DPW

@pytest.fixture(scope="module")
def threedpw(tmp_path_factory, embedded_model_path):
    from hmr.body.smpl import smpl_layer

    root = tmp_path_factory.mktemp("3dpw")
    layer = smpl_layer(embedded_model_path)
    truth = write_3dpw(root, layer)
    cfg = {"type": "3dpw", "root": str(root)}
    return root, cfg, truth, layer


def test_3dpw_one_sequence_per_person_in_the_camera_frame(threedpw, tmp_path):
    from hmr.body.smpl import smpl_forward

    _, cfg, truth, layer = threedpw
    seqs = _import_all(cfg, tmp_path)
    assert sorted(seqs) == ["courtyard_toy_00_0", "courtyard_toy_00_1"]
    T, K = truth["T"], truth["K"]
    for p, name in enumerate(sorted(seqs)):
        seq, person = seqs[name], truth["people"][p]
        assert (seq.n_frames, seq.fps, seq.width, seq.height) == (T, 30.0, truth["width"], truth["height"])
        assert seq.info["split"] == "test" and seq.info["gender"] == "mf"[p]
        assert seq.info["metric_joint_set"] == "lsp14"
        assert seq.image_paths[3].endswith("imageFiles/courtyard_toy_00/image_00003.jpg")
        np.testing.assert_array_equal(seq.arrays["gt/valid"], truth["valid"][p])
        np.testing.assert_allclose(seq.arrays["camera/K"], np.repeat(K[None], T, 0), atol=1e-4)
        np.testing.assert_allclose(seq.arrays["camera/R"], truth["R"], atol=1e-6)
        # GT joints: the dataset's jointPositions taken into the camera frame
        np.testing.assert_allclose(seq.arrays["gt/joints3d"], person["joints_c"][:, :24], atol=1e-5)
        # the camera-frame SMPL parameters give the same joints (root rotation + pelvis offset)
        _, j = smpl_forward(layer, seq.arrays["gt/pose"], seq.arrays["gt/betas"], seq.arrays["gt/trans"])
        np.testing.assert_allclose(j[:, :24], person["joints_c"][:, :24], atol=2e-4)
        np.testing.assert_allclose(seq.arrays["gt/betas"], np.repeat(person["betas"][None], T, 0), atol=1e-6)
        # ... and reproject onto the OpenPose-like 2D points the fixture made from them
        uv = project_points(np.repeat(K[None], T, 0), j)
        coco_uv, _ = convert_joints(uv, "smpl45", "coco17")
        kp = seq.arrays["gt/keypoints2d"]
        seen = kp[..., 2] > 0
        assert seen.sum() > 0.8 * seen.size
        np.testing.assert_allclose(kp[..., :2][seen], coco_uv[seen], atol=0.05)
        np.testing.assert_allclose(seq.arrays["gt/joints2d"], uv[:, :24], atol=0.05)
        assert seq.joint_sets == {"gt/keypoints2d": "coco17"}
    # person 1 has no detection in frame 2: its box comes from the projected GT joints
    assert seqs["courtyard_toy_00_1"].info["bbox_from"] == {"keypoints": 5, "gt_joints": 1, "interpolated": 0}
    box = seqs["courtyard_toy_00_1"].bbox[2]
    j2d = seqs["courtyard_toy_00_1"].arrays["gt/joints2d"][2]
    assert box[0] - box[2] / 2 <= j2d[:, 0].min() and j2d[:, 0].max() <= box[0] + box[2] / 2
    numbers, frames = _frame_numbers(tmp_path / "courtyard_toy_00_0.h5")
    assert list(numbers) == list(range(T)) and frames.shape == (T, truth["height"], truth["width"], 3)


def test_3dpw_needs_latin1_and_refuses_code(threedpw, tmp_path):
    import pickle

    root = threedpw[0]
    pkl = root / "sequenceFiles" / "test" / "courtyard_toy_00.pkl"
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(pkl.read_bytes())  # a Python 2 pickle: plain loading fails
    evil = tmp_path / "sequenceFiles" / "test"
    evil.mkdir(parents=True)
    (evil / "x.pkl").write_bytes(pickle.dumps({"sequence": subprocess.Popen}, protocol=2))
    with pytest.raises(DatasetError, match=r"x\.pkl: refusing to unpickle \w+\.Popen"):
        scan_dataset({"type": "3dpw", "root": str(tmp_path), "splits": ["test"]})


def test_3dpw_bad_layouts_are_one_line_and_write_nothing(threedpw, tmp_path):
    from real_dataset_fixtures import py2_pickle

    from hmr.datasets.common import load_latin1_pickle

    root = threedpw[0]
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    cfg = {"type": "3dpw", "root": str(bad)}
    pkl = bad / "sequenceFiles" / "test" / "courtyard_toy_00.pkl"
    out = tmp_path / "out.h5"
    data = load_latin1_pickle(pkl)

    # an image missing: annotations and images disagree
    (bad / "imageFiles" / "courtyard_toy_00" / "image_00005.jpg").unlink()
    with pytest.raises(DatasetError, match=r"courtyard_toy_00\.pkl: 1 annotated frame\(s\) have no image .*image_00005"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    # an extra image
    shutil.copy(bad / "imageFiles/courtyard_toy_00/image_00000.jpg", bad / "imageFiles/courtyard_toy_00/image_00005.jpg")
    shutil.copy(bad / "imageFiles/courtyard_toy_00/image_00000.jpg", bad / "imageFiles/courtyard_toy_00/image_00006.jpg")
    with pytest.raises(DatasetError, match=r"annotations have 6 frames, .*courtyard_toy_00 has 7"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    (bad / "imageFiles/courtyard_toy_00/image_00006.jpg").unlink()
    # a different layout version: a key renamed
    old = dict(data)
    old["cam_extrinsics"] = old.pop("cam_poses")
    py2_pickle(old, pkl)
    with pytest.raises(DatasetError, match=r"courtyard_toy_00\.pkl: missing key\(s\) cam_poses \(not the 3DPW"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    # per-person lists of different lengths
    short = dict(data)
    short["trans"] = short["trans"][:1]
    py2_pickle(short, pkl)
    with pytest.raises(DatasetError, match="'trans' should be a list with one entry per person"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    # frame counts inside the file disagree
    cut = dict(data)
    cut["poses"] = [p[:4] for p in cut["poses"]]
    py2_pickle(cut, pkl)
    with pytest.raises(DatasetError, match=r"poses\[0\] has 4 frames, expected 6"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    # missing folders
    shutil.rmtree(bad / "imageFiles")
    py2_pickle(data, pkl)
    with pytest.raises(DatasetError, match="3DPW images of courtyard_toy_00 folder not found"):
        import_sequence(cfg, "ds", "courtyard_toy_00_0", out)
    with pytest.raises(DatasetError, match="3DPW sequenceFiles folder not found"):
        scan_dataset({"type": "3dpw", "root": str(tmp_path)})
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))


# ------------------------------------------------------------------ Human3.6M

@pytest.fixture(scope="module")
def h36m(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m")
    smpl_dir = tmp_path_factory.mktemp("h36m_smpl")
    truth = write_h36m(root, smpl_dir=smpl_dir)
    return root, smpl_dir, truth


def test_h36m_protocol_subsampled_video_and_fitted_camera(h36m, tmp_path):
    root, smpl_dir, truth = h36m
    cfg = {"type": "h36m", "root": str(root), "train_subjects": ["S1"], "test_subjects": ["S9"],
           "smpl_dir": str(smpl_dir)}
    seqs = _import_all(cfg, tmp_path)
    assert sorted(seqs) == ["S1_Directions_1.54138969", "S9_Directions_1.54138969"]  # _ALL skipped
    seq = seqs["S9_Directions_1.54138969"]
    X, uv, fit = truth["S9"]["X"], truth["S9"]["uv"], truth["S9"]["fit"]
    idx = [0, 5, 10]
    h17 = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    assert (seq.n_frames, seq.fps, seq.width, seq.height) == (3, 10.0, 64, 64)
    assert seq.info["split"] == "test" and seqs["S1_Directions_1.54138969"].info["split"] == "train"
    assert (seq.info["action"], seq.info["camera"], seq.info["video_extra_frames"]) == ("Directions 1", "54138969", 1)
    np.testing.assert_array_equal(seq.video_frames, idx)
    np.testing.assert_allclose(seq.arrays["gt/keypoints3d"], X[idx][:, h17] / 1000, atol=1e-6)
    np.testing.assert_allclose(seq.arrays["gt/keypoints2d"][..., :2], uv[idx][:, h17], atol=1e-4)
    np.testing.assert_allclose(seq.arrays["camera/K"][0], H36M_K, atol=1e-3)
    assert seq.info["K_rms_px"] < 0.01
    np.testing.assert_allclose(seq.arrays["gt/pose"], fit["pose"][idx], atol=1e-6)
    np.testing.assert_allclose(seq.arrays["gt/betas"], np.repeat(fit["betas"][None], 3, 0), atol=1e-6)
    assert seq.joint_sets == {"gt/keypoints3d": "h36m17", "gt/keypoints2d": "h36m17"}
    numbers, _ = _frame_numbers(tmp_path / "S9_Directions_1.54138969.h5", batch_size=2)
    assert list(numbers) == idx  # only frames 0, 5, 10 of the 50 fps video


def test_h36m_bad_input(h36m, tmp_path):
    root = h36m[0]
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    cfg = {"type": "h36m", "root": str(bad), "train_subjects": ["S1"], "test_subjects": ["S9"]}
    out = tmp_path / "out.h5"
    write_video(bad / "S9/Videos/Directions 1.54138969.mp4", 9, 64, 64, fourcc="mp4v")
    with pytest.raises(DatasetError, match=r"Directions 1\.54138969\.mp4: video has 9 frames, the pose files 12"):
        import_sequence(cfg, "ds", "S9_Directions_1.54138969", out)
    (bad / "S9/MyPoseFeatures/D2_Positions/Directions 1.54138969.cdf").unlink()
    with pytest.raises(DatasetError, match=r"D2_Positions/Directions 1\.54138969\.cdf: Human3\.6M D2_Positions file not found"):
        import_sequence(cfg, "ds", "S9_Directions_1.54138969", out)
    with pytest.raises(DatasetError, match="S5/MyPoseFeatures/D3_Positions_mono: Human3.6M S5 D3_Positions_mono folder not found"):
        scan_dataset({"type": "h36m", "root": str(bad)})
    with pytest.raises(DatasetError, match="no sequence 'S9_Nope' in this h36m dataset"):
        import_sequence(cfg, "ds", "S9_Nope", out)
    assert not out.exists()


# ------------------------------------------------------------------ MPI-INF-3DHP

@pytest.fixture(scope="module")
def mpi(tmp_path_factory):
    root = tmp_path_factory.mktemp("mpi")
    return root, write_mpi_inf_3dhp(root)


def test_mpi_inf_3dhp_training_cells_and_test_sets(mpi, tmp_path):
    root, truth = mpi
    cfg = {"type": "mpi_inf_3dhp", "root": str(root), "subjects": ["S1"], "train_cameras": [0, 2],
           "train_stride": 2}
    seqs = _import_all(cfg, tmp_path)
    assert sorted(seqs) == ["S1_Seq1_cam0", "S1_Seq1_cam2", "TS1", "TS2"]
    for cam in (0, 2):
        seq = seqs[f"S1_Seq1_cam{cam}"]
        X, uv = truth["train"][cam]["X"], truth["train"][cam]["uv"]
        assert (seq.n_frames, seq.fps, seq.info["split"]) == (4, 12.5, "train")
        np.testing.assert_array_equal(seq.video_frames, [0, 2, 4, 6])
        np.testing.assert_allclose(seq.arrays["gt/keypoints3d"], X[::2] / 1000, atol=1e-6)
        np.testing.assert_allclose(seq.arrays["gt/keypoints2d"][..., :2], uv[::2], atol=1e-6)
        np.testing.assert_allclose(seq.arrays["camera/K"][0], MPI_K, atol=1e-4)
        assert seq.joint_sets["gt/keypoints3d"] == "mpi3dhp28"
    numbers, _ = _frame_numbers(tmp_path / "S1_Seq1_cam2.h5")
    assert list(numbers) == [0, 2, 4, 6]
    for ts in ("TS1", "TS2"):  # TS1: MATLAB v7.3 (HDF5), TS2: MATLAB v5
        seq, t = seqs[ts], truth["test"][ts]
        assert (seq.n_frames, seq.fps, seq.info["split"]) == (8, 25.0, "test")
        np.testing.assert_array_equal(seq.arrays["gt/valid"], t["valid"])
        np.testing.assert_allclose(seq.arrays["gt/keypoints3d"], 0.95 * t["X"] / 1000, atol=1e-6)  # univ_annot3
        np.testing.assert_allclose(seq.arrays["gt/keypoints2d"][..., :2], t["uv"], atol=1e-6)
        np.testing.assert_array_equal(seq.arrays["gt/keypoints2d"][:, 0, 2], t["valid"])
        np.testing.assert_allclose(seq.arrays["camera/K"][0], MPI_K, atol=1e-4)
        assert seq.info["activity"] == t["activity"].tolist()
        assert seq.image_paths[0].endswith(f"{ts}/imageSequence/img_000001.jpg")  # 1-based
        assert seq.joint_sets["gt/keypoints3d"] == "mpi3dhp17"
    numbers, _ = _frame_numbers(tmp_path / "TS1.h5")
    assert list(numbers) == list(range(8))


def test_mpi_inf_3dhp_bad_input(mpi, tmp_path):
    root = mpi[0]
    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    cfg = {"type": "mpi_inf_3dhp", "root": str(bad), "subjects": ["S1"], "train_cameras": [0, 1]}
    out = tmp_path / "out.h5"
    (bad / "mpi_inf_3dhp_test_set/TS1/imageSequence/img_000008.jpg").unlink()
    with pytest.raises(DatasetError, match=r"TS1/annot_data\.mat: annotations have 8 frames, .*imageSequence has 7"):
        import_sequence(cfg, "ds", "TS1", out)
    with pytest.raises(DatasetError, match=r"video_1\.avi: MPI-INF-3DHP video not found"):
        import_sequence(cfg, "ds", "S1_Seq1_cam1", out)
    write_video(bad / "S1/Seq1/imageSequence/video_0.avi", 5, 80, 80)
    with pytest.raises(DatasetError, match=r"annot\.mat: annotations have 8 frames, .*video_0\.avi has 5"):
        import_sequence(cfg, "ds", "S1_Seq1_cam0", out)
    from scipy.io import loadmat, savemat

    mat = loadmat(bad / "S1/Seq1/annot.mat")
    savemat(bad / "S1/Seq1/annot.mat", {"annot2": mat["annot2"], "frames": mat["frames"]})
    with pytest.raises(DatasetError, match=r"annot\.mat: missing key\(s\) annot3, cameras \(not the MPI-INF-3DHP"):
        import_sequence(cfg, "ds", "S1_Seq1_cam0", out)
    savemat(bad / "S1/Seq1/annot.mat", {"annot2": np.zeros((8, 56)), "annot3": mat["annot3"],
                                         "cameras": mat["cameras"], "frames": mat["frames"]})
    with pytest.raises(DatasetError, match="'annot2' should be a cell array"):
        import_sequence(cfg, "ds", "S1_Seq1_cam0", out)
    assert not out.exists()


# ------------------------------------------------------------------ Penn Action, PoseTrack, InstaVariety

def test_penn_action(tmp_path):
    root = tmp_path / "penn"
    truth = write_penn_action(root)
    seqs = _import_all({"type": "penn_action", "root": str(root)}, tmp_path)
    assert sorted(seqs) == ["0001", "0002"]
    assert (seqs["0001"].info["split"], seqs["0002"].info["split"]) == ("train", "test")
    for vid, seq in seqs.items():
        t = truth[vid]
        assert (seq.n_frames, seq.width, seq.height, seq.fps) == (7, 64, 48, 30.0)
        kp = seq.arrays["gt/keypoints2d"]
        np.testing.assert_allclose(kp[..., 0], t["x"], atol=1e-4)
        np.testing.assert_allclose(kp[..., 1], t["y"], atol=1e-4)
        np.testing.assert_array_equal(kp[..., 2], t["vis"])
        assert seq.image_paths[0].endswith(f"frames/{vid}/000001.jpg")
        assert seq.joint_sets == {"gt/keypoints2d": "penn13"}
    x1, y1, x2, y2 = truth["0001"]["box"].T
    np.testing.assert_allclose(seqs["0001"].bbox, np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1), atol=1e-4)
    assert seqs["0002"].info["bbox_from"].startswith("joints (bbox has 8 rows for 7 frames)")
    (root / "frames/0001/000007.jpg").unlink()
    with pytest.raises(DatasetError, match=r"0001\.mat: annotations have 7 frames, .*frames/0001 has 6"):
        import_sequence({"type": "penn_action", "root": str(root)}, "ds", "0001", tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_posetrack_per_track_with_gaps(tmp_path):
    root = tmp_path / "pt"
    truth = write_posetrack(root)
    cfg = {"type": "posetrack", "root": str(root), "min_frames": 3}
    seqs = _import_all(cfg, tmp_path)
    assert sorted(seqs) == ["000001_bonn_train_0"]  # track 7 spans 2 frames < min_frames
    seq = seqs["000001_bonn_train_0"]
    assert (seq.n_frames, seq.info["split"], seq.info["labeled_frames"]) == (6, "train", 5)
    np.testing.assert_array_equal(seq.arrays["gt/valid"], [1, 1, 0, 1, 1, 1])
    kp = seq.arrays["gt/keypoints2d"]
    for k in (0, 1, 3, 4, 5):
        ref, box = truth["truth"][(0, k)]
        np.testing.assert_allclose(kp[k], ref, atol=1e-4)
        if box is not None:
            np.testing.assert_allclose(seq.bbox[k], [box[0] + 10, box[1] + 12.5, 20, 25], atol=1e-4)
    assert kp[2, :, 2].sum() == 0
    np.testing.assert_allclose(seq.bbox[2], (seq.bbox[1] + seq.bbox[3]) / 2, atol=1e-4)  # interpolated
    _, present = convert_joints(kp, "posetrack17", "coco17")
    assert not present[1] and present[0] and present[16]
    bad = json.loads((root / "annotations/train/000001_bonn_train.json").read_text())
    del bad["annotations"][0]["track_id"]
    (root / "annotations/train/000001_bonn_train.json").write_text(json.dumps(bad))
    with pytest.raises(DatasetError, match=r"annotations\[0\]: missing key\(s\) track_id"):
        scan_dataset(cfg)


def test_insta_variety_export(tmp_path):
    root = tmp_path / "insta"
    truth = write_insta_variety(root)
    seqs = _import_all({"type": "insta_variety", "root": str(root)}, tmp_path)
    seq = seqs["insta_0001"]
    assert (seq.n_frames, seq.fps, seq.info["split"]) == (5, 24.0, "train")
    np.testing.assert_allclose(seq.arrays["gt/keypoints2d"], truth["kp"], atol=1e-5)
    np.testing.assert_array_equal(seq.arrays["gt/valid"], [1, 1, 1, 0, 1])
    np.testing.assert_allclose(seq.bbox[3], (seq.bbox[2] + seq.bbox[4]) / 2, atol=1e-4)
    (root / "train/insta_0001/images/00004.jpg").unlink()
    with pytest.raises(DatasetError, match=r"keypoints\.npz: annotations have 5 frames, .*images has 4"):
        import_sequence({"type": "insta_variety", "root": str(root)}, "ds", "insta_0001", tmp_path / "x.h5")


# ------------------------------------------------------------------ VIBE db

def test_vibe_db_grouped_by_video_with_features(tmp_path):
    root, images = tmp_path / "vibe", tmp_path / "imageFiles"
    truth = write_vibe_db(root, images)["db"]
    cfg = {"type": "vibe_db", "root": str(root),
           "image_prefix": {"from": "/old/place/imageFiles", "to": str(images)}}
    seqs = _import_all(cfg, tmp_path)
    assert sorted(seqs) == ["3dpw_test-downtown_toy_00_0", "3dpw_test-downtown_toy_00_1"]
    for vid, n in (("downtown_toy_00_0", 5), ("downtown_toy_00_1", 4)):
        seq = seqs[f"3dpw_test-{vid}"]
        rows = np.flatnonzero(truth["vid_name"] == vid)
        rows = rows[np.argsort(truth["frame_id"][rows])]   # the fixture stored _1 in reverse
        assert (seq.n_frames, seq.info["split"], seq.width, seq.height) == (n, "test", 64, 48)
        assert not seq.info["image_size_estimated"]
        np.testing.assert_array_equal(seq.arrays["precomputed/features"], truth["features"][rows])
        np.testing.assert_allclose(seq.arrays["gt/pose"], truth["pose"][rows], atol=1e-6)
        np.testing.assert_allclose(seq.arrays["gt/keypoints3d"], truth["joints3D"][rows], atol=1e-6)
        np.testing.assert_array_equal(seq.arrays["gt/valid"], truth["valid"][rows])
        np.testing.assert_allclose(seq.bbox, truth["bbox"][rows], atol=1e-6)
        assert seq.joint_sets == {"gt/keypoints2d": "spin49", "gt/keypoints3d": "spin49"}
        numbers, _ = _frame_numbers(tmp_path / f"3dpw_test-{vid}.h5")
        assert list(numbers) == list(range(n))
    # spin49 -> lsp14 takes the ground-truth part
    lsp, present = convert_joints(seqs["3dpw_test-downtown_toy_00_0"].arrays["gt/keypoints2d"], "spin49", "lsp14")
    assert present.all() and (lsp[..., 2] == 1).all()
    # without the images: the size is estimated, flagged
    seq = import_sequence({"type": "vibe_db", "root": str(root)}, "ds", "3dpw_test-downtown_toy_00_0",
                          tmp_path / "noimg.h5")
    assert seq.info["image_size_estimated"] and seq.width >= 40
    import joblib

    db = dict(truth)
    db["bbox"] = db["bbox"][:-1]
    joblib.dump(db, root / "3dpw_test_db.pt")
    with pytest.raises(DatasetError, match=r"3dpw_test_db\.pt: 'bbox' has 8 rows, 'vid_name' has 9"):
        import_sequence(cfg, "ds", "3dpw_test-downtown_toy_00_0", tmp_path / "x.h5")


# ------------------------------------------------------------------ the sequence format's additions

def test_joint_set_attribute_is_checked(tmp_path):
    from hmr.io.sequence import Sequence, write_sequence

    T = 3
    paths = [tmp_path / f"{i}.jpg" for i in range(T)]
    write_images(paths, 32, 24)
    seq = Sequence(name="s", dataset="d", fps=10, width=32, height=24, n_frames=T,
                   image_paths=[str(p) for p in paths],
                   arrays={"gt/keypoints2d": np.zeros((T, 13, 3), np.float32), "gt/valid": np.ones(T, bool)},
                   joint_sets={"gt/keypoints2d": "coco17"})
    with pytest.raises(H5FormatError, match="13 joints, joint_set 'coco17' has 17"):
        write_sequence(tmp_path / "s.h5", seq)
    seq.joint_sets = {}
    with pytest.raises(H5FormatError, match="no joint_set named"):
        write_sequence(tmp_path / "s.h5", seq)
    seq.joint_sets = {"gt/keypoints2d": "penn13"}
    write_sequence(tmp_path / "s.h5", seq)
    back = read_sequence(tmp_path / "s.h5")
    assert back.joint_sets == {"gt/keypoints2d": "penn13"} and back.image_paths == [str(p) for p in paths]
    paths[1].unlink()
    with pytest.raises(H5FormatError, match=r"1\.jpg: image missing or unreadable"):
        list(iter_frames(tmp_path / "s.h5"))


def test_cli_one_line_error(tmp_path):
    cfg = json.dumps({"type": "3dpw", "root": str(tmp_path)})
    run = subprocess.run([sys.executable, "-m", "hmr", "import-dataset", "--dataset", "d", "--seq", "x",
                          "--params", cfg, "--out", str(tmp_path / "x.h5")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: {tmp_path}/sequenceFiles: 3DPW sequenceFiles folder not found"


# ------------------------------------------------------------------ joint sets and protocols

def test_joint_set_tables():
    from hmr.body.joint_sets import (
        JOINT_SETS,
        PROTOCOL_JOINT_SETS,
        conversion_table,
        h36m32_to_h36m17,
        openpose18_to_coco17,
    )

    # the field's published index lists, recovered from the names
    assert [c[0] for c in conversion_table("mpi3dhp28", "mpi3dhp17")] == [7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6]
    assert [c[0] for c in conversion_table("h36m17", "lsp14")] == [3, 2, 1, 4, 5, 6, 16, 15, 14, 11, 12, 13, 8, 10]
    assert [c[0] for c in conversion_table("mpi3dhp17", "h36m17")] == [14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4]
    assert [c[0] for c in conversion_table("openpose18", "coco17")] == [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10]
    x = np.arange(18 * 3, dtype=float).reshape(1, 18, 3)
    np.testing.assert_array_equal(openpose18_to_coco17(x)[0, 1], x[0, 15])
    np.testing.assert_array_equal(h36m32_to_h36m17(np.arange(32)[None, :, None])[0, :, 0],
                                  [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27])
    # SMPL's joints give 13 of the 14 LSP joints (no head top); Penn's give COCO's limbs, no face
    assert conversion_table("smpl24", "lsp14")[13] == () and all(conversion_table("smpl24", "lsp14")[:13])
    _, present = convert_joints(np.zeros((13, 3)), "penn13", "coco17")
    assert present.tolist() == [False] * 5 + [True] * 12
    # SPIN-49: ground truth first, OpenPose detection where the ground truth has confidence 0
    spin = np.zeros((2, 49, 3))
    spin[:, 16] = [5, 6, 1]          # op_left_eye detected in both frames
    spin[0, 45] = [7, 8, 1]          # ground-truth left_eye annotated in frame 0 only
    coco, present = convert_joints(spin, "spin49", "coco17", confidence=True)
    assert present.all()
    np.testing.assert_array_equal(coco[:, 1], [[7, 8, 1], [5, 6, 1]])
    np.testing.assert_array_equal(convert_joints(spin, "spin49", "coco17")[0][:, 1], [[7, 8, 1], [0, 0, 0]])
    assert all(v in JOINT_SETS for v in PROTOCOL_JOINT_SETS.values())
    assert all(len(set(names)) == len(names) for names in JOINT_SETS.values())


def test_metric_joints_follow_the_protocol(h36m, tmp_path):
    from hmr.datasets.protocol import metric_joints

    root = h36m[0]
    cfg = {"type": "h36m", "root": str(root), "train_subjects": [], "test_subjects": ["S9"]}
    seq = import_sequence(cfg, "ds", "S9_Directions_1.54138969", tmp_path / "s.h5")
    assert seq.info["metric_joint_set"] == "lsp14"
    pred45 = np.random.default_rng(0).normal(size=(3, 45, 3))
    gt, pred, mask = metric_joints(seq, pred45)
    assert gt.shape == pred.shape == (3, 14, 3) and mask.sum() == 13 and not mask[13]
    h17 = seq.arrays["gt/keypoints3d"]
    np.testing.assert_array_equal(gt[:, 0], h17[:, 3])   # right ankle
    np.testing.assert_array_equal(pred[:, 0], pred45[:, 8])  # SMPL right_ankle
    gt, pred, mask = metric_joints(seq, pred45, "h36m17")
    assert mask.sum() == 15  # SMPL has no head top and no H36M "spine" (mid-torso) point


# ------------------------------------------------------------------ AMASS

def test_amass_layout_as_the_synthetic_motion_source(tmp_path, embedded_model_path):
    """AMASS is read by the synthetic generator (hmr.synthetic.amass), not imported as a dataset:
    a folder in AMASS's layout drives a rendered sequence."""
    from real_dataset_fixtures import write_amass

    from hmr.synthetic.amass import list_amass_clips
    from hmr.synthetic.generate import synthesize_sequence

    clip = write_amass(tmp_path / "amass")["clip"]
    assert list_amass_clips(tmp_path / "amass") == [clip]  # shape.npz is not motion
    params = {"type": "synthetic", "n_frames": 8, "fps": 30, "width": 64, "height": 48,
              "amass_dir": str(tmp_path / "amass"), "amass_fraction": 1.0, "out_of_frame_prob": 0.0,
              "shape_std": 1.0}
    seq = synthesize_sequence("synthetic", "train_000", params, str(embedded_model_path), seed=0,
                              out=str(tmp_path / "s.h5"))
    assert seq.info["action"].startswith("amass:01_01_poses.npz@")
    back = read_sequence(tmp_path / "s.h5")
    assert back.n_frames == 8 and back.arrays["gt/valid"].all()


def test_video_frames_select_and_check(tmp_path):
    from hmr.io.sequence import Sequence, write_sequence

    write_video(tmp_path / "v.avi", 5, 32, 24)
    seq = Sequence(name="s", dataset="d", fps=5, width=32, height=24, n_frames=3,
                   video_path=str(tmp_path / "v.avi"), video_frames=np.array([0, 3, 7]))
    write_sequence(tmp_path / "s.h5", seq)
    with pytest.raises(H5FormatError, match=r"v\.avi: video ends at frame 5, the sequence needs frame 7"):
        list(iter_frames(tmp_path / "s.h5"))
    seq.video_frames = np.array([0, 4, 3])
    with pytest.raises(H5FormatError, match="must be increasing"):
        write_sequence(tmp_path / "t.h5", seq)
    seq.video_frames = np.array([1, 2, 4])
    write_sequence(tmp_path / "t.h5", seq)
    numbers, _ = _frame_numbers(tmp_path / "t.h5", batch_size=2)
    assert list(numbers) == [1, 2, 4]
