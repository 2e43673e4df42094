import json

import h5py
import numpy as np
import pytest

from hmr.io.h5 import H5FormatError, atomic_h5, read_array, read_attrs, write_arrays


def test_roundtrip_records_config_and_version(tmp_path):
    path = tmp_path / "a.h5"
    data = np.arange(600, dtype=np.float32).reshape(20, 10, 3)
    write_arrays(path, {"x": data, "grp/y": np.ones(4, bool)}, config={"seed": 3})
    np.testing.assert_array_equal(read_array(path, "x", (None, 10, 3), "f"), data)
    attrs = read_attrs(path)
    assert json.loads(attrs["config_json"]) == {"seed": 3}
    assert attrs["hmr_version"]
    with h5py.File(path) as f:
        assert f["x"].compression == "gzip" and f["x"].chunks is not None


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "b.h5"
    with pytest.raises(RuntimeError):
        with atomic_h5(path) as f:
            f.create_dataset("x", data=np.zeros(3))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path):
    path = tmp_path / "c.h5"
    write_arrays(path, {"x": np.zeros(3)})
    with pytest.raises(RuntimeError):
        with atomic_h5(path) as f:
            f.create_dataset("x", data=np.ones(5))
            raise RuntimeError("boom")
    np.testing.assert_array_equal(read_array(path, "x"), np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]


def test_reader_errors_are_one_line_naming_file_and_dataset(tmp_path):
    path = tmp_path / "d.h5"
    write_arrays(path, {"kp": np.zeros((5, 17, 2), np.float32), "nan": np.array([1.0, np.nan])})
    with pytest.raises(H5FormatError, match=r"d\.h5:kp: shape \(5, 17, 2\), expected \(\*, 17, 3\)"):
        read_array(path, "kp", (None, 17, 3))
    with pytest.raises(H5FormatError, match=r"d\.h5: dataset 'missing' missing"):
        read_array(path, "missing")
    with pytest.raises(H5FormatError, match="expected kind 'iu'"):
        read_array(path, "kp", dtype_kind="iu")
    with pytest.raises(H5FormatError, match="NaN"):
        read_array(path, "nan")
    (tmp_path / "bad.h5").write_text("not hdf5")
    with pytest.raises(H5FormatError, match=r"bad\.h5: not a readable HDF5 file") as err:
        read_array(tmp_path / "bad.h5", "x")
    assert "\n" not in str(err.value)


def test_atomic_path_gives_normal_permissions_and_cleans_up(tmp_path):
    import os

    from hmr.io.atomic import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    try:
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
