# Helpers shared by the workflow files (config validation, sequence lists, paths).

import json
import os
import sys
from pathlib import Path

# Rules call `python -m hmr`: every job sees this checkout's package and, unless --use-conda
# puts a conda env in charge, the interpreter that runs Snakemake (e.g. .venv/bin/python).
from snakemake.settings.types import DeploymentMethod

sys.path.insert(0, workflow.basedir)
_py_bin = "" if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method else (
    f'export PATH="{Path(sys.executable).parent}:$PATH"; '
)
# HDF5's file locks fail on many shared filesystems: the SLURM profile sets
# `hdf5_file_locking=false` (config), which exports HDF5_USE_FILE_LOCKING=FALSE to every job.
_h5_lock = "" if config.get("hdf5_file_locking", True) else "export HDF5_USE_FILE_LOCKING=FALSE; "
shell.prefix(f'export PYTHONPATH="{workflow.basedir}:$PYTHONPATH"; {_py_bin}{_h5_lock}')

from hmr.config import ConfigError, validate_config
from hmr.io.manifest import read_manifest

try:
    validate_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")
except ConfigError as exc:
    # one line naming the key; no traceback
    print(f"Config error: {exc}", file=sys.stderr)
    sys.exit(1)


SPLITS = ("train", "val", "test")
EMBEDDED_BODY_MODEL = "results/body_model/anny_smpl.pkl"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def datasets_of_type(kind):
    return [name for name, d in config["datasets"].items() if d["type"] == kind]


def body_model_path():
    """The SMPL-format model every stage uses: the configured file or the embedded one."""
    return config["body_model"]["smpl_path"] or EMBEDDED_BODY_MODEL


def synthetic_split_of(dataset, seq):
    return seq.split("_")[0]


def sequence_names(dataset, split=None):
    """Sequence names of a dataset (optionally one split), known before anything runs."""
    d = config["datasets"][dataset]
    if d["type"] == "synthetic":
        names = [f"{s}_{i:03d}" for s in SPLITS for i in range(d["splits"][s])]
        return [n for n in names if split is None or n.startswith(f"{split}_")]
    if d["type"] == "sequences":
        df = read_manifest(Path(d["path"]) / "manifest.csv")
        return [s for s, sp in zip(df.seq, df.split) if split is None or sp == split]
    videos = sorted(p for p in Path(d["path"]).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    return [p.stem for p in videos] if split in (None, "none") else []


def video_file(dataset, seq):
    folder = Path(config["datasets"][dataset]["path"])
    matches = [p for p in folder.iterdir() if p.stem == seq and p.suffix.lower() in VIDEO_SUFFIXES]
    return str(matches[0])


def sequence_file(dataset, seq):
    """Path of one sequence file: the user's folder for `sequences`, data/ otherwise."""
    d = config["datasets"][dataset]
    if d["type"] == "sequences":
        return str(Path(d["path"]) / f"{seq}.h5")
    return f"data/{dataset}/{seq}.h5"


def manifest_file(dataset):
    d = config["datasets"][dataset]
    if d["type"] == "sequences":
        return str(Path(d["path"]) / "manifest.csv")
    return f"data/{dataset}/manifest.csv"


def json_param(value):
    """A config section as compact JSON, for `--params {params.cfg:q}` on a command line."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def all_targets():
    targets = [manifest_file(name) for name in config["datasets"]]
    targets.append(f"results/{config['preview']['dataset']}/preview.png")
    return targets
