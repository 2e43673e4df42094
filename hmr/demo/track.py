"""Single-person tracking from per-frame person detections (pure functions, no detector here).

A person's box is the box around their pose landmarks, enlarged by ``bbox_scale`` (landmarks
miss the head top and the soles). Boxes are (cx, cy, w, h) in frame pixels; a box's *size* is
max(w, h).

1. **Tracklets (online).** :class:`TrackletBuilder` gives each detection to the nearest
   *consistent* tracklet that was seen within ``max_lost_s``: its centre within ``gate`` box
   sizes of the tracklet's last box (plus ``link_speed`` sizes per frame since it was last
   seen) and its size within a factor ``size_ratio``. A detection that fits none starts a new
   tracklet. (The detector may also be asked to look again near a tracklet that got nothing in
   a frame: see :mod:`hmr.demo.detect`.)
2. **One identity (offline).** :func:`select_identity` keeps the tracklet with the most
   detected frames and chains to it, forwards and backwards in time, the earliest tracklet
   that does not overlap in time and whose start is reachable from the chain's end at
   ``link_speed`` box sizes per frame (same gate). Other people are dropped.
3. **Gaps and jitter.** Frames without a box of the chosen person are linearly interpolated
   (held before the first and after the last detection), then every box coordinate is
   smoothed with a Savitzky-Golay filter (local quadratic least squares over
   ``smooth_window_s``; zero phase, keeps constant velocity and acceleration exactly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hmr.errors import InputError

SOURCE_NONE, SOURCE_FRAME, SOURCE_ROI = 0, 1, 2
"""Where a frame's box came from: no detection, the full-frame detector, the re-detection crop."""


