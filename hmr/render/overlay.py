"""Predicted meshes drawn over video frames with the headless CPU rasteriser.

The regressor predicts a weak-perspective camera (an orthographic projection with a scale and
a 2D shift). To draw its mesh over a frame, :func:`fit_weak_perspective` finds the frame-pixel
camera ``u = a X + b`` (one scale ``a``, shift ``b``) that best maps the SMPL joints of the
predicted pose and shape (model origin, no translation) onto the predicted 2D joints
``joints2d`` (least squares). This needs no knowledge of the crop convention behind the
network's own camera, and the mesh then lands exactly where the predicted 2D joints are.

The rasteriser (:func:`hmr.synthetic.render.render_mesh`) is a pinhole renderer, so the
orthographic camera is imitated by a distant pinhole (:func:`weak_to_pinhole`): the mesh is
pushed ``depth`` metres away and the focal length set to ``a * depth`` so that the scale at
the body matches; the remaining perspective effect is the body's depth extent over
``depth`` (0.3 m over 50 m: 0.6%).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hmr.synthetic.render import render_mesh

WEAK_DEPTH = 50.0
"""Distance (m) of the pinhole that stands in for the orthographic camera."""


def fit_weak_perspective(joints3d: np.ndarray, joints2d: np.ndarray,
                         weights: np.ndarray | None = None) -> np.ndarray:
    """Per frame, the scale ``a`` and shift ``(bx, by)`` minimising
    ``sum_j w_j |a X_j[:2] + b - x_j|^2`` (closed form).

    Args:
        joints3d: (T,J,3) 3D joints (any origin; only x, y are used).
        joints2d: (T,J,2) their 2D positions in pixels.
        weights: (T,J) or (J,) non-negative weights (default 1).

    Returns:
        (T,3) array of ``[a, bx, by]``. A frame whose joints are all at one point gets a = 0.
    """
    X = np.asarray(joints3d, np.float64)[..., :2]
    x = np.asarray(joints2d, np.float64)
    w = np.ones(X.shape[:2]) if weights is None else np.broadcast_to(
        np.asarray(weights, np.float64), X.shape[:2])
    wsum = np.maximum(w.sum(1, keepdims=True), 1e-12)
    mX = (w[..., None] * X).sum(1) / wsum
    mx = (w[..., None] * x).sum(1) / wsum
    Xc, xc = X - mX[:, None], x - mx[:, None]
    num = (w[..., None] * Xc * xc).sum((1, 2))
    den = (w[..., None] * Xc * Xc).sum((1, 2))
    a = np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)
    b = mx - a[:, None] * mX
    return np.concatenate([a[:, None], b], axis=1)


def weak_to_orig_cam(cam_px: np.ndarray, width: int, height: int) -> np.ndarray:
    """Frame-pixel weak perspective ``[a, bx, by]`` -> VIBE's ``orig_cam`` ``[sx, sy, tx, ty]``.

    ``orig_cam`` maps a 3D point to normalised image coordinates in [-1, 1] across the frame:
    ``x_n = sx (X + tx)``, ``y_n = sy (Y + ty)``, with pixels ``u = (x_n + 1) W / 2 - 0.5``
    (pixel centres at integer coordinates, the frame spans [-0.5, W - 0.5]).
    """
    cam_px = np.asarray(cam_px, np.float64)
    a, bx, by = cam_px[:, 0], cam_px[:, 1], cam_px[:, 2]
    a_safe = np.where(np.abs(a) > 1e-12, a, 1e-12)
    sx, sy = 2 * a / width, 2 * a / height
    tx = (bx + 0.5 - width / 2) / a_safe
    ty = (by + 0.5 - height / 2) / a_safe
    return np.stack([sx, sy, tx, ty], axis=1)


def orig_cam_project(points: np.ndarray, orig_cam: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T,N,3) points, (T,4) ``orig_cam`` -> (T,N,2) frame pixels (see :func:`weak_to_orig_cam`)."""
    P = np.asarray(points, np.float64)
    c = np.asarray(orig_cam, np.float64)
    xn = c[:, None, 0] * (P[..., 0] + c[:, None, 2])
    yn = c[:, None, 1] * (P[..., 1] + c[:, None, 3])
    return np.stack([(xn + 1) * width / 2 - 0.5, (yn + 1) * height / 2 - 0.5], axis=-1)


