"""Known-answer tests of the software rasteriser, shader, clothing colours and backgrounds."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hmr.synthetic.backgrounds import STYLES, crop_background, make_background
from hmr.synthetic.render import (
    GARMENT_GROUPS,
    face_normals,
    part_colors,
    project,
    rasterize,
    render_mesh,
)

H, W = 60, 80
F = 70.0
K = np.array([[F, 0.0, (W - 1) / 2], [0.0, F, (H - 1) / 2], [0.0, 0.0, 1.0]])


def icosphere(level: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit icosphere, faces wound counter-clockwise seen from outside."""
    t = (1 + 5 ** 0.5) / 2
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
         [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
         [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
         [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]
    verts = [np.array(p, float) / np.linalg.norm(p) for p in v]
    faces = f
    for _ in range(level):
        cache: dict[tuple[int, int], int] = {}

        def mid(i: int, j: int) -> int:
            key = (min(i, j), max(i, j))
            if key not in cache:
                p = verts[i] + verts[j]
                verts.append(p / np.linalg.norm(p))
                cache[key] = len(verts) - 1
            return cache[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        faces = new
    return np.array(verts), np.array(faces)


SPHERE_VERTS, SPHERE_FACES = icosphere(3)


def quad(x0: float, x1: float, y0: float, y1: float, z: float, start: int = 0):
    """A fronto-parallel rectangle at depth z as two triangles facing the camera."""
    v = np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]], float)
    f = np.array([[0, 3, 2], [0, 2, 1]]) + start     # normal (v1-v0)x(v2-v0) towards -z
    return v, f


def pixel_centres() -> np.ndarray:
    ys, xs = np.mgrid[0:H, 0:W]
    return np.stack([xs, ys], -1).reshape(-1, 2).astype(np.float64)


def signed_distance(poly: np.ndarray) -> np.ndarray:
    """Signed distance (H, W) of every pixel centre to a convex polygon (> 0 inside)."""
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    d = [cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in pixel_centres()]
    return np.array(d).reshape(H, W)


# --------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------


def test_single_triangle_covers_expected_pixels():
    verts = np.array([[-0.31, -0.22, 2.0], [0.47, -0.05, 2.0], [-0.12, 0.38, 2.0]])
    faces = np.array([[0, 1, 2]])
    face_id, depth, _ = rasterize(verts, faces, K, H, W)
    covered = face_id == 0
    uv = project(verts, K)

    # exact rule: pixel centres inside are covered, outside are not (1e-6 px slack)
    sd = signed_distance(uv)
    assert covered[sd > 1e-6].all()
    assert not covered[sd < -1e-6].any()

    # against OpenCV's polygon fill: differences only within 1 px of the boundary
    ref = np.zeros((H, W), np.uint8)
    cv2.fillConvexPoly(ref, np.round(uv * 256).astype(np.int32), 1, cv2.LINE_8, shift=8)
    differ = covered != ref.astype(bool)
    assert np.all(np.abs(sd[differ]) <= 1.0)

    # and the pixel count matches the analytic area up to the boundary
    e1, e2 = uv[1] - uv[0], uv[2] - uv[0]
    area = 0.5 * abs(e1[0] * e2[1] - e1[1] * e2[0])
    perimeter = sum(np.linalg.norm(uv[(i + 1) % 3] - uv[i]) for i in range(3))
    assert abs(covered.sum() - area) <= 0.5 * perimeter
    assert np.allclose(depth[covered], 2.0) and np.isinf(depth[~covered]).all()


def test_square_covers_exact_rectangle_without_cracks():
    # projected edges at u = 10.3 .. 50.7 and v = 5.2 .. 40.6 (not through pixel centres)
    z = 2.0
    u0, u1, v0, v1 = 10.3, 50.7, 5.2, 40.6
    x = lambda u: (u - K[0, 2]) * z / F
    y = lambda v: (v - K[1, 2]) * z / F
    verts, faces = quad(x(u0), x(u1), y(v0), y(v1), z)
    face_id, _, _ = rasterize(verts, faces, K, H, W)
    expected = np.zeros((H, W), bool)
    expected[6:41, 11:51] = True
    assert np.array_equal(face_id >= 0, expected)
    assert set(np.unique(face_id[expected])) == {0, 1}


