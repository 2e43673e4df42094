"""Procedural motion (axes, joint limits, smoothness, determinism, plausibility) and AMASS import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hmr.body.joints import SMPL_JOINT_NAMES, SMPL_PARENTS
from hmr.synthetic.amass import list_amass_clips, load_amass_npz
from hmr.synthetic.motion import (
    ACTIONS,
    GROUND_Y,
    JOINT_LIMITS,
    PELVIS_HEIGHT,
    blend_motions,
    clip_to_limits,
    generate_motion,
    pose_to_euler,
    random_motion,
    within_limits,
)

J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}

# approximate SMPL T-pose: each joint's offset from its parent (m); Y up, facing +Z, left at +X
OFFSETS = np.array([
    [0, 0, 0], [0.09, -0.09, 0], [-0.09, -0.09, 0], [0, 0.10, 0], [0, -0.38, 0], [0, -0.38, 0],
    [0, 0.13, 0], [0, -0.40, 0], [0, -0.40, 0], [0, 0.05, 0], [0, -0.05, 0.12], [0, -0.05, 0.12],
    [0, 0.20, 0], [0.08, 0.12, 0], [-0.08, 0.12, 0], [0, 0.10, 0.03], [0.10, 0, 0], [-0.10, 0, 0],
    [0.26, 0, 0], [-0.26, 0, 0], [0.25, 0, 0], [-0.25, 0, 0], [0.08, 0, 0], [-0.08, 0, 0]], float)


def fk(pose: np.ndarray, trans: np.ndarray | None = None) -> np.ndarray:
    """Joint positions (T, 24, 3) of the approximate skeleton for SMPL poses (T, 72)."""
    pose = np.asarray(pose, np.float64).reshape(-1, 24, 3)
    T = len(pose)
    R = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(T, 24, 3, 3)
    G, P = np.zeros((T, 24, 3, 3)), np.zeros((T, 24, 3))
    for j, p in enumerate(SMPL_PARENTS):
        if p < 0:
            G[:, j] = R[:, j]
        else:
            G[:, j] = G[:, p] @ R[:, j]
            P[:, j] = P[:, p] + np.einsum("tij,j->ti", G[:, p], OFFSETS[j])
    return P if trans is None else P + np.asarray(trans, np.float64)[:, None]


def one_joint(name: str, rotvec) -> np.ndarray:
    pose = np.zeros((1, 72))
    pose[0, 3 * J[name]:3 * J[name] + 3] = rotvec
    return pose


def bone(pose, a: str, b: str) -> np.ndarray:
    P = fk(pose)[0]
    v = P[J[b]] - P[J[a]]
    return v / np.linalg.norm(v)


# ------------------------------------------------------------------ axes and limits (FK-checked)

def test_documented_axes_by_forward_kinematics():
    r = np.radians
    # knee: +X flexes, the shin swings backward (-Z)
    assert bone(one_joint("left_knee", [r(60), 0, 0]), "left_knee", "left_ankle")[2] < -0.8
    # hip: -X flexes, the thigh swings forward (+Z); +Z abducts the left leg toward +X
    assert bone(one_joint("left_hip", [-r(60), 0, 0]), "left_hip", "left_knee")[2] > 0.8
    assert bone(one_joint("left_hip", [0, 0, r(30)]), "left_hip", "left_knee")[0] > 0.4
    # shoulder: -Z lowers the left arm, +Z the right arm
    assert bone(one_joint("left_shoulder", [0, 0, -r(70)]), "left_shoulder", "left_elbow")[1] < -0.9
    assert bone(one_joint("right_shoulder", [0, 0, r(70)]), "right_shoulder", "right_elbow")[1] < -0.9
    # elbow: -Y flexes the left forearm forward (+Z), +Y the right one
    assert bone(one_joint("left_elbow", [0, -r(90), 0]), "left_elbow", "left_wrist")[2] > 0.99
    assert bone(one_joint("right_elbow", [0, r(90), 0]), "right_elbow", "right_wrist")[2] > 0.99
    # spine: +X bends forward
    assert bone(one_joint("spine1", [r(30), 0, 0]), "pelvis", "neck")[2] > 0.3


def test_limit_table_allows_flexion_and_rejects_hyperextension():
    r = np.radians
    assert JOINT_LIMITS["left_knee"].x[0] == 0 and JOINT_LIMITS["right_knee"].x[0] == 0
    assert within_limits(one_joint("left_knee", [r(60), 0, 0]))
    assert not within_limits(one_joint("left_knee", [-r(20), 0, 0]))       # hyperextended knee
    assert within_limits(one_joint("left_elbow", [0, -r(90), 0]))
    assert not within_limits(one_joint("left_elbow", [0, r(30), 0]))        # bends backward
    assert within_limits(one_joint("right_elbow", [0, r(90), 0]))
    assert not within_limits(one_joint("right_elbow", [0, -r(30), 0]))
    assert within_limits(np.zeros((3, 72)))
    assert set(JOINT_LIMITS) == set(SMPL_JOINT_NAMES[1:])                    # the root is free
    bad = one_joint("left_knee", [-r(20), 0, 0])
    fixed = clip_to_limits(bad)
    assert within_limits(fixed) and abs(pose_to_euler(fixed)[0, J["left_knee"], 0]) < 1e-6


# ------------------------------------------------------------------ every action

@pytest.mark.parametrize("action", ACTIONS)
def test_action_shape_limits_smoothness(action):
    fps = 30
    for seed in range(3):
        m = generate_motion(action, 90, fps, np.random.default_rng(seed))
        pose, trans = m["pose"], m["trans"]
        assert m["action"] == action
        assert pose.shape == (90, 72) and pose.dtype == np.float32
        assert trans.shape == (90, 3) and trans.dtype == np.float32
        assert np.isfinite(pose).all() and np.isfinite(trans).all()
        assert within_limits(pose), f"{action} seed {seed} leaves the joint limits"
        np.testing.assert_allclose(trans[0, [0, 2]], 0.0, atol=1e-6)
        # smooth: bounded per-frame second differences (body joints, root matrices, trans)
        root = Rotation.from_rotvec(pose[:, :3]).as_matrix()
        assert np.abs(np.diff(pose[:, 3:], 2, axis=0)).max() < 0.6           # rad / frame^2
        assert np.abs(np.diff(root, 2, axis=0)).max() < 0.1
        assert np.abs(np.diff(trans, 2, axis=0)).max() < 0.08                # m / frame^2


NEW_ACTIONS = ("crawl", "roll", "get_up", "lie_down", "dance", "punch", "throw", "jumping_jacks",
               "lunge", "stretch", "cartwheel")


def test_action_list():
    assert set(NEW_ACTIONS) < set(ACTIONS) and len(set(ACTIONS)) == len(ACTIONS) == 21


@pytest.mark.parametrize("action", NEW_ACTIONS)
def test_new_action_limits_and_determinism(action):
    """More seeds and a longer clip than the generic test: every frame finite and in the limits,
    the same seed gives the same motion."""
    for seed in range(3, 7):
        m = generate_motion(action, 150, 30, np.random.default_rng(seed))
        assert m["pose"].shape == (150, 72) and m["trans"].shape == (150, 3)
        assert np.isfinite(m["pose"]).all() and np.isfinite(m["trans"]).all()
        assert within_limits(m["pose"]), f"{action} seed {seed} leaves the joint limits"
        again = generate_motion(action, 150, 30, np.random.default_rng(seed))
        np.testing.assert_array_equal(m["pose"], again["pose"])
        np.testing.assert_array_equal(m["trans"], again["trans"])


def _tilt(pose: np.ndarray) -> np.ndarray:
    """Angle (deg) between the root's body-up axis (R @ +Y) and the world up, per frame."""
    up_y = Rotation.from_rotvec(np.asarray(pose[:, :3], np.float64)).as_matrix()[:, 1, 1]
    return np.degrees(np.arccos(np.clip(up_y, -1.0, 1.0)))


