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


rule features:
    input:
        unpack(features_inputs),
    output:
        "results/{dataset}/features/{seq}.h5",
    log:
        "logs/features/{dataset}/{seq}.log",
    params:
        cfg=features_params(),
        weights=lambda wc, input: features_weights_args(input),
    threads: config["features"]["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=features_gpus(),
    conda:
        "../../envs/features.yaml"
    shell:
        "python -m hmr features --threads {threads} --sequence {input.sequence}"
        " --params {params.cfg:q} {params.weights} --out {output} > {log} 2>&1"
