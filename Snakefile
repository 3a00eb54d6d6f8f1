# diffrob: How Do Diffusion Models Improve Adversarial Robustness? -- the workflow.
# data -> models -> purify -> attack -> measure -> fit -> paper. One rule file per stage.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "rules/report/workflow.rst"  # `snakemake --report report.html`: the figures and tables by section


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/purify.smk"
include: "rules/attack.smk"
include: "rules/measure.smk"
include: "rules/fit.smk"
include: "rules/addt.smk"
include: "rules/targets.smk"
include: "rules/paper.smk"


localrules:
    all,
    models,
    addt,
    attacks,
    measurements,
    results,
    table2,
    table,
    run_macros,
    figure,
    report,
    build_info,
    metrics_summary,


rule all:
    default_target: True
    input:
        paper_files(),


# Coarse targets, one per DVC stage (dvc.yaml): `snakemake models`, `attacks`, `measurements`; their files are
# listed in rules/targets.smk.
rule models:
    input:
        model_files(),


rule attacks:
    input:
        attack_files(),


# ADDT's fine-tunes, attacks and compression rates (config `addt`; nothing without it): `snakemake addt`.
rule addt:
    input:
        addt_files(),


rule measurements:
    input:
        measurement_files(),
