"""Cameras: look-at and projection with known answers, framing, movement modes, validity."""

from __future__ import annotations

import numpy as np
import pytest

from hmr.synthetic.camera import (
    CAMERA_MODES,
    FOV_RANGE,
    focal_from_fov,
    generate_camera,
    intrinsics,
    look_at,
    project,
)
from hmr.synthetic.motion import GROUND_Y, generate_motion

W, H, FPS = 320, 240, 30


def _assert_rotations(R: np.ndarray) -> None:
    R = R.reshape(-1, 3, 3)
    eye = np.broadcast_to(np.eye(3), R.shape)
    np.testing.assert_allclose(np.einsum("tij,tkj->tik", R, R), eye, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)


def _assert_intrinsics(K: np.ndarray) -> None:
    assert np.all(K[:, 0, 0] > 0)
    np.testing.assert_array_equal(K[:, 0, 0], K[:, 1, 1])                  # fx = fy
    np.testing.assert_array_equal(K[:, 2], np.broadcast_to([0.0, 0.0, 1.0], (len(K), 3)))
    assert np.all(K[:, 0, 1] == 0) and np.all(K[:, 1, 0] == 0)
    assert np.all(np.abs(K[:, 0, 2] - W / 2) <= 0.02 * W) and np.all(np.abs(K[:, 1, 2] - H / 2) <= 0.02 * H)
    fov = np.degrees(2 * np.arctan(0.5 * max(W, H) / K[:, 0, 0]))
    assert np.all(fov >= FOV_RANGE[0] - 1e-6) and np.all(fov <= FOV_RANGE[1] + 1e-6)