def weak_to_pinhole(cam_px: np.ndarray, depth: float = WEAK_DEPTH) -> tuple[np.ndarray, np.ndarray]:
    """One frame's ``[a, bx, by]`` -> (K (3,3), translation (3,)) of an equivalent distant pinhole.

    A point X becomes ``X + t`` with ``t = (0, 0, depth)`` and projects with focal ``a * depth``
    and principal point ``b``: ``u = b + a depth X / (Z + depth) ~ a X + b``.
    """
    a, bx, by = (float(v) for v in cam_px)
    f = a * depth
    K = np.array([[f, 0.0, bx], [0.0, f, by], [0.0, 0.0, 1.0]])
    return K, np.array([0.0, 0.0, depth])


def overlay_mesh(frame: np.ndarray, verts: np.ndarray, faces: np.ndarray, cam_px: np.ndarray,
                 color: Sequence[float] = (0.55, 0.7, 1.0), alpha: float = 0.85,
                 depth: float = WEAK_DEPTH) -> tuple[np.ndarray, np.ndarray]:
    """Draw one mesh over one frame with a frame-pixel weak-perspective camera.

    Args:
        frame: (H,W,3) uint8 RGB.
        verts: (V,3) mesh vertices (the coordinates ``cam_px`` was fitted in, metres).
        faces: (F,3) vertex indices.
        cam_px: (3,) ``[a, bx, by]`` from :func:`fit_weak_perspective`. A negative ``a`` (a
            network that predicts a negative weak-perspective scale) draws the mesh turned
            180 degrees in the image plane, as its 2D joints are.
        color: albedo in [0, 1].
        alpha: opacity of the mesh over the frame.

    Returns:
        (H,W,3) uint8 image and the (H,W) bool mask of mesh pixels.
    """
    frame = np.ascontiguousarray(frame)
    if not (np.isfinite(cam_px).all() and cam_px[0] != 0):   # no usable camera: nothing drawn
        return frame.copy(), np.zeros(frame.shape[:2], bool)
    K, t = weak_to_pinhole(cam_px, depth)
    colors = np.broadcast_to(np.asarray(color, np.float32), (len(faces), 3))
    shaded, mask, _ = render_mesh(np.asarray(verts, np.float64) + t, faces, K, frame,
                                  face_colors=colors, light_dir=(0.0, -0.3, -1.0))
    out = frame.copy()
    if mask.any():
        mixed = alpha * shaded[mask].astype(np.float32) + (1 - alpha) * frame[mask].astype(np.float32)
        out[mask] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out, mask


def resize_for_output(shape_hw: tuple[int, int], max_size: int) -> tuple[float, int, int]:
    """(scale, width, height) of an output no longer than ``max_size`` (0: unchanged); even sides
    (most video codecs need them)."""
    h, w = shape_hw
    s = 1.0 if not max_size or max(h, w) <= max_size else max_size / max(h, w)
    W, H = round(w * s) // 2 * 2, round(h * s) // 2 * 2
    return s, max(W, 2), max(H, 2)


def scale_camera(cam_px: np.ndarray, s: float) -> np.ndarray:
    """A frame-pixel camera for the frame resized by ``s`` (pixel centres kept at integers)."""
    cam = np.asarray(cam_px, np.float64).copy()
    cam[..., 0] *= s
    cam[..., 1:] = (cam[..., 1:] + 0.5) * s - 0.5
    return cam
