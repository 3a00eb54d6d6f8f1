# diffrob: How Do Diffusion Models Improve Adversarial Robustness? -- the workflow.
# data -> models -> purify -> attack -> measure -> fit -> paper. One rule file per stage.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/purify.smk"
include: "rules/attack.smk"
include: "rules/measure.smk"
include: "rules/fit.smk"
include: "rules/paper.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        "paper/results.csv",
        expand("paper/tables/table2.{ext}", ext=["csv", "md", "tex"]),
        "paper/report.html",
        "paper/build.json",
