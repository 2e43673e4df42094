"""Tiny datasets written in each real dataset's official layout (field names, dtypes, the awkward
parts: per-person lists, latin1 pickles, MATLAB cell arrays and v7.3 files, 1-based file names,
invalid frames). Each writer returns the ground truth it used, for field-by-field checks."""

from __future__ import annotations

import io
import json
import pickle
import struct
from pathlib import Path

import cv2
import h5py
import numpy as np
from scipy.io import savemat
from scipy.spatial.transform import Rotation

from hmr.body.joint_sets import convert_joints, project_points

# ------------------------------------------------------------------ small helpers

class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` opcodes, as 3DPW's pickles (Python 2) hold numpy data:
    such a file loads only with ``encoding='latin1'``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def py2_pickle(obj, path: Path) -> None:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())


def frame_image(i: int, width: int, height: int) -> np.ndarray:
    """A BGR image whose brightness encodes its frame number (10 * i + 20)."""
    img = np.full((height, width, 3), 20 + 10 * i, np.uint8)
    img[: height // 4, : width // 4] = 255 - (20 + 10 * i)
    return img


def write_images(paths, width: int, height: int) -> None:
    for i, p in enumerate(paths):
        p.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(p), frame_image(i, width, height), [cv2.IMWRITE_JPEG_QUALITY, 95])


def write_video(path: Path, n: int, width: int, height: int, fourcc: str = "MJPG", fps: float = 25.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), path
    for i in range(n):
        writer.write(frame_image(i, width, height))
    writer.release()


def skeleton(rng: np.random.Generator, T: int, J: int, depth: float) -> np.ndarray:
    """(T,J,3) camera-frame points of a person-sized blob ~``depth`` m in front of the camera."""
    base = rng.normal(0.0, [0.25, 0.5, 0.15], (J, 3))
    drift = np.linspace(0, 0.2, T)[:, None, None] * np.array([1.0, 0.0, 0.5])
    return base[None] + drift + rng.normal(0, 0.01, (T, J, 3)) + np.array([0.0, 0.0, depth])


# ------------------------------------------------------------------ 3DPW

def write_3dpw(root: Path, layer, T: int = 6, width: int = 96, height: int = 128, seed: int = 0) -> dict:
    """sequenceFiles/test/courtyard_toy_00.pkl with two people + imageFiles/courtyard_toy_00/."""
    from hmr.body.smpl import smpl_forward

    rng = np.random.default_rng(seed)
    name = "courtyard_toy_00"
    K = np.array([[110.0, 0, width / 2], [0, 112.0, height / 2], [0, 0, 1]])
    # camera: world-to-camera, a slow pan; the world is Y-up, the camera Y-down looking along +Z
    flip = np.diag([1.0, -1.0, -1.0])
    R = np.stack([flip @ Rotation.from_euler("y", 3.0 * t, degrees=True).as_matrix() for t in range(T)])
    t_cam = np.stack([np.array([0.0, 0.9, 5.0]) + 0.02 * t for t in range(T)])
    cam_poses = np.zeros((T, 4, 4))
    cam_poses[:, :3, :3], cam_poses[:, :3, 3], cam_poses[:, 3, 3] = R, t_cam, 1.0
    people = []
    for p in range(2):
        betas = rng.normal(0, 0.8, 10)
        pose = rng.normal(0, 0.15, (T, 72))
        pose[:, :3] = Rotation.from_euler("y", np.array([160.0 + 10 * p + 2 * t for t in range(T)])[:, None],
                                        degrees=True).as_rotvec()
        trans = np.stack([np.array([-0.5 + 0.9 * p, 0.0, 0.0]) + [0.03 * t, 0.0, 0.01 * t] for t in range(T)])
        _, joints45 = smpl_forward(layer, pose, betas, trans)
        joints45 = joints45.astype(np.float64)
        joints_c = np.einsum("tij,tnj->tni", R, joints45) + t_cam[:, None]
        uv = project_points(np.repeat(K[None], T, 0), joints_c)
        op18, _ = convert_joints(np.concatenate([uv, np.full((T, 45, 1), 0.9)], -1), "smpl45", "openpose18")
        op18[..., 1, :] = np.concatenate([uv[:, 12], np.full((T, 1), 0.9)], -1)  # neck: SMPL's neck
        people.append({"betas": betas, "pose": pose, "trans": trans, "joints45_world": joints45,
                       "joints_c": joints_c, "poses2d": np.transpose(op18, (0, 2, 1)).copy()})
    people[1]["poses2d"][2] = 0.0          # person 1 not detected in frame 2
    valid = [np.ones(T, bool), np.ones(T, bool)]
    valid[0][3] = False                     # camera pose not aligned for person 0, frame 3
    data = {
        "sequence": name,
        "betas": [pp["betas"] for pp in people],
        "poses": [pp["pose"] for pp in people],
        "trans": [pp["trans"] for pp in people],
        "poses_60Hz": [np.repeat(pp["pose"], 2, 0) for pp in people],
        "trans_60Hz": [np.repeat(pp["trans"], 2, 0) for pp in people],
        "jointPositions": [pp["joints45_world"][:, :24].reshape(T, 72) for pp in people],
        "poses2d": [pp["poses2d"] for pp in people],
        "campose_valid": valid,
        "cam_poses": cam_poses,
        "cam_intrinsics": K,
        "img_frame_ids": np.arange(T),
        "genders": ["m", "f"],
    }
    (root / "sequenceFiles" / "test").mkdir(parents=True, exist_ok=True)
    for split in ("train", "validation"):
        (root / "sequenceFiles" / split).mkdir(parents=True, exist_ok=True)
    py2_pickle(data, root / "sequenceFiles" / "test" / f"{name}.pkl")
    write_images([root / "imageFiles" / name / f"image_{i:05d}.jpg" for i in range(T)], width, height)
    return {"name": name, "K": K, "R": R, "t": t_cam, "people": people, "valid": valid, "T": T,
            "width": width, "height": height}


# ------------------------------------------------------------------ Human3.6M

H36M_K = np.array([[60.0, 0, 33.0], [0, 61.0, 31.0], [0, 0, 1]])


def write_cdf(path: Path, pose: np.ndarray) -> None:
    """An official-style CDF holding ``Pose`` with shape (1, N, D)."""
    from cdflib.cdfwrite import CDF

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    cdf = CDF(str(path), cdf_spec={"Majority": "row_major"})
    cdf.write_var({"Variable": "Pose", "Data_Type": CDF.CDF_FLOAT, "Num_Elements": 1, "Rec_Vary": True,
                   "Dim_Sizes": list(pose.shape[1:])}, var_attrs={}, var_data=pose.astype(np.float32))
    cdf.close()


def write_h36m(root: Path, N: int = 12, size: int = 64, seed: int = 1, smpl_dir: Path | None = None) -> dict:
    """S1 (train) and S9 (test), one video each, plus an _ALL file that must be skipped."""
    rng = np.random.default_rng(seed)
    out = {}
    for subject in ("S1", "S9"):
        stem = "Directions 1.54138969"
        X = skeleton(rng, N, 32, depth=4.0) * 1000.0                 # mm, camera frame
        uv = project_points(np.repeat(H36M_K[None], N, 0), X)
        base = root / subject / "MyPoseFeatures"
        write_cdf(base / "D3_Positions_mono" / f"{stem}.cdf", X.reshape(1, N, 96))
        write_cdf(base / "D2_Positions" / f"{stem}.cdf", uv.reshape(1, N, 64))
        write_cdf(base / "D3_Positions_mono" / "_ALL 1.54138969.cdf", X.reshape(1, N, 96))
        write_video(root / subject / "Videos" / f"{stem}.mp4", N + 1, size, size, fourcc="mp4v", fps=50.0)
        out[subject] = {"X": X.astype(np.float32).astype(np.float64), "uv": uv.astype(np.float32).astype(np.float64)}
        if smpl_dir is not None:
            fit = {"pose": rng.normal(0, 0.1, (N, 72)), "betas": rng.normal(0, 1, 10), "trans": rng.normal(0, 1, (N, 3))}
            (smpl_dir / subject).mkdir(parents=True, exist_ok=True)
            np.savez(smpl_dir / subject / f"{stem}.npz", **fit)
            out[subject]["fit"] = fit
    return out


# ------------------------------------------------------------------ MPI-INF-3DHP

MPI_K = np.array([[70.0, 0, 40.0], [0, 71.0, 38.0], [0, 0, 1]])


def write_mpi_inf_3dhp(root: Path, N: int = 8, size: int = 80, seed: int = 2) -> dict:
    """S1/Seq1 (annot.mat with 14 camera cells, videos for cameras 0 and 2), TS1 as MATLAB v7.3,
    TS2 as MATLAB v5."""
    rng = np.random.default_rng(seed)
    out = {"train": {}, "test": {}}
    seq = root / "S1" / "Seq1"
    annot2 = np.empty((14, 1), dtype=object)
    annot3 = np.empty((14, 1), dtype=object)
    univ = np.empty((14, 1), dtype=object)
    for c in range(14):
        X = skeleton(rng, N, 28, depth=3.5) * 1000.0
        uv = project_points(np.repeat(MPI_K[None], N, 0), X)
        annot3[c, 0], annot2[c, 0], univ[c, 0] = X.reshape(N, 84), uv.reshape(N, 56), 0.9 * X.reshape(N, 84)
        out["train"][c] = {"X": X, "uv": uv}
    seq.mkdir(parents=True, exist_ok=True)
    savemat(seq / "annot.mat", {"annot2": annot2, "annot3": annot3, "univ_annot3": univ,
                                "cameras": np.arange(14)[None], "frames": np.arange(N)[:, None]})
    for c in (0, 2):
        write_video(seq / "imageSequence" / f"video_{c}.avi", N, size, size)

    test = root / "mpi_inf_3dhp_test_set"
    for ts, v73 in (("TS1", True), ("TS2", False)):
        X = skeleton(rng, N, 17, depth=3.0) * 1000.0
        uv = project_points(np.repeat(MPI_K[None], N, 0), X)
        valid = np.ones(N, bool)
        valid[[1, 5]] = False
        activity = rng.integers(1, 8, N)
        d = test / ts
        d.mkdir(parents=True, exist_ok=True)
        # MATLAB sizes: annot2 2x17x1xN, annot3 3x17x1xN, valid_frame / activity N x 1
        mat = {"annot2": np.transpose(uv[:, None], (3, 2, 1, 0)), "annot3": np.transpose(X[:, None], (3, 2, 1, 0)),
               "univ_annot3": np.transpose(0.95 * X[:, None], (3, 2, 1, 0)),
               "valid_frame": valid[:, None].astype(np.float64), "activity_annotation": activity[:, None].astype(np.float64)}
        if v73:  # HDF5 with MATLAB's 512-byte header block; h5py sees the axes reversed
            with h5py.File(d / "annot_data.mat", "w", userblock_size=512) as f:
                for k, v in mat.items():
                    f.create_dataset(k, data=np.transpose(v))
                    f[k].attrs["MATLAB_class"] = np.bytes_("double")
            with open(d / "annot_data.mat", "r+b") as fh:
                fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: toy HDF5 schema 1.00 .".ljust(116))
        else:
            savemat(d / "annot_data.mat", mat)
        write_images([d / "imageSequence" / f"img_{i:06d}.jpg" for i in range(1, N + 1)], size, size)
        out["test"][ts] = {"X": X, "uv": uv, "valid": valid, "activity": activity}
    return out


# ------------------------------------------------------------------ Penn Action

def write_penn_action(root: Path, n: int = 7, width: int = 64, height: int = 48, seed: int = 3) -> dict:
    """labels/0001.mat (train, annotated boxes) and labels/0002.mat (test, one box row too many)."""
    rng = np.random.default_rng(seed)
    out = {}
    for vid, train, extra_box in (("0001", 1, 0), ("0002", -1, 1)):
        x = rng.uniform(5, width - 5, (n, 13))
        y = rng.uniform(5, height - 5, (n, 13))
        vis = (rng.random((n, 13)) > 0.2).astype(np.float64)
        box = np.stack([x.min(1) - 2, y.min(1) - 2, x.max(1) + 2, y.max(1) + 2], 1)
        box = np.concatenate([box, box[-1:]] * 1)[: n + extra_box] if extra_box else box
        (root / "labels").mkdir(parents=True, exist_ok=True)
        savemat(root / "labels" / f"{vid}.mat", {
            "action": "baseball_pitch", "pose": "side", "x": x, "y": y, "visibility": vis,
            "train": np.array([[train]], np.int16), "bbox": box, "dimensions": np.array([[height, width, n]]),
            "nframes": np.array([[n]])})
        write_images([root / "frames" / vid / f"{i:06d}.jpg" for i in range(1, n + 1)], width, height)
        out[vid] = {"x": x, "y": y, "vis": vis, "box": box}
    return out


# ------------------------------------------------------------------ PoseTrack 2018

POSETRACK_NAMES = ["nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder",
                   "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
                   "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]


def write_posetrack(root: Path, n: int = 6, width: int = 64, height: int = 48, seed: int = 4) -> dict:
    """annotations/train/000001_bonn_train.json: track 0 on frames 0-5 but not 2, track 7 on 4-5."""
    rng = np.random.default_rng(seed)
    vid = "000001_bonn_train"
    images, anns, truth = [], [], {}
    for k in range(n):
        images.append({"file_name": f"images/train/{vid}/{k:06d}.jpg", "id": 10000010000 + k,
                       "frame_id": 10000010000 + k, "vid_id": "000001", "nframes": n,
                       "is_labeled": k != 2, "has_no_densepose": True, "ignore_regions_x": [],
                       "ignore_regions_y": []})
    for tid, frames in ((0, [0, 1, 3, 4, 5]), (7, [4, 5])):
        for k in frames:
            kp = np.zeros((17, 3))
            kp[:, 0], kp[:, 1] = rng.uniform(5, width - 5, 17), rng.uniform(5, height - 5, 17)
            kp[:, 2] = 1.0
            kp[3:5] = 0.0                     # PoseTrack never annotates the ears
            box = [float(kp[:, 0][kp[:, 2] > 0].min()), float(kp[:, 1][kp[:, 2] > 0].min()), 20.0, 25.0]
            ann = {"image_id": 10000010000 + k, "track_id": tid, "keypoints": kp.reshape(-1).tolist(),
                   "bbox_head": [1, 2, 3, 4], "category_id": 1, "id": len(anns)}
            if not (tid == 0 and k == 4):     # one annotation without a box: box from keypoints
                ann["bbox"] = box
            anns.append(ann)
            truth[(tid, k)] = (kp, box if "bbox" in ann else None)
    (root / "annotations" / "train").mkdir(parents=True, exist_ok=True)
    (root / "annotations" / "val").mkdir(parents=True, exist_ok=True)
    with open(root / "annotations" / "train" / f"{vid}.json", "w") as fh:
        json.dump({"images": images, "annotations": anns,
                   "categories": [{"keypoints": POSETRACK_NAMES, "name": "person", "id": 1,
                                   "supercategory": "person", "skeleton": [[16, 14]]}]}, fh)
    write_images([root / "images" / "train" / vid / f"{k:06d}.jpg" for k in range(n)], width, height)
    return {"video": vid, "truth": truth, "n": n}


# ------------------------------------------------------------------ InstaVariety export

def write_insta_variety(root: Path, n: int = 5, width: int = 64, height: int = 48, seed: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    kp = np.zeros((n, 25, 3))
    kp[..., 0], kp[..., 1] = rng.uniform(5, width - 5, (n, 25)), rng.uniform(5, height - 5, (n, 25))
    kp[..., 2] = rng.uniform(0.3, 1.0, (n, 25))
    kp[3] = 0.0                                   # nobody detected in frame 3
    d = root / "train" / "insta_0001"
    d.mkdir(parents=True, exist_ok=True)
    np.savez(d / "keypoints.npz", kp2d=kp, joint_set="openpose25", fps=np.float64(24.0))
    write_images([d / "images" / f"{i:05d}.jpg" for i in range(n)], width, height)
    (root / "test").mkdir(exist_ok=True)
    return {"kp": kp}


# ------------------------------------------------------------------ VIBE db

def write_vibe_db(root: Path, image_root: Path, width: int = 64, height: int = 48, seed: int = 6) -> dict:
    """3dpw_test_db.pt (joblib) with two videos, one of them with rows out of frame order."""
    import joblib

    rng = np.random.default_rng(seed)
    lengths = {"downtown_toy_00_0": 5, "downtown_toy_00_1": 4}
    rows = {k: [] for k in ("vid_name", "frame_id", "img_name", "bbox", "features", "joints2D",
                            "joints3D", "pose", "shape", "valid")}
    for vid, n in lengths.items():
        paths = [image_root / vid / f"image_{i:05d}.jpg" for i in range(n)]
        write_images(paths, width, height)
        order = list(range(n))[::-1] if vid.endswith("_1") else list(range(n))
        for i in order:
            rows["vid_name"].append(vid)
            rows["frame_id"].append(i)
            rows["img_name"].append(str(paths[i]).replace(str(image_root), "/old/place/imageFiles"))
            rows["bbox"].append([30.0 + i, 24.0, 20.0, 20.0])
            rows["features"].append(rng.normal(size=2048).astype(np.float32) + i)
            j2d = np.zeros((49, 3))
            j2d[25:] = np.concatenate([rng.uniform(5, 40, (24, 2)), np.ones((24, 1))], 1)
            rows["joints2D"].append(j2d)
            rows["joints3D"].append(rng.normal(0, 0.3, (49, 3)))
            rows["pose"].append(rng.normal(0, 0.2, 72))
            rows["shape"].append(rng.normal(0, 1, 10))
            rows["valid"].append(i != 1)
    db = {k: np.array(v) for k, v in rows.items()}
    db["features"] = db["features"].astype(np.float32)
    root.mkdir(parents=True, exist_ok=True)
    joblib.dump(db, root / "3dpw_test_db.pt")
    return {"db": db}


# ------------------------------------------------------------------ AMASS (a motion source)

def write_amass(root: Path, T: int = 60, fps: float = 120.0, seed: int = 7) -> dict:
    """AMASS's layout: <dataset>/<subject>/<clip>_poses.npz (SMPL-H, 156 pose values, Z-up) beside
    the subject's shape.npz, which holds no motion."""
    rng = np.random.default_rng(seed)
    d = root / "CMU" / "01"
    d.mkdir(parents=True, exist_ok=True)
    poses = rng.normal(0, 0.1, (T, 156))
    poses[:, :3] = [np.pi / 2, 0, 0]             # standing up in AMASS's Z-up world
    trans = np.stack([np.linspace(0, 1, T), np.zeros(T), np.full(T, 0.9)], 1)
    np.savez(d / "01_01_poses.npz", poses=poses, trans=trans, betas=rng.normal(0, 1, 16),
             mocap_framerate=np.array(fps), gender=np.array("male"), dmpls=np.zeros((T, 8)))
    np.savez(d / "shape.npz", betas=rng.normal(0, 1, 16), gender=np.array("male"))
    return {"clip": d / "01_01_poses.npz"}
