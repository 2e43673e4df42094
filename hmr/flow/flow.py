"""Dense optical flow between image pairs: OpenCV Farneback and DIS, torchvision RAFT.

Every backend is a callable ``flow(prev, nxt) -> (N,H,W,2) float32`` on two (N,H,W,3) uint8 RGB
batches: ``flow[n, y, x] = (dx, dy)`` says that the pixel (x, y) of ``prev[n]`` moved to
(x + dx, y + dy) in ``nxt[n]`` (forward flow, pixel centres at integer coordinates).

* ``farneback``: ``cv2.calcOpticalFlowFarneback`` (polynomial expansion), one pair per call.
* ``dis``: ``cv2.DISOpticalFlow`` (dense inverse search) with one of its presets.
* ``raft``: torchvision's RAFT (``raft_small`` / ``raft_large``) with weights read from the file
  ``dynamics.raft.checkpoint`` (never downloaded), batched; image sides are padded (border
  replicated) to a multiple of 8 and to at least 128 px, as torchvision's RAFT needs. A randomly
  initialised RAFT (``allow_random_init=True``) exists for tests only: its flow is meaningless.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from hmr.errors import InputError

BACKENDS = ("farneback", "dis", "raft")
MIN_RAFT_SIZE = 128  # torchvision RAFT: image sides >= 8 * 16 (smaller images are padded)


class FlowBackend(Protocol):
    name: str

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray: ...


def _check_pair(prev: np.ndarray, nxt: np.ndarray) -> None:
    if prev.shape != nxt.shape or prev.ndim != 4 or prev.shape[-1] != 3 or prev.dtype != np.uint8:
        raise ValueError(f"flow needs two (N,H,W,3) uint8 batches, got {prev.shape} {prev.dtype} "
                         f"and {nxt.shape} {nxt.dtype}")


def _gray(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))


@dataclass(frozen=True)
class FarnebackFlow:
    """OpenCV Farneback flow (config ``dynamics.farneback``; OpenCV's parameter names)."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2
    name: str = "farneback"

    def __post_init__(self) -> None:
        if not 0 < self.pyr_scale < 1 or self.levels < 1 or self.winsize < 3 or self.iterations < 1:
            raise ValueError("need 0 < pyr_scale < 1, levels >= 1, winsize >= 3, iterations >= 1")
        if self.poly_n not in (5, 7):
            raise ValueError(f"poly_n must be 5 or 7, got {self.poly_n}")

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        _check_pair(prev, nxt)
        out = np.empty(prev.shape[:3] + (2,), np.float32)
        for i in range(len(prev)):
            out[i] = cv2.calcOpticalFlowFarneback(
                _gray(prev[i]), _gray(nxt[i]), None, self.pyr_scale, self.levels, self.winsize,
                self.iterations, self.poly_n, self.poly_sigma, 0)
        return out


DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
               "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class DisFlow:
    """OpenCV DIS flow (config ``dynamics.dis``): a preset, optionally with a finer finest scale."""

    name = "dis"

    def __init__(self, preset: str = "medium", finest_scale: int | None = None) -> None:
        if preset not in DIS_PRESETS:
            raise ValueError(f"preset must be one of {', '.join(DIS_PRESETS)}, got {preset!r}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
        if finest_scale is not None:
            if finest_scale < 0:
                raise ValueError(f"finest_scale must be >= 0, got {finest_scale}")
            self._dis.setFinestScale(int(finest_scale))

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        _check_pair(prev, nxt)
        out = np.empty(prev.shape[:3] + (2,), np.float32)
        for i in range(len(prev)):
            out[i] = self._dis.calc(_gray(prev[i]), _gray(nxt[i]), None)
        return out


def _state_dict(obj: Any, path: Path) -> dict:
    """The weights in a loaded checkpoint: a state dict, or one under 'state_dict' / 'model'."""
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
        if all(isinstance(k, str) for k in obj) and obj:
            return {k.removeprefix("module."): v for k, v in obj.items()}
    raise InputError(f"{path}: not a RAFT state dict (expected a mapping of parameter names to tensors)")


class RaftFlow:
    """torchvision RAFT flow, weights from a local checkpoint (config ``dynamics.raft``).

    ``checkpoint``: a state dict saved from torchvision's ``raft_small`` / ``raft_large`` (e.g.
    the file torchvision itself would download, fetched by the user beforehand); loaded with
    ``torch.load(weights_only=True)``. ``allow_random_init`` builds an untrained RAFT when no
    checkpoint is given: for tests of shapes and plumbing only.
    """

    name = "raft"

    def __init__(self, model: str = "small", checkpoint: str | os.PathLike | None = None,
                 num_flow_updates: int = 12, device: str = "cpu", batch_size: int = 8,
                 allow_random_init: bool = False) -> None:
        import torch
        from torchvision.models.optical_flow import raft_large, raft_small

        if model not in ("small", "large"):
            raise InputError(f"dynamics.raft.model: must be small or large, got {model!r}")
        if num_flow_updates < 1 or batch_size < 1:
            raise InputError("dynamics.raft: num_flow_updates and batch_size must be >= 1")
        if checkpoint is None and not allow_random_init:
            raise InputError("dynamics.raft.checkpoint: the raft backend needs a checkpoint file "
                             "(weights are never downloaded; set its path in the config)")
        if checkpoint is not None and not Path(checkpoint).is_file():
            raise InputError(f"{checkpoint}: RAFT checkpoint not found (dynamics.raft.checkpoint)")
        net = (raft_small if model == "small" else raft_large)(weights=None, progress=False)
        if checkpoint is not None:
            path = Path(checkpoint)
            try:
                obj = torch.load(path, map_location="cpu", weights_only=True)
            except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
                # unreadable, truncated or not a weights-only pickle
                raise InputError(f"{path}: cannot load RAFT checkpoint ({exc.__class__.__name__})") from None
            state = _state_dict(obj, path)
            try:
                result = net.load_state_dict(state, strict=False)
            except RuntimeError as exc:  # a parameter of the wrong shape
                lines = [ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln]
                raise InputError(f"{path}: checkpoint does not fit raft_{model}: "
                                 f"{lines[0] if lines else exc.__class__.__name__}") from None
            missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
            if missing or unexpected:
                raise InputError(f"{path}: checkpoint does not fit raft_{model}: {len(missing)} missing "
                                 f"keys (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]})")
        self.model = model
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.num_flow_updates = int(num_flow_updates)
        self.batch_size = int(batch_size)

    def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        _check_pair(prev, nxt)
        n, h, w = prev.shape[:3]
        # RAFT works at 1/8 resolution and torchvision's correlation pyramid needs feature maps of
        # at least 16 x 16: pad (replicating the border) to a multiple of 8 and at least 128
        ph, pw = max((-h) % 8, MIN_RAFT_SIZE - h), max((-w) % 8, MIN_RAFT_SIZE - w)
        out = np.empty((n, h, w, 2), np.float32)

        def tensor(x: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device).permute(0, 3, 1, 2).float()
            t = t / 127.5 - 1.0  # torchvision's RAFT transforms: [0, 255] -> [-1, 1]
            return F.pad(t, (0, pw, 0, ph), mode="replicate") if (ph or pw) else t

        with torch.inference_mode():
            for a in range(0, n, self.batch_size):
                b = min(a + self.batch_size, n)
                flows = self.net(tensor(prev[a:b]), tensor(nxt[a:b]), num_flow_updates=self.num_flow_updates)
                out[a:b] = flows[-1][:, :, :h, :w].permute(0, 2, 3, 1).cpu().numpy()
        return out


def make_flow(backend: str, params: Mapping[str, Any]) -> FlowBackend:
    """The flow backend named ``backend`` with its config subsection ``params[backend]``
    (``dynamics.farneback`` / ``dynamics.dis`` / ``dynamics.raft``); one-line InputError on bad keys."""
    if backend not in BACKENDS:
        raise InputError(f"dynamics.backend: unknown flow backend {backend!r} (one of {', '.join(BACKENDS)})")
    cfg = dict(params.get(backend) or {})
    try:
        if backend == "farneback":
            return FarnebackFlow(**cfg)
        if backend == "dis":
            return DisFlow(**cfg)
        return RaftFlow(**cfg)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"dynamics.{backend}: {exc}") from None