def test_shared_edge_through_pixel_centres_leaves_no_crack():
    # the diagonal shared by the two triangles runs exactly through pixel centres
    z = 2.0
    x = lambda u: (u - K[0, 2]) * z / F
    y = lambda v: (v - K[1, 2]) * z / F
    verts, faces = quad(x(10.5), x(40.5), y(5.5), y(35.5), z)
    for f in (faces, faces[::-1], faces[:, ::-1]):
        face_id, _, _ = rasterize(verts, f, K, H, W)
        expected = np.zeros((H, W), bool)
        expected[6:36, 11:41] = True
        assert np.array_equal(face_id >= 0, expected)


@pytest.mark.parametrize("order", ["near_first", "far_first"])
@pytest.mark.parametrize("flip", [False, True])
def test_nearer_quad_wins(order, flip):
    near_v, near_f = quad(-0.5, 0.2, -0.4, 0.2, 2.0)
    far_v, far_f = quad(-0.2, 0.6, -0.2, 0.5, 3.0, start=4)
    faces = np.vstack([near_f, far_f]) if order == "near_first" else np.vstack([far_f, near_f])
    if flip:
        faces = faces[:, ::-1]
    verts = np.vstack([near_v, far_v])
    face_id, depth, _ = rasterize(verts, faces, K, H, W)
    near_ids = set(np.flatnonzero(faces.min(1) < 4))
    far_alone, _, _ = rasterize(far_v, far_f - 4, K, H, W)
    near_alone, _, _ = rasterize(near_v, near_f, K, H, W)
    overlap = (far_alone >= 0) & (near_alone >= 0)
    assert overlap.sum() > 50
    assert all(int(f) in near_ids for f in face_id[overlap])
    assert np.allclose(depth[overlap], 2.0)
    only_far = (far_alone >= 0) & (near_alone < 0)
    assert np.allclose(depth[only_far], 3.0)
    assert np.array_equal(face_id >= 0, (far_alone >= 0) | (near_alone >= 0))


def test_interpenetrating_triangles_resolve_per_pixel():
    # two planes crossing at x = 0: left of it one is nearer, right of it the other
    a = np.array([[-1.0, -1.0, 2.5], [1.0, -1.0, 1.5], [0.0, 1.0, 2.0]])
    b = np.array([[-1.0, -1.0, 1.5], [1.0, -1.0, 2.5], [0.0, 1.0, 2.0]])
    face_id, depth, _ = rasterize(np.vstack([a, b]), np.array([[0, 1, 2], [3, 4, 5]]), K, H, W)
    row = H // 2 + 5
    cols = np.flatnonzero(face_id[row] >= 0)
    left = cols[cols < K[0, 2] - 1]
    right = cols[cols > K[0, 2] + 1]
    assert (face_id[row, left] == 1).all() and (face_id[row, right] == 0).all()


# --------------------------------------------------------------------------------------
# Culling and clipping
# --------------------------------------------------------------------------------------


def test_triangle_behind_camera_renders_nothing():
    verts = np.array([[-0.3, -0.2, -2.0], [0.4, -0.1, -2.0], [0.0, 0.4, -2.0]])
    face_id, depth, bary = rasterize(verts, np.array([[0, 1, 2]]), K, H, W)
    assert (face_id == -1).all() and np.isinf(depth).all() and (bary == 0).all()


def test_triangle_crossing_near_plane_is_culled():
    verts = np.array([[-0.3, -0.2, 2.0], [0.4, -0.1, 2.0], [0.0, 0.1, 0.01]])
    face_id, _, _ = rasterize(verts, np.array([[0, 1, 2]]), K, H, W)
    assert (face_id == -1).all()


