"""Moving perspective cameras that film a subject: pan, tilt, zoom, dolly, hand-held shake.

Conventions: OpenCV pinhole camera (x right, y down, z forward); extrinsics world -> camera
``X_cam = R @ X_world + t``; intrinsics ``K = [[f, 0, cx], [0, f, cy], [0, 0, 1]]`` (fx = fy,
principal point within 1 % of the image centre). The field of view (40-70 deg) is measured
along the larger image side. World: Y up, meters (``hmr.synthetic.motion``).

``generate_camera`` places the camera 2.5-6 m from the subject (horizontally), 0.8-2.0 m above
the ground, looking at the subject, and moves it by one of ``CAMERA_MODES``:

* ``static``: fixed camera aimed at the middle of the subject's path;
* ``pan`` / ``tilt``: the view follows the subject horizontally / vertically (smoothed, so it
  lags a little), plus a slow sweep of a fraction of the field of view;
* ``zoom``: the focal length changes smoothly (the field of view stays within 40-70 deg);
* ``dolly``: the camera travels: it follows a walking subject and pushes in / pulls out or
  trucks sideways by 0.5-2 m;
* ``handheld``: smooth rotation noise (0.3-1 deg RMS, 1-3 Hz, plus a slower drift) and a few mm
  of position jitter;
* ``+``-joined combinations, e.g. ``pan+handheld``.

Every camera path is a smooth function of time (Gaussian-smoothed subject positions, quintic
easing, sums of sinusoids). Unless ``allow_out_of_frame``, a sampled camera is kept only if the
subject's pelvis stays inside the image (5 % margin) in every frame and the head and feet in
95 % of the frames; a camera that cannot frame a travelling subject gains ``pan`` and then
``dolly``. With ``allow_out_of_frame`` the camera, most of the time (75 %), aims off the subject
for part of the sequence or films it too closely, so that the person is partly out of frame;
the mode string then ends in ``+offframe`` or ``+close``.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from hmr.synthetic.motion import PELVIS_HEIGHT

CAMERA_MODES: tuple[str, ...] = (
    "static", "pan", "tilt", "zoom", "dolly", "handheld", "pan+tilt", "pan+handheld",
    "tilt+handheld", "zoom+handheld", "pan+zoom", "dolly+handheld", "dolly+zoom", "dolly+pan",
    "pan+tilt+handheld", "dolly+pan+handheld",
)
_MODE_WEIGHTS = np.array([10, 8, 4, 6, 8, 12, 6, 10, 4, 5, 5, 8, 3, 4, 4, 3], dtype=np.float64)
_TOKENS = ("dolly", "pan", "tilt", "zoom", "handheld")
FOV_RANGE = (40.0, 70.0)          # deg, along the larger image side
DISTANCE_RANGE = (2.5, 6.0)       # m, horizontal camera-subject distance at placement
HEIGHT_RANGE = (0.8, 2.0)         # m, camera above the ground
HEAD_ABOVE_PELVIS, FEET_BELOW_PELVIS = 0.8, 0.95   # m, rough body extent for framing


# ----------------------------------------------------------------------------------------------
# geometry


def focal_from_fov(fov_deg: float | np.ndarray, width: int, height: int) -> np.ndarray:
    """Focal length (px) giving a field of view ``fov_deg`` along the larger image side."""
    return 0.5 * max(width, height) / np.tan(np.radians(np.asarray(fov_deg, dtype=np.float64)) / 2)


def intrinsics(focal: float | np.ndarray, width: int, height: int,
               principal: tuple[float, float] | None = None) -> np.ndarray:
    """K (3, 3), or (T, 3, 3) for a (T,) focal, with fx = fy = ``focal``."""
    f = np.asarray(focal, dtype=np.float64)
    cx, cy = principal if principal is not None else (width / 2.0, height / 2.0)
    K = np.zeros(f.shape + (3, 3))
    K[..., 0, 0] = K[..., 1, 1] = f
    K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = cx, cy, 1.0
    return K


def look_at(eye: np.ndarray, target: np.ndarray,
            up: np.ndarray | tuple[float, float, float] = (0.0, 1.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """World -> camera rotation R (..., 3, 3) and translation t (..., 3) of an OpenCV camera at
    ``eye`` looking at ``target`` with the world direction ``up`` appearing upward (image -y).

    Rows of R are the camera axes in world coordinates: x right = forward x up, y down =
    forward x right, z = forward; t = -R eye, so the target lands on the optical axis.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    eye, target = np.broadcast_arrays(eye, target)
    up = np.broadcast_to(np.asarray(up, dtype=np.float64), eye.shape)
    fwd = target - eye
    n = np.linalg.norm(fwd, axis=-1, keepdims=True)
    if np.any(n < 1e-12):
        raise ValueError("look_at: eye and target coincide")
    fwd = fwd / n
    right = np.cross(fwd, up)
    rn = np.linalg.norm(right, axis=-1, keepdims=True)
    # looking along `up`: any horizontal right axis will do; take world +X's component
    alt = np.cross(fwd, np.broadcast_to([0.0, 0.0, 1.0], fwd.shape))
    right = np.where(rn > 1e-9, right / np.maximum(rn, 1e-12),
                     alt / np.maximum(np.linalg.norm(alt, axis=-1, keepdims=True), 1e-12))
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd], axis=-2)
    t = -np.einsum("...ij,...j->...i", R, eye)
    return R, t


