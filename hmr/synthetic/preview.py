"""A contact sheet of sample frames with the ground-truth 2D joints, skeleton and bbox drawn."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hmr.body.joints import SMPL_PARENTS
from hmr.io.atomic import atomic_path
from hmr.io.h5 import H5FormatError
from hmr.io.manifest import read_manifest
from hmr.io.sequence import iter_frames, read_sequence

LEFT = {1, 4, 7, 10, 13, 16, 18, 20, 22}  # SMPL joints on the subject's left side
CENTRE = {0, 3, 6, 9, 12, 15}
LEFT_RGB, RIGHT_RGB, CENTRE_RGB = (60, 120, 255), (255, 60, 60), (60, 220, 60)


def draw_annotations(frame: np.ndarray, joints2d: np.ndarray | None, visible: np.ndarray | None,
                     bbox: np.ndarray | None) -> np.ndarray:
    """Draw the skeleton (left blue, right red, centre green), joints and bbox on a copy."""
    import cv2

    img = np.ascontiguousarray(frame.copy())
    scale = max(1, round(max(img.shape[:2]) / 320))
    if bbox is not None:
        cx, cy, w, h = bbox
        cv2.rectangle(img, (int(cx - w / 2), int(cy - h / 2)), (int(cx + w / 2), int(cy + h / 2)),
                      (255, 255, 0), scale, cv2.LINE_AA)
    if joints2d is not None:
        vis = np.ones(len(joints2d), bool) if visible is None else visible
        pts = np.round(joints2d).astype(int)
        for j, p in enumerate(SMPL_PARENTS):
            color = LEFT_RGB if j in LEFT else CENTRE_RGB if j in CENTRE else RIGHT_RGB
            if p >= 0:
                cv2.line(img, tuple(pts[j]), tuple(pts[p]), color, scale, cv2.LINE_AA)
        for j in range(len(pts)):
            cv2.circle(img, tuple(pts[j]), 2 * scale, (255, 255, 255) if vis[j] else (128, 128, 128),
                       -1, cv2.LINE_AA)
    return img


def contact_sheet(manifest: str | os.PathLike, data_dir: str | os.PathLike, out: str | os.PathLike,
                  n_frames: int = 16, seed: int = 0, columns: int = 4) -> np.ndarray:
    """Sample ``n_frames`` frames across the dataset's sequences and tile them into a PNG."""
    import cv2

    df = read_manifest(manifest)
    if len(df) == 0:
        raise H5FormatError(f"{manifest}: manifest lists no sequences")
    rng = np.random.default_rng(seed)
    seqs = list(df.seq)
    tiles = []
    for name in (seqs[i % len(seqs)] for i in range(n_frames)):
        path = Path(data_dir) / f"{name}.h5"
        seq = read_sequence(path)
        t = int(rng.integers(seq.n_frames))
        frame = None
        for start, batch in zip(range(0, seq.n_frames, 16), iter_frames(path, 16)):
            if start <= t < start + len(batch):
                frame = batch[t - start]
                break
        if frame is None:
            raise H5FormatError(f"{path}: frame {t} could not be read")
        j2d = seq.arrays.get("gt/joints2d")
        vis = seq.arrays.get("gt/visible")
        img = draw_annotations(frame, None if j2d is None else j2d[t], None if vis is None else vis[t],
                               None if seq.bbox is None else seq.bbox[t])
        label = f"{name} #{t}"
        cv2.putText(img, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(img)
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    tiles = [cv2.resize(t, (w, h)) if t.shape[:2] != (h, w) else t for t in tiles]
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * h, min(columns, len(tiles)) * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    with atomic_path(out, suffix=".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{out}: could not write image")
    return sheet