def _eye(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return -np.einsum("tji,tj->ti", R, t)


def _inside(uv: np.ndarray) -> np.ndarray:
    return (uv[..., 0] >= 0) & (uv[..., 0] < W) & (uv[..., 1] >= 0) & (uv[..., 1] < H)


def _angle(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    c = (np.einsum("tij,tij->t", Ra, Rb) - 1) / 2
    return np.degrees(np.arccos(np.clip(c, -1, 1)))


# ------------------------------------------------------------------ geometry, known answers

def test_look_at_puts_the_target_on_the_optical_axis():
    rng = np.random.default_rng(0)
    eye = rng.normal(size=(50, 3)) * 4
    target = rng.normal(size=(50, 3))
    R, t = look_at(eye, target)
    _assert_rotations(R)
    K = intrinsics(500.0, 640, 480, principal=(321.0, 239.0))
    uv = project(K, R, t, target[:, None])[:, 0]
    np.testing.assert_allclose(uv, np.broadcast_to([321.0, 239.0], uv.shape), atol=1e-6)
    np.testing.assert_allclose(np.einsum("tij,tj->ti", R, eye) + t, 0.0, atol=1e-9)   # eye -> origin
    assert np.all(R[:, 1, 1] < 0)             # world up (+Y) points up in the image (-y)
    # a point above the target appears above the principal point
    above = project(K, R, t, (target + [0, 0.5, 0])[:, None])[:, 0]
    assert np.all(above[:, 1] < 239.0)


def test_look_at_known_rotation():
    R, t = look_at([0.0, 0.0, 0.0], [0.0, 0.0, 5.0])       # looking along +Z, Y up
    np.testing.assert_allclose(R, [[-1, 0, 0], [0, -1, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(t, 0.0, atol=1e-12)
    R, t = look_at([0.0, 1.0, 0.0], [3.0, 1.0, 0.0])       # from y = 1 looking along +X
    np.testing.assert_allclose(R, [[0, 0, 1], [0, -1, 0], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(t, [0.0, 1.0, 0.0], atol=1e-12)


def test_project_known_pixel():
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    # identity rotation, camera 5 m behind the origin
    uv = project(K, np.eye(3), np.array([0.0, 0.0, 5.0]), np.array([[1.0, -0.5, 0.0]]))
    np.testing.assert_allclose(uv, [[420.0, 190.0]])           # 320 + 500*1/5, 240 - 500*0.5/5
    # rotation of 90 deg about Y: X_cam = (z, y, -x) + t
    Ry = np.array([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]])
    X = np.array([[-4.0, 0.2, 0.5]])                           # -> (0.5, 0.2, 4) + (0, 0, 1)
    uv = project(K, Ry, np.array([0.0, 0.0, 1.0]), X)
    np.testing.assert_allclose(uv, [[320 + 500 * 0.5 / 5, 240 + 500 * 0.2 / 5]])
    # batched (T, N) and behind the camera -> NaN
    Kt, Rt, tt = np.stack([K, K]), np.stack([np.eye(3), Ry]), np.array([[0, 0, 5.0], [0, 0, 1.0]])
    Xt = np.array([[[1.0, -0.5, 0.0], [0, 0, -6.0]], [[-4.0, 0.2, 0.5], [0, 0, 0]]])
    uv = project(Kt, Rt, tt, Xt)
    assert uv.shape == (2, 2, 2)
    np.testing.assert_allclose(uv[0, 0], [420.0, 190.0])
    np.testing.assert_allclose(uv[1, 0], [370.0, 260.0])
    assert np.isnan(uv[0, 1]).all()


def test_focal_and_fov():
    f = focal_from_fov(60.0, 640, 480)
    np.testing.assert_allclose(f, 320 / np.tan(np.radians(30)))
    K = intrinsics(np.array([f, 2 * f]), 640, 480)
    assert K.shape == (2, 3, 3) and K[1, 0, 0] == 2 * f and K[0, 0, 2] == 320


# ------------------------------------------------------------------ generated cameras

def _subjects():
    rng = np.random.default_rng(42)
    for action in ("walk", "run", "squat", "jump", "turn"):
        yield action, generate_motion(action, 96, FPS, rng)["trans"].astype(np.float64)


def test_subject_framed_and_cameras_valid():
    for k, (action, S) in enumerate(_subjects()):
        for seed in range(4):
            cam = generate_camera(96, FPS, W, H, S, np.random.default_rng(100 * k + seed))
            K, R, t = cam["K"], cam["R"], cam["t"]
            assert K.shape == (96, 3, 3) and R.shape == (96, 3, 3) and t.shape == (96, 3)
            assert "offframe" not in cam["motion"] and "close" not in cam["motion"]
            _assert_rotations(R)
            _assert_intrinsics(K)
            uv = project(K, R, t, S[:, None])[:, 0]
            assert _inside(uv).mean() >= 0.9, (action, cam["motion"])
            depth = np.einsum("tij,tj->ti", R, S)[:, 2] + t[:, 2]
            assert np.all(depth > 1.0)
            eye = _eye(R, t)
            assert np.all((eye[:, 1] - GROUND_Y > 0.5) & (eye[:, 1] - GROUND_Y < 2.3))
            dist = np.linalg.norm((eye - S)[:, [0, 2]], axis=1)
            assert 2.0 < np.median(dist) < 9.0


@pytest.mark.parametrize("mode", ["static", "pan", "tilt", "zoom", "dolly", "handheld"])
def test_camera_moves_as_its_mode_says(mode):
    S = generate_motion("reach", 90, FPS, np.random.default_rng(1))["trans"].astype(np.float64)
    cam = generate_camera(90, FPS, W, H, S, np.random.default_rng(2), mode=mode)
    K, R, t = cam["K"], cam["R"], cam["t"]
    assert cam["motion"] == mode
    eye = _eye(R, t)
    rot = _angle(R[:1].repeat(len(R), 0), R).max()          # deg from the first frame
    travel = np.linalg.norm(eye - eye[0], axis=1).max()
    zoom = K[:, 0, 0].max() / K[:, 0, 0].min()
    assert (travel > 0.3) == (mode == "dolly"), travel
    assert (zoom > 1.1) == (mode == "zoom"), zoom
    if mode in ("static", "zoom"):
        assert np.abs(R - R[0]).max() < 1e-12
    elif mode == "handheld":
        assert 0.2 < rot < 5.0
        assert travel < 0.05
    else:
        assert rot > 0.5
    # smooth: small frame-to-frame second differences of orientation, position and focal
    assert np.abs(np.diff(R, 2, axis=0)).max() < 0.01
    assert np.abs(np.diff(eye, 2, axis=0)).max() < 0.01
    assert np.abs(np.diff(K[:, 0, 0], 2)).max() < 0.01 * K[0, 0, 0]
    uv = project(K, R, t, S[:, None])[:, 0]
    assert _inside(uv).all()


def test_handheld_shake_frequency_and_size():
    S = np.zeros((300, 3))
    cam = generate_camera(300, FPS, W, H, S, np.random.default_rng(3), mode="handheld")
    ang = _angle(cam["R"].mean(axis=0, keepdims=True).repeat(300, 0) @ np.eye(3), cam["R"])
    assert 0.1 < np.sqrt(np.mean(ang**2)) < 2.0                # ~0.3-1 deg RMS
    yaw = np.arctan2(cam["R"][:, 2, 0], cam["R"][:, 2, 2])
    power = np.abs(np.fft.rfft((yaw - yaw.mean()) * np.hanning(300))) ** 2
    freqs = np.fft.rfftfreq(300, 1 / FPS)
    assert power[(freqs >= 0.15) & (freqs <= 3.5)].sum() > 0.95 * power.sum()   # 1-3 Hz + drift
    assert power[freqs >= 0.9].sum() > 0.3 * power.sum()                          # mostly shake


def test_every_listed_mode_runs():
    S = generate_motion("walk", 48, FPS, np.random.default_rng(4))["trans"].astype(np.float64)
    for mode in CAMERA_MODES:
        cam = generate_camera(48, FPS, W, H, S, np.random.default_rng(5), mode=mode)
        assert np.isfinite(cam["K"]).all() and np.isfinite(cam["R"]).all() and np.isfinite(cam["t"]).all()
        _assert_rotations(cam["R"])
    with pytest.raises(ValueError, match="unknown camera mode"):
        generate_camera(48, FPS, W, H, S, np.random.default_rng(5), mode="spin")
    with pytest.raises(ValueError):
        generate_camera(47, FPS, W, H, S, np.random.default_rng(5))


def test_out_of_frame_sometimes_and_deterministic():
    left = 0
    for seed in range(12):
        S = generate_motion("walk", 96, FPS, np.random.default_rng(seed))["trans"].astype(np.float64)
        cam = generate_camera(96, FPS, W, H, S, np.random.default_rng(seed), allow_out_of_frame=True)
        again = generate_camera(96, FPS, W, H, S, np.random.default_rng(seed), allow_out_of_frame=True)
        np.testing.assert_array_equal(cam["R"], again["R"])
        assert cam["motion"] == again["motion"]
        depth = np.einsum("tij,tj->ti", cam["R"], S)[:, 2] + cam["t"][:, 2]
        assert np.all(depth > 0.5)
        uv = project(cam["K"], cam["R"], cam["t"], (S[:, None] + [[0, 0, 0], [0, 0.8, 0], [0, -0.93, 0]]))
        left += not _inside(uv).all()
    assert left >= 3


def test_ground_is_estimated_from_the_pelvis_track():
    S = generate_motion("squat", 60, FPS, np.random.default_rng(7))["trans"].astype(np.float64)
    S_up = S + [0.0, 0.93, 0.0]                      # a world whose floor is y = 0
    cam = generate_camera(60, FPS, W, H, S_up, np.random.default_rng(8), mode="static")
    h = _eye(cam["R"], cam["t"])[:, 1]
    assert np.all((h > 0.75) & (h < 2.05))