def project(K: np.ndarray, R: np.ndarray, t: np.ndarray, X_world: np.ndarray) -> np.ndarray:
    """Pixels (T, N, 2) of world points X_world (T, N, 3) seen by cameras K (T|-, 3, 3),
    R (T|-, 3, 3), t (T|-, 3). Points at or behind the camera plane (depth <= 1e-9) give NaN.
    Unbatched inputs (K (3,3), R (3,3), t (3,), X (N,3)) give (N, 2)."""
    K, R, t, X = (np.asarray(a, dtype=np.float64) for a in (K, R, t, X_world))
    Xc = np.einsum("...ij,...nj->...ni", R, X) + t[..., None, :]
    p = np.einsum("...ij,...nj->...ni", K, Xc)
    z = Xc[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = p[..., :2] / p[..., 2:3]
    return np.where(z > 1e-9, uv, np.nan)


def _rot(axis: str, angle: np.ndarray) -> np.ndarray:
    return Rotation.from_euler(axis, np.asarray(angle, dtype=np.float64).reshape(-1, 1)).as_matrix()


# ----------------------------------------------------------------------------------------------
# smooth signals


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _smootherstep(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def _smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along time (edges held), C-infinity for any input."""
    if sigma_frames <= 0 or len(x) < 2:
        return np.array(x, dtype=np.float64)
    return gaussian_filter1d(np.asarray(x, dtype=np.float64), sigma_frames, axis=0, mode="nearest")


def _sines(t: np.ndarray, rng: np.random.Generator, n_axes: int, fmin: float, fmax: float,
           n_sines: int = 4) -> np.ndarray:
    """(T, n_axes) sums of random sinusoids with unit RMS per axis (stationary)."""
    f = rng.uniform(fmin, fmax, (n_sines, n_axes))
    ph = rng.uniform(0.0, 2 * np.pi, (n_sines, n_axes))
    a = rng.uniform(0.3, 1.0, (n_sines, n_axes))
    a /= np.sqrt(np.sum(a**2, axis=0) / 2.0)
    return np.sum(a * np.sin(2 * np.pi * f * t[:, None, None] + ph), axis=1)


def handheld_shake(t: np.ndarray, rng: np.random.Generator, rms_deg: float) -> np.ndarray:
    """Hand-held rotation noise (T, 3, 3) in the camera frame: ``rms_deg`` RMS tilt and pan with
    frequencies of 1-3 Hz, a drift of 0.2-0.6 Hz at half that, and half as much roll."""
    fast = _sines(t, rng, 3, 1.0, 3.0)
    slow = _sines(t, rng, 3, 0.2, 0.6)
    ang = np.radians(rms_deg) * (fast + 0.5 * slow) / np.sqrt(1.25) * np.array([1.0, 1.0, 0.5])
    return Rotation.from_euler("xyz", ang).as_matrix()


# ----------------------------------------------------------------------------------------------
# sampling and checking one camera


def _sample(tokens: set[str], S: np.ndarray, t: np.ndarray, fps: float, W: int, H: int,
            ground: float, rng: np.random.Generator, close: bool) -> dict:
    """One random camera with the movements in ``tokens`` (no framing guarantee)."""
    n = len(t)
    dur = max(t[-1], 1.0 / fps)
    # field of view / focal length (zoom: two values within the range)
    fov0 = _u(rng, FOV_RANGE[0], FOV_RANGE[0] + 10.0) if close else _u(rng, *FOV_RANGE)
    fov1 = fov0
    if "zoom" in tokens:
        lo, hi = FOV_RANGE          # fov1 in [lo, fov0 - 10] U [fov0 + 10, hi]
        below, above = max(0.0, fov0 - 10 - lo), max(0.0, hi - fov0 - 10)
        x = _u(rng, 0.0, below + above)
        fov1 = lo + x if x < below else fov0 + 10 + (x - below)
    f0, f1 = focal_from_fov(fov0, W, H), focal_from_fov(fov1, W, H)
    if "zoom" in tokens:
        if rng.random() < 0.3:      # zoom in and back out
            ease = np.sin(np.pi * t / dur) ** 2
        else:                       # one zoom over a window of the sequence
            a = _u(rng, 0.0, 0.4) * dur
            b = a + _u(rng, 0.4, 1.0) * (dur - a)
            ease = _smootherstep((t - a) / max(b - a, 1e-6))
        focal = f0 + (f1 - f0) * ease
    else:
        focal = np.full(n, f0)

    # distance: the whole body (plus its vertical travel unless tilting) fits vertically
    tan_v = 0.5 * H / max(f0, f1)
    extent = HEAD_ABOVE_PELVIS + FEET_BELOW_PELVIS + (0.0 if "tilt" in tokens else np.ptp(S[:, 1]))
    d_fit = 1.25 * extent / (2 * tan_v)
    lo_d, hi_d = DISTANCE_RANGE
    if close:   # the view holds only 65-90 % of the body's height
        d = float(np.clip(extent / (2 * tan_v) * _u(rng, 0.65, 0.9), lo_d, hi_d))
    else:
        d_min = min(max(lo_d, d_fit), hi_d)
        d = d_min + (hi_d - d_min) * _u(rng, 0.0, 1.0) ** 2    # biased toward closer framings
    height = _u(rng, *HEIGHT_RANGE)

    # where the camera stands: around the subject, perpendicular-ish to a long path
    sig = _u(rng, 0.3, 0.6) * fps
    S_s = _smooth(S, sig)
    travel = S[-1, [0, 2]] - S[0, [0, 2]]
    follow = "dolly" in tokens
    if np.linalg.norm(travel) > 0.5 and not follow:
        side = np.arctan2(travel[0], travel[1]) + rng.choice([-1.0, 1.0]) * np.pi / 2
        az = side + np.radians(_u(rng, -35, 35))
        anchor = S[:, [0, 2]].mean(axis=0)
    else:
        az = _u(rng, -np.pi, np.pi)
        anchor = S[0, [0, 2]]
    dir_xz = np.array([np.sin(az), np.cos(az)])          # from the subject toward the camera
    eye = np.zeros((n, 3))
    eye[:, [0, 2]] = anchor + d * dir_xz
    eye[:, 1] = ground + height
    if follow:
        eye[:, [0, 2]] += S_s[:, [0, 2]] - S_s[0, [0, 2]]
        ease = _smootherstep((t - _u(rng, 0, 0.3) * dur) / (_u(rng, 0.5, 1.0) * dur))
        if rng.random() < 0.5:   # push in / pull out along the view direction
            delta = rng.choice([-1.0, 1.0]) * _u(rng, 0.5, 1.5)
            delta = max(delta, lo_d - d)             # never closer than 2.5 m
            eye[:, [0, 2]] += (delta * ease)[:, None] * dir_xz
        else:                    # truck sideways
            lateral = np.array([dir_xz[1], -dir_xz[0]])
            eye[:, [0, 2]] += (rng.choice([-1.0, 1.0]) * _u(rng, 0.5, 2.0) * ease)[:, None] * lateral
        eye[:, 1] += _u(rng, -0.2, 0.2) * ease      # and a little crane

    # aim point: the subject's middle (pelvis minus a little), followed when panning / tilting
    aim_dy = -_u(rng, 0.0, 0.15)
    target = np.empty((n, 3))
    if "pan" in tokens or follow:
        target[:, [0, 2]] = S_s[:, [0, 2]]
    else:
        target[:, [0, 2]] = anchor
    target[:, 1] = (S_s[:, 1] if "tilt" in tokens else np.median(S[:, 1])) + aim_dy
    R_base, _ = look_at(eye, target)

    # sweeps (camera-frame rotations): a slow pan and/or tilt of part of the field of view
    half_h = np.arctan(0.5 * W / focal)
    half_v = np.arctan(0.5 * H / focal)
    pan = np.zeros(n)
    tilt = np.zeros(n)
    if "pan" in tokens:
        pan = _u(rng, 0.1, 0.3) * half_h * np.sin(2 * np.pi * t / _u(rng, 3, 8) + _u(rng, 0, 2 * np.pi))
    if "tilt" in tokens:
        tilt = _u(rng, 0.1, 0.25) * half_v * np.sin(2 * np.pi * t / _u(rng, 3, 8) + _u(rng, 0, 2 * np.pi))
    R_sweep = np.einsum("tij,tjk->tik", _rot("x", tilt), _rot("y", pan))
    if "handheld" in tokens:
        R_shake = handheld_shake(t, rng, _u(rng, 0.3, 1.0))
        eye = eye + 0.005 * _sines(t, rng, 3, 1.0, 3.0) / np.sqrt(2)
    else:
        R_shake = np.broadcast_to(np.eye(3), (n, 3, 3))
    principal = (W / 2.0 * (1 + _u(rng, -0.01, 0.01)), H / 2.0 * (1 + _u(rng, -0.01, 0.01)))
    return {"focal": focal, "eye": eye, "R_base": R_base, "principal": principal,
            "R_move": np.einsum("tij,tjk->tik", R_shake, R_sweep)}


def _assemble(cam: dict, W: int, H: int, extra: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    R = np.einsum("tij,tjk->tik", cam["R_move"], cam["R_base"])
    if extra is not None:
        R = np.einsum("tij,tjk->tik", extra, R)
    t = -np.einsum("tij,tj->ti", R, cam["eye"])
    return intrinsics(cam["focal"], W, H, cam["principal"]), R, t


def _body_points(S: np.ndarray) -> np.ndarray:
    """(T, 3, 3): pelvis, top of the head, feet (rough, upright body)."""
    return S[:, None, :] + np.array([[0.0, 0.0, 0.0], [0.0, HEAD_ABOVE_PELVIS, 0.0],
                                     [0.0, -FEET_BELOW_PELVIS, 0.0]])


def _framing_ok(K, R, t, eye, S, W, H, whole_body: bool) -> bool:
    """Pelvis inside (5 % margin) every frame, head and feet inside in 95 % of the frames (when
    ``whole_body``), every point >= 1 m in front, horizontal distance 1.5-9 m."""
    X = _body_points(S)
    depth = np.einsum("tij,tnj->tni", R, X)[..., 2] + t[:, None, 2]
    if np.any(depth < 1.0):
        return False
    dist = np.linalg.norm((eye - S)[:, [0, 2]], axis=1)
    if np.any(dist < 1.5) or np.any(dist > 9.0):
        return False
    uv = project(K, R, t, X)
    mx, my = 0.05 * W, 0.05 * H
    pel = uv[:, 0]
    if not np.all((pel[:, 0] >= mx) & (pel[:, 0] <= W - mx) & (pel[:, 1] >= my) & (pel[:, 1] <= H - my)):
        return False
    if whole_body:
        inside = np.all((uv[:, 1:, 0] >= 0) & (uv[:, 1:, 0] <= W) & (uv[:, 1:, 1] >= 0)
                        & (uv[:, 1:, 1] <= H), axis=1)
        return bool(inside.mean() >= 0.95)
    return True


def _off_frame(t: np.ndarray, rng: np.random.Generator, focal: np.ndarray, W: int, H: int) -> np.ndarray:
    """Camera-frame rotations (T, 3, 3) aiming away from the subject during a window of the
    sequence (sin^2 envelope, C1): 0.75-1.1 half fields of view sideways (or vertically), so
    that the aim point reaches the image border and part of the body leaves the frame."""
    n = len(t)
    dur = max(t[-1], 1e-6)
    length = _u(rng, 0.25, 0.5) * dur
    start = _u(rng, 0.0, dur - length)
    u = (t - start) / max(length, 1e-6)
    env = np.where((u > 0) & (u < 1), np.sin(np.pi * np.clip(u, 0, 1)) ** 2, 0.0)
    sign = rng.choice([-1.0, 1.0])
    if rng.random() < 0.7:
        ang = sign * _u(rng, 0.75, 1.1) * np.arctan(0.5 * W / focal) * env
        return _rot("y", ang).reshape(n, 3, 3)
    ang = sign * _u(rng, 0.75, 1.1) * np.arctan(0.5 * H / focal) * env
    return _rot("x", ang).reshape(n, 3, 3)


def _mode_name(tokens: set[str]) -> str:
    return "+".join(k for k in _TOKENS if k in tokens) or "static"


# ----------------------------------------------------------------------------------------------
# public API


def generate_camera(n_frames: int, fps: float, width: int, height: int, subject_trans: np.ndarray,
                    rng: np.random.Generator, allow_out_of_frame: bool = False, *,
                    mode: str | None = None, ground_y: float | None = None) -> dict:
    """A smooth moving camera filming a subject whose pelvis follows ``subject_trans`` (T, 3).

    Returns ``{"K": (T, 3, 3), "R": (T, 3, 3), "t": (T, 3)`` float64, ``"motion": str}``:
    ``motion`` names the movements, e.g. ``"pan+handheld"`` (``"static"`` when none), with
    ``"+offframe"`` / ``"+close"`` when the person is deliberately let out of frame.

    ``mode`` forces one of ``CAMERA_MODES`` (or any ``+``-join of static, pan, tilt, zoom, dolly,
    handheld); a forced mode is honoured even when it cannot keep a travelling subject framed.
    ``ground_y`` is the floor height; by default it is estimated from the pelvis track as its
    75th percentile minus ``PELVIS_HEIGHT``.
    """
    n, W, H = int(n_frames), int(width), int(height)
    S = np.asarray(subject_trans, dtype=np.float64).reshape(-1, 3)
    if len(S) != n or n < 1:
        raise ValueError(f"subject_trans must be ({n}, 3), got {np.shape(subject_trans)}")
    if not fps > 0 or W < 1 or H < 1:
        raise ValueError(f"need fps > 0 and a positive image size, got fps={fps}, {W}x{H}")
    if mode is not None:
        tokens = set(mode.split("+")) - {"static"}
        if not tokens <= set(_TOKENS):
            raise ValueError(f"unknown camera mode {mode!r}; expected a +-join of static, "
                             f"{', '.join(_TOKENS)}")
    t = np.arange(n, dtype=np.float64) / float(fps)
    ground = float(np.percentile(S[:, 1], 75) - PELVIS_HEIGHT) if ground_y is None else float(ground_y)

    off = allow_out_of_frame and rng.random() < 0.75
    close = off and rng.random() < 0.3
    cam, tokens, cropped = None, set(), False
    for attempt in range(16):
        if mode is not None:
            tokens = set(mode.split("+")) - {"static"}
        else:
            tokens = set(str(rng.choice(CAMERA_MODES, p=_MODE_WEIGHTS / _MODE_WEIGHTS.sum())).split("+"))
            tokens -= {"static"}
            if attempt >= 4:          # a travelling subject: follow it with the view...
                tokens.add("pan")
            if attempt >= 8:          # ... and with the camera
                tokens.add("dolly")
        cropped = close and attempt < 8
        cam = _sample(tokens, S, t, fps, W, H, ground, rng, cropped)
        K, R, tv = _assemble(cam, W, H)
        if _framing_ok(K, R, tv, cam["eye"], S, W, H, whole_body=not cropped):
            break
    else:
        if mode is None:              # last resort: following and tracking, no extra moves
            tokens, cropped = {"pan", "tilt", "dolly"}, False
            cam = _sample(tokens, S, t, fps, W, H, ground, rng, close=False)
    name = _mode_name(tokens)
    extra = None
    if cropped:
        name += "+close"
    elif off:
        extra = _off_frame(t, rng, cam["focal"], W, H)
        name += "+offframe"
    K, R, tv = _assemble(cam, W, H, extra)
    return {"K": K, "R": R, "t": tv, "motion": name}
