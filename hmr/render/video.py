"""Writing RGB frames to a video file with OpenCV, headless, atomically.

The opencv-contrib-python wheel's FFmpeg has no H.264 encoder here, so ``avc1`` fails to open
and ``mp4v`` (MPEG-4 Part 2 in an .mp4) is what works on a bare CPU machine; the writer tries
the codecs in order and uses the first one that opens (the log says which).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from hmr.errors import InputError
from hmr.io.atomic import atomic_path

log = logging.getLogger(__name__)

DEFAULT_CODECS: tuple[str, ...] = ("avc1", "mp4v")


def _open_writer(path: Path, fps: float, size_wh: tuple[int, int], codecs: Sequence[str]):
    import cv2

    for codec in codecs:
        if len(codec) != 4:
            raise InputError(f"video codec must be a four-character code, got {codec!r}")
        # OpenCV prints its own error for a codec FFmpeg lacks; keep the log to our one line
        level = cv2.getLogLevel()
        cv2.setLogLevel(0)   # silent
        try:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), float(fps), size_wh)
        finally:
            cv2.setLogLevel(level)
        if writer.isOpened():
            return writer, codec
        writer.release()
    raise InputError(f"{path}: none of the video codecs {list(codecs)} can be opened by OpenCV here")


class VideoWriter:
    """Append RGB frames (H,W,3) uint8 of one size; see :func:`video_writer`."""

    def __init__(self, writer, size_wh: tuple[int, int], codec: str) -> None:
        self._writer = writer
        self.size_wh = size_wh
        self.codec = codec
        self.n_frames = 0

    def write(self, frame: np.ndarray) -> None:
        import cv2

        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.shape != (self.size_wh[1], self.size_wh[0], 3):
            raise ValueError(f"frame {self.n_frames}: {frame.shape} {frame.dtype}, expected "
                             f"({self.size_wh[1]}, {self.size_wh[0]}, 3) uint8")
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        self.n_frames += 1


@contextlib.contextmanager
def video_writer(path: str | os.PathLike, fps: float, size_wh: tuple[int, int],
                 codecs: Sequence[str] = DEFAULT_CODECS) -> Iterator[VideoWriter]:
    """Write a video under a temporary name, renamed to ``path`` when the block ends cleanly."""
    path = Path(path)
    with atomic_path(path, suffix=path.suffix or ".mp4") as tmp:
        writer, codec = _open_writer(tmp, fps, size_wh, codecs)
        out = VideoWriter(writer, size_wh, codec)
        try:
            yield out
        finally:
            writer.release()
        if out.n_frames == 0:
            raise InputError(f"{path}: no frames to write")
        log.info("wrote %s: %d frames, %dx%d, %.3g fps, codec %s", path, out.n_frames,
                 size_wh[0], size_wh[1], fps, codec)
