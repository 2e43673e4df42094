"""A synthetic sequence end to end at the function level: ground truth is exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from hmr.body.smpl import smpl_layer
from hmr.io.sequence import read_sequence
from hmr.synthetic.generate import synthesize_sequence, to_camera_frame

PARAMS = {"type": "synthetic", "splits": {"train": 1, "val": 0, "test": 1}, "n_frames": 10,
          "fps": 30, "width": 128, "height": 96, "amass_dir": None, "amass_fraction": 0.5,
          "out_of_frame_prob": 0.0, "shape_std": 1.0}


@pytest.fixture(scope="module")
def sequence_file(embedded_model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("syn") / "train_000.h5"
    synthesize_sequence("synthetic", "train_000", PARAMS, str(embedded_model_path), seed=7, out=str(out))
    return out


def test_reprojection_of_gt_within_half_a_pixel(sequence_file, embedded_model_path):
    """SMPL(pose, betas, trans) in the camera frame, projected with K, gives the stored 2D joints."""
    seq = read_sequence(sequence_file)
    a = seq.arrays
    layer = smpl_layer(embedded_model_path)
    with torch.no_grad():
        out = layer(global_orient=torch.as_tensor(a["gt/pose"][:, :3]),
                    body_pose=torch.as_tensor(a["gt/pose"][:, 3:]),
                    betas=torch.as_tensor(a["gt/betas"]), transl=torch.as_tensor(a["gt/trans"]))
    joints = out.joints[:, :24].numpy().astype(np.float64)
    np.testing.assert_allclose(joints, a["gt/joints3d"], atol=1e-4)  # meters
    uvw = np.einsum("tij,tnj->tni", a["camera/K"].astype(np.float64), joints)
    uv = uvw[..., :2] / uvw[..., 2:]
    err = np.linalg.norm(uv - a["gt/joints2d"], axis=-1)
    assert err.max() < 0.5


def test_world_and_camera_geometry_agree(sequence_file):
    seq = read_sequence(sequence_file)
    a = seq.arrays
    R = a["camera/R"]
    np.testing.assert_allclose(np.einsum("tij,tkj->tik", R, R), np.eye(3)[None].repeat(len(R), 0), atol=1e-5)
    assert (a["gt/joints3d"][..., 2] > 0.5).all()  # in front of the camera
    cx, cy, w, h = seq.bbox.T
    inside = ((a["gt/joints2d"][..., 0] >= (cx - w / 2)[:, None]) & (a["gt/joints2d"][..., 0] <= (cx + w / 2)[:, None])
              & (a["gt/joints2d"][..., 1] >= (cy - h / 2)[:, None]) & (a["gt/joints2d"][..., 1] <= (cy + h / 2)[:, None]))
    assert inside.all()  # the bbox of the mesh holds every joint
    expected_visible = ((a["gt/joints2d"] >= 0) & (a["gt/joints2d"] < [seq.width, seq.height])).all(-1)
    np.testing.assert_array_equal(a["gt/visible"], expected_visible)


def test_person_is_rendered_where_the_joints_are(sequence_file, embedded_model_path):
    """Re-rendering the GT mesh gives a silhouette that covers the visible joints, and the
    stored frames differ from the background there (the person was drawn)."""
    from hmr.synthetic.render import render_mesh

    seq = read_sequence(sequence_file, load_frames=True)
    a = seq.arrays
    layer = smpl_layer(embedded_model_path)
    with torch.no_grad():
        out = layer(global_orient=torch.as_tensor(a["gt/pose"][:, :3]),
                    body_pose=torch.as_tensor(a["gt/pose"][:, 3:]),
                    betas=torch.as_tensor(a["gt/betas"]), transl=torch.as_tensor(a["gt/trans"]))
    verts = out.vertices.numpy().astype(np.float64)
    faces = np.asarray(layer.faces, dtype=np.int64)
    hits, total, up = 0, 0, 4  # render 4x larger: hands are a pixel wide at 128x96
    for i in range(seq.n_frames):
        bg = np.zeros((seq.height * up, seq.width * up, 3), np.uint8)
        K = a["camera/K"][i].astype(np.float64).copy()
        K[:2] *= up
        _, mask, _ = render_mesh(verts[i], faces, K, bg)
        uv = np.floor(a["gt/joints2d"][i][a["gt/visible"][i]] * up).astype(int)
        hits += int(mask[uv[:, 1], uv[:, 0]].sum())
        total += len(uv)
    assert total > 0
    assert hits / total >= 0.98
    assert seq.frames.astype(np.float32).std() > 5


def test_to_camera_frame_is_exact_for_a_known_rotation():
    rng = np.random.default_rng(0)
    pose = np.zeros((2, 72), np.float32)
    pose[:, :3] = rng.normal(size=(2, 3)) * 0.5
    trans = rng.normal(size=(2, 3)).astype(np.float32)
    j0 = np.array([0.0, -0.2, 0.01])
    R = Rotation.from_euler("y", [[30], [-60]], degrees=True).as_matrix()
    t = np.array([[0.1, 0.2, 4.0], [0.0, 0.0, 3.0]])
    pose_c, trans_c = to_camera_frame(pose, trans, j0, R, t)
    v = np.array([0.3, 0.5, -0.1])  # a rest-pose point
    for i in range(2):
        R0 = Rotation.from_rotvec(pose[i, :3]).as_matrix()
        world = R0 @ (v - j0) + j0 + trans[i]
        cam = R[i] @ world + t[i]
        Rc = Rotation.from_rotvec(pose_c[i, :3]).as_matrix()
        np.testing.assert_allclose(Rc @ (v - j0) + j0 + trans_c[i], cam, atol=1e-5)


def test_same_seed_same_sequence_other_seed_other_sequence(sequence_file, embedded_model_path, tmp_path):
    synthesize_sequence("synthetic", "train_000", PARAMS, str(embedded_model_path), seed=7,
                        out=str(tmp_path / "again.h5"))
    synthesize_sequence("synthetic", "train_000", PARAMS, str(embedded_model_path), seed=8,
                        out=str(tmp_path / "other.h5"))
    a = read_sequence(sequence_file, load_frames=True)
    b = read_sequence(tmp_path / "again.h5", load_frames=True)
    c = read_sequence(tmp_path / "other.h5", load_frames=True)
    np.testing.assert_array_equal(a.frames, b.frames)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key])
    assert not np.array_equal(a.arrays["gt/pose"], c.arrays["gt/pose"])
    assert not np.array_equal(a.frames, c.frames)


def test_visible_box_fraction_known_answers():
    from hmr.synthetic.generate import visible_box_fraction

    boxes = np.array([[50.0, 40.0, 20.0, 20.0],      # inside
                      [0.0, 40.0, 20.0, 20.0],       # half out on the left
                      [-20.0, 40.0, 20.0, 20.0],     # entirely out
                      [100.0, 80.0, 40.0, 40.0]])    # a quarter in the bottom-right corner
    np.testing.assert_allclose(visible_box_fraction(boxes, 100, 80), [1.0, 0.5, 0.0, 0.25])
