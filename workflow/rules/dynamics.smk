# The dynamic feature d_t per sequence: optical flow between successive frames (person crops or
# full frames), one homography per pair by the batched normalised DLT, stacked over [t-15, t].
# Works for every dataset type: the input is the sequence file (the `crop` input needs its bbox).


rule dynamics:
    input:
        unpack(dynamics_inputs),
    output:
        "results/{dataset}/dynamics/{seq}.h5",
    log:
        "logs/dynamics/{dataset}/{seq}.log",
    params:
        cfg=dynamics_params(),
        seed=config["seed"],
    threads: config["dynamics"]["threads"]
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/dynamics.yaml"
    shell:
        "python -m hmr dynamics --threads {threads} --sequence {input.sequence}"
        " --params {params.cfg:q} --seed {params.seed} --out {output} > {log} 2>&1"
