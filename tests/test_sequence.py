"""The sequence format, manifests and video import."""

import cv2
import numpy as np
import pytest

from hmr.io.h5 import H5FormatError
from hmr.io.manifest import manifest_row, read_manifest, write_manifest
from hmr.io.sequence import Sequence, iter_frames, read_sequence, write_sequence
from hmr.io.video import import_video


def _sequence(T=7, H=24, W=32):
    rng = np.random.default_rng(0)
    f32 = np.float32
    return Sequence(
        name="s1", dataset="toy", fps=25.0, width=W, height=H, n_frames=T,
        frames=rng.integers(0, 255, (T, H, W, 3), dtype=np.uint8),
        bbox=rng.random((T, 4)).astype(f32),
        arrays={"gt/pose": rng.normal(size=(T, 72)).astype(f32),
                "gt/joints2d": rng.random((T, 24, 2)).astype(f32),
                "gt/valid": np.ones(T, bool)},
        info={"split": "train"},
    )


def test_roundtrip_and_streaming(tmp_path):
    seq = _sequence()
    path = tmp_path / "s1.h5"
    write_sequence(path, seq)
    back = read_sequence(path, load_frames=True)
    assert (back.name, back.fps, back.n_frames, back.width, back.height) == ("s1", 25.0, 7, 32, 24)
    np.testing.assert_array_equal(back.frames, seq.frames)
    np.testing.assert_array_equal(back.bbox, seq.bbox)
    assert set(back.arrays) == set(seq.arrays) and back.info == {"split": "train"}
    batches = list(iter_frames(path, batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(batches), seq.frames)
    assert read_sequence(path).frames is None


def test_bad_shapes_name_file_and_dataset_and_leave_nothing(tmp_path):
    seq = _sequence()
    seq.arrays["gt/joints2d"] = seq.arrays["gt/joints2d"][:5]
    with pytest.raises(H5FormatError, match=r"bad\.h5:gt/joints2d: shape \(5, 24, 2\), expected \(7, 24, 2\)"):
        write_sequence(tmp_path / "bad.h5", seq)
    seq = _sequence()
    seq.arrays["gt/bogus"] = np.zeros(7)
    with pytest.raises(H5FormatError, match="unknown dataset 'gt/bogus'"):
        write_sequence(tmp_path / "bad.h5", seq)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(H5FormatError, match="not a readable HDF5"):
        (tmp_path / "junk.h5").write_bytes(b"junk")
        read_sequence(tmp_path / "junk.h5")


def test_manifest(tmp_path):
    for i, split in enumerate(["test", "train", "val"]):
        seq = _sequence()
        seq.name = f"s{i}"
        write_sequence(tmp_path / f"s{i}.h5", seq)
    rows = [manifest_row(tmp_path / f"s{i}.h5", sp) for i, sp in enumerate(["test", "train", "val"])]
    write_manifest(rows, tmp_path / "manifest.csv")
    df = read_manifest(tmp_path / "manifest.csv")
    assert list(df.split) == ["train", "val", "test"] and list(df.n_frames) == [7, 7, 7]
    (tmp_path / "bad.csv").write_text("seq,split,n_frames,fps,has_gt\na,holdout,3,30,False\n")
    with pytest.raises(H5FormatError, match=r"bad\.csv: unknown split\(s\) \['holdout'\]"):
        read_manifest(tmp_path / "bad.csv")
    (tmp_path / "bad2.csv").write_text("seq,split\na,train\n")
    with pytest.raises(H5FormatError, match="lacks column"):
        read_manifest(tmp_path / "bad2.csv")


def test_import_video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    seq = import_video(path, tmp_path / "clip.h5", dataset="mine")
    assert (seq.n_frames, seq.width, seq.height, seq.fps) == (10, 64, 48, 24.0)
    back = read_sequence(tmp_path / "clip.h5")
    assert back.video_path == str(path.resolve()) and back.bbox is None and not back.arrays
    frames = np.concatenate(list(iter_frames(tmp_path / "clip.h5", 4)))
    assert frames.shape == (10, 48, 64, 3)
    assert abs(float(frames[9].mean()) - 180) < 6  # MJPG is lossy
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(H5FormatError, match=r"broken\.mp4: cannot open video|broken\.mp4: no decodable"):
        import_video(tmp_path / "broken.mp4", tmp_path / "broken.h5", dataset="mine")
    assert not (tmp_path / "broken.h5").exists()