@dataclass(frozen=True)
class TrackSettings:
    """``demo.track`` in the config (see config.yaml for each key)."""

    bbox_scale: float = 1.2
    min_landmark_visibility: float = 0.3
    gate: float = 0.5
    size_ratio: float = 2.0
    link_speed: float = 0.05
    max_lost_s: float = 1.0
    roi: bool = True
    roi_scale: float = 2.0
    roi_size: int = 384
    max_roi_per_frame: int = 2
    smoothing: str = "savgol"
    smooth_window_s: float = 0.3
    smooth_polyorder: int = 2

    def __post_init__(self) -> None:
        if self.smoothing not in ("savgol", "none"):
            raise ValueError(f"smoothing must be 'savgol' or 'none', not {self.smoothing!r}")
        for name in ("bbox_scale", "gate", "size_ratio", "roi_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.size_ratio < 1:
            raise ValueError("size_ratio must be >= 1")


def landmarks_box(landmarks: np.ndarray, scale: float, min_visibility: float) -> np.ndarray | None:
    """(4,) box around (N,3) landmarks (x, y, visibility), enlarged by ``scale``.

    Uses the landmarks with visibility >= ``min_visibility`` when at least 4 are, otherwise all
    of them (a detector's landmarks are estimates even where occluded). None when the points
    are degenerate (extent under 2 pixels) or not finite.
    """
    lm = np.asarray(landmarks, np.float64)
    pts = lm[:, :2]
    good = np.isfinite(pts).all(1)
    vis = good & (lm[:, 2] >= min_visibility)
    use = vis if vis.sum() >= 4 else good
    if use.sum() < 2:
        return None
    p = pts[use]
    lo, hi = p.min(0), p.max(0)
    size = (hi - lo) * scale
    if size.max() < 2.0:
        return None
    size = np.maximum(size, 0.25 * size.max())   # a side-on limb line still gets a real box
    return np.array([*(lo + hi) / 2, *size])


def box_size(box: np.ndarray) -> np.ndarray:
    """max(w, h) of (...,4) boxes."""
    box = np.asarray(box, np.float64)
    return np.maximum(box[..., 2], box[..., 3])


def consistent(box: np.ndarray, ref: np.ndarray, frames_apart: int, settings: TrackSettings) -> bool:
    """Whether ``box`` can be the person of ``ref`` seen ``frames_apart`` frames earlier (or later)."""
    size = box_size(ref)
    dist = float(np.hypot(*(np.asarray(box[:2]) - np.asarray(ref[:2])))) / max(size, 1e-9)
    reach = settings.gate + settings.link_speed * max(frames_apart - 1, 0)
    ratio = box_size(box) / max(size, 1e-9)
    return dist <= reach and 1 / settings.size_ratio <= ratio <= settings.size_ratio


@dataclass
class Tracklet:
    """Detections believed to be one person: frame indices, boxes, sources, landmarks."""

    id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    landmarks: list[np.ndarray | None] = field(default_factory=list)

    def add(self, t: int, box: np.ndarray, source: int, landmarks: np.ndarray | None = None) -> None:
        self.frames.append(t)
        self.boxes.append(np.asarray(box, np.float64))
        self.sources.append(source)
        self.landmarks.append(landmarks)

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def score(self) -> tuple[int, float]:
        """Ranking key of the main person: detected frames, then median box area."""
        return len(self.frames), float(np.median([b[2] * b[3] for b in self.boxes]))


class TrackletBuilder:
    """Online association of detections to tracklets (step 1 of the module docstring)."""

    def __init__(self, settings: TrackSettings, fps: float) -> None:
        self.settings = settings
        self.max_lost = max(1, round(settings.max_lost_s * fps))
        self.tracklets: list[Tracklet] = []

    def active(self, t: int) -> list[Tracklet]:
        """Tracklets seen within ``max_lost`` frames before ``t`` (most detections first)."""
        live = [tr for tr in self.tracklets if 0 < t - tr.last <= self.max_lost]
        return sorted(live, key=lambda tr: tr.score(), reverse=True)

    def assign(self, t: int, box: np.ndarray, source: int,
               landmarks: np.ndarray | None = None) -> Tracklet:
        """Give a detection in frame ``t`` to the nearest consistent active tracklet, or a new one."""
        best, best_d = None, np.inf
        for tr in self.active(t):
            if consistent(box, tr.boxes[-1], t - tr.last, self.settings):
                d = float(np.hypot(*(box[:2] - tr.boxes[-1][:2]))) / box_size(tr.boxes[-1])
                if d < best_d:
                    best, best_d = tr, d
        if best is None:
            best = Tracklet(id=len(self.tracklets))
            self.tracklets.append(best)
        best.add(t, box, source, landmarks)
        return best


def select_identity(tracklets: list[Tracklet], settings: TrackSettings) -> list[Tracklet]:
    """The chain of tracklets that make up the main person (step 2), in time order."""
    if not tracklets:
        return []
    main = max(tracklets, key=lambda tr: tr.score())
    chain = [main]
    while True:   # forwards
        end = chain[-1]
        cands = [tr for tr in tracklets if tr.first > end.last
                 and consistent(tr.boxes[0], end.boxes[-1], tr.first - end.last, settings)]
        if not cands:
            break
        chain.append(min(cands, key=lambda tr: (tr.first, -tr.score()[0])))
    while True:   # backwards
        start = chain[0]
        cands = [tr for tr in tracklets if tr.last < start.first
                 and consistent(tr.boxes[-1], start.boxes[0], start.first - tr.last, settings)]
        if not cands:
            break
        chain.insert(0, max(cands, key=lambda tr: (tr.last, tr.score()[0])))
    return chain


def chain_to_frames(chain: list[Tracklet], n_frames: int) -> dict[str, np.ndarray]:
    """Per-frame arrays of a chain: ``boxes`` (T,4) NaN where missing, ``source`` (T,) int8,
    ``tracklet`` (T,) int32 (-1 where missing), ``landmarks`` (T,33,3) NaN where missing."""
    boxes = np.full((n_frames, 4), np.nan)
    source = np.zeros(n_frames, np.int8)
    tracklet = np.full(n_frames, -1, np.int32)
    n_lm = next((lm.shape[0] for tr in chain for lm in tr.landmarks if lm is not None), 33)
    landmarks = np.full((n_frames, n_lm, 3), np.nan, np.float32)
    for tr in chain:
        for t, b, s, lm in zip(tr.frames, tr.boxes, tr.sources, tr.landmarks):
            boxes[t], source[t], tracklet[t] = b, s, tr.id
            if lm is not None:
                landmarks[t] = lm
    return {"boxes": boxes, "source": source, "tracklet": tracklet, "landmarks": landmarks}


def fill_gaps(boxes: np.ndarray, where: str) -> np.ndarray:
    """Linear interpolation over frames without a box (NaN rows); held at both ends."""
    boxes = np.asarray(boxes, np.float64).copy()
    has = np.isfinite(boxes).all(1)
    if not has.any():
        raise InputError(f"{where}: no person detected in any frame")
    t = np.arange(len(boxes))
    for k in range(4):
        boxes[~has, k] = np.interp(t[~has], t[has], boxes[has, k])
    return boxes


def savgol_window(n_frames: int, fps: float, window_s: float, polyorder: int) -> int:
    """Odd window length (frames) for ``window_s`` seconds, longer than ``polyorder`` and at most
    ``n_frames`` (0: the sequence is too short to smooth)."""
    w = max(round(window_s * fps), polyorder + 1) | 1   # odd, above the polynomial order
    if w > n_frames:
        w = n_frames if n_frames % 2 else n_frames - 1
    return w if w > polyorder else 0


def smooth_boxes(boxes: np.ndarray, fps: float, settings: TrackSettings) -> np.ndarray:
    """Savitzky-Golay smoothing of every box coordinate over time (step 3); sizes kept positive."""
    from scipy.signal import savgol_filter

    boxes = np.asarray(boxes, np.float64)
    if settings.smoothing == "none":
        return boxes.copy()
    w = savgol_window(len(boxes), fps, settings.smooth_window_s, settings.smooth_polyorder)
    if w == 0:
        return boxes.copy()
    out = savgol_filter(boxes, w, settings.smooth_polyorder, axis=0, mode="interp")
    out[:, 2:] = np.maximum(out[:, 2:], 0.5 * boxes[:, 2:])
    return out


def jitter(track: np.ndarray) -> float:
    """Mean norm of the second difference of a (T,D) track (per frame^2): 0 for uniform motion."""
    track = np.asarray(track, np.float64)
    if len(track) < 3:
        return 0.0
    return float(np.linalg.norm(track[2:] - 2 * track[1:-1] + track[:-2], axis=1).mean())