def test_mesh_partly_outside_image_renders_inside_part():
    # a quad from the left of the image to its middle, and from above it to below it
    verts, faces = quad(-5.0, 0.0, -5.0, 5.0, 2.0)
    face_id, _, _ = rasterize(verts, faces, K, H, W)
    expected = np.zeros((H, W), bool)
    expected[:, : int(np.floor(K[0, 2])) + 1] = True       # u <= cx
    assert np.array_equal(face_id >= 0, expected)
    # entirely off-screen: nothing, no error
    verts_off, faces_off = quad(10.0, 11.0, 10.0, 11.0, 2.0)
    assert (rasterize(verts_off, faces_off, K, H, W)[0] == -1).all()


def test_huge_triangle_close_to_near_plane_fills_image():
    verts = np.array([[-50.0, -50.0, 0.06], [50.0, -50.0, 0.06], [0.0, 80.0, 0.06]])
    face_id, depth, _ = rasterize(verts, np.array([[0, 1, 2]]), K, H, W)
    assert (face_id == 0).all() and np.allclose(depth, 0.06)


def test_backface_culling():
    verts, faces = quad(-0.5, 0.5, -0.5, 0.5, 2.0)
    n_front = (rasterize(verts, faces, K, H, W, cull_backfaces=True)[0] >= 0).sum()
    n_back = (rasterize(verts, faces[:, ::-1], K, H, W, cull_backfaces=True)[0] >= 0).sum()
    n_both = (rasterize(verts, faces[:, ::-1], K, H, W)[0] >= 0).sum()
    assert n_front == n_both > 0 and n_back == 0


def test_closed_mesh_is_watertight():
    sphere = SPHERE_VERTS * 0.6 + np.array([0.05, -0.03, 3.0])
    faces = SPHERE_FACES
    # outward winding: positive signed volume
    v = sphere[faces]
    assert np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() > 0
    face_id, _, _ = rasterize(sphere, faces, K, H, W)
    # every pixel centre well inside the silhouette (the convex hull) is covered
    hull = cv2.convexHull(project(sphere, K).astype(np.float32))
    sd = np.array([cv2.pointPolygonTest(hull, (float(x), float(y)), True)
                   for x, y in pixel_centres()]).reshape(H, W)
    assert (face_id[sd > 0.01] >= 0).all()
    assert not (face_id[sd < -0.01] >= 0).any()
    # culling back faces of this outward-wound closed mesh changes nothing
    culled, _, _ = rasterize(sphere, faces, K, H, W, cull_backfaces=True)
    assert np.array_equal(culled >= 0, face_id >= 0)


def test_chunked_rasterisation_matches_single_pass(monkeypatch):
    import hmr.synthetic.render as render

    sphere = SPHERE_VERTS * 0.6 + np.array([0.05, -0.03, 3.0])
    verts2, faces2 = quad(-1.0, 1.0, -1.0, 1.0, 3.2)   # a wall behind the sphere
    verts = np.vstack([sphere, verts2])
    faces = np.vstack([SPHERE_FACES, faces2 + len(sphere)])
    whole = rasterize(verts, faces, K, H, W)
    monkeypatch.setattr(render, "_MAX_PAIRS", 40)
    chunked = rasterize(verts, faces, K, H, W)
    for a, b in zip(whole, chunked):
        assert np.array_equal(a, b)


# --------------------------------------------------------------------------------------
# Barycentrics and depth
# --------------------------------------------------------------------------------------


def test_barycentrics_are_perspective_correct():
    # a strongly slanted triangle: depth varies from 1.5 to 4 m
    verts = np.array([[-0.6, -0.5, 1.5], [0.9, -0.3, 4.0], [-0.1, 0.8, 2.5]])
    face_id, depth, bary = rasterize(verts, np.array([[0, 1, 2]]), K, H, W)
    m = face_id == 0
    assert m.sum() > 200
    b = bary[m].astype(np.float64)
    assert np.allclose(b.sum(1), 1.0, atol=1e-5) and (b >= 0).all()
    assert np.allclose(b @ verts[:, 2], depth[m], rtol=1e-5)
    # the 3D point the barycentrics describe projects back onto the pixel centre
    pts = b @ verts
    uv = project(pts, K)
    ys, xs = np.nonzero(m)
    assert np.allclose(uv, np.stack([xs, ys], 1), atol=1e-3)
    # and depth matches the ray / plane intersection at the pixel centre
    n = np.cross(verts[1] - verts[0], verts[2] - verts[0])
    rays = np.linalg.solve(K, np.stack([xs, ys, np.ones_like(xs)]).astype(float)).T
    z_true = (n @ verts[0]) / (rays @ n)
    assert np.allclose(depth[m], z_true, rtol=1e-5)


