"""Joint-set conversions: known indices and mirror symmetry on the embedded model's rest pose."""

import numpy as np

from hmr.body.joint_sets import (
    COCO17,
    COCO17_FLIP,
    SMPL45_TO_COCO17,
    project_points,
    smpl_to_coco17,
)
from hmr.body.smpl import smpl_forward, smpl_layer


def test_coco17_from_smpl_rest_pose_is_left_right_symmetric(embedded_model_path):
    layer = smpl_layer(embedded_model_path)
    _, joints = smpl_forward(layer, np.zeros((1, 72)), np.zeros(10))
    assert joints.shape == (1, 45, 3)
    coco = smpl_to_coco17(joints)[0]
    assert coco.shape == (17, 3)
    mirrored = coco[list(COCO17_FLIP)] * [-1, 1, 1]
    np.testing.assert_allclose(coco, mirrored, atol=5e-3)  # T-pose body is symmetric in x
    assert coco[COCO17.index("left_wrist"), 0] > 0.5  # subject's left is +x, arms out
    assert coco[COCO17.index("nose"), 1] > coco[COCO17.index("left_shoulder"), 1]
    assert coco[COCO17.index("left_ankle"), 1] < coco[COCO17.index("left_knee"), 1]
    assert SMPL45_TO_COCO17[COCO17.index("left_hip")] == 1


def test_project_points_known_pixel():
    K = np.array([[[100.0, 0, 50], [0, 100.0, 40], [0, 0, 1]]])
    X = np.array([[[0.2, -0.1, 2.0]]])
    np.testing.assert_allclose(project_points(K, X), [[[60.0, 35.0]]])
