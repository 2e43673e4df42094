"""Reading the regressor's per-sequence predictions, ``results/{dataset}/predictions/{variant}/{seq}.h5``.

=============  ============  ==========================================================
name           shape         meaning
=============  ============  ==========================================================
``pose``       (T,72) f32    SMPL axis-angle pose, root orientation in the camera frame
``betas``      (T,10) f32    SMPL shape
``cam``        (T,3) f32     weak-perspective camera [s, tx, ty] in the normalised crop
``joints3d``   (T,24,3) f32  SMPL joints, metres
``joints2d``   (T,24,2) f32  SMPL joints projected to frame pixels
``sigma``      (T,32) f32    embedding standard deviation (u_t)
=============  ============  ==========================================================
"""

from __future__ import annotations

import os

import numpy as np

from hmr.io.h5 import H5FormatError, read_array

PREDICTION_FIELDS: dict[str, tuple[int, ...]] = {
    "pose": (72,), "betas": (10,), "cam": (3,), "joints3d": (24, 3), "joints2d": (24, 2),
    "sigma": (32,),
}


def read_predictions(path: str | os.PathLike, n_frames: int | None = None,
                     fields: tuple[str, ...] = tuple(PREDICTION_FIELDS)) -> dict[str, np.ndarray]:
    """The ``fields`` of a predictions file as float arrays, shapes checked (T = ``n_frames``
    when given, else the length of ``pose``)."""
    out: dict[str, np.ndarray] = {}
    T = n_frames
    for name in fields:
        arr = read_array(path, name, shape=(T,) + PREDICTION_FIELDS[name], dtype_kind="f")
        T = len(arr) if T is None else T
        out[name] = arr
    if T == 0:
        raise H5FormatError(f"{path}: predictions hold no frames")
    return out
