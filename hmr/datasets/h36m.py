"""Human3.6M (Ionescu et al., TPAMI 2014) in its official per-subject layout.

Layout under ``root`` (as the dataset's download unpacks), for each subject ``S<n>``::

    S<n>/Videos/<Action> <sub>.<camera>.mp4
    S<n>/MyPoseFeatures/D3_Positions_mono/<Action> <sub>.<camera>.cdf   (1, N, 96): 32 joints, mm,
                                                                        camera frame
    S<n>/MyPoseFeatures/D2_Positions/<Action> <sub>.<camera>.cdf        (1, N, 64): 32 joints, px

(``<Action> <sub>`` e.g. ``Directions 1``; the ``_ALL`` files are skipped). A ``.npz`` with the
same stem and the array under ``Pose`` may stand in for a ``.cdf`` (for users who converted the
CDFs already); CDFs are read with ``cdflib``.

Protocol (the commonly used one, configurable): train S1, S5, S6, S7, S8; test S9, S11; every
``stride``-th frame (5: 50 fps -> 10 fps), all four cameras. One sequence per video,
named ``<subject>_<Action>_<sub>.<camera>``; frames stay in the video (``video_path`` plus
``video_frames``, the 0-based frame numbers 0, 5, 10, ...).

Ground truth: ``gt/keypoints3d`` H36M-17 (camera frame, meters) and ``gt/keypoints2d`` H36M-17
(pixels, confidence 1) from the 32-joint arrays; ``camera/K`` fitted by least squares to the
D3/D2 pairs (the official files give no plain intrinsics; the RMS residual, which includes lens
distortion, is in ``info['K_rms_px']``). SMPL fits where the user provides them (``smpl_dir``):
``<smpl_dir>/<subject>/<Action> <sub>.<camera>.npz`` with ``pose`` (N,72) and ``trans`` (N,3) in
that camera's frame and ``betas`` (10,) or (N,10), at the pose files' 50 fps (convert MoSh or
NeuralAnnot fits to this; they are licensed separately and not read in their own formats). Videos
may hold up to ``video_frame_tolerance`` frames more than the pose files (some official videos
do); the extra trailing frames are ignored. Fewer frames, or more beyond the tolerance, is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmr.body.joint_sets import h36m32_to_h36m17
from hmr.datasets.common import (
    DatasetError,
    ScanMemo,
    SeqSource,
    bbox_from_points,
    fill_missing_boxes,
    fit_intrinsics,
    require_dir,
    require_file,
    require_keys,
    safe_name,
    video_props,
)
from hmr.io.sequence import Sequence

DEFAULTS: dict[str, Any] = {
    "train_subjects": ["S1", "S5", "S6", "S7", "S8"],
    "test_subjects": ["S9", "S11"],
    "stride": 5,              # every 5th frame: 50 fps -> 10 fps
    "cameras": None,          # null: all; else camera ids, e.g. ["60457274"]
    "source_fps": 50.0,
    "smpl_dir": None,         # folder of user-provided SMPL fits (see module docstring)
    "bbox_scale": 1.2,
    "video_frame_tolerance": 5,
}
D3 = "MyPoseFeatures/D3_Positions_mono"
D2 = "MyPoseFeatures/D2_Positions"


def read_positions(path: Path, per_joint: int) -> np.ndarray:
    """The ``Pose`` array of an official CDF (or an npz stand-in) as (N, 32, per_joint)."""
    if path.suffix == ".npz":
        with np.load(path) as data:
            require_keys(data, ["Pose"], str(path), "Human3.6M positions")
            pose = np.asarray(data["Pose"])
    else:
        try:
            import cdflib
        except ImportError:
            raise DatasetError(f"{path}: reading .cdf needs the cdflib package "
                               "(pip install cdflib), or convert it to .npz with a 'Pose' array") from None
        try:
            cdf = cdflib.CDF(str(path))
            names = cdf.cdf_info().zVariables + cdf.cdf_info().rVariables
        except Exception as exc:
            raise DatasetError(f"{path}: not a readable CDF file ({exc.__class__.__name__})") from None
        require_keys({n: None for n in names}, ["Pose"], str(path), "Human3.6M positions")
        pose = np.asarray(cdf.varget("Pose"))
    if pose.size % (32 * per_joint) or pose.shape[-1] != 32 * per_joint:
        raise DatasetError(f"{path}: 'Pose' has shape {pose.shape}, expected (1, N, {32 * per_joint})")
    return pose.reshape(-1, 32, per_joint).astype(np.float64)


def _annotation(folder: Path, stem: str) -> Path:
    for suffix in (".cdf", ".npz"):
        if (folder / f"{stem}{suffix}").is_file():
            return folder / f"{stem}{suffix}"
    return folder / f"{stem}.cdf"


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    sources = []
    cameras = None if opts["cameras"] is None else {str(c) for c in opts["cameras"]}
    for split, key in (("train", "train_subjects"), ("test", "test_subjects")):
        for subject in opts[key]:
            folder = require_dir(root / subject / D3, f"Human3.6M {subject} D3_Positions_mono")
            stems = sorted({p.stem for p in folder.iterdir() if p.suffix in (".cdf", ".npz")})
            for stem in stems:
                if stem.startswith("_ALL") or "." not in stem:
                    continue
                if cameras is not None and stem.rsplit(".", 1)[1] not in cameras:
                    continue
                files = [_annotation(folder, stem), _annotation(root / subject / D2, stem),
                         root / subject / "Videos" / f"{stem}.mp4"]
                if opts["smpl_dir"]:
                    files.append(Path(opts["smpl_dir"]) / subject / f"{stem}.npz")
                sources.append(SeqSource(
                    name=safe_name(f"{subject}_{stem}"), split=split,
                    inputs=tuple(str(f) for f in files if f.exists()),
                    meta={"subject": subject, "stem": stem}))
    return sources


def _smpl_fits(path: Path, n: int) -> dict[str, np.ndarray]:
    require_file(path, "Human3.6M SMPL fit")
    with np.load(path) as data:
        require_keys(data, ["pose", "betas", "trans"], str(path), "SMPL fit npz (pose, betas, trans)")
        pose, betas, trans = (np.asarray(data[k], np.float64) for k in ("pose", "betas", "trans"))
    if pose.shape != (n, 72) or trans.shape != (n, 3):
        raise DatasetError(f"{path}: pose {pose.shape} / trans {trans.shape}, expected ({n}, 72) / "
                           f"({n}, 3) like the pose files")
    betas = np.broadcast_to(betas.reshape(-1, betas.shape[-1])[..., :10], (n, 10)) if betas.size >= 10 else None
    if betas is None:
        raise DatasetError(f"{path}: betas must have 10 values (per clip or per frame)")
    return {"pose": pose, "betas": np.array(betas), "trans": trans}


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    subject, stem = source.meta["subject"], source.meta["stem"]
    d3_path = require_file(_annotation(root / subject / D3, stem), "Human3.6M D3_Positions_mono file")
    d2_path = require_file(_annotation(root / subject / D2, stem), "Human3.6M D2_Positions file")
    video = require_file(root / subject / "Videos" / f"{stem}.mp4", "Human3.6M video")
    X = read_positions(d3_path, 3) / 1000.0  # mm -> m
    uv = read_positions(d2_path, 2)
    N = len(X)
    if len(uv) != N:
        raise DatasetError(f"{d2_path}: {len(uv)} frames, {d3_path.name} has {N}")
    n_video, width, height, _ = video_props(video)
    extra = n_video - N
    if extra < 0 or extra > int(opts["video_frame_tolerance"]):
        raise DatasetError(f"{video}: video has {n_video} frames, the pose files {N} "
                           f"(tolerance {opts['video_frame_tolerance']} extra)")
    K, rms = fit_intrinsics(X.reshape(-1, 3), uv.reshape(-1, 2), str(d2_path))

    idx = np.arange(0, N, int(opts["stride"]))
    T = len(idx)
    kp3d = h36m32_to_h36m17(X[idx])
    kp2d = np.concatenate([h36m32_to_h36m17(uv[idx]), np.ones((T, 17, 1))], -1)
    bbox, has = bbox_from_points(uv[idx], np.ones((T, 32), bool), opts["bbox_scale"])
    bbox = fill_missing_boxes(bbox, has, str(d2_path))
    f32 = np.float32
    arrays = {"gt/keypoints3d": kp3d.astype(f32), "gt/keypoints2d": kp2d.astype(f32),
              "gt/valid": np.ones(T, bool), "camera/K": np.repeat(K[None], T, 0).astype(f32)}
    if opts["smpl_dir"]:
        fits = _smpl_fits(Path(opts["smpl_dir"]) / subject / f"{stem}.npz", N)
        arrays.update({"gt/pose": fits["pose"][idx].astype(f32), "gt/betas": fits["betas"][idx].astype(f32),
                       "gt/trans": fits["trans"][idx].astype(f32)})
    action, camera = stem.rsplit(".", 1)
    return Sequence(
        name=source.name, dataset=dataset, fps=float(opts["source_fps"]) / int(opts["stride"]),
        width=width, height=height, n_frames=T, video_path=str(video.resolve()),
        video_frames=idx.astype(np.int64), bbox=bbox.astype(f32), arrays=arrays,
        joint_sets={"gt/keypoints3d": "h36m17", "gt/keypoints2d": "h36m17"},
        info={"split": source.split, "source": "h36m", "subject": subject, "action": action,
              "camera": camera, "stride": int(opts["stride"]), "K_rms_px": round(rms, 3),
              "video_extra_frames": int(extra), "smpl": bool(opts["smpl_dir"])},
    )
