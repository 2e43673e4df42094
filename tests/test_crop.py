"""Person crops: the box centre lands on the crop centre, and points map back exactly."""

import numpy as np
import pytest

from hmr.errors import InputError
from hmr.features.crop import apply_affine, check_boxes, crop_frames, crop_matrices, invert_affine


def test_crop_centre_and_scale():
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[40:60, 90:110] = 255  # a 20x20 white square centred at (99.5, 49.5)
    crop = crop_frames(frame[None], np.array([[99.5, 49.5, 20.0, 10.0]]), size=48, scale=1.2)[0]
    # side 24 px -> 48 px (x2): pixel centres 90..109 land on 4.5..42.5
    assert crop[6:42, 6:42].min() > 200
    assert crop[:2].max() < 30 and crop[:, :2].max() < 30


def test_points_round_trip():
    bbox = np.array([[50.0, 60.0, 30.0, 80.0], [10.0, 5.0, 40.0, 20.0]])
    A = crop_matrices(bbox, 224)
    pts = np.random.default_rng(0).uniform(0, 100, (2, 5, 2))
    np.testing.assert_allclose(apply_affine(invert_affine(A), apply_affine(A, pts)), pts, atol=1e-9)
    np.testing.assert_allclose(apply_affine(A, bbox[:, None, :2])[:, 0], [[111.5, 111.5]] * 2)


def test_bad_boxes_one_line():
    with pytest.raises(InputError, match=r"seq.h5: bbox of frame 1 .* outside the 100x50 image"):
        check_boxes(np.array([[10, 10, 5, 5], [500, 10, 5, 5.0]]), 100, 50, "seq.h5")
    with pytest.raises(InputError, match="frame 0"):
        check_boxes(np.array([[np.nan, 10, 5, 5]]), 100, 50, "seq.h5")
