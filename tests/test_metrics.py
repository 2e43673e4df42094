"""Known answers for the evaluation metrics (hmr.eval.metrics) and the metric table's mean row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from hmr.eval.evaluate import frame_weighted_mean
from hmr.eval.metrics import accel_error, mpjpe, mpvpe, pa_mpjpe, procrustes_align, root_align


def _poses(T: int = 5, J: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(T, J, 3))


def test_pa_mpjpe_of_similarity_transform_is_zero_and_mpjpe_is_not():
    gt = _poses()
    R = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    pred = 1.7 * gt @ R.T + np.array([0.5, -2.0, 3.0])
    assert np.all(pa_mpjpe(pred, gt) < 1e-9)
    assert np.all(mpjpe(pred, gt) > 0.1)
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-9)


def test_pa_mpjpe_does_not_reflect():
    gt = _poses(3)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])        # a reflection is not a rotation
    assert np.all(pa_mpjpe(mirrored, gt) > 1e-3)


def test_mpjpe_known_value_and_root_alignment():
    gt = np.zeros((2, 3, 3))
    pred = np.zeros((2, 3, 3))
    pred[:, 1, 0] = 3.0                                # one of 3 joints off by 3
    np.testing.assert_allclose(mpjpe(pred, gt), [1.0, 1.0])
    shifted = pred + np.array([10.0, -4.0, 2.0])       # a global shift vanishes after root alignment
    np.testing.assert_allclose(mpjpe(shifted, gt, root=0), [1.0, 1.0])
    np.testing.assert_allclose(root_align(shifted)[:, 0], 0.0)


def test_mpvpe_root_aligned():
    gt = _poses(2, 50)
    pred = gt + np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(mpvpe(pred, gt, pred[:, 0], gt[:, 0]), 0.0, atol=1e-12)
    assert np.all(mpvpe(pred, gt) > 3.0)


def test_accel_error_constant_velocity_and_known_jitter():
    T, J = 6, 2
    t = np.arange(T, dtype=float)[:, None, None]
    gt = np.broadcast_to(np.array([[0.0, 0.0, 0.0], [0.1, 0.2, 0.3]]), (T, J, 3)) + t * np.array([1.0, -0.5, 2.0])
    assert np.all(accel_error(gt, gt) == 0)
    assert np.allclose(accel_error(gt + 5.0, gt), 0)   # constant offset: no acceleration
    pred = gt.copy()
    pred[2, 1, 0] += 3.0                               # one joint of frame 2 jitters by 3
    err = accel_error(pred, gt)
    # second differences of the jitter at frames 1, 2, 3, 4: 3, -6, 3, 0 on 1 of 2 joints
    np.testing.assert_allclose(err, [1.5, 3.0, 1.5, 0.0])
    assert err.mean() == pytest.approx(1.5)
    valid = np.ones(T, bool)
    valid[4] = False                                   # frames 3, 4, 5 lose their triplets
    np.testing.assert_allclose(accel_error(pred, gt, valid), [1.5, 3.0])


def test_frame_weighted_mean_row():
    df = pd.DataFrame({"seq": ["a", "b"], "n_frames": [10, 30], "mpjpe": [100.0, 60.0],
                       "pa_mpjpe": [50.0, 30.0], "mpvpe": [120.0, np.nan], "accel_err": [8.0, 4.0],
                       "n_accel": [8, 28]})
    m = frame_weighted_mean(df)
    assert m["n_frames"] == 40
    assert m["mpjpe"] == pytest.approx((100 * 10 + 60 * 30) / 40)
    assert m["pa_mpjpe"] == pytest.approx((50 * 10 + 30 * 30) / 40)
    assert m["mpvpe"] == pytest.approx(120.0)          # sequences without it are left out
    assert m["accel_err"] == pytest.approx((8 * 8 + 4 * 28) / 36)
