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
        "paper/results.csv",
        expand("paper/tables/table2.{ext}", ext=["csv", "md", "tex"]),
        "paper/tables/run.tex",
        "paper/report.html",
        "paper/metrics.json",
        "paper/build.json",
        addt_files(),


# Coarse targets, one per DVC stage (dvc.yaml): `snakemake models`, `attacks`, `measurements`.
rule models:
    input:
        ["data/inputs/train.safetensors"] if DATASET == "digits" else [],
        "data/inputs/eval.safetensors",
        "data/models/classifier.safetensors",
        "data/models/ddpm",
        [addt_model_dir(m) for m in addt_models() if m != "base"],


rule attacks:
    input:
        all_shards("adversarial"),
        addt_shards("safetensors"),
        addt_shards("json"),


# ADDT's fine-tunes, attacks and compression rates (config `addt`; nothing without it): `snakemake addt`.
rule addt:
    input:
        addt_files(),


rule measurements:
    input:
        "data/metrics/classifier.json",
        purified_files(),
        all_shards("metrics"),
        all_measurements(),
        "data/measurements/sigmoid.json",
        "data/measurements/paired.json",
        n_evaluation_files(),
        screen_files(),
        addt_compression_files(),
        [ADDT_SUMMARY] if ADDT else [],
