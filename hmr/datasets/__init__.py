"""Importers that turn real datasets, in their official layouts, into our sequence files.

One module per dataset type (the ``type`` of a ``datasets`` entry in the config):

============== ====================================================================
type           module
============== ====================================================================
``3dpw``       :mod:`hmr.datasets.threedpw`  3DPW sequenceFiles pickles + imageFiles
``h36m``       :mod:`hmr.datasets.h36m`      Human3.6M videos + D3/D2 position CDFs
``mpi_inf_3dhp`` :mod:`hmr.datasets.mpi_inf_3dhp` training annot.mat + videos, test set
``insta_variety`` :mod:`hmr.datasets.insta_variety` an npz export of InstaVariety
``penn_action`` :mod:`hmr.datasets.penn_action` frames/ + labels/*.mat
``posetrack``  :mod:`hmr.datasets.posetrack`  PoseTrack 2018 json + images, one sequence per track
``vibe_db``    :mod:`hmr.datasets.vibe_db`   VIBE's preprocessed ``*_db.pt`` files
============== ====================================================================

AMASS is a motion source, not a video dataset: the synthetic generator reads it
(``datasets.<name>.amass_dir`` of a ``synthetic`` dataset, :mod:`hmr.synthetic.amass`).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from hmr.body.joint_sets import JOINT_SETS, PROTOCOL_JOINT_SETS
from hmr.datasets.common import DatasetError, ScanMemo, SeqSource
from hmr.io.sequence import Sequence, write_sequence

log = logging.getLogger(__name__)

DATASET_MODULES: dict[str, str] = {
    "3dpw": "hmr.datasets.threedpw",
    "h36m": "hmr.datasets.h36m",
    "mpi_inf_3dhp": "hmr.datasets.mpi_inf_3dhp",
    "insta_variety": "hmr.datasets.insta_variety",
    "penn_action": "hmr.datasets.penn_action",
    "posetrack": "hmr.datasets.posetrack",
    "vibe_db": "hmr.datasets.vibe_db",
}
REAL_DATASET_TYPES: tuple[str, ...] = tuple(DATASET_MODULES)
_COMMON_KEYS = ("type", "root", "metric_joint_set")


def importer(kind: str) -> ModuleType:
    """The importer module of dataset type ``kind``."""
    if kind not in DATASET_MODULES:
        raise DatasetError(f"unknown dataset type '{kind}' (known: {', '.join(DATASET_MODULES)})")
    return importlib.import_module(DATASET_MODULES[kind])


def options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The importer's options: its ``DEFAULTS`` overridden by the config section."""
    module = importer(cfg["type"])
    unknown = sorted(set(cfg) - set(module.DEFAULTS) - set(_COMMON_KEYS))
    if unknown:
        raise DatasetError(f"dataset type {cfg['type']}: unknown option(s) {', '.join(unknown)}")
    return {**module.DEFAULTS, **{k: v for k, v in cfg.items() if k not in _COMMON_KEYS}}


def metric_joint_set(cfg: Mapping[str, Any]) -> str:
    """The joint set metrics are reported on for this dataset: the config's ``metric_joint_set``,
    else the protocol's default (:data:`hmr.body.joint_sets.PROTOCOL_JOINT_SETS`)."""
    name = cfg.get("metric_joint_set") or PROTOCOL_JOINT_SETS.get(cfg["type"], "smpl24")
    if name not in JOINT_SETS:
        raise DatasetError(f"metric_joint_set '{name}' is not a joint set ({', '.join(sorted(JOINT_SETS))})")
    return name


def scan_dataset(cfg: Mapping[str, Any], cache_dir: str | None = None) -> list[SeqSource]:
    """Every sequence of the dataset at ``cfg['root']`` (sorted by name, names unique)."""
    root = Path(cfg["root"])
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset root folder not found")
    sources = importer(cfg["type"]).scan(root, options(cfg), ScanMemo(cache_dir))
    if not sources:
        raise DatasetError(f"{root}: no sequences found for a {cfg['type']} dataset (check root and its options)")
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DatasetError(f"{root}: sequence name(s) occur twice: {', '.join(dup[:5])}")
    return sorted(sources, key=lambda s: s.name)


def load_sequence(cfg: Mapping[str, Any], dataset: str, source: SeqSource) -> Sequence:
    """Read one sequence of a dataset into a :class:`Sequence` (nothing written)."""
    seq = importer(cfg["type"]).load(Path(cfg["root"]), options(cfg), source, dataset)
    seq.info.setdefault("split", source.split)
    seq.info["source_type"] = cfg["type"]
    seq.info["metric_joint_set"] = metric_joint_set(cfg)
    return seq


def import_sequence(cfg: Mapping[str, Any], dataset: str, seq: str, out: str | Path,
                    source: SeqSource | None = None, cache_dir: str | None = None) -> Sequence:
    """Import sequence ``seq`` of the dataset described by ``cfg`` and write it atomically to
    ``out`` (nothing is written on bad input)."""
    if source is None:
        found = [s for s in scan_dataset(cfg, cache_dir) if s.name == seq]
        if not found:
            raise DatasetError(f"{cfg['root']}: no sequence '{seq}' in this {cfg['type']} dataset")
        source = found[0]
    sequence = load_sequence(cfg, dataset, source)
    write_sequence(out, sequence, config={"dataset": dict(cfg)})
    log.info("wrote %s: %d frames, split %s", out, sequence.n_frames, sequence.info["split"])
    return sequence
