# The temporal regressor with part-based 3D dynamics (paper Sec. 3.2-3.4): one model per variant
# trained on the train split's stage files, stride-1 sliding-window predictions per sequence, and
# MPJPE / PA-MPJPE / MPVPE / acceleration error per sequence of the evaluation datasets' test split.

# One command per kind of prediction, for one sequence (predict_regressor, predict_baseline) or
# for every table sequence (predict_tables, predict_baseline_tables): the inputs are lists.
PREDICT_SHELL = (
    "python -m hmr predict --threads {threads} --model {input.model}"
    " --sequences {input.sequences} --features {input.features} {params.extra}"
    " --body-model {input.body_model} {params.vertices} --device {params.device}"
    " --out {output} > {log} 2>&1"
)
PREDICT_BASELINE_SHELL = (
    "python -m hmr predict-baseline --threads {threads} --model {input.model}"
    " --sequences {input.sequences} {params.features} --body-model {input.body_model}"
    " --out {output} > {log} 2>&1"
)


rule train_regressor:
    input:
        unpack(regressor_train_inputs),
    output:
        model="results/models/regressor_{variant}.pt",
        log_csv="results/models/regressor_{variant}_log.csv",
        plot="results/models/regressor_{variant}_loss.png",
    log:
        "logs/regressor/train_{variant}.log",
    wildcard_constraints:
        variant=REGRESSOR_RUN,
    params:
        cfg=regressor_train_params(),
        seed=regressor_run_seed,
        base=lambda wc: regressor_variant(wc.variant).name,
        device=config["regressor"]["device"],
        extra=lambda wc, input: regressor_optional_args(
            input, ("embeddings", "dynamics", "embedding_model")
        ),
        launcher=ddp_launcher(),
    threads: config["regressor"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=training_gpus(),
    conda:
        "../../envs/regressor.yaml"
    shell:
        "{params.launcher} train-regressor --threads {threads} --variant {params.base}"
        " --params {params.cfg:q} --sequences {input.sequences} --features {input.features}"
        " {params.extra} --body-model {input.body_model} --seed {params.seed}"
        " --device {params.device} --out {output.model} --log-csv {output.log_csv}"
        " --plot {output.plot} > {log} 2>&1"


rule predict_regressor:
    input:
        unpack(regressor_predict_inputs),
    output:
        "results/{dataset}/predictions/{variant}/{seq}.h5",
    log:
        "logs/regressor/predict/{dataset}/{variant}/{seq}.log",
    wildcard_constraints:
        variant=REGRESSOR_RUN,
    params:
        extra=lambda wc, input: regressor_optional_args(input, ("embeddings", "dynamics")),
        vertices="--save-vertices" if config["regressor"]["save_vertices"] else "",
        device=config["regressor"]["device"],
    threads: config["regressor"]["threads"]
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/regressor.yaml"
    shell:
        PREDICT_SHELL


# Every sequence the tables score (test split + the train-split metric sequences), one job per run:
# the model, body model and torch load once instead of once per sequence. Any other sequence (the
# demo's, a val sequence) goes through predict_regressor / predict_baseline, one job each.
if table_prediction_pairs():

    rule predict_tables:
        input:
            unpack(table_predict_inputs),
        output:
            table_prediction_outputs("{variant}"),
        log:
            "logs/regressor/predict/{variant}.log",
        wildcard_constraints:
            variant=REGRESSOR_RUN,
        params:
            extra=lambda wc, input: regressor_optional_args(input, ("embeddings", "dynamics")),
            vertices="--save-vertices" if config["regressor"]["save_vertices"] else "",
            device=config["regressor"]["device"],
        threads: config["regressor"]["threads"]
        resources:
            mem_mb=3000,
            runtime=30,
        conda:
            "../../envs/regressor.yaml"
        shell:
            PREDICT_SHELL

    rule predict_baseline_tables:
        input:
            unpack(table_baseline_inputs),
        output:
            table_prediction_outputs("baseline_{kind}"),
        log:
            "logs/regressor/predict/baseline_{kind}.log",
        wildcard_constraints:
            kind="|".join(BASELINE_KINDS),
        params:
            features=lambda wc, input: (
                f"--features {' '.join(input.features)}" if "features" in input.keys() else ""
            ),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=30,
        conda:
            "../../envs/regressor.yaml"
        shell:
            PREDICT_BASELINE_SHELL

    ruleorder: predict_tables > predict_regressor
    ruleorder: predict_baseline_tables > predict_baseline


rule evaluate_regressor:
    input:
        sequences=lambda wc: [sequence_file(wc.dataset, s) for s in regressor_eval_sequences(wc.dataset)],
        predictions=lambda wc: expand(
            "results/{dataset}/predictions/{variant}/{seq}.h5",
            dataset=wc.dataset,
            variant=wc.variant,
            seq=regressor_eval_sequences(wc.dataset),
        ),
        body_model=body_model_path(),
    output:
        "results/{dataset}/metrics/{variant}.csv",
    log:
        "logs/regressor/metrics/{dataset}/{variant}.log",
    wildcard_constraints:
        variant=f"{REGRESSOR_RUN}|{BASELINE_RUN}",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/regressor.yaml"
    shell:
        "python -m hmr evaluate --threads {threads} --sequences {input.sequences}"
        " --predictions {input.predictions} --body-model {input.body_model}"
        " --out {output} > {log} 2>&1"


# The generalisation gap: the full variant (and the baselines) scored on training sequences too.
rule evaluate_train_split:
    input:
        sequences=lambda wc: [sequence_file(wc.dataset, s) for s in regressor_train_metric_sequences(wc.dataset)],
        predictions=lambda wc: expand(
            "results/{dataset}/predictions/{variant}/{seq}.h5",
            dataset=wc.dataset,
            variant=wc.variant,
            seq=regressor_train_metric_sequences(wc.dataset),
        ),
        body_model=body_model_path(),
    output:
        "results/{dataset}/metrics_train/{variant}.csv",
    log:
        "logs/regressor/metrics_train/{dataset}/{variant}.log",
    wildcard_constraints:
        variant=f"{REGRESSOR_RUN}|{BASELINE_RUN}",
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/regressor.yaml"
    shell:
        "python -m hmr evaluate --threads {threads} --sequences {input.sequences}"
        " --predictions {input.predictions} --body-model {input.body_model}"
        " --out {output} > {log} 2>&1"


# Baselines (hmr/model/baselines.py), fitted on the training split: a constant mean pose and a
# per-frame ridge regression from f_t alone; predicted and scored like a variant.
rule fit_baseline:
    input:
        unpack(baseline_fit_inputs),
    output:
        "results/models/baseline_{kind}.npz",
    log:
        "logs/regressor/fit_baseline_{kind}.log",
    wildcard_constraints:
        kind="|".join(BASELINE_KINDS),
    params:
        features=lambda wc, input: f"--features {' '.join(input.features)}" if "features" in input.keys() else "",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    conda:
        "../../envs/regressor.yaml"
    shell:
        "python -m hmr fit-baseline --kind {wildcards.kind} --sequences {input.sequences}"
        " {params.features} --out {output} > {log} 2>&1"


rule predict_baseline:
    input:
        unpack(baseline_predict_inputs),
    output:
        "results/{dataset}/predictions/baseline_{kind}/{seq}.h5",
    log:
        "logs/regressor/predict/{dataset}/baseline_{kind}/{seq}.log",
    wildcard_constraints:
        kind="|".join(BASELINE_KINDS),
    params:
        features=lambda wc, input: (
            f"--features {' '.join(input.features)}" if "features" in input.keys() else ""
        ),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/regressor.yaml"
    shell:
        PREDICT_BASELINE_SHELL
