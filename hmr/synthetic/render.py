"""Headless software renderer: a vectorised numpy z-buffer triangle rasteriser and a shader.

No GPU, display, EGL or OpenGL is needed; everything is numpy array code with no Python
loop over triangles.

Conventions
-----------
* Camera: OpenCV pinhole. Points are in camera coordinates in metres, x right, y down,
  z forward (into the scene). A point ``P`` projects to ``K @ P / P_z``.
* Pixel centres lie at integer image coordinates: pixel ``(row i, col j)`` is centred on
  ``(u, v) = (j, i)`` and covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. A pixel belongs
  to a triangle when its centre lies inside the projected triangle (edges inclusive, so
  meshes are watertight; the z-buffer decides between neighbours that share an edge).
* ``depth`` is the camera-space z of the visible surface (not the ray length), ``inf`` on
  background pixels.
* Barycentric coordinates are perspective-correct: they weight the triangle's three 3D
  vertices, so interpolating any per-vertex attribute with them is exact in 3D (in
  particular ``sum_k bary[k] * z_k == depth``).

Clipping: a triangle with any vertex nearer than ``NEAR`` (0.05 m) is dropped whole (no
near-plane clipping: at this distance such a triangle is far bigger than the image anyway);
triangles partly outside the image are clipped by clamping their pixel bounding box to the
image.

Algorithm of :func:`rasterize` (a vectorised scanline rasteriser):

1. Project the vertices; per triangle, compute its integer bounding box of pixel centres
   (clamped to the image) and the affine coefficients of its three screen-space
   barycentrics (edge functions) and of the inverse depth ``1/z`` (affine on screen).
2. Expand every (triangle, box row) pair with ``np.repeat``/``cumsum`` index arithmetic.
   In a row each edge bounds the pixel column from one side, so the pixels inside form a
   run ``[start, stop]`` computed in closed form from two "left" and two "right" edge
   lines per triangle (no per-pixel inside test is needed).
3. Expand the runs into one candidate per (triangle, covered pixel) the same way, with
   the candidate's pixel index and ``1/z`` (one multiply-add each).
4. Resolve visibility with ``np.maximum.at`` on an inverse-depth buffer, keep one winner
   per pixel, and only for the winners compute the perspective-correct barycentrics.

Triangles are processed in chunks that bound the number of candidate pixels, so a few
huge triangles cannot exhaust memory. Gathers use ``np.take`` (several times faster than
fancy indexing), and no numpy reduction runs over a length-3 axis (slow); with these the
cost is dominated by a few dozen array operations over the covered pixels.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

NEAR = 0.05
"""Near plane (m): triangles with a vertex at ``z < NEAR`` are culled."""

DEFAULT_LIGHT_DIR = (0.35, -0.55, -0.75)
"""Direction *towards* the light in camera coordinates: up (-y), right and from the camera."""

# Largest number of pixels (sum of triangle bounding-box areas) handled in one chunk: this
# bounds the temporaries (about 50 bytes per candidate pixel) to some 50 MB however large
# the triangles are on screen. A typical body at 640x480 needs a single chunk.
_MAX_PAIRS = 1_000_000

# Inside-test tolerance, in pixels: a pixel centre within this distance outside an edge
# still counts as inside, so that a centre exactly on an edge shared by two triangles goes
# to both rather than (after rounding) to neither; the z-buffer then picks one. Meshes
# therefore render without cracks.
_EDGE_TOL_PX = 1e-6


# --------------------------------------------------------------------------------------
# Rasterisation
# --------------------------------------------------------------------------------------


def project(verts_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-space points (N, 3) to pixel coordinates (N, 2).

    Points with ``z <= 0`` give non-finite or meaningless results; callers cull them.
    """
    verts_cam = np.asarray(verts_cam, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        uvw = verts_cam @ K.T
        return uvw[:, :2] / uvw[:, 2:3]


def _triangle_setup(
    verts_cam: np.ndarray, faces: np.ndarray, K: np.ndarray, height: int, width: int,
    cull_backfaces: bool,
) -> dict[str, np.ndarray]:
    """Per-triangle quantities for the T triangles that can cover a pixel centre.

    Every per-pixel quantity of a triangle is affine in the pixel offset ``(dx, dy)`` from
    the triangle's bounding-box origin ``(bx0, by0)``: ``f = o + a * dx + b * dy``.

    Returns a dict of arrays: ``ids`` (T,) face indices; ``bx0, by0, bw, bh`` (T,) the
    clamped pixel boxes; ``o, a, b`` (3, T) the coefficients of the screen-space
    barycentric of each vertex; ``q`` (3, T) the (o, a, b) coefficients of the inverse
    depth 1/z; ``iz`` (3, T) the inverse vertex depths; ``lines`` (8, T) the span bounds of
    :func:`_span_lines`. Multi-row arrays are (k, T) so that each row is contiguous (numpy
    is slow on strided length-3 axes).
    """
    z = verts_cam[:, 2]
    uv = project(verts_cam, K)
    zs = [z[faces[:, k]] for k in range(3)]
    xs = [uv[faces[:, k], 0] for k in range(3)]
    ys = [uv[faces[:, k], 1] for k in range(3)]
    keep = np.minimum(np.minimum(zs[0], zs[1]), zs[2]) >= NEAR
    # twice the signed screen area; its sign is the on-screen winding
    area2 = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0])
    with np.errstate(invalid="ignore"):
        keep &= np.isfinite(area2) & (np.abs(area2) > 1e-12)
        if cull_backfaces:
            # A face whose normal (v1 - v0) x (v2 - v0) points to the camera is clockwise
            # on screen in (x right, y down) pixel coordinates: negative signed area.
            keep &= area2 < 0
        # integer bounding box of the pixel centres the triangle can contain, clamped
        bx0 = np.ceil(np.minimum(np.minimum(xs[0], xs[1]), xs[2]))
        bx1 = np.floor(np.maximum(np.maximum(xs[0], xs[1]), xs[2]))
        by0 = np.ceil(np.minimum(np.minimum(ys[0], ys[1]), ys[2]))
        by1 = np.floor(np.maximum(np.maximum(ys[0], ys[1]), ys[2]))
    bx0 = np.clip(np.nan_to_num(bx0, nan=0.0), 0, width)
    by0 = np.clip(np.nan_to_num(by0, nan=0.0), 0, height)
    bx1 = np.clip(np.nan_to_num(bx1, nan=-1.0), -1, width - 1)
    by1 = np.clip(np.nan_to_num(by1, nan=-1.0), -1, height - 1)
    keep &= (bx1 >= bx0) & (by1 >= by0)

    ids = np.flatnonzero(keep)
    bx0, by0, bx1, by1 = bx0[ids], by0[ids], bx1[ids], by1[ids]
    xs = [x[ids] for x in xs]
    ys = [y[ids] for y in ys]
    inv_area2 = 1.0 / area2[ids]
    # The barycentric of vertex k is the edge function of the opposite edge i->j
    # (i, j = k+1, k+2 mod 3), E(p) = (xj - xi)(py - yi) - (yj - yi)(px - xi), over area2.
    n = len(ids)
    o, a, b = np.empty((3, n)), np.empty((3, n)), np.empty((3, n))
    for k in range(3):               # the three edges, not a loop over triangles
        i, j = (k + 1) % 3, (k + 2) % 3
        ex, ey = xs[j] - xs[i], ys[j] - ys[i]
        o[k] = (ex * (by0 - ys[i]) - ey * (bx0 - xs[i])) * inv_area2
        a[k] = -ey * inv_area2
        b[k] = ex * inv_area2
    # distance to an edge in pixels = barycentric / |its gradient|: the tolerance in
    # barycentric units
    tol = _EDGE_TOL_PX * np.hypot(a, b)
    # 1/z is affine in screen space: 1/z(p) = sum_k l_k(p) / z_k
    iz = 1.0 / np.stack([zk[ids] for zk in zs])
    q = np.stack([(o * iz).sum(0), (a * iz).sum(0), (b * iz).sum(0)])
    lines = _span_lines(o, a, b, tol)
    return {
        "ids": ids,
        "bx0": bx0.astype(np.int64), "by0": by0.astype(np.int64),
        "bw": (bx1 - bx0 + 1).astype(np.int64), "bh": (by1 - by0 + 1).astype(np.int64),
        "o": o, "a": a, "b": b, "q": q, "iz": iz, "lines": lines,
    }


