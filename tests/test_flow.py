"""Optical flow backends, d_t stacking and the dynamics stage (known motions, bad input)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import yaml

from hmr.cli import main
from hmr.errors import InputError
from hmr.flow.flow import DisFlow, FarnebackFlow, RaftFlow, make_flow
from hmr.flow.homography import (
    SolverSettings,
    solve_homographies,
    transfer,
)
from hmr.flow.stacking import D_DIM, WINDOW, dynamic_feature, stack_windows
from hmr.flow.stage import (
    DynamicsSettings,
    compute_dynamics,
    correspondences,
    lattice,
    pairs_to_frame_pixels,
    run_dynamics,
)
from hmr.io.h5 import read_array, read_attrs
from hmr.io.sequence import Sequence, read_sequence, write_sequence

REPO = Path(__file__).resolve().parent.parent


def tiny_params(**overrides) -> dict:
    """The tiny config's dynamics section (what CI runs), with overrides."""
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    params = copy.deepcopy(cfg["dynamics"])
    params.update(overrides)
    return params


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour texture (uint8 RGB): flow is well defined everywhere."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 4 + 2, w // 4 + 2, 3)).astype(np.uint8)
    img = cv2.resize(small, (w + 8, h + 8), interpolation=cv2.INTER_CUBIC)[4:4 + h, 4:4 + w]
    return np.ascontiguousarray(cv2.GaussianBlur(img, (0, 0), 1.0))


# --- flow backends ------------------------------------------------------------------------------

WARP = np.array([[1.015, 0.012, 2.0], [-0.010, 0.990, -1.5], [1.0e-4, -6.0e-5, 1.0]])


@pytest.mark.parametrize("flow", [FarnebackFlow(), DisFlow("medium")], ids=["farneback", "dis"])
def test_flow_recovers_a_known_homography(flow):
    """A textured image warped by a known homography: flow -> lattice correspondences -> DLT gives
    the warp back within 0.2 px everywhere on the inner image (measured: farneback 0.03, dis 0.08)."""
    img = textured(128, 128)
    warped = cv2.warpPerspective(img, WARP, (128, 128), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)  # pixel p of img moves to WARP p
    fl = flow(img[None], warped[None])
    assert fl.shape == (1, 128, 128, 2) and fl.dtype == np.float32
    grid = lattice(128, 128, 16)
    src, dst, w = correspondences(fl, grid, (128, 128))
    inner = ((grid > 12) & (grid < 115)).all(1)  # borders: reflected content, not the warp
    H, _ = solve_homographies(src, dst, w * inner, SolverSettings(robust="none"))
    err = np.linalg.norm(transfer(H, grid[None]) - transfer(WARP[None], grid[None]), axis=-1)
    assert err[0, inner].max() < 0.2


def test_make_flow_errors_are_one_line():
    with pytest.raises(InputError, match="dynamics.backend: unknown flow backend 'lk'"):
        make_flow("lk", {})
    with pytest.raises(InputError, match="dynamics.dis: preset must be one of"):
        make_flow("dis", {"dis": {"preset": "slow"}})
    with pytest.raises(InputError, match="dynamics.farneback: .*unexpected keyword"):
        make_flow("farneback", {"farneback": {"window": 3}})