def test_floor_actions_lie_low():
    for seed in range(3):
        rng = np.random.default_rng(seed)
        roll = generate_motion("roll", 150, 30, rng)                       # lying throughout
        assert np.all(_tilt(roll["pose"]) > 60) and np.all(roll["trans"][:, 1] < -0.6)
        crawl = generate_motion("crawl", 150, 30, rng)                     # trunk ~horizontal
        assert np.all(_tilt(crawl["pose"]) > 60) and np.all(crawl["trans"][:, 1] < -0.3)
        head = Rotation.from_rotvec(crawl["pose"][:, :3]).as_matrix()[:, [0, 2], 1]  # R @ +Y
        step = crawl["trans"][-1, [0, 2]] - crawl["trans"][0, [0, 2]]
        assert np.linalg.norm(step) > 0.2 and step @ head.mean(axis=0) > 0   # crawls head first
        down = generate_motion("lie_down", 180, 30, rng)                   # ends lying
        assert np.all(_tilt(down["pose"][-15:]) > 60) and np.all(down["trans"][-15:, 1] < -0.6)
        up = generate_motion("get_up", 180, 30, rng)                       # starts low, ends up
        assert _tilt(up["pose"][:1])[0] > 45 and up["trans"][0, 1] < -0.3
        assert np.all(_tilt(up["pose"][-15:]) < 20) and np.all(up["trans"][-15:, 1] > -0.1)


