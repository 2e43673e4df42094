"""Per-sequence embedding: keypoints-stage output -> ``mu`` (T,32), ``sigma`` (T,32)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from hmr.embedding.model import PoseEmbedder, load_embedder
from hmr.embedding.normalize import CONF_THRESHOLD, normalize_2d
from hmr.embedding.retrieval import embed_normalized
from hmr.io.h5 import write_arrays
from hmr.keypoints.stage import read_keypoints


def embed_keypoints(model: PoseEmbedder, keypoints: np.ndarray,
                    threshold: float = CONF_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """(T,17,3) keypoints (x, y pixels, confidence) -> mu, sigma, each (T,dim) float32."""
    kp = torch.as_tensor(np.asarray(keypoints, np.float32))
    x = normalize_2d(kp[..., :2], kp[..., 2], threshold)
    mu, sigma = embed_normalized(model, x)
    return mu.numpy().astype(np.float32), sigma.numpy().astype(np.float32)


def embed_sequence_file(keypoints_path: str | os.PathLike, model_path: str | os.PathLike,
                        out: str | os.PathLike, threshold: float = CONF_THRESHOLD,
                        config: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embed one keypoints file and write ``out`` (``mu``, ``sigma``) atomically."""
    keypoints = read_keypoints(keypoints_path).astype(np.float32)   # shape, NaN, confidence range
    model = load_embedder(model_path)
    mu, sigma = embed_keypoints(model, keypoints, threshold)
    n_known = (keypoints[..., 2] >= threshold).sum(-1)
    write_arrays(out, {"mu": mu, "sigma": sigma}, config=config,
                 attrs={"model": str(model_path), "keypoints": str(keypoints_path),
                        "deterministic": bool(model.deterministic), "conf_threshold": float(threshold),
                        "frames_without_joints": int((n_known == 0).sum())})
    return mu, sigma
