"""What every dataset importer shares: sources, one-line input checks, boxes, intrinsics, caches.

An importer module defines ``DEFAULTS`` (its config options), ``scan(root, opts, memo)`` (the
sequences a dataset folder holds, cheap enough for Snakemake's parse time) and
``load(root, opts, source, dataset)`` (one :class:`~hmr.io.sequence.Sequence`). Bad input raises
:class:`DatasetError`: one line naming the file and what differs from the expected layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hmr.errors import InputError


class DatasetError(InputError):
    """A dataset folder or file does not have the layout an importer expects."""


@dataclass(frozen=True)
class SeqSource:
    """One sequence a dataset folder holds: its name, split, the files its import reads (for
    Snakemake's dependency tracking; image folders are not listed) and importer details."""

    name: str
    split: str
    inputs: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> SeqSource:
        d = json.loads(text)
        return cls(name=d["name"], split=d["split"], inputs=tuple(d["inputs"]), meta=d.get("meta", {}))


# ------------------------------------------------------------------ checks with one-line errors

def require_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: {what} folder not found")
    return path


def require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: {what} not found")
    return path


def require_keys(mapping: Mapping[str, Any] | Any, keys: Iterable[str], where: str, layout: str) -> None:
    """Raise naming ``where`` and the missing keys (a different layout version)."""
    have = set(mapping.keys()) if hasattr(mapping, "keys") else set()
    missing = [k for k in keys if k not in have]
    if missing:
        raise DatasetError(f"{where}: missing key(s) {', '.join(missing)} (not the {layout} layout; "
                           f"found {', '.join(sorted(map(str, have))) or 'nothing'})")


def check_length(array: Any, n: int, where: str, what: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 0 or len(a) != n:
        raise DatasetError(f"{where}: {what} has {0 if a.ndim == 0 else len(a)} frames, expected {n}")
    return a


def check_frame_count(n_annot: int, n_images: int, where: str, images: str) -> None:
    if n_annot != n_images:
        raise DatasetError(f"{where}: annotations have {n_annot} frames, {images} has {n_images}")


def safe_name(text: str) -> str:
    """A sequence name Snakemake's ``seq`` wildcard accepts: runs of other characters -> '_'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_.-")
    if not name:
        raise DatasetError(f"cannot make a sequence name from {text!r}")
    return name


# ------------------------------------------------------------------ geometry helpers (pure)

def bbox_from_points(xy: np.ndarray, ok: np.ndarray, scale: float = 1.2,
                     min_points: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame boxes (cx, cy, w, h) around the points ``xy`` (T,J,2) where ``ok`` (T,J): the tight
    box enlarged by ``scale`` (keypoints miss the head top and the soles). Returns (T,4) boxes and
    (T,) bool "has a box" (at least ``min_points`` points and a non-degenerate extent)."""
    xy = np.asarray(xy, np.float64)
    ok = np.asarray(ok, bool) & np.isfinite(xy).all(-1)
    T = len(xy)
    bbox = np.zeros((T, 4))
    has = ok.sum(1) >= min_points
    for t in np.flatnonzero(has):
        p = xy[t][ok[t]]
        lo, hi = p.min(0), p.max(0)
        size = (hi - lo) * scale
        if size.max() <= 1.0:
            has[t] = False
            continue
        size = np.maximum(size, 0.25 * size.max())  # a side-on limb line still gets a box
        bbox[t] = [*(lo + hi) / 2, *size]
    return bbox, has


def fill_missing_boxes(bbox: np.ndarray, has: np.ndarray, where: str) -> np.ndarray:
    """Boxes for frames without one: linear interpolation in time between frames that have one,
    held constant before the first and after the last. No box at all is an error."""
    bbox = np.asarray(bbox, np.float64).copy()
    has = np.asarray(has, bool)
    if not has.any():
        raise DatasetError(f"{where}: no frame has enough 2D points for a bounding box")
    t = np.arange(len(bbox))
    for k in range(4):
        bbox[~has, k] = np.interp(t[~has], t[has], bbox[has, k])
    return bbox


def fit_intrinsics(X: np.ndarray, uv: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """Pinhole intrinsics (fx, fy, cx, cy, no skew) from camera-frame points ``X`` (N,3) and their
    pixel positions ``uv`` (N,2), by linear least squares on u = fx X/Z + cx, v = fy Y/Z + cy.
    Returns K (3,3) and the RMS reprojection error in pixels (lens distortion shows up there)."""
    X = np.asarray(X, np.float64).reshape(-1, 3)
    uv = np.asarray(uv, np.float64).reshape(-1, 2)
    ok = np.isfinite(X).all(1) & np.isfinite(uv).all(1) & (X[:, 2] > 1e-6)
    if ok.sum() < 4:
        raise DatasetError(f"{where}: too few 3D/2D point pairs ({int(ok.sum())}) to fit camera intrinsics")
    x, y, z = X[ok].T
    K = np.eye(3)
    residual = []
    for axis, coord in ((0, x / z), (1, y / z)):
        A = np.stack([coord, np.ones_like(coord)], 1)
        sol, *_ = np.linalg.lstsq(A, uv[ok, axis], rcond=None)
        K[axis, axis], K[axis, 2] = sol
        residual.append(A @ sol - uv[ok, axis])
    rms = float(np.sqrt(np.mean(np.square(residual)) * 2))
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise DatasetError(f"{where}: 3D and 2D annotations do not fit a camera (focal {K[0, 0]:.1f}, {K[1, 1]:.1f})")
    return K, rms


def visible_in_image(uv: np.ndarray, z: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T,J) bool: projected point inside the image and in front of the camera."""
    return ((uv[..., 0] >= 0) & (uv[..., 0] < width) & (uv[..., 1] >= 0) & (uv[..., 1] < height)
            & (z > 0.05))


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DatasetError(f"{path}: image missing or unreadable")
    return int(img.shape[1]), int(img.shape[0])


def video_props(path: str | os.PathLike) -> tuple[int, int, int, float]:
    """(n_frames from the container, width, height, fps) of a video, without decoding it."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DatasetError(f"{path}: cannot open video")
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    if n <= 0 or w <= 0 or h <= 0:
        raise DatasetError(f"{path}: video reports no frames or no size")
    return n, w, h, fps


# ------------------------------------------------------------------ Python 2 pickles (3DPW)

class _Latin1Unpickler(pickle.Unpickler):
    """Python 2 pickles of numpy arrays, lists, dicts and strings; any other class is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"), ("__builtin__", "object"), ("builtins", "object"),
        ("_codecs", "encode"),
    }

    def __init__(self, file: Any, path: str) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise DatasetError(f"{self._path}: refusing to unpickle {module}.{name} "
                               "(only numpy arrays, lists, dicts and strings are expected)")
        if module in ("copy_reg", "__builtin__"):
            module = {"copy_reg": "copyreg", "__builtin__": "builtins"}[module]
        return super().find_class(module, name)


def load_latin1_pickle(path: str | os.PathLike) -> Any:
    """Load a Python 2 pickle (``encoding='latin1'``, as 3DPW's sequence files) safely."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return _Latin1Unpickler(fh, str(path)).load()
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except Exception as exc:  # truncated, not a pickle
        raise DatasetError(f"{path}: not a readable pickle ({exc.__class__.__name__}: {exc})") from None


# ------------------------------------------------------------------ parse-time cache

class ScanMemo:
    """Caches small JSON-able facts about big files (how many people a 3DPW pickle holds, which
    videos a VIBE db file groups) under ``cache_dir``, keyed by the file's path, size and mtime,
    so Snakemake's parse-time scan does not reload them on every run. ``cache_dir=None``: no cache."""

    def __init__(self, cache_dir: str | os.PathLike | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def get(self, path: str | os.PathLike, tag: str, compute: Callable[[], Any]) -> Any:
        if self.cache_dir is None:
            return compute()
        path = Path(path).resolve()
        st = path.stat()
        key = hashlib.sha1(f"{tag}|{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
        cached = self.cache_dir / f"{key}.json"
        if cached.exists():
            try:
                return json.loads(cached.read_text())
            except ValueError:
                pass
        value = compute()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, cached)
        return value
