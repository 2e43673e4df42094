# The synthetic benchmark: procedural (or AMASS) motion, random bodies, moving cameras,
# rendered on the CPU with exact ground truth. One file per sequence, made by jobs of
# compute.sequences_per_job sequences (common.smk sequence_jobs), then a manifest.


for _dataset in datasets_of_type("synthetic"):
    for _suffix, _tag, _seqs in sequence_jobs(_dataset):

        rule:
            name:
                f"synthesize_{_suffix}"
            input:
                body_model=body_model_path(),
            output:
                [f"data/{_dataset}/{s}.h5" for s in _seqs],
            log:
                f"logs/synthesize/{_dataset}/{_tag}.log",
            params:
                dataset=_dataset,
                seqs=" ".join(_seqs),
                cfg=synthesize_params(_dataset),
                seed=config["seed"],
            threads: 1
            resources:
                mem_mb=2000,
                runtime=5 + len(_seqs),
            conda:
                "../../envs/synthetic.yaml"
            shell:
                "python -m hmr synthesize --dataset {params.dataset} --seq {params.seqs}"
                " --body-model {input.body_model} --params {params.cfg:q} --seed {params.seed}"
                " --out {output} > {log} 2>&1"


rule synthetic_manifest:
    input:
        lambda wc: [sequence_file(wc.dataset, s) for s in sequence_names(wc.dataset)],
    output:
        "data/{dataset}/manifest.csv",
    log:
        "logs/manifest/{dataset}.log",
    wildcard_constraints:
        dataset="|".join(datasets_of_type("synthetic")) or "(?!)",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/synthetic.yaml"
    shell:
        "python -m hmr manifest --out {output} {input} > {log} 2>&1"
