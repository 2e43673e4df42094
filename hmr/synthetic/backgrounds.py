"""Procedural textured backgrounds for the synthetic video benchmark.

:func:`make_background` draws one random *canvas* per sequence: an RGB image larger than
the video frame by ``margin`` pixels on every side, in one of a few styles (a room with a
tiled or wooden floor, an outdoor scene, a brick wall, an abstract collage). Every style is
textured at several scales (value noise, tiles, planks, bricks, furniture-like shapes,
fine grain) because the benchmark's optical flow needs texture everywhere; flat colour
regions would make the flow of the background ill-defined. Everything is deterministic
given the ``np.random.Generator``.

:func:`crop_background` then cuts each frame's view out of the canvas.

Camera model (an approximation): the background is a *far plane*, a 2D image at infinity.
A camera that rotates (pans / tilts) shifts it by about ``f * tan(angle)`` pixels, and a
change of focal length (zoom) scales it about the image centre; camera translation causes
no parallax on it. So a moving camera moves the background consistently with its rotation
and zoom, but a floor drawn on the canvas does not behave like a true 3D ground plane.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

STYLES: tuple[str, ...] = ("room", "outdoor", "bricks", "abstract")

_SUPERSAMPLE = 2  # canvases are drawn at 2x and area-downsampled (anti-aliased patterns)


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def value_noise(
    rng: np.random.Generator, height: int, width: int, cell: float,
    octaves: int = 4, persistence: float = 0.5,
) -> np.ndarray:
    """Multi-octave value noise (H, W) float32 in [0, 1].

    Octave ``i`` is a grid of uniform random values with spacing ``cell / 2**i`` pixels,
    upsampled with bicubic interpolation (``cv2.resize``) and weighted by
    ``persistence**i``; the sum is rescaled to [0, 1].
    """
    total = np.zeros((height, width), np.float32)
    amp = 1.0
    for i in range(octaves):
        c = max(cell / 2**i, 1.0)
        gh, gw = int(np.ceil(height / c)) + 3, int(np.ceil(width / c)) + 3
        grid = rng.random((gh, gw), dtype=np.float32)
        up = cv2.resize(grid, (int(round(gw * c)), int(round(gh * c))),
                        interpolation=cv2.INTER_CUBIC)
        # a random sub-cell offset so that grid points do not line up across octaves
        oy, ox = rng.integers(0, int(c) + 1, size=2)
        total += amp * up[oy:oy + height, ox:ox + width]
        amp *= persistence
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def random_color(
    rng: np.random.Generator, sat: tuple[float, float] = (0.1, 0.6),
    val: tuple[float, float] = (0.3, 0.9), hue: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """A random RGB colour (3,) float32 in [0, 1] with HSV components in the given ranges."""
    h = rng.uniform(*hue) % 1.0
    hsv = np.array([[[h * 180.0, rng.uniform(*sat) * 255.0, rng.uniform(*val) * 255.0]]],
                   np.float32)
    # 8-bit OpenCV HSV: H in [0, 180), S and V in [0, 255]
    rgb = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    return rgb[0, 0].astype(np.float32) / 255.0


def _hash2(i: np.ndarray, j: np.ndarray, seed: float) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) for integer cell indices (i, j)."""
    x = np.sin(i * 12.9898 + j * 78.233 + seed * 37.719) * 43758.5453
    return (x - np.floor(x)).astype(np.float32)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-pixel blend of colour images / colours ``a`` and ``b`` by weight map ``t``."""
    t = t[..., None] if t.ndim == 2 else t
    return a * (1.0 - t) + b * t


def _floor_coords(height: int, width: int, horizon: float, cam_height: float = 1.5):
    """Ground-plane coordinates (X, Z) in metres of every pixel below the horizon.

    A pinhole camera with focal length ``width`` pixels at ``cam_height`` above a flat
    floor, looking horizontally: row ``y`` below the horizon sees depth
    ``Z = f h / (y - horizon)``, column ``x`` lateral position ``X = (x - cx) Z / f``.
    Pixels at or above the horizon get ``Z = inf`` (they are covered by the wall / sky).
    Returns X, Z (H, W) float32 and a weight (H, W) that fades patterns out towards the
    horizon, where they would alias.
    """
    f = float(width)
    y = np.arange(height, dtype=np.float32)[:, None] - horizon
    x = np.arange(width, dtype=np.float32)[None, :] - (width - 1) / 2.0
    with np.errstate(divide="ignore"):
        inv = np.where(y > 0.5, 1.0 / np.maximum(y, 0.5), 0.0).astype(np.float32)
    Z = np.where(y > 0.5, f * cam_height * inv, np.inf).astype(np.float32)
    X = (x * cam_height * inv).astype(np.float32) * np.ones_like(Z)
    fade = np.clip(y / (0.12 * height), 0.0, 1.0).astype(np.float32) * np.ones_like(Z)
    return X, Z, fade


# --------------------------------------------------------------------------------------
# Surfaces
# --------------------------------------------------------------------------------------


def _tiles(rng: np.random.Generator, X: np.ndarray, Z: np.ndarray, noise: np.ndarray):
    """Checker / plain tiles with grout lines and per-tile tint, on coordinates (X, Z)."""
    size = rng.uniform(0.3, 0.9)
    grout = rng.uniform(0.02, 0.06)
    c1 = random_color(rng, sat=(0.0, 0.35), val=(0.45, 0.95))
    c2 = random_color(rng, sat=(0.0, 0.5), val=(0.15, 0.8)) if rng.random() < 0.5 else c1 * 0.8
    gc = random_color(rng, sat=(0.0, 0.15), val=(0.2, 0.7))
    u, v = X / size + rng.random(), np.where(np.isfinite(Z), Z, 0) / size + rng.random()
    i, j = np.floor(u), np.floor(v)
    checker = ((i + j) % 2).astype(np.float32)
    img = _mix(c1, c2, checker)
    img *= (0.85 + 0.3 * _hash2(i, j, rng.random()))[..., None]
    img *= (0.85 + 0.3 * noise)[..., None]
    fu, fv = u - i, v - j
    is_grout = (np.minimum(fu, 1 - fu) < grout) | (np.minimum(fv, 1 - fv) < grout)
    img[is_grout] = gc
    return img


def _planks(rng: np.random.Generator, X: np.ndarray, Z: np.ndarray, noise: np.ndarray):
    """Wooden planks along Z with staggered joints, per-plank tint and grain."""
    width = rng.uniform(0.1, 0.25)
    length = rng.uniform(0.8, 2.0)
    base = random_color(rng, sat=(0.35, 0.7), val=(0.35, 0.85), hue=(0.05, 0.11))
    u = X / width + rng.random()
    i = np.floor(u)
    Zf = np.where(np.isfinite(Z), Z, 0)
    v = Zf / length + _hash2(i, 0 * i, 1.7)
    j = np.floor(v)
    tint = 0.75 + 0.5 * _hash2(i, j, rng.random())
    grain = 0.5 + 0.5 * np.sin(2 * np.pi * (u * rng.uniform(2, 5) + 3.0 * noise))
    img = base[None, None, :] * (tint * (0.85 + 0.2 * grain))[..., None]
    fu, fv = u - i, v - j
    gap = (np.minimum(fu, 1 - fu) < 0.03) | (np.minimum(fv, 1 - fv) < 0.008)
    img[gap] *= 0.45
    return img


def _bricks(rng: np.random.Generator, h: int, w: int, noise: np.ndarray):
    """A brick wall with mortar, per-brick colour and noise, in pixel coordinates."""
    bh = rng.uniform(0.025, 0.06) * h
    bw = bh * rng.uniform(2.0, 3.2)
    base = random_color(rng, sat=(0.3, 0.75), val=(0.35, 0.8), hue=(-0.02, 0.08))
    if rng.random() < 0.25:
        base = random_color(rng, sat=(0.0, 0.2), val=(0.4, 0.85))  # painted / grey bricks
    mortar = random_color(rng, sat=(0.0, 0.15), val=(0.5, 0.85))
    y = np.arange(h, dtype=np.float32)[:, None] / bh + rng.random()
    row = np.floor(y)
    x = np.arange(w, dtype=np.float32)[None, :] / bw + 0.5 * (row % 2) + rng.random()
    col = np.floor(x)
    tint = 0.75 + 0.5 * _hash2(col, row, rng.random())
    img = base[None, None, :] * (tint * (0.8 + 0.4 * noise))[..., None]
    fy, fx = y - row, x - col
    joint = (np.minimum(fy, 1 - fy) < 0.07) | (np.minimum(fx, 1 - fx) < 0.07 * bh / bw)
    img[np.broadcast_to(joint, noise.shape)] = mortar
    return img


def _textured_fill(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """A two-colour noise texture (H, W, 3) float32: a material for shapes and walls."""
    c1 = random_color(rng, sat=(0.05, 0.8), val=(0.15, 0.95))
    c2 = random_color(rng, sat=(0.05, 0.8), val=(0.15, 0.95))
    return _mix(c1, c2, value_noise(rng, h, w, scale, octaves=4))


def _draw_shapes(rng: np.random.Generator, img: np.ndarray, n: int,
                 region: tuple[int, int, int, int], scale: float) -> None:
    """Draw ``n`` random rectangles / ellipses / thick lines ("furniture", pictures,
    lamps) with textured fills and outlines, in place, inside region (x0, y0, x1, y1)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = region
    for _ in range(n):
        kind = rng.integers(3)
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        sx, sy = rng.uniform(0.03, 0.2) * w, rng.uniform(0.03, 0.25) * h
        mask = np.zeros((h, w), np.uint8)
        if kind == 0:
            p0 = (int(cx - sx / 2), int(cy - sy / 2))
            p1 = (int(cx + sx / 2), int(cy + sy / 2))
            cv2.rectangle(mask, p0, p1, 255, -1)
        elif kind == 1:
            cv2.ellipse(mask, (int(cx), int(cy)), (int(sx / 2), int(sy / 2)),
                        rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)
        else:
            p2 = (int(cx + rng.uniform(-1, 1) * sx * 2), int(cy + rng.uniform(-1, 1) * sy))
            cv2.line(mask, (int(cx), int(cy)), p2, 255,
                     max(2, int(rng.uniform(0.005, 0.02) * w)), cv2.LINE_AA)
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            continue
        a, b, c, d = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        fill = _textured_fill(rng, b - a, d - c, max(scale * rng.uniform(0.2, 1.0), 2.0))
        # a soft light gradient across the shape makes it look like a lit object
        grad = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.2), d - c, dtype=np.float32)
        fill *= grad[None, :, None]
        alpha = mask[a:b, c:d, None].astype(np.float32) / 255.0
        img[a:b, c:d] = img[a:b, c:d] * (1 - alpha) + fill * alpha
        if kind == 0 and rng.random() < 0.6:          # a frame / edge around rectangles
            edge = tuple(float(v) for v in random_color(rng, val=(0.05, 0.6)))
            cv2.rectangle(img, (c, a), (d - 1, b - 1), edge, max(1, int(0.006 * w)), cv2.LINE_AA)


