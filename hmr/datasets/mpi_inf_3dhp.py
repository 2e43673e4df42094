"""MPI-INF-3DHP (Mehta et al., 3DV 2017): the training captures and the test set.

Layout under ``root``::

    S<1..8>/Seq<1,2>/annot.mat                     MATLAB v5: per-camera cell arrays (14 x 1)
    S<1..8>/Seq<1,2>/imageSequence/video_<c>.avi   c = 0..13
    mpi_inf_3dhp_test_set/TS<1..6>/annot_data.mat  MATLAB v7.3 (HDF5)
    mpi_inf_3dhp_test_set/TS<1..6>/imageSequence/img_000001.jpg ...   (1-based)

Training ``annot.mat``: ``annot2{c}`` (N,56) = 28 joints x (x, y) pixels, ``annot3{c}`` (N,84) =
28 joints x (x, y, z) mm in camera c's frame, ``univ_annot3{c}`` (height-normalised),
``cameras`` (1,14), ``frames`` (N,1). One sequence per (subject, sequence, camera) in
``train_cameras`` (default the 8 cameras at chest height the field trains on), named
``S1_Seq1_cam0``; frames stay in the video (``video_frames`` = every ``train_stride``-th frame).
Ground truth: ``gt/keypoints3d`` / ``gt/keypoints2d`` on the full 28-joint skeleton
(``mpi3dhp28``), ``camera/K`` fitted to the annot2/annot3 pairs (``info['K_rms_px']``).

Test ``annot_data.mat`` (MATLAB stores ``annot2`` 2x17x1xN, ``annot3``/``univ_annot3`` 3x17x1xN,
``valid_frame`` and ``activity_annotation`` N x 1; h5py reads them with the axes reversed, scipy
in MATLAB order, and both are brought to frames first): one sequence per ``TS<k>``, frames as
``image_paths``, ``gt/valid`` = ``valid_frame``, ``gt/keypoints3d`` = ``test_annot3``
(``univ_annot3``, what the benchmark scores, by default) on the 17 test joints (``mpi3dhp17``),
``gt/keypoints2d`` = ``annot2``, ``camera/K`` fitted to annot2/annot3, the per-frame activity in
``info['activity']``. Frame rates: training, the video's own (25 or 50 fps depending on the
sequence; ``train_fps`` overrides); test TS1-4 25 fps, TS5-6 50 fps (``test_fps``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmr.datasets.common import (
    DatasetError,
    ScanMemo,
    SeqSource,
    bbox_from_points,
    check_frame_count,
    fill_missing_boxes,
    fit_intrinsics,
    image_size,
    require_dir,
    require_file,
    require_keys,
    video_props,
)
from hmr.io.sequence import Sequence

DEFAULTS: dict[str, Any] = {
    "subjects": ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"],
    "train_cameras": [0, 1, 2, 4, 5, 6, 7, 8],
    "train_stride": 1,
    "train_fps": None,      # null: the video's own rate (25 or 50 fps, it varies by sequence)
    "include_test": True,
    "test_fps": {"TS1": 25.0, "TS2": 25.0, "TS3": 25.0, "TS4": 25.0, "TS5": 50.0, "TS6": 50.0},
    "test_annot3": "univ_annot3",   # or annot3 (metric, camera frame)
    "bbox_scale": 1.2,
}
TEST_DIR = "mpi_inf_3dhp_test_set"
TRAIN_KEYS = ("annot2", "annot3", "cameras", "frames")
TEST_KEYS = ("annot2", "annot3", "univ_annot3", "valid_frame")


def read_train_annot(path: Path) -> dict[str, Any]:
    """A training ``annot.mat`` (MATLAB v5) with its cell arrays checked."""
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as exc:  # NotImplementedError for v7.3, ValueError for junk
        raise DatasetError(f"{path}: not a readable MATLAB v5 file ({exc.__class__.__name__})") from None
    require_keys(mat, TRAIN_KEYS, str(path), "MPI-INF-3DHP training annot.mat")
    for key in ("annot2", "annot3"):
        if mat[key].dtype != object:
            raise DatasetError(f"{path}: '{key}' should be a cell array (one cell per camera), "
                               f"got a {mat[key].dtype} array {mat[key].shape}")
    return mat


def _cell(mat: dict[str, Any], key: str, camera: int, path: Path) -> np.ndarray:
    cells = mat[key].reshape(-1)
    if camera >= len(cells):
        raise DatasetError(f"{path}: '{key}' has {len(cells)} camera cells, camera {camera} requested")
    return np.asarray(cells[camera], np.float64)


def read_test_annot(path: Path) -> dict[str, np.ndarray]:
    """A test ``annot_data.mat``: arrays with frames first, (N,17,C) joints and (N,) vectors."""
    import h5py

    arrays: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:  # v7.3: h5py reads MATLAB's axes reversed
            require_keys(f, TEST_KEYS, str(path), "MPI-INF-3DHP test annot_data.mat")
            for key in (*TEST_KEYS, "activity_annotation"):
                if key in f:
                    arrays[key] = np.asarray(f[key][()])
    except OSError:  # an older (v5) mat file
        from scipy.io import loadmat

        try:
            mat = loadmat(str(path))
        except Exception as exc:
            raise DatasetError(f"{path}: neither a MATLAB v7.3 nor v5 file ({exc.__class__.__name__})") from None
        require_keys(mat, TEST_KEYS, str(path), "MPI-INF-3DHP test annot_data.mat")
        arrays = {k: np.transpose(np.asarray(mat[k])) for k in (*TEST_KEYS, "activity_annotation") if k in mat}
    n = arrays["valid_frame"].size
    out = {"valid_frame": arrays["valid_frame"].reshape(n).astype(bool)}
    if "activity_annotation" in arrays:
        out["activity"] = arrays["activity_annotation"].reshape(-1).astype(np.int64)
    for key, c in (("annot2", 2), ("annot3", 3), ("univ_annot3", 3)):
        a = arrays[key]
        if a.size != n * 17 * c or a.shape[0] != n or a.shape[-1] != c:
            raise DatasetError(f"{path}: '{key}' has shape {a.shape} (frames first), expected "
                               f"({n}, 1, 17, {c}) for the {n} frames of valid_frame")
        out[key] = a.reshape(n, 17, c).astype(np.float64)
    return out


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    sources = []
    for subject in opts["subjects"]:
        sdir = require_dir(root / subject, f"MPI-INF-3DHP {subject}")
        seq_dirs = sorted(p for p in sdir.glob("Seq*") if p.is_dir())
        if not seq_dirs:
            raise DatasetError(f"{sdir}: no Seq* folders (not the MPI-INF-3DHP training layout)")
        for seq_dir in seq_dirs:
            annot = require_file(seq_dir / "annot.mat", "MPI-INF-3DHP annot.mat")
            for cam in opts["train_cameras"]:
                video = seq_dir / "imageSequence" / f"video_{int(cam)}.avi"
                sources.append(SeqSource(
                    name=f"{subject}_{seq_dir.name}_cam{int(cam)}", split="train",
                    inputs=tuple(str(p) for p in (annot, video) if p.exists()),
                    meta={"kind": "train", "dir": str(seq_dir), "camera": int(cam)}))
    if opts["include_test"]:
        tdir = require_dir(root / TEST_DIR, "MPI-INF-3DHP test set")
        for ts in sorted(p for p in tdir.glob("TS*") if p.is_dir()):
            annot = require_file(ts / "annot_data.mat", "MPI-INF-3DHP test annot_data.mat")
            sources.append(SeqSource(name=ts.name, split="test", inputs=(str(annot),),
                                     meta={"kind": "test", "dir": str(ts)}))
    return sources


def _load_train(opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    seq_dir, cam = Path(source.meta["dir"]), int(source.meta["camera"])
    path = seq_dir / "annot.mat"
    mat = read_train_annot(path)
    uv = _cell(mat, "annot2", cam, path)
    X = _cell(mat, "annot3", cam, path)
    N = int(np.asarray(mat["frames"]).size)
    if uv.shape != (N, 56) or X.shape != (N, 84):
        raise DatasetError(f"{path}: camera {cam}: annot2 {uv.shape} / annot3 {X.shape}, expected "
                           f"({N}, 56) / ({N}, 84) for the {N} 'frames'")
    uv, X = uv.reshape(N, 28, 2), X.reshape(N, 28, 3) / 1000.0
    valid = np.isfinite(uv).all(axis=(1, 2)) & np.isfinite(X).all(axis=(1, 2))
    uv[~valid], X[~valid] = 0.0, 0.0
    video = require_file(seq_dir / "imageSequence" / f"video_{cam}.avi", "MPI-INF-3DHP video")
    n_video, width, height, video_fps = video_props(video)
    check_frame_count(N, n_video, str(path), str(video))
    K, rms = fit_intrinsics(X[valid], uv[valid], f"{path} camera {cam}")
    fps = float(opts["train_fps"] or video_fps)
    if not fps > 0:
        raise DatasetError(f"{video}: the video has no frame rate; set train_fps")
    idx = np.arange(0, N, int(opts["train_stride"]))
    T = len(idx)
    bbox, has = bbox_from_points(uv[idx], np.repeat(valid[idx, None], 28, 1), opts["bbox_scale"])
    bbox = fill_missing_boxes(bbox, has, str(path))
    f32 = np.float32
    kp2d = np.concatenate([uv[idx], np.repeat(valid[idx, None, None], 28, 1)], -1)
    return Sequence(
        name=source.name, dataset=dataset, fps=fps / int(opts["train_stride"]),
        width=width, height=height, n_frames=T, video_path=str(video.resolve()),
        video_frames=idx.astype(np.int64), bbox=bbox.astype(f32),
        arrays={"gt/keypoints3d": X[idx].astype(f32), "gt/keypoints2d": kp2d.astype(f32),
                "gt/valid": valid[idx], "camera/K": np.repeat(K[None], T, 0).astype(f32)},
        joint_sets={"gt/keypoints3d": "mpi3dhp28", "gt/keypoints2d": "mpi3dhp28"},
        info={"split": "train", "source": "mpi_inf_3dhp", "subject": seq_dir.parent.name,
              "sequence": seq_dir.name, "camera": cam, "stride": int(opts["train_stride"]),
              "K_rms_px": round(rms, 3)},
    )


def _load_test(opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    ts = Path(source.meta["dir"])
    path = ts / "annot_data.mat"
    a = read_test_annot(path)
    N = len(a["valid_frame"])
    img_dir = require_dir(ts / "imageSequence", f"MPI-INF-3DHP {ts.name} images")
    paths = [img_dir / f"img_{i:06d}.jpg" for i in range(1, N + 1)]  # 1-based file numbers
    check_frame_count(N, len(list(img_dir.glob("img_*.jpg"))), str(path), str(img_dir))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} frame(s) have no image in {img_dir} (first {missing[0]})")
    width, height = image_size(paths[0])
    finite = np.ones(N, bool)
    for k in ("annot2", "annot3", "univ_annot3"):
        finite &= np.isfinite(a[k]).all(axis=(1, 2))
        a[k][~finite] = 0.0
    valid = a["valid_frame"] & finite
    key = opts["test_annot3"]
    if key not in ("annot3", "univ_annot3"):
        raise DatasetError(f"mpi_inf_3dhp test_annot3: '{key}' is not annot3 or univ_annot3")
    fit_on = valid if valid.any() else np.ones(N, bool)
    K, rms = fit_intrinsics(a["annot3"][fit_on] / 1000.0, a["annot2"][fit_on], str(path))
    kp2d = np.concatenate([a["annot2"], valid[:, None, None] * np.ones((N, 17, 1))], -1)
    ok = np.repeat(valid[:, None], 17, 1)
    bbox, has = bbox_from_points(a["annot2"], ok, opts["bbox_scale"])
    bbox = fill_missing_boxes(bbox, has, str(path))
    fps = opts["test_fps"].get(ts.name) if isinstance(opts["test_fps"], dict) else opts["test_fps"]
    if fps is None:
        raise DatasetError(f"{path}: no frame rate for {ts.name} in test_fps")
    f32 = np.float32
    info = {"split": "test", "source": "mpi_inf_3dhp", "sequence": ts.name, "test_annot3": key,
            "K_rms_px": round(rms, 3), "invalid_frames": int((~valid).sum())}
    if "activity" in a and len(a["activity"]) == N:
        info["activity"] = a["activity"].tolist()
    return Sequence(
        name=source.name, dataset=dataset, fps=float(fps), width=width, height=height, n_frames=N,
        image_paths=[str(p.resolve()) for p in paths], bbox=bbox.astype(f32),
        arrays={"gt/keypoints3d": (a[key] / 1000.0).astype(f32), "gt/keypoints2d": kp2d.astype(f32),
                "gt/valid": valid, "camera/K": np.repeat(K[None], N, 0).astype(f32)},
        joint_sets={"gt/keypoints3d": "mpi3dhp17", "gt/keypoints2d": "mpi3dhp17"},
        info=info,
    )


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    if source.meta.get("kind") == "test":
        return _load_test(opts, source, dataset)
    return _load_train(opts, source, dataset)
