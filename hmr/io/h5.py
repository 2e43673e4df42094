"""HDF5 conventions shared by every stage.

* Arrays are stored chunked and gzip-compressed (per-frame chunks for videos).
* A file is written under a temporary name in the same folder and renamed into place when
  complete, so a crash or a bad input never leaves a partial file behind.
* Every file records the code version and the config that produced it (root attributes
  ``hmr_version`` and ``config_json``).
* Readers check names and shapes and fail with one line naming the file and the dataset.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hmr import __version__
from hmr.errors import InputError
from hmr.io.atomic import atomic_path


class H5FormatError(InputError):
    """A file does not hold what a reader expects; the message names the file and dataset."""


def _chunks(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Chunk along the first (time) axis so a reader can stream frames.

    Aim for chunks of roughly 256 KiB-1 MiB whatever the per-frame size.
    """
    if len(shape) == 0 or shape[0] == 0:
        return None
    per_item = int(np.prod(shape[1:], dtype=np.int64)) if len(shape) > 1 else 1
    rows = max(1, min(shape[0], (1 << 18) // max(per_item, 1)))
    return (rows,) + tuple(shape[1:])


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, config: Mapping[str, Any] | None = None,
              attrs: Mapping[str, Any] | None = None) -> Iterator[h5py.File]:
    """Open ``path`` for writing through a temporary file that is renamed on success.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["hmr_version"] = __version__
        f.attrs["config_json"] = json.dumps(config or {}, sort_keys=True, default=str)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
        yield f


def write_array(group: h5py.Group, name: str, data: np.ndarray, compress: bool = True) -> h5py.Dataset:
    """Write ``data`` as a chunked, compressed dataset (scalars and empty arrays uncompressed)."""
    data = np.asarray(data)
    if data.ndim == 0 or data.size == 0 or not compress:
        return group.create_dataset(name, data=data)
    return group.create_dataset(name, data=data, chunks=_chunks(data.shape),
                                compression="gzip", compression_opts=4, shuffle=True)


def write_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
                 config: Mapping[str, Any] | None = None,
                 attrs: Mapping[str, Any] | None = None) -> None:
    """Write a flat or ``/``-nested mapping of arrays to ``path`` atomically."""
    with atomic_h5(path, config=config, attrs=attrs) as f:
        for name, value in arrays.items():
            write_array(f, name, value)


def read_array(path: str | os.PathLike, name: str,
               shape: Sequence[int | None] | None = None,
               dtype_kind: str | None = None) -> np.ndarray:
    """Read dataset ``name`` from ``path`` and check it.

    ``shape`` may hold ``None`` for free axes, e.g. ``(None, 17, 3)``. ``dtype_kind`` is a
    numpy kind string such as ``"f"`` (float), ``"iu"`` (integer), ``"b"`` (bool).
    """
    path = Path(path)
    if not path.exists():
        raise H5FormatError(f"{path}: file not found")
    try:
        with h5py.File(path, "r") as f:
            if name not in f:
                raise H5FormatError(f"{path}: dataset '{name}' missing")
            data = f[name][()]
    except OSError as exc:
        raise H5FormatError(f"{path}: not a readable HDF5 file ({exc.__class__.__name__})") from None
    check_array(data, f"{path}:{name}", shape=shape, dtype_kind=dtype_kind)
    return data


def check_array(data: np.ndarray, where: str, shape: Sequence[int | None] | None = None,
                dtype_kind: str | None = None) -> None:
    """Raise :class:`H5FormatError` naming ``where`` unless ``data`` has the expected shape/kind."""
    if shape is not None:
        ok = data.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, data.shape))
        if not ok:
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise H5FormatError(f"{where}: shape {tuple(data.shape)}, expected {want}")
    if dtype_kind is not None and data.dtype.kind not in dtype_kind:
        raise H5FormatError(f"{where}: dtype {data.dtype}, expected kind '{dtype_kind}'")
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise H5FormatError(f"{where}: contains NaN or inf")


def read_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """Root attributes of ``path`` as plain Python values."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in f.attrs.items()}
    except OSError:
        raise H5FormatError(f"{path}: not a readable HDF5 file") from None