# --------------------------------------------------------------------------------------
# Styles (each draws a float32 RGB image in [0, 1] of the requested size)
# --------------------------------------------------------------------------------------


def _style_room(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A wall (plaster, stripes or bricks, with pictures) over a tiled or wooden floor."""
    horizon = rng.uniform(0.35, 0.65) * h
    wall_noise = value_noise(rng, h, w, rng.uniform(0.05, 0.2) * w, octaves=5)
    if rng.random() < 0.3:
        wall = _bricks(rng, h, w, wall_noise)
    else:
        base = random_color(rng, sat=(0.0, 0.4), val=(0.5, 0.95))
        wall = base[None, None, :] * (0.8 + 0.35 * wall_noise)[..., None]
        if rng.random() < 0.5:                        # striped wallpaper
            period = rng.uniform(0.02, 0.08) * w
            x = np.arange(w, dtype=np.float32)
            stripe = (np.sin(2 * np.pi * x / period) > rng.uniform(-0.5, 0.5)).astype(np.float32)
            wall *= (1.0 - rng.uniform(0.1, 0.3) * stripe)[None, :, None]
    _draw_shapes(rng, wall, int(rng.integers(2, 6)), (0, 0, w, int(horizon)), 0.05 * w)

    X, Z, fade = _floor_coords(h, w, horizon)
    floor_noise = value_noise(rng, h, w, rng.uniform(0.03, 0.1) * w, octaves=5)
    surface = _tiles if rng.random() < 0.5 else _planks
    floor = surface(rng, X, Z, floor_noise)
    mean = floor[int(horizon) + 1:].reshape(-1, 3).mean(0)
    floor = _mix(mean[None, None, :], floor, fade)
    # darker towards the far wall: a cheap ambient-occlusion / light falloff cue
    floor *= (0.7 + 0.3 * fade)[..., None]

    img = np.where((np.arange(h)[:, None, None] > horizon), floor, wall)
    # baseboard along the wall / floor line
    t = max(2, int(rng.uniform(0.01, 0.03) * h))
    img[int(horizon) - t:int(horizon) + 1] = random_color(rng, sat=(0, 0.3), val=(0.1, 0.9))
    # furniture standing on the floor
    _draw_shapes(rng, img, int(rng.integers(1, 5)), (0, int(horizon) - h // 6, w, h), 0.05 * w)
    return img


def _style_outdoor(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Sky with clouds, a tree line, and grass / gravel ground with a path."""
    horizon = rng.uniform(0.3, 0.55) * h
    y = np.arange(h, dtype=np.float32)[:, None, None]
    zenith = random_color(rng, sat=(0.3, 0.7), val=(0.6, 0.95), hue=(0.55, 0.65))
    haze = random_color(rng, sat=(0.0, 0.25), val=(0.75, 1.0), hue=(0.5, 0.65))
    t = np.clip(y / max(horizon, 1.0), 0, 1)
    sky = zenith * (1 - t) + haze * t
    clouds = value_noise(rng, h, w, rng.uniform(0.1, 0.35) * w, octaves=6)
    cover = rng.uniform(0.3, 0.7)
    cloud_a = np.clip((clouds - cover) / 0.25, 0, 1)[..., None]
    # clouds: bright, with their own shading so that overcast skies keep some texture
    puff = value_noise(rng, h, w, rng.uniform(0.03, 0.08) * w, octaves=4)[..., None]
    cloud_c = np.float32(rng.uniform(0.8, 0.95)) * (0.78 + 0.22 * puff)
    sky = sky * (1 - cloud_a) + cloud_c * cloud_a

    ground_c = random_color(rng, sat=(0.3, 0.7), val=(0.3, 0.7), hue=(0.18, 0.35))
    if rng.random() < 0.3:   # dry ground / gravel
        ground_c = random_color(rng, sat=(0.1, 0.4), val=(0.35, 0.75), hue=(0.05, 0.12))
    fine = value_noise(rng, h, w, 6.0, octaves=3)
    coarse = value_noise(rng, h, w, 0.1 * w, octaves=4)
    X, Z, fade = _floor_coords(h, w, horizon)
    grain = 1.0 + 0.5 * (fine - 0.5) * fade          # fine grass / gravel detail
    ground = ground_c * ((0.6 + 0.5 * coarse) * grain)[..., None]
    if rng.random() < 0.6:   # a path towards the horizon
        pw = rng.uniform(0.6, 2.0)
        px = rng.uniform(-2, 2)
        path = np.clip((pw - np.abs(X - px)) / 0.1, 0, 1) * (Z < 1e6)
        path_c = random_color(rng, sat=(0.05, 0.35), val=(0.45, 0.85), hue=(0.05, 0.12))
        ground = _mix(ground, path_c * (0.75 + 0.4 * fine[..., None]), path.astype(np.float32))
    img = np.where(y > horizon, ground, sky).astype(np.float32)

    # tree line: dark blobs along the horizon
    trees = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(15, 60))):
        cx = int(rng.uniform(0, w))
        r = int(rng.uniform(0.02, 0.08) * h)
        cy = int(horizon - rng.uniform(0.0, 0.9) * r)   # every crown reaches the ground
        cv2.circle(trees, (cx, cy), max(r, 1), 255, -1, cv2.LINE_AA)
    tree_c = random_color(rng, sat=(0.3, 0.7), val=(0.12, 0.4), hue=(0.2, 0.4))
    leaf = value_noise(rng, h, w, 0.015 * w + 2, octaves=3)
    ta = (trees.astype(np.float32) / 255.0 * (y[..., 0] <= horizon + 1))[..., None]
    img = img * (1 - ta) + tree_c * (0.6 + 0.8 * leaf[..., None]) * ta
    return img