def test_empty_inputs():
    face_id, depth, bary = rasterize(np.zeros((0, 3)), np.zeros((0, 3), int), K, H, W)
    assert face_id.shape == (H, W) and depth.shape == (H, W) and bary.shape == (H, W, 3)
    assert face_id.dtype == np.int32 and depth.dtype == np.float32 and bary.dtype == np.float32
    assert (face_id == -1).all()


# --------------------------------------------------------------------------------------
# Shading
# --------------------------------------------------------------------------------------


def test_render_mesh_composites_over_background():
    rng = np.random.default_rng(0)
    bg = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    sphere = SPHERE_VERTS * 0.5 + np.array([0.0, 0.0, 3.0])
    colors = np.tile([0.8, 0.3, 0.2], (len(sphere), 1))
    image, mask, depth = render_mesh(sphere, SPHERE_FACES, K, bg, vertex_colors=colors)
    assert image.dtype == np.uint8 and image.shape == bg.shape
    assert np.array_equal(image[~mask], bg[~mask])
    assert np.array_equal(mask, np.isfinite(depth)) and mask.sum() > 100
    # lit like a 3D object: the brightest pixels sit towards the light (up-right), shading
    # varies over the sphere
    lum = image[..., 0].astype(float)
    ys, xs = np.nonzero(mask)
    top = np.argmax(np.where(mask, lum, -1).ravel())
    ty, tx = np.unravel_index(top, mask.shape)
    assert ty < ys.mean() and tx > xs.mean()
    assert lum[mask].std() > 10


def test_render_flat_quad_has_exact_lambert_colour():
    verts, faces = quad(-0.5, 0.5, -0.5, 0.5, 2.0)
    bg = np.zeros((H, W, 3), np.uint8)
    for winding in (faces, faces[:, ::-1]):        # winding must not matter
        image, mask, _ = render_mesh(
            verts, winding, K, bg, face_colors=np.full((2, 3), 0.5),
            light_dir=(0.0, 0.0, -1.0), ambient=0.2, diffuse=0.6, smooth=False)
        assert mask.sum() > 100
        assert (image[mask] == round(0.5 * 0.8 * 255)).all()
        image_s, _, _ = render_mesh(verts, winding, K, bg, vertex_colors=np.full((4, 3), 0.5),
                                    light_dir=(0.0, 0.0, -1.0), ambient=0.2, diffuse=0.6)
        assert np.array_equal(image_s, image)


def test_face_normals_point_to_camera_for_quad_helper():
    verts, faces = quad(-0.5, 0.5, -0.5, 0.5, 2.0)
    assert (face_normals(verts, faces)[:, 2] < 0).all()


# --------------------------------------------------------------------------------------
# Clothing colours
# --------------------------------------------------------------------------------------


def one_hot_weights(joints: list[int]) -> np.ndarray:
    w = np.zeros((len(joints), 24))
    w[np.arange(len(joints)), joints] = 1.0
    return w


def test_part_colors_groups_and_determinism():
    # torso, upper arm, forearm, thigh, shin, foot, head, hand
    joints = [3, 16, 18, 1, 4, 10, 15, 22]
    weights = one_hot_weights(joints)
    pal = {"skin": [0.8, 0.6, 0.5], "shirt": [0.1, 0.2, 0.9], "trousers": [0.2, 0.2, 0.2],
           "shoes": [0.05, 0.05, 0.05], "hair": [0.3, 0.2, 0.1]}
    c = part_colors(weights, pal, np.random.default_rng(1), long_sleeves=False, shorts=False,
                    pattern="solid", noise=0.0)
    expect = ["shirt", "shirt", "skin", "trousers", "trousers", "shoes", "skin", "skin"]
    assert np.allclose(c, [pal[g] for g in expect])
    c_long = part_colors(weights, pal, np.random.default_rng(1), long_sleeves=True, shorts=True,
                         pattern="solid", noise=0.0)
    assert np.allclose(c_long[2], pal["shirt"]) and np.allclose(c_long[4], pal["skin"])

    rng_w = np.random.default_rng(5).dirichlet(np.ones(24) * 0.1, size=500)
    a = part_colors(rng_w, None, np.random.default_rng(7))
    b = part_colors(rng_w, None, np.random.default_rng(7))
    d = part_colors(rng_w, None, np.random.default_rng(8))
    assert a.shape == (500, 3) and (a >= 0).all() and (a <= 1).all()
    assert np.array_equal(a, b) and not np.array_equal(a, d)
    assert set(GARMENT_GROUPS) == set(pal)


