"""The anny -> SMPL-format conversion: arrays, loading through smplx, T-pose, shape space.

Uses anny's cache in ``ANNY_CACHE_DIR`` (default ``~/.cache/anny``, built on first use, ~80 s).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from hmr.body.joints import NUM_BETAS, SMPL_JOINT_NAMES, SMPL_PARENTS

N_SAMPLES = 60  # fewer shape samples than the shipped build (300): fast, same code paths
J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
ARRAY_KEYS = ("v_template", "f", "weights", "J_regressor", "shapedirs", "posedirs",
              "kintree_table")


@pytest.fixture(scope="module")
def model() -> dict:
    from hmr.body.anny_convert import build_smpl_from_anny

    return build_smpl_from_anny(n_betas=NUM_BETAS, n_shape_samples=N_SAMPLES, seed=0)


@pytest.fixture(scope="module")
def layer(model, tmp_path_factory):
    import smplx
    from smplx.utils import Struct

    arrays = {k: v for k, v in model.items() if k != "meta"}
    return smplx.SMPL(model_path=str(tmp_path_factory.mktemp("smpl")),
                      data_struct=Struct(**arrays), vertex_ids=model["vertex_ids"],
                      num_betas=NUM_BETAS, dtype=torch.float64)


def _forward(layer, betas=None, body_pose=None):
    zeros = torch.zeros(1, 3, dtype=torch.float64)
    if betas is None:
        betas = torch.zeros(1, NUM_BETAS, dtype=torch.float64)
    if body_pose is None:
        body_pose = torch.zeros(1, 69, dtype=torch.float64)
    return layer(betas=betas, body_pose=body_pose, global_orient=zeros, transl=zeros)


def test_shapes_and_dtypes(model):
    V = model["v_template"].shape[0]
    assert V == 13718
    expect = {"v_template": (V, 3), "weights": (V, 24), "J_regressor": (24, V),
              "shapedirs": (V, 3, NUM_BETAS), "posedirs": (V, 3, 207), "kintree_table": (2, 24)}
    for key, shape in expect.items():
        assert model[key].shape == shape, key
    for key in ("v_template", "weights", "J_regressor", "shapedirs", "posedirs"):
        assert model[key].dtype == (np.float32 if key == "posedirs" else np.float64), key
        assert np.isfinite(model[key]).all(), key
    assert model["f"].shape == (27420, 3)
    assert model["f"].dtype in (np.int64, np.uint32)
    assert model["f"].min() == 0 and model["f"].max() == V - 1
    assert model["kintree_table"].dtype == np.int64
    assert model["kintree_table"][0, 0] == 4294967295
    assert model["kintree_table"][0, 1:].tolist() == list(SMPL_PARENTS[1:])
    assert model["kintree_table"][1].tolist() == list(range(24))
    assert not model["posedirs"].any()
    assert model["joint_names"] == list(SMPL_JOINT_NAMES)
    assert all(isinstance(v, str) for v in model["meta"].values())
    for key in ("source", "units", "up_axis", "facing", "rest_pose", "bone_to_joint_mapping",
                "j_regressor_fit_error", "height_range_beta0"):
        assert model["meta"][key], key
    assert model["meta"]["source"].startswith("anny ")


def test_weights_and_regressor_are_convex(model):
    w, jr = model["weights"], model["J_regressor"]
    assert w.min() >= 0 and np.allclose(w.sum(1), 1.0, atol=1e-9)
    assert jr.min() >= 0 and np.allclose(jr.sum(1), 1.0, atol=1e-9)
    # every SMPL joint drives some vertices (the collars least: anny's clavicles are light)
    assert (w.max(0) > 0.4).all()


def test_vertex_ids_cover_smplx_extra_joints(model):
    from smplx.vertex_ids import vertex_ids

    ids = model["vertex_ids"]
    assert set(ids) == set(vertex_ids["smplh"])
    assert all(type(i) is int and 0 <= i < model["v_template"].shape[0] for i in ids.values())
    v = model["v_template"]
    for left, right in (("leye", "reye"), ("lear", "rear"), ("LHeel", "RHeel"),
                        ("LBigToe", "RBigToe"), ("lthumb", "rthumb"), ("lpinky", "rpinky")):
        assert v[ids[left], 0] > 0 > v[ids[right], 0], (left, right)  # subject's left at +X
    assert v[ids["nose"], 2] > v[ids["lear"], 2]  # facing +Z
    assert v[ids["LBigToe"], 2] > v[ids["LHeel"], 2]


def test_every_anny_bone_is_mapped():
    from hmr.body.anny_convert import load_anny_model, smpl_joint_for_bone

    for bone in load_anny_model().bone_labels:
        assert smpl_joint_for_bone(bone) in SMPL_JOINT_NAMES
    assert smpl_joint_for_bone("upperarm02.L") == "left_shoulder"
    assert smpl_joint_for_bone("toe3-2.R") == "right_foot"
    with pytest.raises(ValueError):
        smpl_joint_for_bone("tail01")


def test_loads_through_smplx(layer, model):
    out = _forward(layer)
    assert layer.num_betas == NUM_BETAS
    assert out.vertices.shape == (1, model["v_template"].shape[0], 3)
    assert out.joints.shape == (1, 24 + 21, 3)  # 24 SMPL joints + smplx's extra vertex joints


def test_zero_pose_joints_are_the_regressed_template_joints(layer, model):
    joints = _forward(layer).joints[0, :24].numpy()
    np.testing.assert_allclose(joints, model["J_regressor"] @ model["v_template"], atol=1e-5)
    np.testing.assert_allclose(_forward(layer).vertices[0].numpy(), model["v_template"], atol=1e-6)


def test_left_elbow_rotation_moves_left_wrist_on_a_circle(layer):
    rest = _forward(layer).joints[0].numpy()
    pose = torch.zeros(1, 69, dtype=torch.float64)
    pose[0, (J["left_elbow"] - 1) * 3 + 1] = np.pi / 2  # 90 degrees about +Y
    posed = _forward(layer, body_pose=pose).joints[0].numpy()
    elbow, wrist = rest[J["left_elbow"]], rest[J["left_wrist"]]
    np.testing.assert_allclose(posed[J["left_elbow"]], elbow, atol=1e-6)
    ry = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    np.testing.assert_allclose(posed[J["left_wrist"]], elbow + ry @ (wrist - elbow), atol=1e-6)
    radius = np.linalg.norm(wrist - elbow)
    assert radius > 0.15
    assert np.linalg.norm(posed[J["left_wrist"]] - elbow) == pytest.approx(radius, abs=1e-6)
    # forearm along +X in the T-pose, so it now points backwards (-Z)
    assert posed[J["left_wrist"], 2] - elbow[2] < -0.9 * radius
    np.testing.assert_allclose(posed[J["right_wrist"]], rest[J["right_wrist"]], atol=1e-6)


def test_height_increases_with_beta0(layer):
    heights = []
    for b0 in (-2.0, -1.0, 0.0, 1.0, 2.0):
        betas = torch.zeros(1, NUM_BETAS, dtype=torch.float64)
        betas[0, 0] = b0
        v = _forward(layer, betas=betas).vertices[0, :, 1]
        heights.append(float(v.max() - v.min()))
    assert all(b > a for a, b in zip(heights, heights[1:])), heights
    assert 1.5 < heights[2] < 1.9  # an adult


def test_rest_pose_is_a_t_pose(model):
    joints = model["J_regressor"] @ model["v_template"]
    v = model["v_template"]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        wrist, shoulder = joints[J[f"{side}_wrist"]], joints[J[f"{side}_shoulder"]]
        assert abs(wrist[1] - shoulder[1]) < 0.1
        assert sign * wrist[0] > sign * joints[J[f"{side}_elbow"]][0] > sign * shoulder[0] > 0
        ankle, hip = joints[J[f"{side}_ankle"]], joints[J[f"{side}_hip"]]
        assert ankle[1] < joints[J[f"{side}_knee"]][1] < hip[1]
        assert abs(ankle[0] - hip[0]) < 0.08  # legs straight down, feet slightly apart
    assert joints[J["head"], 1] > joints[J["neck"], 1] > joints[J["pelvis"], 1]
    np.testing.assert_allclose(joints[J["pelvis"]], 0.0, atol=5e-3)  # pelvis at the origin
    # Y-up: the arm span is horizontal, the body vertical
    assert np.ptp(v[:, 1]) > np.ptp(v[:, 2]) and np.ptp(v[:, 0]) > np.ptp(v[:, 2])


def test_deterministic(model):
    from hmr.body.anny_convert import build_smpl_from_anny

    again = build_smpl_from_anny(n_betas=NUM_BETAS, n_shape_samples=N_SAMPLES, seed=0)
    for key in ARRAY_KEYS:
        np.testing.assert_array_equal(again[key], model[key], err_msg=key)
    assert again["vertex_ids"] == model["vertex_ids"]


def test_write_smpl_pickle_is_atomic_and_round_trips(model, tmp_path):
    from hmr.body.anny_convert import write_smpl_pickle

    path = tmp_path / "anny_smpl.pkl"
    path.write_bytes(b"old")
    write_smpl_pickle(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["anny_smpl.pkl"]  # no temporary left over
    with open(path, "rb") as fh:
        loaded = pickle.load(fh)
    for key in ARRAY_KEYS:
        np.testing.assert_array_equal(loaded[key], model[key])
    assert loaded["vertex_ids"] == model["vertex_ids"] and loaded["meta"] == model["meta"]