def _style_bricks(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A brick wall filling the view, with posters / signs / doors."""
    noise = value_noise(rng, h, w, rng.uniform(0.02, 0.08) * w, octaves=5)
    img = _bricks(rng, h, w, noise)
    _draw_shapes(rng, img, int(rng.integers(1, 5)), (0, 0, w, h), 0.04 * w)
    return img


def _style_abstract(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Layered colour noise with many textured shapes (a FlyingChairs-like collage)."""
    img = _textured_fill(rng, h, w, rng.uniform(0.05, 0.3) * w)
    detail = value_noise(rng, h, w, rng.uniform(4, 12), octaves=3)
    img *= (0.8 + 0.4 * detail)[..., None]
    _draw_shapes(rng, img, int(rng.integers(8, 25)), (0, 0, w, h), 0.05 * w)
    return img


_STYLE_FUNCS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "room": _style_room, "outdoor": _style_outdoor,
    "bricks": _style_bricks, "abstract": _style_abstract,
}


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def make_background(
    rng: np.random.Generator, height: int, width: int, margin: int, style: str | None = None,
) -> np.ndarray:
    """A random textured background canvas, (height + 2 margin, width + 2 margin, 3) uint8.

    The canvas is larger than the frame so that :func:`crop_background` can pan and zoom
    over it. The style (one of :data:`STYLES`) is drawn from ``rng`` unless given. The
    canvas is drawn at 2x resolution and area-downsampled (no aliasing of fine patterns),
    then gets a gentle global light gradient and a fine sensor grain, so no region is
    flat. Deterministic given the state of ``rng``.
    """
    if height <= 0 or width <= 0 or margin < 0:
        raise ValueError(f"bad background size {height}x{width}, margin {margin}")
    if style is None:
        style = STYLES[int(rng.integers(len(STYLES)))]
    if style not in _STYLE_FUNCS:
        raise ValueError(f"unknown background style {style!r}; expected one of {STYLES}")
    ch, cw = height + 2 * margin, width + 2 * margin
    s = _SUPERSAMPLE
    img = _STYLE_FUNCS[style](rng, ch * s, cw * s).astype(np.float32)
    img = cv2.resize(img, (cw, ch), interpolation=cv2.INTER_AREA)
    # global illumination: a soft linear gradient in a random direction
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    ramp = ((xx - cw / 2) * np.cos(ang) + (yy - ch / 2) * np.sin(ang)) / max(ch, cw)
    img *= (1.0 + rng.uniform(0.1, 0.4) * ramp)[..., None]
    img += rng.normal(0.0, 0.012, size=img.shape).astype(np.float32)
    return np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)


