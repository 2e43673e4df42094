# The dynamic feature d_t per sequence: optical flow between successive frames (person crops or
# full frames), one homography per pair by the batched normalised DLT, stacked over [t-15, t].
# Works for every dataset type: the input is the sequence file (the `crop` input needs its bbox).


# One file per sequence, made by jobs of several sequences (common.smk sequence_jobs).
for _dataset in stage_datasets():
    for _suffix, _tag, _seqs in sequence_jobs(_dataset):

        rule:
            name:
                f"dynamics_{_suffix}"
            input:
                **dynamics_inputs(_dataset, _seqs),
            output:
                [f"results/{_dataset}/dynamics/{s}.h5" for s in _seqs],
            log:
                f"logs/dynamics/{_dataset}/{_tag}.log",
            params:
                cfg=dynamics_params(),
                seed=config["seed"],
            threads: config["dynamics"]["threads"]
            resources:
                mem_mb=2000,
                runtime=30 + len(_seqs),
            conda:
                "../../envs/dynamics.yaml"
            shell:
                "python -m hmr dynamics --threads {threads} --sequence {input.sequence}"
                " --params {params.cfg:q} --seed {params.seed} --out {output} > {log} 2>&1"
