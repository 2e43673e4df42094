"""A user's video as a sequence file: the frames stay in the video, the file points at it."""

from __future__ import annotations

import os
from pathlib import Path

from hmr.io.h5 import H5FormatError
from hmr.io.sequence import Sequence, write_sequence


def video_info(path: str | os.PathLike) -> tuple[float, int, int, int]:
    """(fps, n_frames, width, height) of a video, counting frames by decoding them."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise H5FormatError(f"{path}: cannot open video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    n = 0
    while cap.grab():  # container frame counts are unreliable; count what decodes
        n += 1
    cap.release()
    if n == 0 or width == 0 or height == 0:
        raise H5FormatError(f"{path}: no decodable frames")
    if not fps > 0:
        raise H5FormatError(f"{path}: video has no frame rate")
    return float(fps), n, width, height


def import_video(video: str | os.PathLike, out: str | os.PathLike, dataset: str) -> Sequence:
    """Write a sequence file for ``video`` (no frames copied, no ground truth, no bbox yet)."""
    video = Path(video).resolve()
    fps, n, width, height = video_info(video)
    seq = Sequence(name=video.stem, dataset=dataset, fps=fps, width=width, height=height,
                   n_frames=n, video_path=str(video), info={"split": "none", "source": "video"})
    write_sequence(out, seq)
    return seq
