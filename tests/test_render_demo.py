"""Rendering, BVH export, smpl.npz, person tracking and the demo's front and back parts."""

from __future__ import annotations

import numpy as np
import pytest

from hmr.body.joints import SMPL_JOINT_NAMES
from hmr.errors import InputError

# ------------------------------------------------------------------------------------ BVH


@pytest.fixture(scope="module")
def layer(embedded_model_path):
    from hmr.body.smpl import smpl_layer

    return smpl_layer(embedded_model_path)


def _random_motion(T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pose = rng.normal(0, 0.4, (T, 72))
    pose[:, :3] = rng.normal(0, 1.2, (T, 3))                # any root orientation
    betas = rng.normal(0, 1.0, 10)
    trans = rng.normal(0, 1.0, (T, 3)) + [0, 0, 4]
    return pose, betas, trans


def test_bvh_round_trip_gives_smpl_joints(layer, tmp_path):
    from hmr.body.smpl import smpl_forward
    from hmr.render.bvh import (
        CAMERA_TO_BVH,
        bvh_joint_positions,
        read_bvh,
        rest_joints,
        smpl_motion_to_bvh,
    )

    pose, betas, trans = _random_motion(5)
    path = tmp_path / "motion.bvh"
    smpl_motion_to_bvh(path, pose, trans, rest_joints(layer, betas), fps=25.0)
    sk = read_bvh(path)
    assert sk.names[0] == "pelvis" and sorted(sk.names) == sorted(SMPL_JOINT_NAMES)
    assert sk.motion.shape == (5, 6 + 3 * 23) and sk.frame_time == pytest.approx(0.04)
    assert len(sk.end_sites) == 5                             # feet, head, hands
    assert sk.parents[sk.names.index("left_knee")] == sk.names.index("left_hip")
    fk = bvh_joint_positions(sk)                               # (5,24,3) in the file's order
    _, joints = smpl_forward(layer, pose, np.tile(betas, (5, 1)), trans)
    expected = joints[:, :24] @ CAMERA_TO_BVH.T                 # camera frame -> the file's Y-up world
    order = [SMPL_JOINT_NAMES.index(n) for n in sk.names]
    np.testing.assert_allclose(fk, expected[:, order], atol=1e-4)
    # the rest pose (all channels zero but the root position) stands upright: head above feet
    sk.motion[:, 3:] = 0
    rest = bvh_joint_positions(sk)[0]
    assert rest[sk.names.index("head"), 1] > rest[sk.names.index("left_foot"), 1] + 1.0


def test_bvh_scale_and_units(layer, tmp_path):
    from hmr.render.bvh import (
        bvh_joint_positions,
        read_bvh,
        rest_joints,
        smpl_motion_to_bvh,
    )

    pose, betas, trans = _random_motion(3, seed=1)
    rest = rest_joints(layer, betas)
    smpl_motion_to_bvh(tmp_path / "m.bvh", pose, trans, rest, fps=30.0)
    smpl_motion_to_bvh(tmp_path / "cm.bvh", pose, trans, rest, fps=30.0, scale=100.0)
    m = bvh_joint_positions(read_bvh(tmp_path / "m.bvh"))
    cm = bvh_joint_positions(read_bvh(tmp_path / "cm.bvh"))
    np.testing.assert_allclose(cm, 100 * m, atol=1e-3)


def test_bad_bvh_and_bad_motion(tmp_path, layer):
    from hmr.render.bvh import read_bvh, rest_joints, smpl_motion_to_bvh

    pose, betas, trans = _random_motion(2)
    good = tmp_path / "good.bvh"
    smpl_motion_to_bvh(good, pose, trans, rest_joints(layer, betas), fps=30.0)
    cut = tmp_path / "cut.bvh"
    cut.write_text(good.read_text()[: len(good.read_text()) // 2])
    with pytest.raises(InputError, match="cut.bvh"):
        read_bvh(cut)
    pose[1, 5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        smpl_motion_to_bvh(tmp_path / "nan.bvh", pose, trans, rest_joints(layer, betas), fps=30.0)
    assert not (tmp_path / "nan.bvh").exists()


# ------------------------------------------------------------------------------- overlay


def test_weak_perspective_fit_and_orig_cam_known_answer():
    from hmr.render.overlay import (
        fit_weak_perspective,
        orig_cam_project,
        weak_to_orig_cam,
    )

    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.4, (3, 24, 3))
    a = np.array([300.0, 150.0, 80.0])
    b = np.array([[50.0, 60.0], [400.0, 300.0], [-20.0, 10.0]])
    x = a[:, None, None] * X[..., :2] + b[:, None]
    cam = fit_weak_perspective(X, x)
    np.testing.assert_allclose(cam, np.c_[a, b], atol=1e-9)
    W, H = 640, 480
    np.testing.assert_allclose(orig_cam_project(X, weak_to_orig_cam(cam, W, H), W, H), x, atol=1e-9)


def test_overlay_puts_mesh_pixels_on_the_projected_joints(layer):
    from hmr.body.smpl import smpl_forward
    from hmr.render.overlay import overlay_mesh

    pose = np.zeros((1, 72))
    pose[0, 0] = np.pi                                      # SMPL is Y-up: turn it upright in y-down
    verts, joints = smpl_forward(layer, pose, np.zeros(10))
    H, W = 240, 300
    cam = np.array([110.0, W / 2, H / 2])                   # 110 px per metre, body centred
    frame = np.full((H, W, 3), 30, np.uint8)
    img, mask = overlay_mesh(frame, verts[0], np.asarray(layer.faces), cam)
    j2d = cam[0] * joints[0, :24, :2] + cam[1:]
    px = np.round(j2d).astype(int)
    assert ((px >= 0) & (px < [W, H])).all()
    hit = mask[px[:, 1], px[:, 0]]
    assert hit.all(), [n for n, h in zip(SMPL_JOINT_NAMES, hit) if not h]
    assert not mask[:5].any() and not mask[:, :5].any()     # nothing far from the body
    assert (img[mask] != 30).any(axis=1).all() and (img[~mask] == 30).all()
    # the silhouette spans the body's height: head above, feet below
    rows = np.flatnonzero(mask.any(1))
    assert rows[0] < px[SMPL_JOINT_NAMES.index("head"), 1] and rows[-1] > px[SMPL_JOINT_NAMES.index("left_ankle"), 1]
    # a negative scale (an untrained network's camera) draws the mesh where its joints go: turned over
    flip = np.array([-110.0, W / 2, H / 2])
    _, mask_f = overlay_mesh(frame, verts[0], np.asarray(layer.faces), flip)
    px_f = np.round(flip[0] * joints[0, :24, :2] + flip[1:]).astype(int)
    assert mask_f[px_f[:, 1], px_f[:, 0]].all()
    np.testing.assert_array_equal(mask_f[1:, 1:], mask[1:, 1:][::-1, ::-1])   # 180 degrees about the centre


def test_video_writer_round_trip_and_atomicity(tmp_path):
    import cv2

    from hmr.render.video import video_writer

    out = tmp_path / "v.mp4"
    with video_writer(out, 30.0, (64, 48)) as w:
        for i in range(6):
            w.write(np.full((48, 64, 3), (40 * i, 100, 200 - 30 * i), np.uint8))
    cap = cv2.VideoCapture(str(out))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    assert len(frames) == 6 and frames[0].shape == (48, 64, 3)
    np.testing.assert_allclose(frames[3].reshape(-1, 3).mean(0), (120, 100, 110), atol=8)
    bad = tmp_path / "bad.mp4"
    with pytest.raises(ValueError), video_writer(bad, 30.0, (64, 48)) as w:
        w.write(np.zeros((10, 10, 3), np.uint8))           # wrong size
    assert not bad.exists() and not list(tmp_path.glob(".bad.mp4*"))


# --------------------------------------------------------------------- tracking (pure)


def test_savgol_keeps_quadratics_and_shrinks_white_noise_by_the_known_factor():
    from hmr.demo.track import TrackSettings, smooth_boxes

    s = TrackSettings(smooth_window_s=0.3, smooth_polyorder=2)   # 9 frames at 30 fps
    t = np.arange(200.0)
    quad = np.stack([100 + 2 * t + 0.05 * t**2, 50 - t, 80 + 0 * t, 160 + 0.01 * t**2], 1)
    np.testing.assert_allclose(smooth_boxes(quad, 30.0, s), quad, atol=1e-8)
    # quadratic least squares over 2m+1 = 9 points: the centre weight (= sum of squared weights)
    # is 3(3m^2 + 3m - 1) / ((2m+3)(2m+1)(2m-1)) = 177/693, so white noise std shrinks by its root
    noise = np.random.default_rng(0).normal(0, 1.0, (20000, 4)) + [0, 0, 100, 100]
    out = smooth_boxes(noise, 30.0, s)
    ratio = out[50:-50, :2].std() / noise[50:-50, :2].std()
    assert ratio == pytest.approx(np.sqrt(177 / 693), rel=0.03)


def test_fill_and_smooth_reduce_error_and_jitter_on_a_noisy_track():
    from hmr.demo.track import TrackSettings, fill_gaps, jitter, smooth_boxes

    rng = np.random.default_rng(1)
    t = np.arange(120.0)
    truth = np.stack([300 + 200 * np.sin(t / 25), 200 + 40 * np.cos(t / 15), 120 + 0 * t, 300 + 0 * t], 1)
    noisy = truth + rng.normal(0, 4.0, truth.shape)
    noisy[40:46] = np.nan                                     # six frames without a detection
    filled = fill_gaps(noisy, "track")
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[40:46], np.linspace(filled[39], filled[46], 8)[1:-1])
    smooth = smooth_boxes(filled, 30.0, TrackSettings())
    err_raw = np.sqrt(((filled - truth)[:, :2] ** 2).mean())
    err_smooth = np.sqrt(((smooth - truth)[:, :2] ** 2).mean())
    assert err_smooth < 0.6 * err_raw
    assert jitter(smooth[:, :2]) < 0.25 * jitter(filled[:, :2])
    with pytest.raises(InputError, match="no person detected"):
        fill_gaps(np.full((5, 4), np.nan), "empty.mp4")


def test_tracklets_keep_one_person_and_drop_a_passer_by():
    from hmr.demo.track import (
        SOURCE_FRAME,
        TrackletBuilder,
        TrackSettings,
        chain_to_frames,
        landmarks_box,
        select_identity,
    )

    s = TrackSettings(max_lost_s=0.1)                       # 3 frames at 30 fps
    b = TrackletBuilder(s, fps=30.0)
    person = lambda t: np.array([200.0 + 2 * t, 300.0, 100.0, 250.0])   # walks right
    for t in range(100):
        if t < 50 or t >= 62:
            b.assign(t, person(t), SOURCE_FRAME)
        elif t < 60:                                        # the detector follows someone else
            b.assign(t, np.array([900.0, 250.0, 90.0, 240.0]), SOURCE_FRAME)
    assert len(b.tracklets) == 3                            # person, passer-by, person again
    chain = select_identity(b.tracklets, s)
    per = chain_to_frames(chain, 100)
    assert [tr.first for tr in chain] == [0, 62]
    assert (per["source"][50:62] == 0).all() and (per["source"][:50] == SOURCE_FRAME).all()
    np.testing.assert_allclose(per["boxes"][70], person(70))
    # a box from landmarks: extent x scale, visibility-filtered
    lm = np.array([[10, 20, 0.9], [30, 60, 0.9], [20, 40, 0.9], [25, 30, 0.9], [500, 500, 0.0]], float)
    np.testing.assert_allclose(landmarks_box(lm, 1.2, 0.3), [20, 40, 24, 48])


# --------------------------------------------------------------- tracking on a real photo


@pytest.fixture(scope="module")
def hopper_video(tmp_path_factory):
    """12 frames: Grace Hopper's photo (matplotlib sample data) sliding right 20 px per frame."""
    import matplotlib.image as mpimg
    from matplotlib import cbook

    from hmr.render.video import video_writer

    img = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))  # (600,512,3)
    path = tmp_path_factory.mktemp("hopper") / "hopper.mp4"
    with video_writer(path, 30.0, (800, 600), codecs=("mp4v",)) as w:
        for t in range(12):
            frame = np.full((600, 800, 3), 90, np.uint8)
            frame[:, 20 * t:20 * t + 512] = img
            w.write(frame)
    return path