def _span_lines(o: np.ndarray, a: np.ndarray, b: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Per triangle, the lines bounding its scanline spans: (8, T) array of
    ``alpha_L1, beta_L1, alpha_L2, beta_L2, alpha_U1, beta_U1, alpha_U2, beta_U2``.

    Edge k keeps pixel ``(dx, dy)`` when ``o_k + a_k dx + b_k dy >= -tol_k``, i.e.
    ``dx >= alpha_k + beta_k dy`` if ``a_k > 0`` (a left edge) and ``dx <= ...`` if
    ``a_k < 0`` (a right edge), with ``alpha_k = (-tol_k - o_k) / a_k`` and
    ``beta_k = -b_k / a_k``. The ``a_k`` sum to zero (the barycentrics sum to 1), so a
    triangle has at most two left and at most two right edges: the two edges with the
    largest ``a`` hold every left edge, the two with the smallest every right edge; slots
    that are not such an edge get a bound that never binds. A horizontal edge
    (``a_k == 0``) bounds only the rows, which the bounding box already does.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (-tol - o) / a
        beta = -b / a
    order = np.argsort(a, axis=0)                        # (3, T) ascending a
    out = np.empty((8, a.shape[1]))
    for slot, (row, want_pos) in enumerate([(2, True), (1, True), (0, False), (1, False)]):
        k = order[row]
        ak = np.take_along_axis(a, k[None], 0)[0]
        ok = ak > 0 if want_pos else ak < 0
        out[2 * slot] = np.where(ok, np.take_along_axis(alpha, k[None], 0)[0],
                                 -np.inf if want_pos else np.inf)
        out[2 * slot + 1] = np.where(ok, np.take_along_axis(beta, k[None], 0)[0], 0.0)
    return out


def _chunks(counts: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Split consecutive items into runs whose summed ``counts`` stay within ``budget``.

    A single item larger than the budget gets a run of its own.
    """
    bounds = []
    cum = np.cumsum(counts)
    start, n = 0, len(counts)
    while start < n:
        base = cum[start - 1] if start else 0
        stop = int(np.searchsorted(cum, base + budget, side="right"))
        stop = max(stop, start + 1)
        bounds.append((start, stop))
        start = stop
    return bounds


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with ``counts`` elements each: (item of each element, index within item)."""
    total = int(counts.sum())
    item = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return item, np.arange(total, dtype=np.int64) - first.take(item)


def _spans(setup: dict[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    """Scanline spans of triangles ``lo:hi``: one entry per (triangle, box row) that holds
    at least one pixel centre inside the triangle.

    In row ``dy`` of its box a triangle covers the pixel centres with
    ``max_left(alpha + beta dy) <= dx <= min_right(alpha + beta dy)`` (see
    :func:`_span_lines`), clamped to the box: the run ``dx`` in
    ``[start, start + length)``.

    Returns a dict of (R,) int64 arrays: ``tri`` (rows into ``setup``), ``dy``, ``start``,
    ``length``.
    """
    local, dy = _expand(setup["bh"][lo:hi])
    tri = local + lo
    # (np.take is several times faster than fancy indexing for these gathers)
    ln = setup["lines"].take(tri, axis=1)                 # (8, R)
    lower = np.maximum(ln[0] + ln[1] * dy, ln[2] + ln[3] * dy)
    upper = np.minimum(ln[4] + ln[5] * dy, ln[6] + ln[7] * dy)
    # clamp before the integer conversion (the bounds may be +-inf)
    start = np.ceil(np.clip(lower, 0.0, 2.0**40)).astype(np.int64)
    stop = np.floor(np.clip(upper, -1.0, 2.0**40)).astype(np.int64)
    np.minimum(stop, setup["bw"].take(tri) - 1, out=stop)
    length = stop - start + 1
    nz = np.flatnonzero(length > 0)
    return {"tri": tri.take(nz), "dy": dy.take(nz), "start": start.take(nz),
            "length": length.take(nz)}


def rasterize(
    verts_cam: np.ndarray,
    faces: np.ndarray,
    K: np.ndarray,
    height: int,
    width: int,
    cull_backfaces: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer rasterisation of a triangle mesh seen by a pinhole camera.

    Args:
        verts_cam: (V, 3) vertex positions in camera coordinates (m; x right, y down,
            z forward).
        faces: (F, 3) integer vertex indices.
        K: (3, 3) intrinsics.
        height, width: image size in pixels.
        cull_backfaces: drop faces seen from behind, i.e. whose normal
            ``(v1 - v0) x (v2 - v0)`` points away from the camera. Off by default (both
            sides render). For a closed mesh with outward normals (SMPL) it gives the same
            image faster.

    Returns:
        face_id: (H, W) int32, index of the visible face, -1 on background.
        depth: (H, W) float32 camera-space z of the visible surface, ``inf`` on background.
        bary: (H, W, 3) float32 perspective-correct barycentrics of the visible face's
            three vertices (zeros on background); they sum to 1.
    """
    verts_cam = np.asarray(verts_cam, dtype=np.float64).reshape(-1, 3)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    K = np.asarray(K, dtype=np.float64)
    npix = height * width
    inv_zbuf = np.zeros(npix)          # 1/depth; 0 = infinitely far (background)
    face_id = np.full(npix, -1, dtype=np.int32)
    bary = np.zeros((npix, 3), dtype=np.float32)

    slot = np.empty(npix, dtype=np.int64)   # scratch: winning candidate of each pixel
    touched = np.zeros(npix, dtype=bool)    # scratch: pixels won in the current chunk

    setup = _triangle_setup(verts_cam, faces, K, height, width, cull_backfaces)
    for lo, hi in _chunks(setup["bw"] * setup["bh"], _MAX_PAIRS):
        sp = _spans(setup, lo, hi)
        tri, dy, start = sp["tri"], sp["dy"], sp["start"]
        # per run: index of its first pixel, inverse depth there, and 1/z's step along x
        pix0 = (setup["by0"].take(tri) + dy) * width + setup["bx0"].take(tri) + start
        qt = setup["q"].take(tri, axis=1)
        q0 = qt[0] + qt[1] * start + qt[2] * dy
        # one candidate per pixel centre inside a triangle: the k-th pixel of its run
        run, k = _expand(sp["length"])
        pix = pix0.take(run) + k
        q = q0.take(run) + qt[1].take(run) * k
        # z-buffer on inverse depth (nearest = largest 1/z), over all chunks so far
        np.maximum.at(inv_zbuf, pix, q)
        win = np.flatnonzero(q >= inv_zbuf.take(pix))
        # Several winners may share a pixel (equal depth on a shared edge): a single fancy
        # assignment picks one candidate per pixel, and all outputs are copied from it.
        win_pix = pix.take(win)
        slot[win_pix] = win
        touched[win_pix] = True
        cp = np.flatnonzero(touched)
        touched[cp] = False
        ch = slot.take(cp)
        r = run.take(ch)
        dx = start.take(r) + k.take(ch)
        t = tri.take(r)
        dyc = dy.take(r)
        lk = (setup["o"].take(t, axis=1) + setup["a"].take(t, axis=1) * dx
              + setup["b"].take(t, axis=1) * dyc)                          # (3, C)
        np.clip(lk, 0.0, None, out=lk)
        # Perspective correction: b_k = (l_k / z_k) / sum_j (l_j / z_j).
        wk = lk * setup["iz"].take(t, axis=1)
        face_id[cp] = setup["ids"].take(t)
        bary[cp] = (wk / (wk[0] + wk[1] + wk[2])).T

    with np.errstate(divide="ignore"):
        depth = (1.0 / inv_zbuf).astype(np.float32)
    return (face_id.reshape(height, width), depth.reshape(height, width),
            bary.reshape(height, width, 3))


# --------------------------------------------------------------------------------------
# Shading
# --------------------------------------------------------------------------------------


def face_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted face normals (F, 3): ``(v1 - v0) x (v2 - v0)``, not normalised."""
    verts = np.asarray(verts, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    v0 = verts.take(faces[:, 0], axis=0)
    e1 = verts.take(faces[:, 1], axis=0) - v0
    e2 = verts.take(faces[:, 2], axis=0) - v0
    return np.cross(e1, e2)


def vertex_normals(
    verts: np.ndarray, faces: np.ndarray, fn: np.ndarray | None = None
) -> np.ndarray:
    """Unit per-vertex normals (V, 3): the area-weighted mean of the adjacent face normals.

    ``fn`` optionally passes precomputed :func:`face_normals`.
    """
    faces = np.asarray(faces, dtype=np.int64)
    fn = face_normals(verts, faces) if fn is None else fn
    n_verts = len(verts)
    idx = faces.ravel()
    vn = np.empty((n_verts, 3))
    for c in range(3):   # x, y, z components
        vn[:, c] = np.bincount(idx, weights=np.repeat(fn[:, c], 3), minlength=n_verts)
    norm = np.linalg.norm(vn, axis=1, keepdims=True)
    return vn / np.maximum(norm, 1e-300)


def render_mesh(
    verts_cam: np.ndarray,
    faces: np.ndarray,
    K: np.ndarray,
    background: np.ndarray,
    vertex_colors: np.ndarray | None = None,
    face_colors: np.ndarray | None = None,
    light_dir: tuple[float, float, float] | np.ndarray = DEFAULT_LIGHT_DIR,
    ambient: float = 0.35,
    diffuse: float = 0.75,
    smooth: bool = True,
    cull_backfaces: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a Lambertian-shaded mesh over a background image.

    The mesh is drawn with hard (not anti-aliased) edges: a pixel is covered when its
    centre is, exactly the ``mask`` returned.

    Shading is ``albedo * (ambient + diffuse * max(0, n . l))`` with one directional light,
    clipped to [0, 1]. With ``smooth`` the normal is the per-vertex normal interpolated
    with the perspective-correct barycentrics (Phong-interpolated normals), otherwise the
    flat face normal. The mesh winding does not matter: normals are oriented so that most
    visible pixels face the camera.

    Args:
        verts_cam: (V, 3) vertices in camera coordinates (OpenCV: x right, y down, z fwd).
        faces: (F, 3) vertex indices.
        K: (3, 3) intrinsics.
        background: (H, W, 3) uint8 image; its size sets the output size.
        vertex_colors: (V, 3) albedo in [0, 1], interpolated across faces.
        face_colors: (F, 3) albedo in [0, 1], used when ``vertex_colors`` is None.
            With neither, a light grey.
        light_dir: direction *towards* the light in camera coordinates.
        ambient, diffuse: light intensities.
        smooth: interpolate vertex normals (True) or use face normals (False).
        cull_backfaces: passed to :func:`rasterize`; for closed meshes wound
            counter-clockwise seen from outside (SMPL) the same image, faster.

    Returns:
        image: (H, W, 3) uint8, the background where ``mask`` is False.
        mask: (H, W) bool, pixels covered by the mesh.
        depth: (H, W) float32 camera-space z, ``inf`` off the mesh.
    """
    background = np.asarray(background)
    if background.ndim != 3 or background.shape[2] != 3 or background.dtype != np.uint8:
        raise ValueError(
            f"background must be (H, W, 3) uint8, got {background.shape} {background.dtype}")
    height, width = background.shape[:2]
    verts_cam = np.asarray(verts_cam, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    face_id, depth, bary = rasterize(verts_cam, faces, K, height, width, cull_backfaces)
    mask = face_id >= 0
    image = background.copy()
    if not mask.any():
        return image, mask, depth

    fid = face_id[mask]
    b = bary[mask]                                       # (M, 3) float32
    tri = faces.take(fid, axis=0)                        # (M, 3)

    # Orientation: a face "faces the camera" when its normal points towards it
    # (n . v0 < 0, the camera is at the origin). The mesh's winding is taken to be the one
    # that makes most visible pixels face the camera, so either winding shades correctly.
    fn = face_normals(verts_cam, faces)
    facing = np.einsum("ij,ij->i", fn, verts_cam.take(faces[:, 0], axis=0)) < 0
    sign = 1.0 if facing.take(fid).mean() >= 0.5 else -1.0
    light = np.asarray(light_dir, dtype=np.float64)
    light = light / np.linalg.norm(light)

    if vertex_colors is not None:
        albedo_v = np.asarray(vertex_colors, dtype=np.float32).reshape(-1, 3)
    else:
        albedo_v = None
    if face_colors is not None and albedo_v is None:
        albedo_px = np.asarray(face_colors, dtype=np.float32).reshape(-1, 3).take(fid, axis=0)
    elif albedo_v is None:
        albedo_px = np.full((len(fid), 3), 0.7, dtype=np.float32)

    if smooth:
        # Phong-interpolated normals: interpolate unit vertex normals (and vertex colours,
        # in the same pass) with the perspective-correct barycentrics, then renormalise.
        attr = (sign * vertex_normals(verts_cam, faces, fn)).astype(np.float32)
        if albedo_v is not None:
            attr = np.concatenate([attr, albedo_v], axis=1)
        px = _interpolate(attr, tri, b)
        n = px[:, :3]
        cos = (n @ light.astype(np.float32)) / np.maximum(np.linalg.norm(n, axis=1), 1e-12)
        if albedo_v is not None:
            albedo_px = px[:, 3:]
    else:
        unit_fn = sign * fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-300)
        cos = (unit_fn @ light).astype(np.float32).take(fid)
        if albedo_v is not None:
            albedo_px = _interpolate(albedo_v, tri, b)
    shade = ambient + diffuse * np.clip(cos, 0.0, None)
    color = np.clip(albedo_px * shade[:, None], 0.0, 1.0)
    image[mask] = (color * 255.0 + 0.5).astype(np.uint8)
    return image, mask, depth


def _interpolate(attr: np.ndarray, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """Barycentric interpolation of per-vertex ``attr`` (V, C) on M pixels -> (M, C).

    ``tri`` (M, 3) holds each pixel's face vertices and ``bary`` (M, 3) their weights.
    """
    out = attr.take(tri[:, 0], axis=0) * bary[:, 0:1]
    out += attr.take(tri[:, 1], axis=0) * bary[:, 1:2]
    out += attr.take(tri[:, 2], axis=0) * bary[:, 2:3]
    return out


# --------------------------------------------------------------------------------------
# Clothing colours from skinning weights
# --------------------------------------------------------------------------------------

GARMENT_GROUPS: tuple[str, ...] = ("skin", "shirt", "trousers", "shoes", "hair")

# SMPL joint -> garment group. The skinning weights of joint j cover the body segment that
# starts at j (e.g. left_knee weights cover the shin, left_ankle the foot).
_JOINT_GROUP_BASE: dict[int, str] = {
    0: "trousers", 1: "trousers", 2: "trousers",             # hips, thighs
    4: "trousers", 5: "trousers",                            # shins
    7: "shoes", 8: "shoes", 10: "shoes", 11: "shoes",        # feet
    3: "shirt", 6: "shirt", 9: "shirt", 13: "shirt", 14: "shirt",   # torso
    16: "shirt", 17: "shirt",                                # upper arms
    12: "skin", 15: "skin",                                  # neck, head
    18: "skin", 19: "skin", 20: "skin", 21: "skin", 22: "skin", 23: "skin",      # forearms, hands
}

# a range of natural skin tones (sRGB in [0, 1]) from light to dark; samples blend two
# neighbours
_SKIN_TONES = np.array([
    [0.96, 0.80, 0.69], [0.92, 0.72, 0.60], [0.84, 0.63, 0.50], [0.75, 0.54, 0.40],
    [0.62, 0.43, 0.31], [0.49, 0.33, 0.23], [0.36, 0.24, 0.17],
])
_HAIR_TONES = np.array([
    [0.08, 0.06, 0.05], [0.20, 0.13, 0.08], [0.38, 0.25, 0.14], [0.62, 0.48, 0.30],
    [0.45, 0.20, 0.10], [0.55, 0.55, 0.55],
])


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    """One HSV colour (all in [0, 1]) to RGB in [0, 1]."""
    i = int(h * 6.0) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def random_garment_color(rng: np.random.Generator) -> np.ndarray:
    """A plausible fabric colour (3,) in [0, 1]: often muted, sometimes saturated or grey."""
    kind = rng.random()
    if kind < 0.25:      # greys, black, white
        return np.full(3, rng.uniform(0.08, 0.92))
    if kind < 0.6:       # muted colours
        return _hsv_to_rgb(rng.random(), rng.uniform(0.15, 0.45), rng.uniform(0.25, 0.8))
    return _hsv_to_rgb(rng.random(), rng.uniform(0.45, 0.95), rng.uniform(0.35, 0.95))


def random_palette(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random colours for every garment group (skin tone, shirt, trousers, shoes, hair)."""
    t = rng.uniform(0, len(_SKIN_TONES) - 1)
    i = min(int(t), len(_SKIN_TONES) - 2)
    skin = (1 - (t - i)) * _SKIN_TONES[i] + (t - i) * _SKIN_TONES[i + 1]
    return {
        "skin": skin,
        "shirt": random_garment_color(rng),
        "trousers": random_garment_color(rng),
        "shoes": random_garment_color(rng) * rng.uniform(0.3, 1.0),
        "hair": _HAIR_TONES[rng.integers(len(_HAIR_TONES))] * rng.uniform(0.85, 1.15),
    }


def part_colors(
    weights: np.ndarray,
    palette: Mapping[str, np.ndarray] | np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    *,
    rest_verts: np.ndarray | None = None,
    long_sleeves: bool | None = None,
    shorts: bool | None = None,
    pattern: str | None = None,
    noise: float = 0.04,
) -> np.ndarray:
    """Per-vertex clothing colours (V, 3) in [0, 1] from SMPL skinning weights.

    Each vertex goes to the garment group of the joints that dominate its skinning
    weights: shirt on the torso and upper arms, trousers on hips and legs, shoes on the
    feet, skin on neck, head, forearms and hands (long sleeves / shorts change the
    forearms / shins). With ``rest_verts`` (the template in SMPL's canonical frame: y up,
    +z forward, metres) the top and back of the head become hair, and the shirt can carry
    a procedural stripe or check pattern. A small per-vertex brightness jitter (``noise``)
    gives the body some texture for optical flow.

    Args:
        weights: (V, 24) skinning weights.
        palette: either a (24, 3) array of per-joint colours (blended by the weights, no
            garments or patterns), a mapping from group names in :data:`GARMENT_GROUPS` to
            RGB colours (missing groups are drawn at random), or None (all random).
        rng: randomness for colours, sleeves, patterns and jitter; the result is
            deterministic given its state. Defaults to ``np.random.default_rng(0)``.
        rest_verts: optional (V, 3) rest-pose vertices for hair and shirt patterns.
        long_sleeves, shorts: force the garment cut; None draws it from ``rng``.
        pattern: "solid", "stripes", "checks" or None (random) for the shirt.
        noise: standard deviation of the per-vertex multiplicative brightness jitter.

    Returns:
        (V, 3) float64 colours in [0, 1].
    """
    rng = np.random.default_rng(0) if rng is None else rng
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != 24:
        raise ValueError(f"weights must be (V, 24), got {weights.shape}")
    n_verts = len(weights)

    if palette is not None and not isinstance(palette, Mapping):
        per_joint = np.asarray(palette, dtype=np.float64)
        if per_joint.shape != (24, 3):
            raise ValueError(f"array palette must be (24, 3), got {per_joint.shape}")
        colors = weights @ per_joint / np.maximum(weights.sum(1, keepdims=True), 1e-12)
        return _jitter(colors, rng, noise)

    groups = random_palette(rng)
    if palette is not None:
        groups.update({k: np.asarray(v, dtype=np.float64) for k, v in palette.items()})
    if long_sleeves is None:
        long_sleeves = bool(rng.random() < 0.35)
    if shorts is None:
        shorts = bool(rng.random() < 0.2)
    if pattern is None:
        pattern = str(rng.choice(["solid", "solid", "stripes", "checks"]))

    joint_group = dict(_JOINT_GROUP_BASE)
    if long_sleeves:
        joint_group.update({18: "shirt", 19: "shirt"})
    if shorts:
        joint_group.update({4: "skin", 5: "skin"})
    # (24, G) one-hot joint -> group, then per-vertex group = argmax of summed weights
    onehot = np.zeros((24, len(GARMENT_GROUPS)))
    for j, g in joint_group.items():
        onehot[j, GARMENT_GROUPS.index(g)] = 1.0
    group = np.argmax(weights @ onehot, axis=1)

    if rest_verts is not None:
        rest = np.asarray(rest_verts, dtype=np.float64)
        head = np.argmax(weights, axis=1) == 15
        if head.any():
            # hair: the crown (down to about the hairline) and the back of the head above
            # the nape; the face (front, +z in SMPL's frame) stays skin
            hy, hz = rest[head, 1], rest[head, 2]
            top = hy > np.quantile(hy, 0.7)
            back = (hz < np.quantile(hz, 0.45)) & (hy > np.quantile(hy, 0.25))
            hair_idx = np.flatnonzero(head)[top | back]
            group[hair_idx] = GARMENT_GROUPS.index("hair")

    table = np.stack([groups[g] for g in GARMENT_GROUPS])
    colors = table[group]

    shirt = group == GARMENT_GROUPS.index("shirt")
    if rest_verts is not None and pattern in ("stripes", "checks") and shirt.any():
        second = random_garment_color(rng)
        period = rng.uniform(0.04, 0.12)                # metres
        phase = rng.uniform(0, period)
        p = np.asarray(rest_verts, dtype=np.float64)[shirt]
        on = np.floor((p[:, 1] + phase) / period) % 2 == 1          # horizontal stripes
        if pattern == "checks":
            on ^= np.floor((p[:, 0] + phase) / period) % 2 == 1
        colors[np.flatnonzero(shirt)[on]] = second
    elif pattern not in ("solid", "stripes", "checks"):
        raise ValueError(f"unknown pattern {pattern!r}")

    return _jitter(colors, rng, noise, n_verts)


def _jitter(colors: np.ndarray, rng: np.random.Generator, noise: float,
            n_verts: int | None = None) -> np.ndarray:
    """Multiply each vertex colour by ``1 + N(0, noise)`` and clip to [0, 1]."""
    n = len(colors) if n_verts is None else n_verts
    factor = 1.0 + noise * rng.standard_normal((n, 1))
    return np.clip(colors * factor, 0.0, 1.0)
