# The reproduction report: the paper's ablation tables (Tables 2 and 3) regenerated from the
# metrics CSVs, a summary beside the published 3DPW numbers, and the figures. Every output is
# marked for `snakemake --report results/report.html` with a caption in workflow/report/.

report: "../report/workflow.rst"


rule report_tables:
    input:
        metrics=lambda wc: report_metrics_files(wc.dataset),
        baselines=lambda wc: report_baseline_files(wc.dataset),
        train=lambda wc: report_train_files(wc.dataset),
    output:
        md=report(
            "results/tables/ablation_{dataset}.md",
            caption="../report/ablation_md.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "ablation (Markdown)"},
        ),
        csv=report(
            "results/tables/ablation_{dataset}.csv",
            caption="../report/ablation_csv.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "ablation (CSV)"},
        ),
        paired=report(
            "results/tables/paired_{dataset}.csv",
            caption="../report/paired_csv.rst",
            category="Tables",
            labels={"dataset": "{dataset}", "table": "paired comparisons (CSV)"},
        ),
    log:
        "logs/report/tables_{dataset}.log",
    params:
        metrics=lambda wc: report_runs_arg(wc.dataset),
        baselines=lambda wc: report_baselines_arg(wc.dataset),
        train=lambda wc: report_train_arg(wc.dataset),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/report.yaml"
    shell:
        "python -m hmr report-tables --dataset {wildcards.dataset} --metrics {params.metrics}"
        " {params.baselines} {params.train}"
        " --out-md {output.md} --out-csv {output.csv} --out-paired {output.paired} > {log} 2>&1"


rule report_summary:
    input:
        expand("results/tables/ablation_{dataset}.csv", dataset=report_datasets()),
    output:
        report(
            "results/tables/summary.md",
            caption="../report/summary.rst",
            category="Tables",
            labels={"dataset": "all", "table": "summary beside 3DPW"},
        ),
    log:
        "logs/report/summary.log",
    params:
        ablation=lambda wc, input: " ".join(
            f"{d}={p}" for d, p in zip(report_datasets(), input)
        ),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/report.yaml"
    shell:
        "python -m hmr report-summary --ablation {params.ablation} --out {output} > {log} 2>&1"


rule report_accel_figure:
    input:
        sequence=lambda wc: sequence_file(wc.dataset, report_figure_sequence(wc.dataset)),
        predictions=lambda wc: report_prediction_files(
            wc.dataset, config["report"]["figure_variants"], [report_figure_sequence(wc.dataset)]
        ),
    output:
        report(
            "results/figures/accel_{dataset}.png",
            caption="../report/accel.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "figure": "acceleration error per frame"},
        ),
    log:
        "logs/report/accel_{dataset}.log",
    params:
        predictions=lambda wc, input: " ".join(
            f"{v}={p}" for v, p in zip(config["report"]["figure_variants"], input.predictions)
        ),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../../envs/report.yaml"
    shell:
        "python -m hmr report-accel --dataset {wildcards.dataset} --sequence {input.sequence}"
        " --predictions {params.predictions} --out {output} > {log} 2>&1"


rule report_per_joint_figure:
    input:
        sequences=lambda wc: [sequence_file(wc.dataset, s) for s in report_sequences(wc.dataset)],
        predictions=lambda wc: report_prediction_files(
            wc.dataset, config["report"]["figure_variants"], report_sequences(wc.dataset)
        ),
    output:
        report(
            "results/figures/per_joint_{dataset}.png",
            caption="../report/per_joint.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "figure": "error per joint"},
        ),
    log:
        "logs/report/per_joint_{dataset}.log",
    params:
        predictions=lambda wc: report_per_joint_arg(wc.dataset),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/report.yaml"
    shell:
        "python -m hmr report-per-joint --dataset {wildcards.dataset} --sequences {input.sequences}"
        " --predictions {params.predictions} --out {output} > {log} 2>&1"


rule report_qualitative_figure:
    input:
        sequence=lambda wc: sequence_file(wc.dataset, report_figure_sequence(wc.dataset)),
        predictions=lambda wc: report_prediction_files(
            wc.dataset, config["report"]["qualitative_variants"], [report_figure_sequence(wc.dataset)]
        ),
        body_model=body_model_path(),
    output:
        report(
            "results/figures/qualitative_{dataset}.png",
            caption="../report/qualitative.rst",
            category="Figures",
            labels={"dataset": "{dataset}", "figure": "meshes over frames"},
        ),
    log:
        "logs/report/qualitative_{dataset}.log",
    params:
        predictions=lambda wc, input: " ".join(
            f"{v}={p}" for v, p in zip(config["report"]["qualitative_variants"], input.predictions)
        ),
        n_frames=config["report"]["qualitative_frames"],
        width=config["report"]["qualitative_width"],
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../../envs/report.yaml"
    shell:
        "python -m hmr report-qualitative --threads {threads} --dataset {wildcards.dataset}"
        " --sequence {input.sequence} --predictions {params.predictions}"
        " --body-model {input.body_model} --n-frames {params.n_frames}"
        " --tile-width {params.width} --out {output} > {log} 2>&1"


onsuccess:
    if Path("results/tables/summary.md").exists():
        print("hmr: tables in results/tables/ (summary: results/tables/summary.md), figures in "
              "results/figures/; HTML report: snakemake --report results/report.html")
