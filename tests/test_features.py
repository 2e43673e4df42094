"""Features stage: checkpoint loading (SPIN key mapping, torchvision files, wrong keys), streaming
extraction (batch-size independent, order kept), precomputed features, the crop augmentation's
geometry, the SPIN-style pretraining (loss decreases, deterministic), and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
import torchvision

from hmr.cli import main
from hmr.errors import InputError
from hmr.features.backbone import (
    CheckpointError,
    build_backbone,
    load_backbone,
    normalize_crops,
    spin_to_torchvision,
    use_bf16,
)
from hmr.features.crop import crop_frames
from hmr.features.extract import FeatureExtractor, extract_features, read_features
from hmr.features.fast_frames import iter_stored_frames
from hmr.features.pretrain import pa_mpjpe, pretrain_backbone
from hmr.features.pretrain_data import CropSet, augment_batch, load_crops
from hmr.features.spin_head import mean_params, mean_rotations, weak_perspective
from hmr.io.h5 import read_attrs
from hmr.io.sequence import Sequence, iter_frames, write_sequence
from hmr.model.rotations import axis_angle_to_rotmat

PARAMS = {"arch": "resnet18", "input_size": 32, "crop_scale": 1.2, "weights": None,
          "weights_format": "spin", "use_precomputed": True, "batch_size": 5, "precision": "fp32",
          "channels_last": True, "device": "cpu", "prefetch": True, "threads": 1}
PRETRAIN = {"dataset": "synthetic", "epochs": 5, "batch_size": 8, "lr": 1e-3, "weight_decay": 1e-4,
            "warmup_steps": 1, "loss_weights": {"joints2d": 5.0, "joints3d": 5.0, "pose": 1.0, "betas": 0.01},
            "augment": {"zoom": 0.15, "shift": 0.1, "color": 0.2}, "context_margin": 1.25,
            "frame_stride": 1, "val_stride": 3, "val_every": 0, "log_every": 1, "head_hidden": 64,
            "head_iterations": 3, "dropout": 0.0}


def _torchvision_state(arch: str = "resnet18", seed: int = 0) -> dict[str, torch.Tensor]:
    """A torchvision ResNet's state dict with random weights and non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    net = getattr(torchvision.models, arch)(weights=None)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return net.state_dict()


def _reference(state: dict[str, torch.Tensor], arch: str = "resnet18") -> torch.nn.Module:
    net = build_backbone(arch)
    net.load_state_dict({k: v for k, v in state.items() if not k.startswith("fc.")})
    return net.eval()


def _spin_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """SPIN's layout: DataParallel prefix, no classifier, plus the HMR regressor's keys."""
    g = torch.Generator().manual_seed(1)
    out = {f"module.{k}": v for k, v in state.items() if not k.startswith("fc.")}
    out.update({"module.fc1.weight": torch.randn(1024, 512 + 157, generator=g), "module.fc1.bias": torch.zeros(1024),
                "module.fc2.weight": torch.randn(1024, 1024, generator=g), "module.fc2.bias": torch.zeros(1024),
                "module.decpose.weight": torch.randn(144, 1024, generator=g), "module.decpose.bias": torch.zeros(144),
                "module.decshape.weight": torch.randn(10, 1024, generator=g), "module.decshape.bias": torch.zeros(10),
                "module.deccam.weight": torch.randn(3, 1024, generator=g), "module.deccam.bias": torch.zeros(3),
                "module.init_pose": torch.zeros(1, 144), "module.init_shape": torch.zeros(1, 10),
                "module.init_cam": torch.tensor([[0.9, 0.0, 0.0]])})
    return out


@pytest.fixture(scope="module")
def tv_state():
    return _torchvision_state()


