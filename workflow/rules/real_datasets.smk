# Real datasets in their official layouts -> data/{dataset}/{seq}.h5 (hmr/datasets/). The
# sequences of each dataset come from scanning its root when the workflow is parsed (common.smk:
# real_dataset_sources); inputs are the annotation files (and videos) a sequence reads, not the
# image folders. One import rule per dataset type, then one manifest rule for them all.


# 3DPW: one sequence per person of sequenceFiles/*/*.pkl
rule import_3dpw:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("3dpw"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# Human3.6M: one sequence per video (subjects, stride, cameras from the config)
rule import_h36m:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("h36m"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# MPI-INF-3DHP: one sequence per training camera video and per test sequence
rule import_mpi_inf_3dhp:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("mpi_inf_3dhp"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# InstaVariety (its documented npz export): one sequence per video
rule import_insta_variety:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("insta_variety"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# Penn Action: one sequence per clip
rule import_penn_action:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("penn_action"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# PoseTrack 2018: one sequence per person track
rule import_posetrack:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("posetrack"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


# VIBE's *_db.pt files: one sequence per vid_name, features kept
rule import_vibe_db:
    input:
        real_dataset_inputs,
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types("vibe_db"),
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        source=real_dataset_source,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr import-dataset --dataset {wildcards.dataset} --seq {wildcards.seq}"
        " --params {params.cfg:q} --source {params.source:q} --out {output} > {log} 2>&1"


rule real_dataset_manifest:
    input:
        lambda wc: [sequence_file(wc.dataset, s) for s in sequence_names(wc.dataset)],
    output:
        "data/{dataset}/manifest.csv",
    log:
        "logs/manifest/{dataset}.log",
    wildcard_constraints:
        dataset=real_datasets_of_types(*REAL_DATASET_TYPES),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/datasets.yaml"
    shell:
        "python -m hmr manifest --out {output} {input} > {log} 2>&1"
