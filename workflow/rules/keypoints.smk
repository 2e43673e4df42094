# 2D keypoints (COCO-17, pixels, confidence) per sequence, and their PCK against ground truth.
# Backend per dataset: keypoints.backend_by_dataset, else keypoints.backend. The
# synthetic-detector backend is SIMULATED (ground-truth projection plus a noise model).


rule keypoints:
    input:
        unpack(keypoints_inputs),
    output:
        "results/{dataset}/keypoints/{seq}.h5",
    log:
        "logs/keypoints/{dataset}/{seq}.log",
    params:
        backend=lambda wc: keypoints_backend(wc.dataset),
        cfg=lambda wc: keypoints_params(wc.dataset),
        seed=config["seed"],
        body_model=lambda wc, input: (
            f"--body-model {input.body_model}" if "body_model" in input.keys() else ""
        ),
    threads: config["keypoints"]["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
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