@pytest.fixture(scope="module")
def spin_ckpt(tv_state, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "spin_model_checkpoint.pth.tar"
    torch.save({"model": _spin_layout(tv_state), "optimizer": {"state": {}, "param_groups": []},
                "epoch": 3, "total_step_count": 1000}, path)
    return path


# --- checkpoints -----------------------------------------------------------------------------------

def test_spin_key_mapping_reproduces_features(tv_state, spin_ckpt):
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = _reference(tv_state)(x)
        got = load_backbone("resnet18", spin_ckpt, "spin")(x)
    assert got.shape == (3, 512)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    mapped = spin_to_torchvision(_spin_layout(tv_state))
    assert "conv1.weight" in mapped and "layer4.1.bn2.running_var" in mapped
    assert not any(k.startswith(("module.", "fc1", "decpose", "init_")) for k in mapped)


def test_torchvision_checkpoint(tv_state, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(tv_state, path)  # as torchvision ships them: a bare state dict with fc.*
    x = torch.randn(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(load_backbone("resnet18", path, "torchvision")(x),
                                   _reference(tv_state)(x), rtol=0, atol=0)


def _one_line_error(exc_info, name: str) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and name in msg
    return msg


def test_wrong_keys_one_line(tv_state, tmp_path):
    bad = {k: v for k, v in _spin_layout(tv_state).items() if not k.startswith("module.layer4.")}
    bad["module.head.weight"] = torch.zeros(3)
    path = tmp_path / "wrong_keys.pt"
    torch.save({"model": bad}, path)
    with pytest.raises(CheckpointError) as e:
        load_backbone("resnet18", path, "spin")
    msg = _one_line_error(e, "wrong_keys.pt")
    assert "missing layer4.0.conv1.weight" in msg and "unexpected head.weight" in msg

    path50 = tmp_path / "resnet50.pth"  # the wrong architecture: keys (and shapes) do not fit
    torch.save(_torchvision_state("resnet50"), path50)
    with pytest.raises(CheckpointError) as e:
        load_backbone("resnet18", path50, "torchvision")
    assert "not a torchvision resnet18 checkpoint" in _one_line_error(e, "resnet50.pth")

    shaped = dict(tv_state)
    shaped["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    torch.save(shaped, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match=r"shape.pth: 'conv1.weight' has shape \(64, 3, 3, 3\)"):
        load_backbone("resnet18", tmp_path / "shape.pth", "torchvision")


def test_unloadable_checkpoints(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError) as e:
        load_backbone("resnet18", junk)
    assert "weights_only=True" in _one_line_error(e, "junk.pt")

    unsafe = tmp_path / "unsafe.pt"  # a pickled class: weights_only refuses to run it
    torch.save({"model": torch.nn.Linear(2, 2)}, unsafe)
    with pytest.raises(CheckpointError) as e:
        load_backbone("resnet18", unsafe)
    _one_line_error(e, "unsafe.pt")
    with pytest.raises(CheckpointError, match="missing.pt: checkpoint file not found"):
        load_backbone("resnet18", tmp_path / "missing.pt")


def test_precision_choice():
    cpu = torch.device("cpu")
    assert use_bf16("bf16", cpu) and not use_bf16("fp32", cpu)
    with pytest.raises(InputError, match="features.precision"):
        use_bf16("fp8", cpu)


# --- extraction ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extractor(tv_state, tmp_path_factory) -> FeatureExtractor:
    path = tmp_path_factory.mktemp("tv") / "resnet18.pth"
    torch.save(tv_state, path)
    return FeatureExtractor.from_params(PARAMS, weights=path, weights_format="torchvision")


def test_streaming_matches_one_batch(tiny_dataset, extractor, tmp_path):
    seq = tiny_dataset / "test_000.h5"
    outs = {}
    for batch, prefetch in ((5, True), (5, False), (12, True), (1, True)):
        out = tmp_path / f"b{batch}_{prefetch}.h5"
        extract_features(seq, out, {**PARAMS, "batch_size": batch, "prefetch": prefetch}, extractor=extractor)
        outs[(batch, prefetch)] = read_features(out)
    f = outs[(12, True)]
    assert f.shape == (12, 512) and f.dtype == np.float32
    for key, g in outs.items():
        np.testing.assert_allclose(g, f, rtol=1e-4, atol=1e-5, err_msg=str(key))
    # the same as cropping every frame at once and one forward pass, in frame order
    with h5py.File(seq) as h:
        frames, bbox = h["frames"][()], h["bbox"][()]
    with torch.no_grad():
        x = normalize_crops(torch.from_numpy(crop_frames(frames, bbox, 32, 1.2)))
        want = extractor.net(x.contiguous(memory_format=torch.channels_last)).numpy()
    np.testing.assert_allclose(f, want, rtol=1e-4, atol=1e-5)
    assert np.abs(f[0] - f[-1]).max() > 1e-3  # frames differ: order is checked, not constants
    a = read_attrs(tmp_path / "b12_True.h5")
    assert a["backbone"] == "resnet18" and a["precision"] == "fp32" and a["weights"].endswith("resnet18.pth")


def test_stored_frames_reader_matches_h5py(tiny_dataset, tmp_path):
    seq = tiny_dataset / "test_000.h5"
    for batch in (5, 12):
        fast = list(iter_stored_frames(seq, batch))
        plain = list(iter_frames(seq, batch))
        assert [len(b) for b in fast] == [len(b) for b in plain]
        np.testing.assert_array_equal(np.concatenate(fast), np.concatenate(plain))
    # another storage layout (uncompressed frames) goes through iter_frames
    other = tmp_path / "plain.h5"
    with h5py.File(seq) as src, h5py.File(other, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        dst["frames"] = src["frames"][()]
        dst["bbox"] = src["bbox"][()]
    np.testing.assert_array_equal(np.concatenate(list(iter_stored_frames(other, 5))),
                                  np.concatenate(list(iter_frames(seq, 5))))


def test_bf16_close_to_fp32(tiny_dataset, extractor):
    with h5py.File(tiny_dataset / "test_000.h5") as h:
        crops = crop_frames(h["frames"][:4], h["bbox"][:4], 32, 1.2)
    fp32 = extractor.forward_crops(crops)
    extractor.bf16 = True
    try:
        bf16 = extractor.forward_crops(crops)
    finally:
        extractor.bf16 = False
    rel = np.linalg.norm(bf16 - fp32, axis=1) / np.linalg.norm(fp32, axis=1)
    assert rel.max() < 0.05


def _write_small(path: Path, T: int = 5, bbox=None, extra=None) -> Path:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (T, 40, 48, 3), dtype=np.uint8)
    bbox = np.tile([24.0, 20.0, 16.0, 30.0], (T, 1)).astype(np.float32) if bbox is None else bbox
    write_sequence(path, Sequence(name=path.stem, dataset="t", fps=30.0, width=48, height=40, n_frames=T,
                                  frames=frames, bbox=bbox, arrays=extra or {}))
    return path


def test_precomputed_features_are_copied(tmp_path):
    feats = np.random.default_rng(1).normal(size=(5, 2048)).astype(np.float32)
    seq = _write_small(tmp_path / "vibe_seq.h5", extra={"precomputed/features": feats})
    out = tmp_path / "out.h5"
    # no backbone is built: the weights named here do not even exist
    s = extract_features(seq, out, {**PARAMS, "weights": str(tmp_path / "none.pt")})
    assert s["backbone"] == "precomputed"
    np.testing.assert_array_equal(read_features(out), feats)
    assert read_attrs(out)["backbone"] == "precomputed"


# --- pretraining -----------------------------------------------------------------------------------

def test_mean_params_and_geometry():
    R0 = axis_angle_to_rotmat(torch.tensor([0.3, -0.2, 0.1])).numpy()
    jitter = axis_angle_to_rotmat(torch.randn(50, 24, 3, generator=torch.Generator().manual_seed(0)) * 0.05).numpy()
    # rotations paired with their inverses about R0: the chordal mean is R0 exactly
    both = np.concatenate([R0 @ jitter, R0 @ jitter.transpose(0, 1, 3, 2)])
    assert np.abs(mean_rotations(both) - R0).max() < 1e-5
    rng = np.random.default_rng(0)
    J = rng.normal(size=(20, 24, 3)) * 0.3
    J -= J[:, :1]
    x = 0.8 * (J[..., :2] + np.array([0.1, -0.05]))
    _, _, cam = mean_params(np.tile(np.eye(3), (20, 24, 1, 1)), np.zeros((20, 10)), J, x,
                            np.ones((20, 24), bool))
    assert cam[0].item() == pytest.approx(0.8, rel=1e-6)
    proj = weak_perspective(torch.tensor(J[:1]), torch.tensor([[0.8, 0.1, -0.05]], dtype=torch.float64))
    np.testing.assert_allclose(proj[0].numpy(), x[0], atol=1e-12)
    # PA-MPJPE removes a similarity transform exactly
    Rz = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, 0.7], dtype=torch.float64)).numpy()
    assert pa_mpjpe(1.3 * J @ Rz.T + 0.2, J).max() < 1e-9


def test_augmentation_moves_targets_with_pixels():
    ctx, size = 40, 32
    img = np.zeros((1, ctx, ctx, 3), np.uint8)
    img[0, 10:13, 25:28] = 255  # a dot centred on pixel (26, 11)
    j2 = torch.zeros(1, 24, 2)
    j2[0, 0] = torch.tensor([(26 + 0.5) / ctx * 2 - 1, (11 + 0.5) / ctx * 2 - 1])
    data = CropSet(images=torch.from_numpy(img), margin=ctx / size, joints2d=j2,
                   visible=torch.ones(1, 24, dtype=torch.bool), joints3d=torch.zeros(1, 24, 3),
                   rotmats=torch.eye(3).expand(1, 24, 3, 3), betas=torch.zeros(1, 10),
                   valid=torch.ones(1, dtype=torch.bool))
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        x, t = augment_batch(data, torch.tensor([0]), size, gen, zoom=0.15, shift=0.1)
        y, xx = np.unravel_index(int(x[0, 0].argmax()), (size, size))
        px = (t[0, 0].numpy() + 1) / 2 * size - 0.5
        assert abs(px[0] - xx) <= 1.0 and abs(px[1] - y) <= 1.0


def test_unaugmented_training_crop_is_the_stage_crop(tiny_dataset):
    seq = tiny_dataset / "train_000.h5"
    data = load_crops([seq], 32, 1.2, margin=1.25)
    x, _ = augment_batch(data, torch.arange(3), 32, None)
    with h5py.File(seq) as h:
        direct = normalize_crops(torch.from_numpy(crop_frames(h["frames"][:3], h["bbox"][:3], 32, 1.2)))
    # identical sampling positions; OpenCV's fixed-point (1/32 px) warp rounds them a little
    # differently for the two offsets: at most a few grey levels on a few pixels
    diff = (x - direct).abs() * 0.225 * 255
    assert diff.max() <= 3 and diff.mean() < 0.05


def _pretrain(tiny_dataset, embedded_model_path, out_dir: Path, seed: int = 0):
    params = {**PARAMS, "pretrain": PRETRAIN}
    out = out_dir / "backbone.pt"
    torch.set_num_threads(1)
    s = pretrain_backbone([tiny_dataset / "train_000.h5", tiny_dataset / "train_001.h5"],
                          [tiny_dataset / "test_000.h5"], embedded_model_path, params, seed=seed,
                          out=out, log_csv=out_dir / "log.csv", plot=out_dir / "loss.png")
    return s, out


def test_pretraining_learns_and_is_deterministic(tiny_dataset, embedded_model_path, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    s1, ck1 = _pretrain(tiny_dataset, embedded_model_path, tmp_path / "a")
    s2, ck2 = _pretrain(tiny_dataset, embedded_model_path, tmp_path / "b")
    losses = [r["loss"] for r in s1["rows"] if "loss" in r]
    assert s1["steps"] == 15 and len(losses) == 15
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    assert losses == [r["loss"] for r in s2["rows"] if "loss" in r]
    sd1, sd2 = torch.load(ck1, weights_only=True), torch.load(ck2, weights_only=True)
    assert all(torch.equal(sd1["model"][k], sd2["model"][k]) for k in sd1["model"])
    assert np.isfinite(s1["final"]["val_mpjpe_mm"]) and np.isfinite(s1["initial"]["val_mpjpe_mm"])
    assert (tmp_path / "a" / "log.csv").read_text().startswith("step,epoch,lr,loss")
    assert (tmp_path / "a" / "loss.png").stat().st_size > 1000
    # the checkpoint is SPIN-format: the features stage reads it like SPIN's own files
    assert {"fc1.weight", "decpose.weight", "init_pose", "conv1.weight"} <= set(sd1["model"])
    net = load_backbone("resnet18", ck1, "spin")
    torch.testing.assert_close(net.state_dict()["layer4.1.bn2.weight"], sd1["model"]["layer4.1.bn2.weight"])
    with pytest.raises(CheckpointError, match="backbone is resnet18, features.arch says resnet50"):
        load_backbone("resnet50", ck1, "spin")


# --- CLI and bad input -------------------------------------------------------------------------------

def _cli(args, capsys) -> tuple[int, str]:
    rc = main(args)
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    return rc, "\n".join(err)


def test_cli_features(tiny_dataset, spin_ckpt, tmp_path, capsys):
    out = tmp_path / "test_000.h5"
    rc, err = _cli(["features", "--sequence", str(tiny_dataset / "test_000.h5"), "--params",
                    json.dumps(PARAMS), "--weights", str(spin_ckpt), "--weights-format", "spin",
                    "--out", str(out)], capsys)
    assert rc == 0 and not err
    assert read_features(out).shape == (12, 512)


def _corrupt_frames(path: Path) -> None:
    with h5py.File(path, "r") as f:
        info = f["frames"].id.get_chunk_info(2)
    with open(path, "r+b") as fh:
        fh.seek(info.byte_offset + 4)
        fh.write(b"\xff" * 64)


@pytest.mark.parametrize("case", ["zero_frames", "corrupt", "outside", "no_bbox", "wrong_keys"])
def test_bad_input_one_line_no_output(case, tmp_path, capsys, tv_state):
    seq = tmp_path / f"{case}.h5"
    weights = None
    if case == "zero_frames":  # as an importer might leave it (write_sequence cannot chunk T=0)
        with h5py.File(seq, "w") as f:
            f.attrs.update(name="zero_frames", dataset="t", fps=30.0, n_frames=0, width=48, height=40)
            f["frames"] = np.zeros((0, 40, 48, 3), np.uint8)
            f["bbox"] = np.zeros((0, 4), np.float32)
        expect = "has no frames"
    elif case == "corrupt":
        _write_small(seq)
        _corrupt_frames(seq)
        expect = "frames unreadable"
    elif case == "outside":
        _write_small(seq, bbox=np.tile([400.0, 20.0, 16.0, 30.0], (5, 1)).astype(np.float32))
        expect = "outside the 48x40 image"
    elif case == "no_bbox":
        _write_small(seq)
        with h5py.File(seq, "a") as f:
            del f["bbox"]
        expect = "no 'bbox'"
    else:
        _write_small(seq)
        weights = tmp_path / "bad.pt"
        torch.save({"model": {"conv1.weight": tv_state["conv1.weight"]}}, weights)
        expect = "bad.pt: not a spin resnet18 checkpoint: missing bn1.weight"
    out = tmp_path / "out" / "features.h5"
    args = ["features", "--sequence", str(seq), "--params", json.dumps(PARAMS), "--out", str(out)]
    if weights:
        args += ["--weights", str(weights)]
    rc, err = _cli(args, capsys)
    assert rc == 1
    assert err.count("\n") == 0 and expect in err, err
    assert case == "wrong_keys" or seq.name in err
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())
