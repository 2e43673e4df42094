"""The keypoints stage: one sequence file -> ``results/{dataset}/keypoints/{seq}.h5``.

Output: ``keypoints`` (T,17,3) float32, COCO-17 order, x, y in frame pixels (pixel centres at
integer coordinates), confidence in [0, 1] (undetected: 0, at the box centre); with the
``mediapipe`` backend also BlazePose's ``landmarks`` (T,33,3) (frame pixels + visibility) and
``world_landmarks`` (T,33,4) (metres, hip-centred, camera axes, + visibility; zeros where no
person was found), read by :func:`read_world_landmarks`; root attributes
``backend`` and ``simulated`` (True only for ``synthetic-detector``) besides the config.
Also the PCK table of keypoints files against the ground truth (:func:`pck_table`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from collections.abc import Sequence as Seq
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from hmr.body.joint_sets import COCO17
from hmr.errors import InputError
from hmr.features.crop import check_boxes
from hmr.io.atomic import atomic_path
from hmr.io.h5 import H5FormatError, read_array, read_attrs, write_arrays
from hmr.io.sequence import Sequence, iter_frames, read_sequence
from hmr.keypoints.pck import pck_hits

if TYPE_CHECKING:       # pandas loads in ~0.4 s: only the PCK table needs it, not every CLI start
    import pandas as pd

log = logging.getLogger(__name__)

BACKENDS = ("mediapipe", "mmpose", "synthetic-detector")
SIMULATED_BACKENDS = ("synthetic-detector",)
BATCH = 16  # frames streamed per batch


def _open_sequence(path: str | os.PathLike) -> Sequence:
    seq = read_sequence(path)
    if seq.n_frames <= 0:
        raise InputError(f"{path}: sequence has no frames")
    return seq


def _boxes(seq: Sequence, path: str | os.PathLike, why: str) -> np.ndarray:
    if seq.bbox is None:
        raise InputError(f"{path}: no 'bbox' (person boxes are needed for {why})")
    return check_boxes(seq.bbox, seq.width, seq.height, str(path))


def _count_frames(batches, n_frames: int, path: str | os.PathLike):
    """Pass batches through, failing with one line if the stream's length is not ``n_frames``."""
    seen = 0
    for batch in batches:
        seen += len(batch)
        if seen > n_frames:
            raise InputError(f"{path}: more frames than n_frames={n_frames}")
        yield batch
    if seen != n_frames:
        raise InputError(f"{path}: {seen} frames could be read, n_frames says {n_frames}")