def test_cartwheel_turns_over_sideways():
    for seed in range(3):
        m = generate_motion("cartwheel", 120, 30, np.random.default_rng(seed))
        R = Rotation.from_rotvec(m["pose"][:, :3].astype(np.float64))
        k = int(np.argmax(_tilt(m["pose"])))
        rel = (R[k] * R[0].inv()).as_rotvec()                # world-frame turn since frame 0
        assert np.degrees(np.linalg.norm(rel)) > 150
        assert abs(rel[1]) / np.linalg.norm(rel) < 0.3       # about a horizontal axis
        assert np.linalg.norm(m["trans"][:, [0, 2]], axis=1).max() > 0.8   # travels sideways


def test_exercise_actions_move_as_named():
    r = np.random.default_rng(1)
    jacks = generate_motion("jumping_jacks", 90, 30, r)
    P = fk(jacks["pose"], jacks["trans"])
    assert (P[:, J["left_wrist"], 1] > P[:, J["head"], 1]).any()              # arms overhead
    assert (P[:, J["left_wrist"], 1] < P[:, J["spine3"], 1]).any()            # and down again
    assert np.ptp(jacks["trans"][:, 1]) > 0.05                                 # hops
    lunge = generate_motion("lunge", 150, 30, r)
    assert lunge["trans"][:, 1].min() < -0.1
    dance = generate_motion("dance", 90, 30, r)
    ground = dance["trans"][:, [0, 2]]
    assert np.linalg.norm(ground - ground.mean(axis=0), axis=1).max() > 0.02  # sways


def _max_d2(m: dict) -> np.ndarray:
    root = Rotation.from_rotvec(m["pose"][:, :3].astype(np.float64)).as_matrix()
    return np.array([np.abs(np.diff(m["pose"][:, 3:].astype(np.float64), 2, axis=0)).max(),
                     np.abs(np.diff(root, 2, axis=0)).max(),
                     np.abs(np.diff(m["trans"].astype(np.float64), 2, axis=0)).max()])


@pytest.mark.parametrize("action", ACTIONS)
def test_action_is_c1_in_time(action):
    """The same motion sampled 4x finer: second differences of a C1 curve shrink ~16x (a kink
    would shrink only 4x, a jump not at all)."""
    coarse = generate_motion(action, 3 * 30 + 1, 30, np.random.default_rng(11))
    fine = generate_motion(action, 3 * 120 + 1, 120, np.random.default_rng(11))
    ratio = _max_d2(coarse) / np.maximum(_max_d2(fine), 1e-12)
    assert np.all(ratio > 8), ratio


def test_deterministic_and_seed_dependent():
    for action in ACTIONS:
        a = generate_motion(action, 40, 30, np.random.default_rng(5))
        b = generate_motion(action, 40, 30, np.random.default_rng(5))
        c = generate_motion(action, 40, 30, np.random.default_rng(6))
        np.testing.assert_array_equal(a["pose"], b["pose"])
        np.testing.assert_array_equal(a["trans"], b["trans"])
        assert not np.allclose(a["pose"], c["pose"])


