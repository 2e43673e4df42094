# Datasets that are not generated: a folder of the user's videos (no ground truth) becomes
# sequence files that point at the videos. (A `sequences` dataset is used in place.)


rule import_video:
    input:
        video=lambda wc: video_file(wc.dataset, wc.seq),
    output:
        "data/{dataset}/{seq}.h5",
    log:
        "logs/import_video/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset="|".join(datasets_of_type("videos")) or "(?!)",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/synthetic.yaml"
    shell:
        "python -m hmr import-video --video {input.video} --dataset {wildcards.dataset}"
        " --out {output} > {log} 2>&1"


rule video_manifest:
    input:
        lambda wc: [sequence_file(wc.dataset, s) for s in sequence_names(wc.dataset)],
    output:
        "data/{dataset}/manifest.csv",
    log:
        "logs/manifest/{dataset}.log",
    wildcard_constraints:
        dataset="|".join(datasets_of_type("videos")) or "(?!)",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/synthetic.yaml"
    shell:
        "python -m hmr manifest --split none --out {output} {input} > {log} 2>&1"
