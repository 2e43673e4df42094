# The demo on any video: put it in videos/ (demo.videos) or name it in demo.video, then
# `snakemake results/demo/<name>/mesh.mp4`. Person detection and single-person tracking write a
# sequence file with the tracked box (data/<demo.dataset>/<name>.h5); the stages (keypoints,
# features, dynamics, embedding) and the demo.variant model predict on it like on any dataset;
# the export draws the meshes over the video and writes smpl.npz and a BVH of the motion;
# demo_alignment scores the mesh against BlazePose's landmarks (alignment.csv / alignment.json).


# a demo video may not be named like a stage folder under results/<demo.dataset>/
DEMO_NAME = r"(?!(keypoints|features|dynamics|embedding|predictions|metrics)$)[A-Za-z0-9][A-Za-z0-9_.-]*"


rule demo_track:
    input:
        video=lambda wc: demo_video_file(wc.name),
    output:
        sequence=f"data/{DEMO_DATASET}/{{name}}.h5",
        track="results/demo/{name}/track.h5",
        preview=report(
            "results/demo/{name}/track.png",
            caption="../report/demo_track.rst",
            category="Demo",
            labels={"video": "{name}", "figure": "tracked person"},
        ),
    log:
        "logs/demo/track_{name}.log",
    wildcard_constraints:
        name=DEMO_NAME,
    params:
        cfg=json_param(config["demo"]),
        dataset=DEMO_DATASET,
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../../envs/demo.yaml"
    shell:
        "python -m hmr demo-track --threads {threads} --video {input.video:q}"
        " --dataset {params.dataset} --name {wildcards.name} --params {params.cfg:q}"
        " --out-sequence {output.sequence} --out-track {output.track}"
        " --out-preview {output.preview} > {log} 2>&1"


rule demo_export:
    input:
        sequence=f"data/{DEMO_DATASET}/{{name}}.h5",
        predictions=f"results/{DEMO_DATASET}/predictions/{config['demo']['variant']}/{{name}}.h5",
        body_model=body_model_path(),
    output:
        video="results/demo/{name}/mesh.mp4",
        npz="results/demo/{name}/smpl.npz",
        bvh="results/demo/{name}/{name}.bvh",
        sheet=report(
            "results/demo/{name}/mesh_frames.png",
            caption="../report/demo_mesh.rst",
            category="Demo",
            labels={"video": "{name}", "figure": "meshes over frames"},
        ),
    log:
        "logs/demo/export_{name}.log",
    wildcard_constraints:
        name=DEMO_NAME,
    params:
        cfg=json_param(config["demo"]),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/demo.yaml"
    shell:
        "python -m hmr demo-export --threads {threads} --sequence {input.sequence}"
        " --predictions {input.predictions} --body-model {input.body_model}"
        " --params {params.cfg:q} --out-npz {output.npz} --out-bvh {output.bvh}"
        " --out-video {output.video} --out-sheet {output.sheet} > {log} 2>&1"


# How well the mesh lies on the person without 3D ground truth: the predicted joints, projected as
# the mesh is drawn, against BlazePose's landmarks from tracking (hmr/demo/alignment.py).
rule demo_alignment:
    input:
        npz="results/demo/{name}/smpl.npz",
        track="results/demo/{name}/track.h5",
    output:
        csv="results/demo/{name}/alignment.csv",
        summary="results/demo/{name}/alignment.json",
    log:
        "logs/demo/alignment_{name}.log",
    wildcard_constraints:
        name=DEMO_NAME,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/demo.yaml"
    shell:
        "python -m hmr demo-alignment --threads {threads} --smpl {input.npz} --track {input.track}"
        " --out-csv {output.csv} --out-json {output.summary} > {log} 2>&1"