def test_walk_moves_forward_the_way_it_faces():
    for seed in range(4):
        m = generate_motion("walk", 90, 30, np.random.default_rng(seed))   # 3 s
        disp = m["trans"][-1, [0, 2]] - m["trans"][0, [0, 2]]
        assert np.linalg.norm(disp) > 0.5
        fwd = Rotation.from_rotvec(m["pose"][:, :3]).as_matrix()[:, [0, 2], 2]  # R @ +Z on the ground
        step = np.diff(m["trans"][:, [0, 2]], axis=0)
        norms = np.linalg.norm(fwd[:-1], axis=1) * np.linalg.norm(step, axis=1)
        cos = np.sum(fwd[:-1] * step, axis=1) / norms
        assert np.median(cos) > 0.9


def test_feet_near_the_documented_ground():
    assert GROUND_Y == -PELVIS_HEIGHT
    for action in ("walk", "squat", "sit_stand", "bend", "dance", "punch", "throw", "lunge", "stretch"):
        m = generate_motion(action, 120, 30, np.random.default_rng(2))
        lowest = fk(m["pose"], m["trans"])[:, [J["left_ankle"], J["right_ankle"], J["left_foot"],
                                              J["right_foot"]], 1].min(axis=1)
        assert abs(np.median(lowest) - GROUND_Y) < 0.1, action


def test_squat_lowers_and_jump_raises_the_pelvis():
    for seed in range(3):
        squat = generate_motion("squat", 150, 30, np.random.default_rng(seed))
        assert squat["trans"][:, 1].min() < -0.15
        jump = generate_motion("jump", 150, 30, np.random.default_rng(seed))
        assert jump["trans"][:, 1].max() > 0.1
        sit = generate_motion("sit_stand", 150, 30, np.random.default_rng(seed))
        assert sit["trans"][:, 1].min() < -0.25


def test_turn_rotates_in_place():
    m = generate_motion("turn", 150, 30, np.random.default_rng(0))
    fwd = Rotation.from_rotvec(m["pose"][:, :3]).as_matrix()[:, :, 2]
    yaw = np.unwrap(np.arctan2(fwd[:, 0], fwd[:, 2]))
    assert np.ptp(yaw) > np.radians(45)
    assert np.linalg.norm(m["trans"][:, [0, 2]], axis=1).max() < 0.3


def test_random_motion_and_blend():
    actions = set()
    for seed in range(16):
        m = random_motion(120, 30, np.random.default_rng(seed))
        assert m["pose"].shape == (120, 72) and m["trans"].shape == (120, 3)
        assert within_limits(m["pose"])
        actions.add(m["action"])
    assert any(">" in a for a in actions) and any(">" not in a for a in actions)
    floor = {"crawl", "roll", "get_up", "lie_down"}
    assert not any(">" in a and set(a.split(">")) & floor for a in actions)
    rng = np.random.default_rng(3)
    a, b = generate_motion("walk", 70, 30, rng), generate_motion("squat", 60, 30, rng)
    m = blend_motions(a, b, 50, 20)
    assert m["pose"].shape == (110, 72) and m["action"] == "walk>squat"
    np.testing.assert_array_equal(m["pose"][:50], a["pose"][:50])
    assert np.abs(np.diff(m["trans"], 2, axis=0)).max() < 0.05
    assert np.abs(np.diff(m["pose"][:, 3:], 2, axis=0)).max() < 0.6


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown action"):
        generate_motion("moonwalk", 10, 30, np.random.default_rng(0))
    with pytest.raises(ValueError):
        generate_motion("walk", 0, 30, np.random.default_rng(0))
    m = generate_motion("wave", 1, 30, np.random.default_rng(0))
    assert m["pose"].shape == (1, 72)


# ------------------------------------------------------------------ AMASS

ROOT = np.array([0.3, -0.2, 0.5])


def _amass_clip(path: Path, T: int = 121, fps: float = 120.0, drop: str | None = None, **override) -> Path:
    poses = np.zeros((T, 156))
    poses[:, :3] = ROOT                            # constant root orientation
    poses[:, 3 * J["left_knee"]] = 0.7             # constant knee flexion
    poses[:, 66:] = 0.1                            # SMPL-H hands: dropped
    trans = np.zeros((T, 3))
    trans[:, 2] = np.arange(T) / (T - 1)           # 1 m up along AMASS's +Z
    data = {"poses": poses, "trans": trans, "betas": np.arange(16) * 0.1,
            "mocap_framerate": np.array(fps), "gender": np.array("neutral")}
    data.update(override)
    if drop:
        del data[drop]
    np.savez(path, **data)
    return path