def detect_sequence(path: str | os.PathLike, backend: str, params: Mapping[str, Any],
                    seed: int = 0, body_model: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Keypoints of the sequence file ``path`` with ``backend`` and the config section ``params``
    (``keypoints`` in config.yaml): ``{"keypoints": (T,17,3)}``, plus BlazePose's ``landmarks``
    (T,33,3) and ``world_landmarks`` (T,33,4) with ``mediapipe``. ``body_model`` is needed by
    ``synthetic-detector``."""
    extra: dict[str, np.ndarray] = {}
    if backend not in BACKENDS:
        raise InputError(f"keypoints.backend: unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    seq = _open_sequence(path)
    T = seq.n_frames
    bar = tqdm(total=T, desc=f"keypoints {seq.name} [{backend}]", unit="frame", mininterval=2.0)
    with bar:
        if backend == "synthetic-detector":
            from hmr.body.smpl import smpl_layer
            from hmr.keypoints.ground_truth import coco17_ground_truth
            from hmr.keypoints.simulated import (
                DetectorNoise,
                detector_rng,
                simulate_detections,
            )

            bbox = _boxes(seq, path, "the simulated detector's noise scale")
            if body_model is None:
                raise InputError(f"{path}: backend synthetic-detector needs the body model")
            noise = _settings(DetectorNoise.from_config, params.get("simulated", {}), "keypoints.simulated")
            _, joints2d, visible = coco17_ground_truth(seq, smpl_layer(body_model), where=str(path))
            kp = simulate_detections(joints2d, visible, bbox, noise,
                                     detector_rng(seed, seq.dataset, seq.name))
            bar.update(T)
        elif backend == "mediapipe":
            from hmr.keypoints.mediapipe_backend import (
                MediapipeSettings,
                detect_mediapipe,
            )

            settings = _settings(MediapipeSettings, params.get("mediapipe", {}), "keypoints.mediapipe")
            bbox = _boxes(seq, path, "mediapipe on person crops") if settings.input == "crop" else (
                None if seq.bbox is None else check_boxes(seq.bbox, seq.width, seq.height, str(path)))
            batches = _count_frames(iter_frames(path, BATCH), T, path)
            extra = detect_mediapipe(batches, bbox, seq.width, seq.height, settings, progress=bar)
            kp = extra.pop("keypoints")
        else:
            from hmr.keypoints.mmpose_backend import MMPoseDetector

            mm = params.get("mmpose", {})
            bbox = _boxes(seq, path, "the top-down mmpose model")
            detector = MMPoseDetector(mm.get("config"), mm.get("checkpoint"), device=mm.get("device", "cpu"))
            kp = detector.detect_stream(_count_frames(iter_frames(path, BATCH), T, path), bbox, progress=bar)
    return {"keypoints": sanitize_keypoints(kp, bbox), **extra}


def _settings(make, cfg: Mapping[str, Any], key: str):
    try:
        return make(**cfg) if isinstance(make, type) else make(cfg)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{key}: {exc}") from None


def sanitize_keypoints(kp: np.ndarray, bbox: np.ndarray | None) -> np.ndarray:
    """Enforce the format: non-finite joints become undetected (confidence 0, at the box centre
    or the origin), confidences are clipped to [0, 1]."""
    kp = np.asarray(kp, np.float32).copy()
    bad = ~np.isfinite(kp).all(-1)
    if bad.any():
        centre = np.zeros((len(kp), 2), np.float32) if bbox is None else np.asarray(bbox, np.float32)[:, :2]
        kp[..., :2] = np.where(bad[..., None], centre[:, None], kp[..., :2])
        kp[..., 2] = np.where(bad, 0.0, kp[..., 2])
    kp[..., 2] = np.clip(kp[..., 2], 0.0, 1.0)
    return kp


def run_keypoints(sequence: str | os.PathLike, out: str | os.PathLike, backend: str,
                  params: Mapping[str, Any], seed: int = 0,
                  body_model: str | os.PathLike | None = None) -> np.ndarray:
    """Detect keypoints of one sequence file and write ``out`` atomically (with BlazePose's
    landmarks where the backend gives them); returns the COCO-17 keypoints."""
    arrays = detect_sequence(sequence, backend, params, seed=seed, body_model=body_model)
    kp = arrays["keypoints"]
    simulated = backend in SIMULATED_BACKENDS
    sub = {"simulated": params.get("simulated")} if simulated else {backend: params.get(backend)}
    write_arrays(out, arrays,
                 config={"keypoints": {"backend": backend, **sub}, "seed": seed},
                 attrs={"backend": backend, "simulated": simulated,
                        "sequence": Path(sequence).stem, "joint_names": ",".join(COCO17)})
    return kp


def read_keypoints(path: str | os.PathLike, n_frames: int | None = None) -> np.ndarray:
    """Read and check a keypoints file: (T,17,3) float, finite, confidence in [0, 1], and T equal
    to ``n_frames`` when given. One-line :class:`InputError` naming the file otherwise."""
    kp = read_array(path, "keypoints", shape=(None, 17, 3), dtype_kind="f")
    if ((kp[..., 2] < 0) | (kp[..., 2] > 1)).any():
        raise H5FormatError(f"{path}:keypoints: confidence outside [0, 1]")
    if n_frames is not None and len(kp) != n_frames:
        raise H5FormatError(f"{path}:keypoints: {len(kp)} frames, the sequence has {n_frames}")
    return kp


def read_world_landmarks(path: str | os.PathLike, n_frames: int | None = None) -> dict[str, np.ndarray]:
    """BlazePose's ``landmarks`` (T,33,3) and ``world_landmarks`` (T,33,4) of a keypoints file;
    a one-line :class:`InputError` when the file has none (a backend other than mediapipe)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            present = "world_landmarks" in f and "landmarks" in f
    except OSError as exc:
        raise InputError(f"{path}: cannot read keypoints file ({exc.__class__.__name__})") from None
    if not present:
        raise InputError(f"{path}: no BlazePose world landmarks (they come from keypoints.backend "
                         "mediapipe; features.source blazepose/concat needs them)")
    out = {"landmarks": read_array(path, "landmarks", shape=(None, 33, 3), dtype_kind="f"),
           "world_landmarks": read_array(path, "world_landmarks", shape=(None, 33, 4), dtype_kind="f")}
    for k, a in out.items():
        if n_frames is not None and len(a) != n_frames:
            raise H5FormatError(f"{path}:{k}: {len(a)} frames, the sequence has {n_frames}")
        if not np.isfinite(a).all():
            raise H5FormatError(f"{path}:{k}: non-finite values")
    return out


def pck_table(sequences: Seq[str | os.PathLike], keypoints: Seq[str | os.PathLike],
              body_model: str | os.PathLike, alpha: float = 0.1) -> pd.DataFrame:
    """PCK@``alpha`` of each keypoints file against its sequence's ground truth, one row per
    sequence plus a pooled ``all`` row; columns ``pck`` and ``pck_<joint>`` per COCO joint."""
    from hmr.body.smpl import smpl_layer
    from hmr.keypoints.ground_truth import coco17_ground_truth

    if len(sequences) != len(keypoints):
        raise InputError(f"pck: {len(sequences)} sequences but {len(keypoints)} keypoints files")
    layer = smpl_layer(body_model)
    rows, all_hits, all_vis = [], [], []
    backends = set()
    for seq_path, kp_path in zip(sequences, keypoints):
        seq = _open_sequence(seq_path)
        kp = read_keypoints(kp_path, n_frames=seq.n_frames)
        backends.add(str(read_attrs(kp_path).get("backend", "?")))
        bbox = _boxes(seq, seq_path, "PCK's normaliser")
        _, gt2d, visible = coco17_ground_truth(seq, layer, where=str(seq_path))
        hits = pck_hits(kp, gt2d, visible, bbox, alpha)
        all_hits.append(hits)
        all_vis.append(visible)
        rows.append(_pck_row(seq.name, hits, visible))
    if rows:
        rows.append(_pck_row("all", np.concatenate(all_hits), np.concatenate(all_vis)))
    import pandas as pd

    df = pd.DataFrame(rows)
    df.insert(1, "backend", ",".join(sorted(backends)))
    df.insert(2, "alpha", alpha)
    return df


def _pck_row(name: str, hits: np.ndarray, visible: np.ndarray) -> dict[str, Any]:
    n = visible.sum(0)
    row: dict[str, Any] = {"seq": name, "frames": len(hits), "visible_joints": int(n.sum()),
                           "pck": float(hits.sum() / n.sum()) if n.sum() else float("nan")}
    for j, joint in enumerate(COCO17):
        row[f"pck_{joint}"] = float(hits[:, j].sum() / n[j]) if n[j] else float("nan")
    return row


def write_pck_table(df: pd.DataFrame, out: str | os.PathLike) -> None:
    """Write the PCK table as CSV atomically."""
    with atomic_path(out, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")
