"""Faster streaming of frames stored in a sequence file (the features stage's reader).

Frames are stored one gzip-compressed HDF5 chunk per frame (:func:`hmr.io.sequence.write_sequence`).
Inflating them is almost all of the stage's reading cost (measured: ~90% of read + crop), so this
reader reads the raw chunks (``read_direct_chunk``) and inflates them itself, with ISA-L
(``isal.isal_zlib``, about 1.8x faster than zlib here) when the optional ``isal`` package is
installed, else with zlib (still ~10% faster than h5py's filter pipeline). The bytes are the same
as h5py's; any other storage layout (other filters, videos, image files) goes through
:func:`hmr.io.sequence.iter_frames`.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator

import h5py
import numpy as np

from hmr.io.sequence import iter_frames

try:  # optional speed-up: same output as zlib
    from isal import isal_zlib as _inflater
except ImportError:  # pragma: no cover - depends on the environment
    _inflater = zlib

INFLATER = _inflater.__name__
INFLATE_ERRORS: tuple[type[BaseException], ...] = tuple({zlib.error, getattr(_inflater, "error", zlib.error)})


def _plain_gzip_frames(dset: h5py.Dataset) -> bool:
    """Per-frame chunks of uint8 compressed with gzip alone (no shuffle, checksum, ...)."""
    return (dset.ndim == 4 and dset.dtype == np.uint8 and dset.chunks == (1,) + dset.shape[1:]
            and dset.compression == "gzip" and not dset.shuffle and not dset.fletcher32
            and dset.scaleoffset is None and dset.id.get_create_plist().get_nfilters() == 1)


def iter_stored_frames(path: str | os.PathLike, batch_size: int = 16) -> Iterator[np.ndarray]:
    """Frames (N,H,W,3) uint8 of the sequence file ``path`` in batches, as
    :func:`hmr.io.sequence.iter_frames` gives them, inflating stored gzip chunks directly."""
    with h5py.File(path, "r") as f:
        dset = f.get("frames")
        if dset is None or not isinstance(dset, h5py.Dataset) or not _plain_gzip_frames(dset):
            fast = False
        else:
            fast = True
            T, shape = dset.shape[0], dset.shape[1:]
            nbytes = int(np.prod(shape))
            for start in range(0, T, batch_size):
                out = np.empty((min(batch_size, T - start),) + shape, np.uint8)
                for k in range(len(out)):
                    mask, raw = dset.id.read_direct_chunk((start + k, 0, 0, 0))
                    data = raw if mask & 1 else _inflater.decompress(raw)  # bit 0 set: gzip skipped
                    if len(data) != nbytes:
                        raise OSError(f"frame {start + k}: chunk inflates to {len(data)} bytes, "
                                      f"expected {nbytes}")
                    out[k] = np.frombuffer(data, np.uint8).reshape(shape)
                yield out
    if not fast:
        yield from iter_frames(path, batch_size)
