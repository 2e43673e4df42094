# Datasets that are not generated: a folder of the user's videos (no ground truth) becomes
# sequence files that point at the videos, with the person box of the demo's detector and
# single-person tracker (config `demo.mediapipe`, `demo.track`), which the crop-based stages
# need. (A `sequences` dataset is used in place.)


rule import_video:
    input:
        video=lambda wc: video_file(wc.dataset, wc.seq),
    output:
        sequence="data/{dataset}/{seq}.h5",
        track="results/{dataset}/tracks/{seq}.h5",
        preview="results/{dataset}/tracks/{seq}.png",
    log:
        "logs/import_video/{dataset}/{seq}.log",
    wildcard_constraints:
        dataset="|".join(datasets_of_type("videos")) or "(?!)",
    params:
        cfg=json_param({k: config["demo"][k] for k in ("mediapipe", "track")}),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../../envs/demo.yaml"
    shell:
        "python -m hmr demo-track --threads {threads} --video {input.video:q}"
        " --dataset {wildcards.dataset} --name {wildcards.seq} --params {params.cfg:q}"
        " --out-sequence {output.sequence} --out-track {output.track}"
        " --out-preview {output.preview} > {log} 2>&1"


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