def test_track_person_on_a_photo(hopper_video, tmp_path):
    from hmr.demo.stage import run_demo_track
    from hmr.io.h5 import read_array
    from hmr.io.sequence import read_sequence

    out_seq, out_track, out_png = tmp_path / "hopper.h5", tmp_path / "track.h5", tmp_path / "track.png"
    r = run_demo_track(hopper_video, out_seq, out_track, out_png, dataset="demo", params={})
    assert (r.source > 0).all() and len(r.chain) == 1
    seq = read_sequence(out_seq)
    assert seq.n_frames == 12 and seq.dataset == "demo" and seq.video_path == str(hopper_video.resolve())
    assert seq.info["tracking"]["detected"] + seq.info["tracking"]["re_detected"] == 12
    bbox = seq.bbox
    assert bbox.shape == (12, 4)
    t = np.arange(12)
    # the box follows the photo: 20 px per frame to the right, size constant
    slope = np.polyfit(t, bbox[:, 0], 1)[0]
    assert slope == pytest.approx(20.0, abs=2.0)
    assert np.ptp(bbox[:, 2]) < 0.1 * bbox[:, 2].mean()
    # and it sits on her: her face (about 256, 220 in the photo) inside, box within the photo
    face = np.c_[256 + 20 * t, np.full(12, 220)]
    lo, hi = bbox[:, :2] - bbox[:, 2:] / 2, bbox[:, :2] + bbox[:, 2:] / 2
    assert ((face > lo) & (face < hi)).all()
    assert (bbox[:, 2] > 250).all() and (lo[:, 0] > 20 * t - 60).all() and (hi[:, 0] < 20 * t + 512 + 60).all()
    np.testing.assert_allclose(read_array(out_track, "bbox"), bbox)
    assert out_png.stat().st_size > 10_000


