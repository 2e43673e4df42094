# 2D keypoints (COCO-17, pixels, confidence) per sequence, and their PCK against ground truth.
# Backend per dataset: keypoints.backend_by_dataset, else keypoints.backend. The
# synthetic-detector backend is SIMULATED (ground-truth projection plus a noise model).


# One file per sequence, made by jobs of several sequences (common.smk sequence_jobs).
for _dataset in stage_datasets():
    for _suffix, _tag, _seqs in sequence_jobs(_dataset):
        _inputs = keypoints_inputs(_dataset, _seqs)

        rule:
            name:
                f"keypoints_{_suffix}"
            input:
                **_inputs,
            output:
                [f"results/{_dataset}/keypoints/{s}.h5" for s in _seqs],
            log:
                f"logs/keypoints/{_dataset}/{_tag}.log",
            params:
                backend=keypoints_backend(_dataset),
                cfg=keypoints_params(_dataset),
                seed=config["seed"],
                body_model=f"--body-model {_inputs['body_model']}" if "body_model" in _inputs else "",
            threads: config["keypoints"]["threads"]
            resources:
                mem_mb=2000,
                runtime=30 + len(_seqs),
            conda:
                "../../envs/keypoints.yaml"
            shell:
                "python -m hmr keypoints --threads {threads} --sequence {input.sequence}"
                " --backend {params.backend} --params {params.cfg:q} --seed {params.seed}"
                " {params.body_model} --out {output} > {log} 2>&1"


rule keypoints_pck:
    input:
        sequences=lambda wc: [sequence_file(wc.dataset, s) for s in keypoints_pck_sequences(wc.dataset)],
        keypoints=lambda wc: expand(
            "results/{dataset}/keypoints/{seq}.h5",
            dataset=wc.dataset,
            seq=keypoints_pck_sequences(wc.dataset),
        ),
        body_model=body_model_path(),
    output:
        "results/{dataset}/keypoints_pck.csv",
    log:
        "logs/keypoints_pck/{dataset}.log",
    wildcard_constraints:
        # datasets that can carry SMPL ground truth
        dataset="|".join(datasets_of_type("synthetic") + datasets_of_type("sequences")) or "(?!)",
    params:
        alpha=config["keypoints"].get("pck_alpha", 0.1),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/keypoints.yaml"
    shell:
        "python -m hmr keypoints-pck --sequences {input.sequences} --keypoints {input.keypoints}"
        " --body-model {input.body_model} --alpha {params.alpha} --out {output} > {log} 2>&1"
