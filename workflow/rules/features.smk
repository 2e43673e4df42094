# Per-frame ResNet features f_t of the person crop, and the backbone they come from: the configured
# checkpoint (SPIN or torchvision format) or, with features.weights null, a backbone the DAG
# pretrains on the training split as a frame-based SMPL regressor (SPIN-style).


rule pretrain_backbone:
    input:
        train=features_pretrain_sequences("train"),
        val=features_pretrain_sequences("val"),
        body_model=body_model_path(),
    output:
        model=PRETRAINED_BACKBONE,
        log_csv="results/models/backbone_log.csv",
        plot="results/models/backbone_loss.png",
    log:
        "logs/pretrain_backbone.log",
    params:
        cfg=pretrain_params(),
        seed=config["seed"],
        val=lambda wc, input: f"--val {' '.join(input.val)}" if input.val else "",
    threads: config["features"]["pretrain"].get("threads", 2)
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=training_gpus(),
    conda:
        "../../envs/features.yaml"
    shell:
        "python -m hmr pretrain-backbone --threads {threads} --train {input.train} {params.val}"
        " --body-model {input.body_model} --params {params.cfg:q} --seed {params.seed}"
        " --out {output.model} --log-csv {output.log_csv} --plot {output.plot} > {log} 2>&1"


# One file per sequence, made by jobs of several sequences (common.smk sequence_jobs).
for _dataset in stage_datasets():
    for _suffix, _tag, _seqs in sequence_jobs(_dataset):
        _inputs = features_inputs(_dataset, _seqs)

        rule:
            name:
                f"features_{_suffix}"
            input:
                **_inputs,
            output:
                [f"results/{_dataset}/features/{s}.h5" for s in _seqs],
            log:
                f"logs/features/{_dataset}/{_tag}.log",
            params:
                cfg=features_params(),
                weights=features_weights_args(_inputs),
            threads: config["features"]["threads"]
            resources:
                mem_mb=2000,
                runtime=30 + len(_seqs),
                gpu=features_gpus(),
            conda:
                "../../envs/features.yaml"
            shell:
                "python -m hmr features --threads {threads} --sequence {input.sequence}"
                " --params {params.cfg:q} {params.weights} --out {output} > {log} 2>&1"