@pytest.fixture
def one_torch_thread():
    """RAFT on a shared 2-core CPU: one thread is ~30x faster than two contending ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_raft_random_init_runs_on_sizes_not_divisible_by_8(one_torch_thread):
    import torch

    torch.manual_seed(0)
    raft = RaftFlow(model="small", allow_random_init=True, num_flow_updates=2)  # untrained: shapes only
    a = np.stack([textured(60, 68, 1), textured(60, 68, 2)])
    b = np.roll(a, 2, axis=2)
    fl = raft(a, b)
    assert fl.shape == (2, 60, 68, 2) and fl.dtype == np.float32 and np.isfinite(fl).all()


def test_raft_checkpoint_loading_and_errors(tmp_path, one_torch_thread):
    import torch

    with pytest.raises(InputError, match="dynamics.raft.checkpoint: the raft backend needs a checkpoint"):
        make_flow("raft", {"raft": {"model": "small", "checkpoint": None}})
    with pytest.raises(InputError, match="nowhere.pt: RAFT checkpoint not found"):
        RaftFlow(checkpoint=tmp_path / "nowhere.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"conv.weight": torch.zeros(3)}, bad)
    with pytest.raises(InputError, match="bad.pt: checkpoint does not fit raft_small"):
        RaftFlow(checkpoint=bad)
    large = RaftFlow(model="large", allow_random_init=True).net.state_dict()
    torch.save(large, bad)  # raft_large weights for raft_small: shapes or names differ
    with pytest.raises(InputError, match="bad.pt: checkpoint does not fit raft_small"):
        RaftFlow(checkpoint=bad)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="garbage.pt: cannot load RAFT checkpoint"):
        RaftFlow(checkpoint=garbage)
    # a real state dict (here: of a random model) loads with weights_only and gives its flow
    torch.manual_seed(1)
    source = RaftFlow(model="small", allow_random_init=True, num_flow_updates=2)
    good = tmp_path / "raft_small.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.net.state_dict().items()}}, good)
    loaded = make_flow("raft", {"raft": {"model": "small", "checkpoint": str(good), "num_flow_updates": 2}})
    a, b = textured(64, 64, 3)[None], textured(64, 64, 4)[None]
    np.testing.assert_allclose(loaded(a, b), source(a, b), atol=1e-5)


# --- d_t stacking -------------------------------------------------------------------------------

def test_stacking_layout_and_identity_padding():
    T = 20
    pairs = np.zeros((T, 3, 3), np.float32)
    for s in range(T):
        pairs[s] = np.arange(9).reshape(3, 3) + 100 * s  # a marker per pair, rows distinct
    stacked, padded = stack_windows(pairs)
    d = dynamic_feature(stacked)
    assert stacked.shape == (T, WINDOW, 3, 3) and d.shape == (T, D_DIM) == (T, 135)
    for t in range(T):
        for k in range(WINDOW):
            s = t - 14 + k  # slot k of frame t holds the pair (s-1, s)
            if s >= 1:
                assert not padded[t, k]
                np.testing.assert_array_equal(stacked[t, k], pairs[s])
            else:
                assert padded[t, k]
                np.testing.assert_array_equal(stacked[t, k], np.eye(3))
            np.testing.assert_array_equal(d[t, 9 * k:9 * k + 9], stacked[t, k].ravel())  # row-major
    assert padded.sum(1).tolist()[:16] == [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert not padded[15:].any()
    np.testing.assert_array_equal(stacked[15, 0], pairs[1])  # (0, 1) is the oldest pair of t = 15
    np.testing.assert_array_equal(stacked[15, 14], pairs[15])  # (14, 15) the newest


# --- the stage ------------------------------------------------------------------------------------

def moving_texture_sequence(path: Path, shift=(1.5, -0.8), n: int = 8, box_follows: bool = True,
                            W: int = 128, H: int = 96) -> None:
    """Frames of a texture translated by ``shift`` px per frame (the known motion), a person box
    that follows the content (or stays put), written as a sequence file."""
    canvas = textured(H + 40, W + 40, 5)
    frames = np.empty((n, H, W, 3), np.uint8)
    bbox = np.empty((n, 4), np.float32)
    for s in range(n):
        A = np.array([[1.0, 0, shift[0] * s - 20], [0, 1.0, shift[1] * s - 20]])  # canvas -> frame
        frames[s] = cv2.warpAffine(canvas, A, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        c = np.array([W / 2, H / 2]) + (np.array(shift) * s if box_follows else 0)
        bbox[s] = [c[0], c[1], 36, 56]
    write_sequence(path, Sequence(name=path.stem, dataset="unit", fps=30, width=W, height=H,
                                  n_frames=n, frames=frames, bbox=bbox))


@pytest.mark.parametrize("inp,box_follows", [("crop", True), ("crop", False), ("frame", True)])
@pytest.mark.parametrize("backend", ["farneback", "dis"])
def test_stage_recovers_the_frame_motion(tmp_path, backend, inp, box_follows):
    """pairs[s] maps frame s-1 to frame s: a translation by the known shift in frame pixels, for
    crops (whether or not the box moves between the frames) and full frames alike."""
    seq = tmp_path / "moving.h5"
    moving_texture_sequence(seq, box_follows=box_follows)
    params = tiny_params(backend=backend, input=inp)
    out = compute_dynamics(seq, params, progress=False)
    st = DynamicsSettings.from_config(params)
    Hf = pairs_to_frame_pixels(out["pairs"], st, 128, 96, read_sequence(seq).bbox)
    Hf = Hf / Hf[:, 2:, 2:]
    expected = np.array([[1, 0, 1.5], [0, 1, -0.8], [0, 0, 1.0]])
    np.testing.assert_allclose(Hf[0], np.eye(3), atol=1e-7)  # no pair before frame 0
    # translation within 0.25 px (measured 0.03-0.21; a box motion leaking into the homography
    # or a wrong crop map would be off by the 1-2 px shift itself)
    assert np.abs(Hf[1:, :2, 2] - expected[:2, 2]).max() < 0.25
    assert np.abs(Hf[1:, :2, :2] - np.eye(2)).max() < 0.01
    assert np.abs(Hf[1:, 2, :2]).max() < 2e-4
    np.testing.assert_allclose(out["pairs"][:, 0, 0], 1.0, rtol=1e-6)  # the paper's normalisation
    assert (out["support"][1:] > 0.5).all() and out["support"][0] == 0


def test_stage_streaming_batches_do_not_change_the_result(tmp_path):
    seq = tmp_path / "moving.h5"
    moving_texture_sequence(seq, n=9)
    a = compute_dynamics(seq, tiny_params(batch=2), progress=False)
    b = compute_dynamics(seq, tiny_params(batch=16, solve_batch=3), progress=False)
    for key in ("homographies", "d", "padded", "pairs", "support"):
        np.testing.assert_array_equal(a[key], b[key])


def test_stage_on_a_rendered_sequence_writes_the_format(tiny_dataset, tmp_path):
    out = tmp_path / "dyn" / "test_000.h5"
    arrays = run_dynamics(tiny_dataset / "test_000.h5", out, tiny_params(), seed=0)
    T = 12
    H = read_array(out, "homographies", shape=(T, 15, 3, 3), dtype_kind="f")
    d = read_array(out, "d", shape=(T, 135), dtype_kind="f")
    padded = read_array(out, "padded", shape=(T, 15), dtype_kind="b")
    assert H.dtype == d.dtype == np.float32
    np.testing.assert_array_equal(d, H.reshape(T, 135))
    assert padded.sum(1).tolist() == [15 - t for t in range(T)]  # T = 12 < 15: every frame padded
    np.testing.assert_array_equal(H[padded], np.broadcast_to(np.eye(3), (int(padded.sum()), 3, 3)))
    np.testing.assert_allclose(H[..., 0, 0], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(H[11, 14], arrays["pairs"][11])
    attrs = read_attrs(out)
    assert attrs["backend"] == "farneback" and attrs["input"] == "crop"
    assert json.loads(attrs["config_json"])["dynamics"]["crop_size"] == 64


def test_stage_robust_solvers_and_raft_plumbing(tiny_dataset, one_torch_thread):
    import torch

    seq = tiny_dataset / "train_000.h5"
    for robust in ("irls", "ransac"):
        params = tiny_params()
        params["solver"] = dict(params["solver"], robust=robust)
        a = compute_dynamics(seq, params, seed=3, progress=False)
        b = compute_dynamics(seq, params, seed=3, progress=False)
        np.testing.assert_array_equal(a["d"], b["d"])  # deterministic from the seed
        assert np.isfinite(a["d"]).all()
    torch.manual_seed(0)
    raft = RaftFlow(model="small", allow_random_init=True, num_flow_updates=2)  # untrained: plumbing only
    out = compute_dynamics(seq, tiny_params(backend="raft"), flow=raft, progress=False)
    assert out["d"].shape == (12, 135) and np.isfinite(out["d"]).all()


# --- bad input: one line, exit 1, no output -------------------------------------------------------

def _cli(capsys, seq, out, params=None):
    rc = main(["dynamics", "--sequence", str(seq), "--params", json.dumps(params or tiny_params()),
               "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, [ln for ln in err.splitlines() if ln.startswith("error:")]


def _no_outputs(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def test_cli_writes_the_file(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "out" / "test_000.h5"
    rc, lines = _cli(capsys, tiny_dataset / "test_000.h5", out)
    assert rc == 0 and not lines and out.exists()
    with h5py.File(out) as f:
        assert {"homographies", "d", "padded", "pairs", "support"} <= set(f)


def test_zero_frame_sequence_is_one_line(tmp_path, capsys):
    seq = tmp_path / "empty.h5"
    with h5py.File(seq, "w") as f:
        f.attrs.update({"name": "empty", "dataset": "unit", "fps": 30.0, "n_frames": 0,
                        "width": 128, "height": 96})
        f.create_dataset("frames", shape=(0, 96, 128, 3), dtype=np.uint8)
        f.create_dataset("bbox", shape=(0, 4), dtype=np.float32)
    out = tmp_path / "out" / "empty.h5"
    for inp in ("crop", "frame"):
        rc, lines = _cli(capsys, seq, out, tiny_params(input=inp))
        assert rc == 1 and len(lines) == 1 and "empty.h5: sequence has no frames" in lines[0]
    assert _no_outputs(out.parent)


@pytest.mark.parametrize("bad", [[500.0, 40.0, 30.0, 60.0], [np.nan, 40.0, 30.0, 60.0], [60.0, 40.0, 0.0, 60.0]],
                         ids=["outside", "nan", "empty"])
def test_bad_bbox_is_one_line(tmp_path, capsys, bad):
    seq = tmp_path / "moving.h5"
    moving_texture_sequence(seq)
    with h5py.File(seq, "a") as f:  # written directly: write_sequence refuses such boxes
        f["bbox"][5] = bad
    out = tmp_path / "out" / "moving.h5"
    rc, lines = _cli(capsys, seq, out)
    assert rc == 1 and len(lines) == 1
    assert "moving.h5: bbox of frame 5" in lines[0] and "outside the 128x96 image" in lines[0]
    assert _no_outputs(out.parent)


def test_missing_bbox_missing_checkpoint_and_bad_settings_are_one_line(tmp_path, capsys):
    seq = tmp_path / "nobox.h5"
    moving_texture_sequence(seq)
    s = read_sequence(seq, load_frames=True)
    s.bbox = None
    write_sequence(seq, s)
    out = tmp_path / "out" / "nobox.h5"
    rc, lines = _cli(capsys, seq, out)
    assert rc == 1 and len(lines) == 1 and "nobox.h5: no 'bbox'" in lines[0] and "use frame" in lines[0]
    rc, lines = _cli(capsys, seq, out, tiny_params(input="frame"))  # full frames need no boxes
    assert rc == 0 and out.exists()
    out.unlink()
    rc, lines = _cli(capsys, seq, out, tiny_params(input="frame", backend="raft"))
    assert rc == 1 and len(lines) == 1 and "dynamics.raft.checkpoint" in lines[0]
    params = tiny_params(input="frame")
    params["solver"] = dict(params["solver"], robust="median")
    rc, lines = _cli(capsys, seq, out, params)
    assert rc == 1 and len(lines) == 1 and "dynamics.solver: robust must be" in lines[0]
    rc, lines = _cli(capsys, seq, out, tiny_params(input="pixels"))
    assert rc == 1 and len(lines) == 1 and "dynamics: input must be crop or frame" in lines[0]
    assert _no_outputs(out.parent)


def test_truncated_frames_are_one_line(tmp_path, capsys):
    seq = tmp_path / "short.h5"
    moving_texture_sequence(seq)
    with h5py.File(seq, "a") as f:
        f.attrs["n_frames"] = 10  # says 10, holds 8
        del f["bbox"]
        f["bbox"] = np.tile(np.array([[64, 48, 36, 56]], np.float32), (10, 1))
    out = tmp_path / "out" / "short.h5"
    rc, lines = _cli(capsys, seq, out, tiny_params(input="frame"))
    assert rc == 1 and len(lines) == 1 and "short.h5" in lines[0]
    assert _no_outputs(out.parent)