def test_video_without_a_person_fails_cleanly(tmp_path):
    from hmr.demo.stage import run_demo_track
    from hmr.render.video import video_writer

    video = tmp_path / "empty.mp4"
    with video_writer(video, 30.0, (160, 120), codecs=("mp4v",)) as w:
        for _ in range(4):
            w.write(np.full((120, 160, 3), 128, np.uint8))
    outs = [tmp_path / "e.h5", tmp_path / "e_track.h5", tmp_path / "e.png"]
    with pytest.raises(InputError, match="empty.mp4: no person detected"):
        run_demo_track(video, *outs, dataset="demo", params={})
    assert not any(p.exists() for p in outs)
    with pytest.raises(InputError, match="demo.track"):
        run_demo_track(video, *outs, dataset="demo", params={"track": {"smoothing": "kalman"}})


# ---------------------------------------------------------------- demo back part, smpl.npz


def _fake_predictions(seq_path, out, noise: float = 0.0, seed: int = 0):
    """A predictions file from a synthetic sequence's ground truth (what the regressor writes)."""
    from hmr.io.h5 import write_arrays
    from hmr.io.sequence import read_sequence

    a = read_sequence(seq_path).arrays
    rng = np.random.default_rng(seed)
    T = len(a["gt/pose"])
    j3 = a["gt/joints3d"] - a["gt/joints3d"][:, :1]
    write_arrays(out, {
        "pose": (a["gt/pose"] + rng.normal(0, noise, (T, 72))).astype(np.float32),
        "betas": a["gt/betas"], "cam": np.tile(np.float32([[1.0, 0.0, 0.0]]), (T, 1)),
        "joints3d": j3.astype(np.float32), "joints2d": a["gt/joints2d"],
        "sigma": rng.uniform(0.1, 1, (T, 32)).astype(np.float32)})


