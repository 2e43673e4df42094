"""VIBE's preprocessed datasets (``*_db.pt`` joblib files, ``insta_*_db.h5``), so users who have
them skip feature extraction: their 2048-d SPIN features become f_t as they are.

Layout: ``root`` holds the db files (``3dpw_test_db.pt``, ``mpii3d_train_db.pt``,
``insta_train_db.h5``, ...); ``files`` picks some (default: every ``*_db.pt`` / ``*_db.h5``).
Each is a dict of per-frame arrays concatenated over videos: ``vid_name`` (N,), ``img_name``
(N,), ``bbox`` (N,4) as (cx, cy, w, h), and, depending on the dataset, ``frame_id`` (N,),
``features`` (N,2048), ``joints2D`` (N,49,3) and ``joints3D`` (N,49,3) in SPIN's 49-joint order,
``pose`` (N,72), ``shape`` (N,10), ``valid`` (N,). The files are loaded memory-mapped
(``joblib.load(mmap_mode='r')``), so importing one video reads only its rows when the file was
saved uncompressed, as VIBE saves them.

Frames are grouped into one sequence per ``vid_name`` (VIBE cuts 16-frame windows only when it
loads them), ordered by ``frame_id``, named ``<file>-<vid_name>`` (``file`` = the file name
without ``_db``). Output: ``image_paths`` (``img_name``, with ``image_prefix`` {from, to}
replaced when the images moved), ``bbox`` as stored, ``precomputed/features``, ``gt/keypoints2d``
/ ``gt/keypoints3d`` (``spin49``: the ``op_`` part holds OpenPose detections, the rest ground
truth; conversions fall back from ground truth to detections), ``gt/pose``/``gt/betas`` as
stored (VIBE keeps the root orientation in the camera frame; no translation), ``gt/valid`` from
``valid`` (all true when absent). The split comes from the file name (``_train``, ``_val``,
``_test``). Image size is read from the first image; when the images are not on disk it is
estimated from the boxes and keypoints (``info['image_size_estimated']``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hmr.datasets.common import (
    DatasetError,
    ScanMemo,
    SeqSource,
    image_size,
    require_file,
    require_keys,
    safe_name,
)
from hmr.io.sequence import Sequence

DEFAULTS: dict[str, Any] = {
    "files": None,           # db file names under root; null = every *_db.pt / *_db.h5
    "fps": 30.0,             # frame rate of every file unless fps_per_file names it
    "fps_per_file": {},      # e.g. {mpii3d_train_db.pt: 25}
    "image_prefix": None,    # {from: <prefix in img_name>, to: <where the images are now>}
}
REQUIRED = ("vid_name", "img_name", "bbox")
LAYOUT = "VIBE db (vid_name, img_name, bbox, ...)"


def _text(values: Any) -> np.ndarray:
    a = np.asarray(values)
    if a.dtype.kind == "S" or a.dtype == object:
        return np.array([v.decode() if isinstance(v, bytes) else str(v) for v in a.reshape(-1)])
    return a.reshape(-1).astype(str)


def read_db(path: Path) -> dict[str, Any]:
    """A VIBE db file as a dict of (memory-mapped where possible) arrays."""
    if path.suffix == ".h5":
        import h5py

        try:
            with h5py.File(path, "r") as f:
                db = {k: f[k][()] for k in f}
        except OSError:
            raise DatasetError(f"{path}: not a readable HDF5 file") from None
    else:
        try:
            import joblib
        except ImportError:
            raise DatasetError(f"{path}: reading VIBE's .pt db files needs joblib (pip install joblib)") from None
        try:
            db = joblib.load(path, mmap_mode="r")
        except Exception as exc:
            raise DatasetError(f"{path}: not a readable joblib file ({exc.__class__.__name__})") from None
    if not isinstance(db, dict):
        raise DatasetError(f"{path}: expected a dict of arrays, got {type(db).__name__}")
    require_keys(db, REQUIRED, str(path), LAYOUT)
    n = len(db["vid_name"])
    for key, value in db.items():
        if hasattr(value, "__len__") and not isinstance(value, (str, bytes)) and len(value) != n:
            raise DatasetError(f"{path}: '{key}' has {len(value)} rows, 'vid_name' has {n}")
    return db


def _split(name: str) -> str:
    for split in ("train", "val", "test"):
        if f"_{split}" in name:
            return split
    return "none"


def _files(root: Path, opts: dict[str, Any]) -> list[Path]:
    if opts["files"]:
        return [require_file(root / f, "VIBE db file") for f in opts["files"]]
    files = sorted(p for p in root.iterdir() if p.name.endswith(("_db.pt", "_db.h5")))
    if not files:
        raise DatasetError(f"{root}: no *_db.pt or *_db.h5 files (VIBE's preprocessed datasets)")
    return files


def _videos(path: Path) -> list[str]:
    names = _text(read_db(path)["vid_name"])
    _, first = np.unique(names, return_index=True)
    return [str(names[i]) for i in sorted(first)]


def scan(root: Path, opts: dict[str, Any], memo: ScanMemo) -> list[SeqSource]:
    sources = []
    for path in _files(root, opts):
        prefix = path.stem.replace("_db", "")
        for vid in memo.get(path, "vibe-videos", lambda p=path: _videos(p)):
            sources.append(SeqSource(name=safe_name(f"{prefix}-{vid}"), split=_split(path.stem),
                                     inputs=(str(path),), meta={"file": str(path), "vid": vid}))
    return sources


def load(root: Path, opts: dict[str, Any], source: SeqSource, dataset: str) -> Sequence:
    path = Path(source.meta["file"])
    vid = source.meta["vid"]
    db = read_db(path)
    rows = np.flatnonzero(_text(db["vid_name"]) == vid)
    if not len(rows):
        raise DatasetError(f"{path}: no rows with vid_name '{vid}'")
    if "frame_id" in db:
        rows = rows[np.argsort(np.asarray(db["frame_id"])[rows], kind="stable")]
    T = len(rows)
    where = f"{path} ({vid})"

    def take(key: str, shape: tuple[int, ...]) -> np.ndarray | None:
        """Rows of ``key`` with their shape checked (joints may carry a 4th column: dropped)."""
        if key not in db:
            return None
        a = np.asarray(np.asarray(db[key])[rows], np.float64)
        joints_ok = len(shape) == 2 and a.ndim == 3 and a.shape[1] == shape[0] and a.shape[2] >= shape[1]
        if a.shape[1:] != shape and not joints_ok:
            raise DatasetError(f"{where}: '{key}' has shape (N, {', '.join(map(str, a.shape[1:]))}), "
                               f"expected (N, {', '.join(map(str, shape))})")
        a = a[..., :shape[-1]]
        return np.where(np.isfinite(a), a, 0.0)

    bbox = take("bbox", (4,))
    arrays: dict[str, np.ndarray] = {}
    joint_sets: dict[str, str] = {}
    f32 = np.float32
    feats = take("features", (2048,))
    if feats is not None:
        arrays["precomputed/features"] = feats.astype(f32)
    j2d = take("joints2D", (49, 3))
    if j2d is not None:
        arrays["gt/keypoints2d"], joint_sets["gt/keypoints2d"] = j2d.astype(f32), "spin49"
    j3d = take("joints3D", (49, 3))
    if j3d is not None and np.abs(j3d).sum() > 0:
        arrays["gt/keypoints3d"], joint_sets["gt/keypoints3d"] = j3d.astype(f32), "spin49"
    pose, shape = take("pose", (72,)), take("shape", (10,))
    if pose is not None and shape is not None and np.abs(pose).sum() > 0:
        arrays["gt/pose"], arrays["gt/betas"] = pose.astype(f32), shape.astype(f32)
    valid = np.asarray(db["valid"])[rows].reshape(T).astype(bool) if "valid" in db else np.ones(T, bool)
    arrays["gt/valid"] = valid

    images = [str(x) for x in _text(np.asarray(db["img_name"])[rows])]
    swap = opts["image_prefix"]
    if swap:
        require_keys(swap, ["from", "to"], "vibe_db image_prefix", "{from, to}")
        images = [swap["to"] + p[len(swap["from"]):] if p.startswith(swap["from"]) else p for p in images]
    if Path(images[0]).is_file():
        width, height = image_size(images[0])
        estimated = False
    else:  # images not on disk: the size the boxes and keypoints imply (features-only use)
        ext = [bbox[:, 0] + bbox[:, 2] / 2, bbox[:, 1] + bbox[:, 3] / 2]
        if j2d is not None:
            ext[0] = np.concatenate([ext[0], j2d[..., 0].ravel()])
            ext[1] = np.concatenate([ext[1], j2d[..., 1].ravel()])
        width, height = (int(np.ceil(max(e.max(), 1.0))) for e in ext)
        estimated = True
    fps = float(opts["fps_per_file"].get(path.name, opts["fps"]))
    info = {"split": source.split, "source": "vibe_db", "file": path.name, "vid_name": vid,
            "image_size_estimated": estimated}
    if "frame_id" in db:
        info["frame_ids"] = [int(v) for v in np.asarray(db["frame_id"])[rows][[0, -1]]]
    return Sequence(
        name=source.name, dataset=dataset, fps=fps, width=width, height=height, n_frames=T,
        image_paths=images, bbox=bbox.astype(f32), arrays=arrays, joint_sets=joint_sets, info=info,
    )