def test_amass_resampled_and_turned_y_up(tmp_path):
    clip = load_amass_npz(_amass_clip(tmp_path / "a.npz"), target_fps=30)
    pose, trans = clip["pose"], clip["trans"]
    assert pose.shape == (31, 72) and pose.dtype == np.float32       # 121 frames at 120 -> 30 fps
    assert trans.shape == (31, 3) and clip["betas"].shape == (10,) and clip["fps"] == 30
    np.testing.assert_allclose(clip["betas"], np.arange(10) * 0.1, atol=1e-6)
    np.testing.assert_allclose(pose[:, 3 * J["left_knee"]], 0.7, atol=1e-6)   # survives slerp
    np.testing.assert_array_equal(pose[:, 66:], 0.0)                            # SMPL hands zero
    expected = (Rotation.from_euler("x", -90, degrees=True) * Rotation.from_rotvec(ROOT)).as_matrix()
    np.testing.assert_allclose(Rotation.from_rotvec(pose[:, :3]).as_matrix(),
                               np.broadcast_to(expected, (31, 3, 3)), atol=1e-5)
    np.testing.assert_allclose(trans[-1] - trans[0], [0.0, 1.0, 0.0], atol=1e-5)   # +Z -> +Y
    np.testing.assert_allclose(trans[:, 1], np.linspace(0, 1, 31) - PELVIS_HEIGHT, atol=1e-5)
    raw = load_amass_npz(tmp_path / "a.npz", target_fps=30, ground_align=False)
    np.testing.assert_allclose(raw["trans"][:, 1], np.linspace(0, 1, 31), atol=1e-5)


def test_amass_slerp_midpoint(tmp_path):
    poses = np.zeros((2, 156))
    poses[1, 3 * J["right_elbow"] + 1] = np.pi / 2          # 0 -> 90 deg about Y in 1 s
    path = _amass_clip(tmp_path / "b.npz", T=2, fps=1.0, poses=poses)
    clip = load_amass_npz(path, target_fps=2)
    assert len(clip["pose"]) == 3
    np.testing.assert_allclose(clip["pose"][1, 3 * J["right_elbow"] + 1], np.pi / 4, atol=1e-6)


def test_amass_errors_name_the_file(tmp_path):
    path = _amass_clip(tmp_path / "nokey.npz", drop="trans")
    with pytest.raises(ValueError, match=r"nokey\.npz.*'trans'"):
        load_amass_npz(path, target_fps=30)
    path = _amass_clip(tmp_path / "norate.npz", drop="mocap_framerate")
    with pytest.raises(ValueError, match=r"norate\.npz.*mocap_framerate"):
        load_amass_npz(path, target_fps=30)
    path = _amass_clip(tmp_path / "shape.npz", poses=np.zeros((121, 30)))
    with pytest.raises(ValueError, match=r"shape\.npz.*poses"):
        load_amass_npz(path, target_fps=30)
    path = _amass_clip(tmp_path / "len.npz", trans=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"len\.npz.*trans"):
        load_amass_npz(path, target_fps=30)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz") as err:
        load_amass_npz(tmp_path / "junk.npz", target_fps=30)
    assert "\n" not in str(err.value)


def test_list_amass_clips(tmp_path):
    for rel in ("B/s2/run.npz", "A/s1/walk.npz", "A/s1/shape.npz", "A/notes.txt", "A/s1/jog.npz"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    clips = list_amass_clips(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in clips] == ["A/s1/jog.npz", "A/s1/walk.npz",
                                                                   "B/s2/run.npz"]
    with pytest.raises(NotADirectoryError):
        list_amass_clips(tmp_path / "missing")


def test_random_motion_draws_actions_with_their_weights():
    from hmr.synthetic.motion import ACTION_WEIGHTS, _weighted_action

    rng = np.random.default_rng(0)
    actions = list(ACTION_WEIGHTS)
    draws = [_weighted_action(rng, actions) for _ in range(20000)]
    total = sum(ACTION_WEIGHTS.values())
    for a in ("walk", "run", "squat", "cartwheel"):
        share = draws.count(a) / len(draws)
        assert share == pytest.approx(ACTION_WEIGHTS[a] / total, abs=0.01)
    assert set(draws) == set(actions)          # every action appears
