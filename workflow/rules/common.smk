# Helpers shared by the workflow files (config validation, sequence lists, paths).

import functools
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


SPLITS = ("pretrain", "train", "val", "test")
EMBEDDED_BODY_MODEL = "results/body_model/anny_smpl.pkl"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


def datasets_of_type(kind):
    return [name for name, d in config["datasets"].items() if d["type"] == kind]


def body_model_path():
    """The SMPL-format model every stage uses: the configured file or the embedded one."""
    return config["body_model"]["smpl_path"] or EMBEDDED_BODY_MODEL


def synthesize_params(dataset):
    """What rendering a synthetic sequence reads, as JSON: the dataset's section without `type` and
    `splits` (a sequence depends on its name, not on how many others there are: adding test
    sequences renders only those)."""
    d = config["datasets"][dataset]
    return json_param({k: v for k, v in d.items() if k not in ("type", "splits")})


@functools.cache
def sequence_splits(dataset):
    """{seq: split} of a dataset in its sequence order, known before anything runs (read once per
    workflow: a `sequences` dataset's manifest, a real dataset's scan). The demo's videos: "demo"."""
    d = config["datasets"].get(dataset)
    if d is None:
        return {name: "demo" for name in demo_videos()}
    if d["type"] == "synthetic":
        return {f"{s}_{i:03d}": s for s in SPLITS for i in range(d["splits"].get(s, 0))}
    if d["type"] == "sequences":
        df = read_manifest(Path(d["path"]) / "manifest.csv")
        return dict(zip(df.seq, df.split))
    if d["type"] in REAL_DATASET_TYPES:
        return {n: s.split for n, s in real_dataset_sources(dataset).items()}
    videos = sorted(p for p in Path(d["path"]).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    return {p.stem: "none" for p in videos}


def sequence_names(dataset, split=None):
    """Sequence names of a dataset (optionally one split), known before anything runs."""
    return [n for n, s in sequence_splits(dataset).items() if split is None or s == split]


def video_file(dataset, seq):
    folder = Path(config["datasets"][dataset]["path"])
    matches = [p for p in folder.iterdir() if p.stem == seq and p.suffix.lower() in VIDEO_SUFFIXES]
    return str(matches[0])


def sequence_file(dataset, seq):
    """Path of one sequence file: the user's folder for `sequences`, data/ otherwise (the demo's
    tracked videos included)."""
    if dataset not in config["datasets"]:  # the demo dataset (config demo.dataset)
        return f"data/{dataset}/{seq}.h5"
    d = config["datasets"][dataset]
    if d["type"] == "sequences":
        return str(Path(d["path"]) / f"{seq}.h5")
    return f"data/{dataset}/{seq}.h5"


def manifest_file(dataset):
    d = config["datasets"][dataset]
    if d["type"] == "sequences":
        return str(Path(d["path"]) / "manifest.csv")
    return f"data/{dataset}/manifest.csv"


# --- compute resources (config `compute`; profiles/default limits `gpu` to one local card) ---
def training_gpus():
    """GPUs per training job (pretrain_backbone, train_embedding*, train_regressor): the rules'
    `gpu` resource, which the SLURM executor turns into --gpus. 0: CPU only."""
    return int(config.get("compute", {}).get("training_gpus", 0))


def features_gpus():
    """GPUs per features job (0 or 1)."""
    return int(config.get("compute", {}).get("features_gpus", 0))


def sequences_per_job():
    """Sequences per job of the per-sequence stages (synthesize, keypoints, features, dynamics,
    embed_sequences): one process loads its imports and models once for all of them."""
    return int(config.get("compute", {}).get("sequences_per_job", 32))


def ddp_launcher():
    """How a DDP-capable training (embedding, regressor) is started: `python -m hmr` for one
    process, `torchrun -m hmr` with one process per GPU when a job has several."""
    n = training_gpus()
    return f"torchrun --standalone --nproc_per_node {n} -m hmr" if n > 1 else "python -m hmr"


def json_param(value):
    """A config section as compact JSON, for `--params {params.cfg:q}` on a command line."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def has_2d_ground_truth(dataset):
    """Whether keypoint accuracy can be scored: the synthetic benchmark, or a `sequences` folder
    whose manifest marks sequences with ground truth."""
    d = config["datasets"][dataset]
    if d["type"] == "synthetic":
        return True
    return d["type"] == "sequences" and bool(read_manifest(manifest_file(dataset)).has_gt.any())


def all_targets():
    """The full reproduction: data, previews, keypoint accuracy, the embedding's evaluation,
    every variant's metrics and the report's tables and figures (the demo is a separate target)."""
    targets = [manifest_file(name) for name in config["datasets"]]
    targets.append(f"results/{config['preview']['dataset']}/preview.png")
    targets += [f"results/{d}/keypoints_pck.csv" for d in config["datasets"] if has_2d_ground_truth(d)]
    targets.append("results/models/embedding_eval.csv")
    targets += [f"results/{d}/metrics/{r}.csv" for d in config["regressor"]["eval_datasets"]
                for v in config["regressor"]["variants"] for r in regressor_runs(v)]
    targets += report_targets()
    return targets


# --- keypoints stage (workflow/rules/keypoints.smk) ---
def keypoints_backend(dataset):
    kp = config["keypoints"]
    return kp.get("backend_by_dataset", {}).get(dataset, kp["backend"])


def keypoints_inputs(dataset, seqs):
    """The sequence files, plus the body model (simulated detector) or mmpose's model files."""
    inputs = {"sequence": [sequence_file(dataset, s) for s in seqs]}
    backend = keypoints_backend(dataset)
    if backend == "synthetic-detector":
        inputs["body_model"] = body_model_path()
    if backend == "mmpose":
        mm = config["keypoints"]["mmpose"]
        inputs.update({k: mm[k] for k in ("config", "checkpoint") if mm.get(k)})
    return inputs


def keypoints_pck_sequences(dataset):
    """Sequences the PCK table covers: the test split, or every sequence when there is none."""
    return sequence_names(dataset, "test") or sequence_names(dataset)


def keypoints_params(dataset):
    """The config subsection the dataset's keypoints backend reads, as JSON (so that editing
    another backend's settings does not rerun these keypoints)."""
    section = {"mediapipe": "mediapipe", "mmpose": "mmpose", "synthetic-detector": "simulated"}
    key = section[keypoints_backend(dataset)]
    return json_param({key: config["keypoints"][key]})


# --- real datasets (workflow/rules/real_datasets.smk, hmr/datasets/) ---
# Each real dataset's root is scanned once when the workflow is parsed (facts about big annotation
# files are cached under .snakemake/hmr_dataset_scan); a bad layout stops the run with one line.
from hmr.datasets import REAL_DATASET_TYPES

_real_scans = {}


def real_dataset_sources(dataset):
    """{seq: SeqSource} of a real dataset (3dpw, h36m, ...): names, splits, input files."""
    if dataset not in _real_scans:
        from hmr.datasets import scan_dataset
        from hmr.errors import InputError

        try:
            sources = scan_dataset(config["datasets"][dataset], cache_dir=".snakemake/hmr_dataset_scan")
        except InputError as exc:
            print(f"Dataset error: datasets.{dataset}: {exc}", file=sys.stderr)
            sys.exit(1)
        _real_scans[dataset] = {s.name: s for s in sources}
    return _real_scans[dataset]


def _real_source(wc):
    sources = real_dataset_sources(wc.dataset)
    if wc.seq not in sources:
        raise ValueError(f"datasets.{wc.dataset}: no sequence '{wc.seq}' under {config['datasets'][wc.dataset]['root']}")
    return sources[wc.seq]


def real_dataset_inputs(wc):
    """The annotation files (and videos) one imported sequence reads."""
    return list(_real_source(wc).inputs)


def real_dataset_source(wc):
    """The sequence's scan entry as JSON, handed to `hmr import-dataset --source`."""
    return _real_source(wc).to_json()


def real_datasets_of_types(*kinds):
    return "|".join(n for n, d in config["datasets"].items() if d["type"] in kinds) or "(?!)"


for _name, _d in config["datasets"].items():
    if _d["type"] in REAL_DATASET_TYPES:
        real_dataset_sources(_name)


# --- dynamics stage (workflow/rules/dynamics.smk, hmr/flow/) ---
def dynamics_inputs(dataset, seqs):
    """The sequence files, plus RAFT's checkpoint when that backend is configured."""
    inputs = {"sequence": [sequence_file(dataset, s) for s in seqs]}
    dyn = config["dynamics"]
    if dyn["backend"] == "raft" and dyn["raft"].get("checkpoint"):
        inputs["checkpoint"] = dyn["raft"]["checkpoint"]
    return inputs


def dynamics_params():
    """The dynamics section as JSON without `threads` and the unused backends' settings (so that
    editing those does not rerun the stage)."""
    dyn = config["dynamics"]
    unused = {"threads"} | ({"farneback", "dis", "raft"} - {dyn["backend"]})
    return json_param({k: v for k, v in dyn.items() if k not in unused})


# --- features stage (workflow/rules/features.smk, hmr/features/) ---
PRETRAINED_BACKBONE = "results/models/backbone.pt"


def features_source():
    return config["features"].get("source", "resnet")


def features_pretrain_sequences(split):
    """Sequence files of the pretraining dataset: `train` gives features.pretrain.split (by default
    the `pretrain` split, disjoint from the regressor's training sequences), `val` is reported."""
    pre = config["features"]["pretrain"]
    name = pre["dataset"]
    if split == "train":
        split = pre.get("split", "pretrain")
    files = [sequence_file(name, s) for s in sequence_names(name, split)]
    if split != "val" and not files and features_source() != "blazepose" and not config["features"]["weights"]:
        print(f"Config error: features.pretrain: dataset '{name}' has no '{split}' sequences to pretrain "
              f"the backbone on (set datasets.{name}.splits.{split} or features.pretrain.split)", file=sys.stderr)
        sys.exit(1)
    return files


def _has_precomputed_features(path):
    """True when an existing sequence file ships precomputed/features (copied, no backbone)."""
    import h5py

    if not config["features"].get("use_precomputed", True) or not Path(path).is_file():
        return False
    try:
        with h5py.File(path, "r") as f:
            return "precomputed/features" in f
    except OSError:
        return False


def features_inputs(dataset, seqs):
    """The sequence files, plus the keypoints files (BlazePose landmarks) and the backbone: the
    configured checkpoint, or the DAG's pretrained one (neither is needed for sequence files that
    all carry precomputed features)."""
    files = [sequence_file(dataset, s) for s in seqs]
    inputs = {"sequence": files}
    if all(_has_precomputed_features(f) for f in files):
        return inputs
    if features_source() != "resnet":
        inputs["keypoints"] = [f"results/{dataset}/keypoints/{s}.h5" for s in seqs]
    if features_source() != "blazepose":
        inputs["weights"] = config["features"]["weights"] or PRETRAINED_BACKBONE
    return inputs


def features_weights_args(inputs):
    """`--keypoints FILES` and `--weights FILE` (+ `--weights-format spin` for the DAG's own
    pretrained backbone, which is written in SPIN's layout whatever features.weights_format says
    for user checkpoints), from features_inputs()."""
    args = f"--keypoints {' '.join(inputs['keypoints'])}" if "keypoints" in inputs else ""
    if "weights" not in inputs:
        return args
    fmt = " --weights-format spin" if inputs["weights"] == PRETRAINED_BACKBONE else ""
    return f"{args} --weights {inputs['weights']}{fmt}"


def features_params():
    """The features section as JSON without `threads` and `pretrain` (editing those must not
    rerun the extraction: the backbone file is an input and carries the pretraining)."""
    f = config["features"]
    return json_param({k: v for k, v in f.items() if k not in ("threads", "pretrain")})


def pretrain_params():
    """What the pretraining reads: the architecture, crop and precision keys and `pretrain`."""
    f = config["features"]
    keys = ("arch", "input_size", "crop_scale", "precision", "channels_last", "device", "pretrain")
    return json_param({k: f[k] for k in keys if k in f})


# --- report and demo (workflow/rules/report.smk, workflow/rules/demo.smk, hmr/report/, hmr/demo/) ---
from hmr.report.paper import VARIANTS as REPORT_TABLE_VARIANTS


def report_datasets():
    """Datasets whose ablations are reported: report.datasets, else regressor.eval_datasets."""
    return config["report"]["datasets"] or config["regressor"]["eval_datasets"]


def report_sequences(dataset):
    """Sequences the figures cover (those the metrics cover): the test split, else every one."""
    return sequence_names(dataset, "test") or sequence_names(dataset)


def report_figure_sequence(dataset):
    """The sequence of the per-frame and qualitative figures: report.figure_sequence or the first."""
    name = config["report"]["figure_sequence"]
    seqs = report_sequences(dataset)
    if name and name not in seqs:
        raise ValueError(f"report.figure_sequence: '{name}' is not a test sequence of {dataset}")
    return name or seqs[0]


def report_metrics_files(dataset):
    """The metrics CSVs of every run (seed) of every table variant."""
    return [f"results/{dataset}/metrics/{r}.csv" for v in REPORT_TABLE_VARIANTS for r in regressor_runs(v)]


def report_runs_arg(dataset):
    """`variant=run.csv,run-s1.csv,...` per table variant."""
    return " ".join(f"{v}=" + ",".join(f"results/{dataset}/metrics/{r}.csv" for r in regressor_runs(v))
                    for v in REPORT_TABLE_VARIANTS)


def report_baseline_files(dataset):
    return [f"results/{dataset}/metrics/baseline_{k}.csv" for k in BASELINE_KINDS]


def report_baselines_arg(dataset):
    return "--baselines " + " ".join(f"baseline_{k}=results/{dataset}/metrics/baseline_{k}.csv"
                                     for k in BASELINE_KINDS)


def report_train_names(dataset):
    """What is also scored on training sequences: the full variant's first run and the baselines."""
    if not regressor_train_metric_sequences(dataset):
        return []
    return ["full"] + [f"baseline_{k}" for k in BASELINE_KINDS]


def report_train_files(dataset):
    return [f"results/{dataset}/metrics_train/{n}.csv" for n in report_train_names(dataset)]


def report_train_arg(dataset):
    names = report_train_names(dataset)
    return ("--train " + " ".join(f"{n}=results/{dataset}/metrics_train/{n}.csv" for n in names)) if names else ""


def report_prediction_files(dataset, variants, seqs):
    return [f"results/{dataset}/predictions/{v}/{s}.h5" for v in variants for s in seqs]


def report_per_joint_arg(dataset):
    """`variant=file,file,...` per figure variant (files in the order of report_sequences)."""
    seqs = report_sequences(dataset)
    return " ".join(
        f"{v}=" + ",".join(report_prediction_files(dataset, [v], seqs))
        for v in config["report"]["figure_variants"]
    )


def has_smpl_ground_truth(dataset):
    """Whether a dataset's test sequences carry SMPL pose and shape (the qualitative figure draws
    the ground-truth mesh): synthetic and 3DPW always, Human3.6M with smpl_dir, a `sequences`
    folder when its first test sequence has gt/pose; the other datasets have 3D joints at most."""
    import h5py

    d = config["datasets"][dataset]
    if d["type"] in ("synthetic", "3dpw"):
        return True
    if d["type"] == "h36m":
        return bool(d.get("smpl_dir"))
    if d["type"] == "sequences":
        path = sequence_file(dataset, report_sequences(dataset)[0])
        with h5py.File(path, "r") as f:
            return "gt/pose" in f and "gt/betas" in f
    return False


def report_targets():
    """Every table and figure of the report (for the default target). The ablation tables need
    all seven variants: with a subset in regressor.variants only the metrics CSVs are targets."""
    if set(REPORT_TABLE_VARIANTS) - set(config["regressor"]["variants"]):
        return []
    targets = ["results/tables/summary.md"]
    for d in report_datasets():
        targets += [f"results/tables/ablation_{d}.md", f"results/tables/ablation_{d}.csv",
                    f"results/tables/paired_{d}.csv",
                    f"results/figures/accel_{d}.png", f"results/figures/per_joint_{d}.png"]
        if has_smpl_ground_truth(d):
            targets.append(f"results/figures/qualitative_{d}.png")
    return targets


DEMO_DATASET = config["demo"]["dataset"]
if DEMO_DATASET in config["datasets"]:
    print(f"Config error: demo.dataset: '{DEMO_DATASET}' is also a dataset in datasets; "
          "pick another name", file=sys.stderr)
    sys.exit(1)


def demo_videos():
    """{name: video path}: demo.video alone when set, else every video in the demo.videos folder."""
    d = config["demo"]
    if d["video"]:
        return {Path(d["video"]).stem: str(d["video"])}
    folder = Path(d["videos"])
    if not folder.is_dir():
        return {}
    return {p.stem: str(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES}


def demo_video_file(name):
    videos = demo_videos()
    if name not in videos:
        where = config["demo"]["video"] or f"{config['demo']['videos']}/"
        raise ValueError(f"demo: no video named '{name}' ({where}; suffixes {', '.join(VIDEO_SUFFIXES)})")
    return videos[name]


def demo_targets():
    """mesh.mp4 and alignment.json of every demo video (not part of the default target)."""
    return [f"results/demo/{name}/{out}" for name in demo_videos()
            for out in ("mesh.mp4", "alignment.json")]


# --- per-sequence stages in jobs of several sequences ---
# One file per sequence and stage, made by jobs of `compute.sequences_per_job` sequences of one
# split (each demo video its own job): starting Python and importing torch / mediapipe once per job
# instead of once per sequence. The jobs are rules defined in a loop (outputs are lists, which a
# wildcard cannot give); asking for one sequence's file runs its job.
def stage_datasets():
    """Datasets the per-sequence stages run on: every configured one and the demo's."""
    return list(config["datasets"]) + [DEMO_DATASET]


def sequence_jobs(dataset):
    """[(name suffix, log tag, [seq, ...])]: the dataset's sequences in jobs of
    sequences_per_job() of one split each; the log tag names the first and last sequence."""
    size = 1 if dataset == DEMO_DATASET else sequences_per_job()
    by_split = {}
    for seq, split in sequence_splits(dataset).items():
        by_split.setdefault(split, []).append(seq)
    jobs = []
    for seqs in by_split.values():
        for i in range(0, len(seqs), size):
            chunk = seqs[i : i + size]
            tag = chunk[0] if len(chunk) == 1 else f"{chunk[0]}-{chunk[-1]}"
            suffix = "".join(c if c.isalnum() else "_" for c in f"{dataset}_{len(jobs):03d}")
            jobs.append((suffix, tag, chunk))
    return jobs


# --- embedding stage (workflow/rules/embedding.smk) ---
_unknown = [d for d in config["embedding"]["datasets"] if d not in config["datasets"]]
if _unknown:
    print(f"Config error: embedding.datasets: {_unknown} not in datasets", file=sys.stderr)
    sys.exit(1)


def embedding_sequences(split):
    """(dataset, seq) pairs of the embedding datasets in one split."""
    return [(d, s) for d in config["embedding"]["datasets"] for s in sequence_names(d, split)]


def embedding_train_inputs(wildcards):
    pairs = embedding_sequences("train")
    inputs = {
        "sequences": [sequence_file(d, s) for d, s in pairs],
        "body_model": body_model_path(),
    }
    if config["embedding"]["train"]["detected_share"] > 0:
        inputs["keypoints"] = [f"results/{d}/keypoints/{s}.h5" for d, s in pairs]
    return inputs


def embedding_amass_dir():
    """embedding.amass.dir, else the amass_dir of a synthetic embedding dataset, else none."""
    emb = config["embedding"]["amass"]["dir"]
    if emb:
        return emb
    for d in config["embedding"]["datasets"]:
        ds = config["datasets"][d]
        if ds["type"] == "synthetic" and ds.get("amass_dir"):
            return ds["amass_dir"]
    return ""


def embedding_heldout_files():
    return [
        sequence_file(d, s)
        for split in config["embedding"]["eval"]["splits"]
        for d, s in embedding_sequences(split)
    ]


# --- regressor stage (workflow/rules/regressor.smk, hmr/model/, hmr/train/, hmr/eval/) ---
from hmr.model.variants import VARIANTS as REGRESSOR_VARIANTS

for _key in ("train_datasets", "eval_datasets"):
    for _d in config["regressor"][_key]:
        if _d not in config["datasets"]:
            print(f"Config error: regressor.{_key}: '{_d}' is not a dataset in datasets", file=sys.stderr)
            sys.exit(1)


from hmr.model.variants import parse_run, run_names

# a run is a variant trained with one seed: full, full-s1, full-s2, ... (hmr.model.variants.parse_run)
REGRESSOR_RUN = "(" + "|".join(REGRESSOR_VARIANTS) + r")(-s[1-9][0-9]*)?"


def regressor_variant(name):
    return parse_run(name)[0]


def regressor_seeds(variant):
    """Seeds a variant trains with: regressor.seeds for the seeded variants, else 1."""
    r = config["regressor"]
    return int(r.get("seeds", 1)) if variant in r.get("seeded_variants", []) else 1


def regressor_runs(variant):
    """The runs (variant x seed) of one variant."""
    return run_names(variant, regressor_seeds(variant))


def regressor_run_seed(wc):
    return int(config["seed"]) + parse_run(wc.variant)[1]


def regressor_train_pairs():
    """(dataset, seq) of every training sequence."""
    return [(d, s) for d in config["regressor"]["train_datasets"] for s in sequence_names(d, "train")]


def regressor_train_inputs(wc):
    v = regressor_variant(wc.variant)
    pairs = regressor_train_pairs()
    inputs = {
        "sequences": [sequence_file(d, s) for d, s in pairs],
        "features": [f"results/{d}/features/{s}.h5" for d, s in pairs],
        "body_model": body_model_path(),
    }
    if v.needs_embedding:
        inputs["embeddings"] = [f"results/{d}/embedding/{s}.h5" for d, s in pairs]
    if v.unc_loss:
        inputs["embedding_model"] = "results/models/embedding.pt"
    if v.use_d:
        inputs["dynamics"] = [f"results/{d}/dynamics/{s}.h5" for d, s in pairs]
    return inputs


def regressor_train_params():
    """The regressor section minus the keys that do not change a trained model."""
    skip = {"variants", "eval_datasets", "threads", "device", "save_vertices", "seeds", "seeded_variants",
            "train_split_metrics"}
    return json_param({k: v for k, v in config["regressor"].items() if k not in skip})


def regressor_optional_args(input, names):
    """`--name file(s)` for the optional inputs that this job has."""
    keys = set(input.keys())
    args = []
    for name in names:
        if name in keys:
            files = input[name]
            files = [files] if isinstance(files, str) else list(files)
            args.append(f"--{name.replace('_', '-')} " + " ".join(files))
    return " ".join(args)


def predict_inputs(run, pairs):
    """Inputs of one run's predictions of the (dataset, seq) pairs (rules predict_regressor and
    predict_tables): the model, and per sequence its file, features and embedding (sigma of the
    input pose is every variant's per-frame uncertainty output; u_t for some), plus d_t if used."""
    inputs = {"model": f"results/models/regressor_{run}.pt",
              "sequences": [sequence_file(d, s) for d, s in pairs],
              "features": [f"results/{d}/features/{s}.h5" for d, s in pairs],
              "embeddings": [f"results/{d}/embedding/{s}.h5" for d, s in pairs],
              "body_model": body_model_path()}
    if regressor_variant(run).use_d:
        inputs["dynamics"] = [f"results/{d}/dynamics/{s}.h5" for d, s in pairs]
    return inputs


def regressor_predict_inputs(wc):
    return predict_inputs(wc.variant, [(wc.dataset, wc.seq)])


from hmr.model.baselines import KINDS as BASELINE_KINDS

BASELINE_RUN = "baseline_(" + "|".join(BASELINE_KINDS) + ")"


def baseline_fit_inputs(wc):
    pairs = regressor_train_pairs()
    inputs = {"sequences": [sequence_file(d, s) for d, s in pairs]}
    if wc.kind == "per_frame":
        inputs["features"] = [f"results/{d}/features/{s}.h5" for d, s in pairs]
    return inputs


def baseline_inputs(kind, pairs):
    """Inputs of one baseline's predictions of the (dataset, seq) pairs (rules predict_baseline and
    predict_baseline_tables): the fitted model, the sequences, their features for per_frame."""
    inputs = {"model": f"results/models/baseline_{kind}.npz",
              "sequences": [sequence_file(d, s) for d, s in pairs], "body_model": body_model_path()}
    if kind == "per_frame":
        inputs["features"] = [f"results/{d}/features/{s}.h5" for d, s in pairs]
    return inputs


def baseline_predict_inputs(wc):
    return baseline_inputs(wc.kind, [(wc.dataset, wc.seq)])


def regressor_train_metric_sequences(dataset):
    """The first regressor.train_split_metrics training sequences (the generalisation gap)."""
    return sequence_names(dataset, "train")[: int(config["regressor"].get("train_split_metrics", 0))]


def regressor_eval_sequences(dataset):
    """Sequences a metrics table covers: the test split, or every sequence when there is none."""
    return sequence_names(dataset, "test") or sequence_names(dataset)


def table_prediction_pairs():
    """(dataset, seq) of every sequence a table scores: each evaluation dataset's test split (every
    sequence without one) and its first regressor.train_split_metrics training sequences."""
    datasets = dict.fromkeys(list(config["regressor"]["eval_datasets"]) + list(report_datasets()))
    return [(d, s) for d in datasets
            for s in dict.fromkeys(regressor_eval_sequences(d) + regressor_train_metric_sequences(d))]


def table_prediction_outputs(run):
    """The prediction files of table_prediction_pairs() for one run (a pattern such as "{variant}")."""
    return [f"results/{d}/predictions/{run}/{s}.h5" for d, s in table_prediction_pairs()]


def table_predict_inputs(wc):
    """Inputs of one run's predictions of every table sequence (rule predict_tables)."""
    return predict_inputs(wc.variant, table_prediction_pairs())


def table_baseline_inputs(wc):
    """Inputs of one baseline's predictions of every table sequence (rule predict_baseline_tables)."""
    return baseline_inputs(wc.kind, table_prediction_pairs())
