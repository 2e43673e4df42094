# The synthetic benchmark: procedural (or AMASS) motion, random bodies, moving cameras,
# rendered on the CPU with exact ground truth. One rule per sequence, then a manifest.


rule synthesize_sequence:
    input:
        body_model=body_model_path(),
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/synthesize/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset="|".join(datasets_of_type("synthetic")) or "(?!)",
    params:
        cfg=lambda wc: json_param(config["datasets"][wc.dataset]),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../../envs/synthetic.yaml"
    shell:
        "python -m hmr synthesize --dataset {wildcards.dataset} --seq {wildcards.seq}"
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
