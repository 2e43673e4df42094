# Pr-VIPE uncertainty-aware pose embedding (paper Sec. 3.2): a pose pool from the training
# split's GT SMPL (+ detector keypoints), a probabilistic and a deterministic embedder, the
# per-sequence u_t = (mu, sigma), and a cross-view retrieval evaluation.


rule embedding_pool:
    input:
        unpack(embedding_train_inputs),
    output:
        "results/models/embedding_pool.h5",
    log:
        "logs/embedding/pool.log",
    params:
        cfg=json_param(config["embedding"]),
        seed=config["seed"],
        amass=f"--amass-dir {embedding_amass_dir()}" if embedding_amass_dir() else "",
        keypoints=lambda wc, input: (
            "--keypoints " + " ".join(input.keypoints) if "keypoints" in input.keys() else ""
        ),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    conda:
        "../../envs/embedding.yaml"
    shell:
        "python -m hmr embedding-pool --threads {threads} --params {params.cfg:q}"
        " --sequences {input.sequences} {params.keypoints} --body-model {input.body_model}"
        " {params.amass} --seed {params.seed} --out {output} > {log} 2>&1"


rule train_embedding:
    input:
        pool="results/models/embedding_pool.h5",
    output:
        model="results/models/embedding.pt",
        log_csv="results/models/embedding_log.csv",
        plot="results/models/embedding_loss.png",
    log:
        "logs/embedding/train.log",
    params:
        cfg=json_param(config["embedding"]),
        seed=config["seed"],
        launcher=ddp_launcher(),
        device="auto" if training_gpus() else "cpu",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=training_gpus(),
    conda:
        "../../envs/embedding.yaml"
    shell:
        "{params.launcher} train-embedding --threads {threads} --params {params.cfg:q}"
        " --pool {input.pool} --seed {params.seed} --device {params.device} --out {output.model}"
        " --log-csv {output.log_csv} --plot {output.plot} > {log} 2>&1"


rule train_embedding_deterministic:
    input:
        pool="results/models/embedding_pool.h5",
    output:
        model="results/models/embedding_deterministic.pt",
        log_csv="results/models/embedding_deterministic_log.csv",
        plot="results/models/embedding_deterministic_loss.png",
    log:
        "logs/embedding/train_deterministic.log",
    params:
        cfg=json_param(config["embedding"]),
        seed=config["seed"],
        launcher=ddp_launcher(),
        device="auto" if training_gpus() else "cpu",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=training_gpus(),
    conda:
        "../../envs/embedding.yaml"
    shell:
        "{params.launcher} train-embedding --deterministic --threads {threads} --params {params.cfg:q}"
        " --pool {input.pool} --seed {params.seed} --device {params.device} --out {output.model}"
        " --log-csv {output.log_csv} --plot {output.plot} > {log} 2>&1"


# u_t per sequence: one file each, made by jobs of several sequences (common.smk sequence_jobs).
for _dataset in stage_datasets():
    for _suffix, _tag, _seqs in sequence_jobs(_dataset):

        rule:
            name:
                f"embed_sequences_{_suffix}"
            input:
                keypoints=[f"results/{_dataset}/keypoints/{s}.h5" for s in _seqs],
                model="results/models/embedding.pt",
            output:
                [f"results/{_dataset}/embedding/{s}.h5" for s in _seqs],
            log:
                f"logs/embedding/{_dataset}/{_tag}.log",
            params:
                conf=config["embedding"]["conf_threshold"],
            threads: 1
            resources:
                mem_mb=1500,
                runtime=5 + len(_seqs),
            conda:
                "../../envs/embedding.yaml"
            shell:
                "python -m hmr embed --threads {threads} --keypoints {input.keypoints}"
                " --model {input.model} --conf-threshold {params.conf} --out {output} > {log} 2>&1"


rule evaluate_embedding:
    input:
        model="results/models/embedding.pt",
        deterministic="results/models/embedding_deterministic.pt",
        sequences=embedding_heldout_files(),
        body_model=body_model_path(),
    output:
        "results/models/embedding_eval.csv",
    log:
        "logs/embedding/evaluate.log",
    params:
        cfg=json_param(config["embedding"]),
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=3000,
        runtime=15,
    conda:
        "../../envs/embedding.yaml"
    shell:
        "python -m hmr evaluate-embedding --threads {threads} --params {params.cfg:q}"
        " --model {input.model} --deterministic-model {input.deterministic}"
        " --sequences {input.sequences} --body-model {input.body_model}"
        " --seed {params.seed} --out {output} > {log} 2>&1"
