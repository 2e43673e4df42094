"""A sequence's video with predicted meshes drawn over every frame (CPU only), and a contact sheet."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from hmr.errors import InputError
from hmr.io.atomic import atomic_path
from hmr.io.sequence import iter_frames
from hmr.render.overlay import overlay_mesh, resize_for_output, scale_camera
from hmr.render.video import DEFAULT_CODECS, video_writer

log = logging.getLogger(__name__)

SHEET_TILE_WIDTH = 480
"""Width (pixels) of a frame on the contact sheet."""


@dataclass(frozen=True)
class RenderSettings:
    """``demo.render`` in the config."""

    max_size: int = 1280                                  # long side of the output (0: native)
    color: tuple[float, float, float] = (0.55, 0.7, 1.0)  # mesh albedo, RGB in [0, 1]
    alpha: float = 0.85                                   # mesh opacity
    codecs: tuple[str, ...] = DEFAULT_CODECS              # tried in order
    sheet_frames: int = 8                                 # frames on the contact sheet

    def __post_init__(self) -> None:
        object.__setattr__(self, "color", tuple(float(c) for c in self.color))
        object.__setattr__(self, "codecs", tuple(self.codecs))
        if len(self.color) != 3 or not all(0 <= c <= 1 for c in self.color):
            raise ValueError(f"color must be three values in [0, 1], got {self.color}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")


def sheet_indices(n_frames: int, k: int) -> np.ndarray:
    """``k`` evenly spaced frame indices in [0, n_frames) (all frames when fewer)."""
    k = max(1, min(k, n_frames))
    return np.unique(np.linspace(0, n_frames - 1, k).round().astype(int))


def tile(images: Sequence[np.ndarray], columns: int = 4, labels: Sequence[str] | None = None) -> np.ndarray:
    """Tile equally sized RGB images into a grid (black padding), optional labels top-left."""
    import cv2

    h, w = images[0].shape[:2]
    rows = -(-len(images) // columns)
    cols = min(columns, len(images))
    sheet = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        tile_img = np.ascontiguousarray(img)
        if labels is not None:
            tile_img = tile_img.copy()
            scale = max(0.4, h / 400)
            cv2.putText(tile_img, labels[i], (6, int(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (255, 255, 0), max(1, int(2 * scale)), cv2.LINE_AA)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile_img
    return sheet


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> None:
    """Write an RGB image as PNG atomically."""
    import cv2

    with atomic_path(path, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: PNG could not be written")


def render_mesh_video(sequence_path: str | os.PathLike, verts_fn, faces: np.ndarray,
                      cam_px: np.ndarray, fps: float, out_video: str | os.PathLike,
                      out_sheet: str | os.PathLike | None = None,
                      settings: RenderSettings = RenderSettings(), batch_size: int = 8) -> int:
    """Draw meshes over the frames of ``sequence_path`` and write ``out_video``.

    Args:
        sequence_path: sequence file whose frames are streamed (:func:`hmr.io.sequence.iter_frames`).
        verts_fn: ``verts_fn(start, stop) -> (stop-start, V, 3)`` mesh vertices of those frames, in
            the coordinates ``cam_px`` maps to frame pixels (computed per batch: memory bounded).
        faces: (F,3) mesh faces.
        cam_px: (T,3) frame-pixel weak-perspective cameras ``[a, bx, by]``.
        out_sheet: optional PNG contact sheet of ``settings.sheet_frames`` rendered frames.

    Returns the number of frames written.
    """
    import cv2

    from hmr.io.sequence import read_sequence

    seq = read_sequence(sequence_path)
    T = len(cam_px)
    if seq.n_frames != T:
        raise InputError(f"{sequence_path}: {seq.n_frames} frames, but {T} predictions")
    s, W, H = resize_for_output((seq.height, seq.width), settings.max_size)
    picks = set(sheet_indices(T, settings.sheet_frames).tolist())
    sheet: list[np.ndarray] = []
    labels: list[str] = []
    start = 0
    with video_writer(out_video, fps, (W, H), settings.codecs) as writer, \
            tqdm(total=T, desc="render mesh video", unit="frame", mininterval=2.0) as bar:
        for frames in iter_frames(sequence_path, batch_size):
            n = len(frames)
            if start + n > T:
                raise InputError(f"{sequence_path}: more frames than the {T} predictions")
            verts = verts_fn(start, start + n)
            for i in range(n):
                t = start + i
                frame = frames[i]
                if (W, H) != (frame.shape[1], frame.shape[0]):
                    frame = cv2.resize(frame, (W, H), interpolation=cv2.INTER_AREA)
                img, _ = overlay_mesh(frame, verts[i], faces, scale_camera(cam_px[t], s),
                                      color=settings.color, alpha=settings.alpha)
                writer.write(img)
                if t in picks:   # sheet tiles at most SHEET_TILE_WIDTH wide
                    f = min(1.0, SHEET_TILE_WIDTH / img.shape[1])
                    sheet.append(img if f == 1.0 else cv2.resize(
                        img, (round(img.shape[1] * f), round(img.shape[0] * f)), interpolation=cv2.INTER_AREA))
                    labels.append(f"frame {t}")
            start += n
            bar.update(n)
        if start != T:
            raise InputError(f"{sequence_path}: {start} frames could be read, {T} predictions")
    if out_sheet is not None and sheet:
        write_png(out_sheet, tile(sheet, columns=4, labels=labels))
    return start