def test_demo_export_writes_npz_bvh_and_video(tiny_dataset, embedded_model_path, tmp_path):
    import cv2

    from hmr.demo.export import export_demo
    from hmr.demo.smpl_npz import SMPL_NPZ_KEYS, load_smpl_npz
    from hmr.io.sequence import read_sequence
    from hmr.render.bvh import read_bvh
    from hmr.render.overlay import orig_cam_project

    seq_path = tiny_dataset / "test_000.h5"
    seq = read_sequence(seq_path)
    pred = tmp_path / "pred.h5"
    _fake_predictions(seq_path, pred)
    out = {k: tmp_path / n for k, n in (("npz", "smpl.npz"), ("bvh", "x.bvh"), ("mp4", "mesh.mp4"), ("png", "sheet.png"))}
    export_demo(seq_path, pred, embedded_model_path, out["npz"], out["bvh"], out["mp4"], out["png"],
                {"render": {"max_size": 0, "sheet_frames": 4}, "save_vertices": True})
    z = load_smpl_npz(out["npz"])
    T = seq.n_frames
    assert set(SMPL_NPZ_KEYS) <= set(z) and z["verts"].shape[0] == T
    shapes = {"pose": (T, 72), "betas": (T, 10), "pred_cam": (T, 3), "orig_cam": (T, 4),
              "joints3d": (T, 24, 3), "joints2d": (T, 24, 2), "bboxes": (T, 4), "frame_ids": (T,),
              "sigma": (T, 32), "trans": (T, 3), "image_size": (2,), "joint_names": (24,)}
    assert {k: z[k].shape for k in shapes} == shapes
    np.testing.assert_array_equal(z["frame_ids"], np.arange(T))
    np.testing.assert_allclose(z["bboxes"], seq.bbox)
    # orig_cam maps joints3d onto joints2d (a perspective GT projection: a weak fit, within pixels)
    proj = orig_cam_project(z["joints3d"], z["orig_cam"], seq.width, seq.height)
    assert np.abs(proj - z["joints2d"]).mean() < 1.5
    # the BVH has every frame, at the video's rate
    sk = read_bvh(out["bvh"])
    assert sk.motion.shape[0] == T and sk.frame_time == pytest.approx(1 / seq.fps)
    cap = cv2.VideoCapture(str(out["mp4"]))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == T and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == seq.width
    assert out["png"].stat().st_size > 1000