def test_part_colors_pattern_and_hair_need_rest_verts():
    rng = np.random.default_rng(0)
    n = 400
    weights = one_hot_weights([3] * (n // 2) + [15] * (n // 2))
    rest = rng.uniform(-0.3, 0.3, (n, 3))
    c = part_colors(weights, None, np.random.default_rng(2), rest_verts=rest,
                    pattern="stripes", noise=0.0)
    shirt = c[: n // 2]
    assert len(np.unique(shirt.round(6), axis=0)) == 2          # two stripe colours
    head = c[n // 2:]
    assert len(np.unique(head.round(6), axis=0)) == 2            # skin and hair
    per_joint = part_colors(weights, np.tile([0.5, 0.5, 0.5], (24, 1)), rng, noise=0.0)
    assert np.allclose(per_joint, 0.5)


# --------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------


def texture_level(img: np.ndarray) -> float:
    """Mean absolute Laplacian of the grey image."""
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


@pytest.mark.parametrize("style", STYLES)
def test_background_styles_are_textured_and_deterministic(style):
    a = make_background(np.random.default_rng(3), 48, 64, 8, style=style)
    b = make_background(np.random.default_rng(3), 48, 64, 8, style=style)
    c = make_background(np.random.default_rng(4), 48, 64, 8, style=style)
    assert a.shape == (64, 80, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert texture_level(a) > 2.0
    # no large flat regions: most pixels have some local gradient
    grey = a.astype(np.float32).mean(2)
    grad = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    assert (grad > 1.0).mean() > 0.8


def test_background_random_style_deterministic():
    a = make_background(np.random.default_rng(11), 40, 50, 5)
    b = make_background(np.random.default_rng(11), 40, 50, 5)
    assert np.array_equal(a, b) and texture_level(a) > 2.0


def test_crop_background_centre_shift_and_zoom():
    rng = np.random.default_rng(0)
    canvas = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    h, w, m = 30, 50, 10
    assert np.array_equal(crop_background(canvas, (0.0, 0.0), 1.0, h, w), canvas[m:m + h, m:m + w])
    # an integer offset shifts the window exactly
    assert np.array_equal(crop_background(canvas, (3.0, -2.0), 1.0, h, w),
                          canvas[m - 2:m - 2 + h, m + 3:m + 3 + w])
    # zoom 2 doubles distances from the centre: a dot 6 px right of the canvas centre
    # lands 12 px right of the output centre
    dots = np.zeros((51, 71, 3), np.uint8)
    dots[25, 35 + 6] = 255
    out = crop_background(dots, (0.0, 0.0), 2.0, 31, 51)
    ys, xs = np.nonzero(out[..., 0] > 0)
    assert abs(np.average(xs, weights=out[ys, xs, 0]) - (25 + 12)) < 0.6
    assert abs(np.average(ys, weights=out[ys, xs, 0]) - 15) < 0.6
    # a sub-pixel offset moves the content continuously (half-way blend)
    half = crop_background(canvas, (0.5, 0.0), 1.0, h, w).astype(int)
    a, b = canvas[m:m + h, m:m + w].astype(int), canvas[m:m + h, m + 1:m + 1 + w].astype(int)
    assert np.abs(half - (a + b) / 2).max() <= 1.0
    # zooming out past the canvas edge stays valid (reflected border)
    assert crop_background(canvas, (0.0, 0.0), 0.5, h, w).shape == (h, w, 3)
