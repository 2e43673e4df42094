# A contact sheet of sample frames with the ground-truth 2D joints and bbox drawn over them.


rule preview:
    input:
        manifest=lambda wc: manifest_file(wc.dataset),
    output:
        "results/{dataset}/preview.png",
    log:
        "logs/preview/{dataset}.log",
    params:
        data_dir=lambda wc: str(Path(manifest_file(wc.dataset)).parent),
        n_frames=config["preview"]["n_frames"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../../envs/synthetic.yaml"
    shell:
        "python -m hmr preview --manifest {input.manifest} --data-dir {params.data_dir}"
        " --n-frames {params.n_frames} --seed {params.seed} --out {output} > {log} 2>&1"