def test_smpl_npz_rejects_bad_content(tmp_path):
    from hmr.demo.smpl_npz import load_smpl_npz, write_smpl_npz

    T = 3
    good = {"pose": np.zeros((T, 72)), "betas": np.zeros((T, 10)), "pred_cam": np.zeros((T, 3)),
            "orig_cam": np.zeros((T, 4)), "joints3d": np.zeros((T, 24, 3)), "joints2d": np.zeros((T, 24, 2)),
            "bboxes": np.ones((T, 4)), "frame_ids": np.arange(T), "sigma": np.ones((T, 32)),
            "trans": np.zeros((T, 3)), "focal_px": np.float32(500), "fps": np.float32(30),
            "image_size": np.array([64, 48])}
    write_smpl_npz(tmp_path / "ok.npz", good)
    assert load_smpl_npz(tmp_path / "ok.npz")["joint_names"][0] == "pelvis"
    with pytest.raises(InputError, match="'betas' has shape"):
        write_smpl_npz(tmp_path / "bad.npz", {**good, "betas": np.zeros((T + 1, 10))})
    with pytest.raises(InputError, match="missing key"):
        write_smpl_npz(tmp_path / "bad.npz", {k: v for k, v in good.items() if k != "sigma"})
    assert not (tmp_path / "bad.npz").exists()


def test_demo_video_extraction_from_a_wheel(tmp_path):
    """The extraction half of ``make demo-video`` on a wheel-shaped zip (no network in tests)."""
    import hashlib
    import zipfile

    from hmr.demo.fetch import VIDEO_MEMBER, extract_from_wheel

    wheel = tmp_path / "sports2d-0.0.0-py3-none-any.whl"
    data = b"\x00\x00\x00\x18ftypmp42 not really a video"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(VIDEO_MEMBER, data)
        z.writestr("sports2d-0.0.0.dist-info/licenses/LICENSE", "BSD 3-Clause License\n...")
    out = tmp_path / "videos" / "demo.mp4"
    lic = extract_from_wheel(wheel, out, sha256=hashlib.sha256(data).hexdigest())
    assert out.read_bytes() == data and "BSD 3-Clause" in lic.read_text()
    with pytest.raises(InputError, match="SHA-256"):
        extract_from_wheel(wheel, tmp_path / "other.mp4", sha256="0" * 64)
    assert not (tmp_path / "other.mp4").exists()
