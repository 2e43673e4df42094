# hmr: uncertainty-aware human mesh recovery from video (Lee & Lee, ICCV 2021), as a DAG.
#   snakemake --cores all                     the full run on config.yaml
#   snakemake --cores all <target>            one piece, e.g. results/synthetic/preview.png
#   snakemake --workflow-profile profiles/slurm ...   on a SLURM cluster
# Rules live in workflow/rules/, one file per stage; each calls `python -m hmr <stage>`.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    seq=r"[A-Za-z0-9][A-Za-z0-9_.-]*",


include: "workflow/rules/body_model.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/real_datasets.smk"
include: "workflow/rules/preview.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/keypoints.smk"
include: "workflow/rules/dynamics.smk"
include: "workflow/rules/embedding.smk"
include: "workflow/rules/regressor.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/demo.smk"


rule all:
    input:
        all_targets(),
    default_target: True