def crop_background(
    canvas: np.ndarray, offset_xy: np.ndarray | tuple[float, float], zoom: float,
    height: int, width: int,
) -> np.ndarray:
    """The (height, width, 3) uint8 view of ``canvas`` seen by a panned / zoomed camera.

    Output pixel ``p`` (pixel centres at integer coordinates) samples the canvas at
    ``c + offset_xy + (p - o) / zoom``, where ``c`` and ``o`` are the centres of the canvas
    and of the output: with zero offset and zoom 1 this is exactly the centre crop (a
    margin-wide border cut off), a positive ``offset_xy[0]`` looks further right (the
    content moves left), and ``zoom > 1`` magnifies. For a far-plane background, a camera
    yaw / pitch of ``theta`` corresponds to an offset of about ``f * tan(theta)`` pixels
    and a focal length change from ``f0`` to ``f`` to ``zoom = f / f0`` (see the module
    docstring). Bilinear sampling with sub-pixel accuracy; samples outside the canvas
    are mirrored (``BORDER_REFLECT``); when zooming out the canvas is low-pass filtered
    first to avoid aliasing.
    """
    if zoom <= 0:
        raise ValueError(f"zoom must be positive, got {zoom}")
    ch, cw = canvas.shape[:2]
    ox, oy = float(offset_xy[0]), float(offset_xy[1])
    cx, cy = (cw - 1) / 2.0 + ox, (ch - 1) / 2.0 + oy
    s = 1.0 / zoom
    # maps output (x, y) -> canvas (x, y); used with WARP_INVERSE_MAP
    M = np.array([[s, 0.0, cx - s * (width - 1) / 2.0],
                  [0.0, s, cy - s * (height - 1) / 2.0]], dtype=np.float64)
    src = canvas
    if zoom < 0.8:
        sigma = 0.5 * np.sqrt(s * s - 1.0)
        src = cv2.GaussianBlur(canvas, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)
    return cv2.warpAffine(src, M, (width, height),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)
